import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgen_core.errors import ConfigError
from perception.camera_model import CameraIntrinsics, RGBDFrame, backproject, project


def test_from_fovy_gives_the_vertical_field_of_view_and_centred_principal_point():
    intr = CameraIntrinsics.from_fovy(640, 480, 42.5)
    assert intr.fx == intr.fy
    assert np.degrees(2 * np.arctan(240 / intr.fy)) == pytest.approx(42.5)
    assert (intr.ppx, intr.ppy) == (319.5, 239.5)


@settings(max_examples=50, deadline=None)
@given(u=st.floats(0, 639), v=st.floats(0, 479), z=st.floats(0.3, 3.0))
def test_backproject_then_project_is_identity(u, v, z):
    intr = CameraIntrinsics(640, 480, 610.0, 612.0, 321.3, 238.7)
    p = backproject(intr, np.array([u]), np.array([v]), np.array([z]))
    assert p[0, 2] == pytest.approx(z)
    np.testing.assert_allclose(project(intr, p)[0], [u, v], atol=1e-9)


def test_rs_round_trip_and_scaling():
    intr = CameraIntrinsics(1280, 720, 920.0, 921.0, 640.2, 359.8)
    assert CameraIntrinsics.from_rs(intr.to_rs()) == pytest.approx(intr) or \
        CameraIntrinsics.from_rs(intr.to_rs()).fx == pytest.approx(920.0, rel=1e-6)
    half = intr.scaled(0.5)
    assert (half.width, half.height) == (640, 360)
    # the same 3D point lands on the same relative image position
    p = np.array([[0.1, -0.05, 0.8]])
    np.testing.assert_allclose((project(half, p)[0] + 0.5) * 2, project(intr, p)[0] + 0.5, atol=1e-9)


def test_distorted_streams_are_refused_not_ignored():
    intr = CameraIntrinsics(64, 48, 50, 50, 32, 24, "inverse_brown_conrady", (0.1, 0, 0, 0, 0))
    with pytest.raises(ConfigError, match="distortion"):
        backproject(intr, np.array([1.0]), np.array([1.0]), np.array([1.0]))


def test_rgbd_frame_validates_alignment_and_scale():
    intr = CameraIntrinsics(8, 6, 5, 5, 3.5, 2.5)
    ok = RGBDFrame(np.zeros((6, 8, 3), np.uint8), np.full((6, 8), 500, np.uint16), 0.001, intr)
    assert ok.depth_m()[0, 0] == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="aligned"):
        RGBDFrame(np.zeros((6, 7, 3), np.uint8), np.zeros((6, 8), np.uint16), 0.001, intr)
    with pytest.raises(ConfigError, match="intrinsics"):
        RGBDFrame(np.zeros((5, 8, 3), np.uint8), np.zeros((5, 8), np.uint16), 0.001, intr)
    with pytest.raises(ConfigError, match="depth_scale"):
        RGBDFrame(np.zeros((6, 8, 3), np.uint8), np.zeros((6, 8), np.uint16), 0.0, intr)


def test_camera_info_matches_the_ros_layout():
    info = CameraIntrinsics(640, 480, 615.0, 616.0, 319.5, 239.5).camera_info()
    assert info["k"] == [615.0, 0.0, 319.5, 0.0, 616.0, 239.5, 0.0, 0.0, 1.0]
    assert info["p"][:4] == [615.0, 0.0, 319.5, 0.0] and len(info["p"]) == 12
    assert info["distortion_model"] == "plumb_bob" and len(info["d"]) == 5
