import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from imgen_core import se3
from perception.cube_model import (
    CUBE_SYMMETRIES,
    CubeModel,
    canonicalize_rotation,
    cube_yaw,
    symmetric_rotation_error,
    symmetric_yaw_error,
    twist_yaw,
)

rotations = st.integers(0, 2**31 - 1).map(lambda s: Rotation.random(random_state=s).as_matrix())


def test_the_cube_has_24_distinct_proper_symmetries():
    assert CUBE_SYMMETRIES.shape == (24, 3, 3)
    assert np.allclose(np.linalg.det(CUBE_SYMMETRIES), 1.0)
    assert len({tuple(np.round(m).astype(int).ravel()) for m in CUBE_SYMMETRIES}) == 24


@settings(max_examples=60, deadline=None)
@given(r=rotations)
def test_canonical_pose_is_the_same_cube_with_z_up_and_yaw_folded(r):
    c = canonicalize_rotation(r)
    assert symmetric_rotation_error(r, c) < 1e-6  # same physical cube
    # z is the cube axis closest to base +z and points up
    assert c[2, 2] == pytest.approx(np.max(np.abs(r[2, :])), abs=1e-9)
    yaw = twist_yaw(c)
    assert -np.pi / 4 - 1e-9 <= yaw < np.pi / 4 + 1e-9
    # every symmetric relabelling canonicalises to the same matrix
    for s in CUBE_SYMMETRIES[::5]:
        np.testing.assert_allclose(canonicalize_rotation(r @ s), c, atol=1e-9)


@given(yaw=st.floats(-np.pi, np.pi), d=st.floats(-0.7, 0.7))
def test_yaw_error_is_folded_by_90_degrees(yaw, d):
    rz = lambda a: se3.axisangle_to_mat([0, 0, a])  # noqa: E731
    err = symmetric_yaw_error(rz(yaw), rz(yaw + d + np.pi / 2 * 3))
    assert err == pytest.approx(abs(d), abs=1e-9)
    assert -np.pi / 4 <= cube_yaw(rz(yaw)) < np.pi / 4


@settings(max_examples=40, deadline=None)
@given(yaw=st.floats(-3.0, 3.0), tilt=st.floats(0.0, 0.6), axis=st.floats(0, 2 * np.pi))
def test_twist_yaw_ignores_the_tilt(yaw, tilt, axis):
    rz = se3.axisangle_to_mat([0, 0, yaw])
    r_tilt = se3.axisangle_to_mat(np.array([np.cos(axis), np.sin(axis), 0.0]) * tilt)
    assert twist_yaw(r_tilt @ rz) == pytest.approx(yaw, abs=1e-9)


def test_surface_distance_is_exact_inside_and_outside():
    m = CubeModel(0.05)
    pts = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.03], [0.03, 0.03, 0.0], [0.02, 0.0, 0.0], [0.025, 0.01, -0.01]])
    d, n = m.surface_distance(pts)
    np.testing.assert_allclose(d, [0.025, 0.005, np.hypot(0.005, 0.005), 0.005, 0.0], atol=1e-12)
    np.testing.assert_allclose(n[1], [0, 0, 1])
    np.testing.assert_allclose(n[3], [1, 0, 0])


def test_ray_cast_hits_the_near_face_and_misses_beside_the_cube():
    m = CubeModel(0.05)
    cube_T_cam = se3.make_pose([0.0, 0.0, 0.5], se3.axisangle_to_mat([np.pi, 0, 0]))  # camera 0.5 m above, looking down
    rays = np.array([[0.0, 0.0, 1.0], [0.04, 0.0, 1.0], [0.2, 0.0, 1.0]])
    z = m.ray_cast(cube_T_cam, rays)
    assert z[0] == pytest.approx(0.475)
    assert z[1] == pytest.approx(0.475)
    assert np.isinf(z[2])


def test_surface_samples_lie_on_the_surface_with_outward_normals():
    pts, nrm = CubeModel(0.05, 0.005).surface_samples()
    d, n = CubeModel(0.05).surface_distance(pts)
    assert np.all(d < 1e-12)
    assert np.all(np.einsum("ij,ij->i", nrm, pts) > 0)
    assert len(pts) == 6 * 10 * 10
