"""The simulated D415: geometry against MuJoCo's scene, the noise model's statistics, librealsense round trip."""

import mujoco
import numpy as np
import pytest

from imgen_core import se3
from imgen_core.errors import ConfigError
from perception.camera_model import backproject, project
from perception.capture import CaptureStatus, D415Capture
from sim.d415 import CubeScene, D415Spec, SimD415

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def clean():
    scene = CubeScene()
    cam = SimD415(scene.model, scene.CAMERA, spec=D415Spec(noise=False))
    yield scene, cam
    cam.close()


def test_extrinsics_are_the_camera_pose_in_the_base_frame(clean):
    scene, cam = clean
    t = cam.base_T_camera(scene.data)
    assert se3.is_pose(t)
    np.testing.assert_allclose(t[:3, 3], scene.config.camera_eye, atol=1e-9)
    look = np.asarray(scene.config.camera_target) - np.asarray(scene.config.camera_eye)
    np.testing.assert_allclose(t[:3, 2], look / np.linalg.norm(look), atol=1e-6)  # optical z looks at the target
    assert t[2, 1] < 0  # optical y (image down) points down in the world


def test_rendered_depth_and_colour_agree_with_the_scene_geometry(clean):
    scene, cam = clean
    pose = scene.place_cube(0.55, 0.05, 0.3)
    color, depth = cam.render_clean(scene.data)
    t = cam.base_T_camera(scene.data)
    intr = cam.intrinsics
    # table pixels back-project onto the table plane z = 0
    vv, uu = np.mgrid[300:480:7, 0:640:7]
    z = depth[vv, uu]
    p = backproject(intr, uu, vv, z) @ t[:3, :3].T + t[:3, 3]
    on_table = (z > 0) & (np.abs(p[..., 2]) < 0.01)
    assert on_table.mean() > 0.9
    assert np.abs(p[on_table][:, 2]).max() < 2e-4
    # the top-face centre projects where the depth image sees it at the right distance
    top_cam = (se3.pose_inv(t) @ pose @ [0, 0, 0.025, 1])[:3]
    u, v = project(intr, top_cam[None])[0]
    assert depth[int(round(v)), int(round(u))] == pytest.approx(top_cam[2], abs=1e-3)
    # and it is red there
    r, g, b = color[int(round(v)), int(round(u))].astype(int)
    assert r > 150 and r > 3 * max(g, b)


@pytest.mark.parametrize("bank", [0, 4], ids=["fresh_draws", "noise_bank"])
def test_noise_grows_with_depth_squared_and_invalid_pixels_follow_the_model(bank):
    scene = CubeScene()
    spec = D415Spec(min_range_m=0.3, max_range_m=1.2, noise_bank=bank)
    cam = SimD415(scene.model, scene.CAMERA, spec=spec, seed=3)
    scene.place_cube(0.55, 0.0, 0.2)
    _, clean = cam.render_clean(scene.data)
    color, depth = cam.render(scene.data)
    cam.close()
    assert depth.dtype == np.uint16 and color.dtype == np.uint8
    z = depth.astype(float) * spec.depth_scale
    valid = (depth > 0) & (clean > 0)
    # far beyond max range (the floor past the table) is invalid; nothing valid is out of range
    assert not np.any((clean > spec.max_range_m + 0.02) & (depth > 0))
    assert np.mean(depth[clean > spec.max_range_m + 0.02] == 0) == 1.0 and np.any(clean > spec.max_range_m + 0.02)
    assert np.all((z[depth > 0] >= spec.min_range_m - 0.0005) & (z[depth > 0] <= spec.max_range_m + 0.0005))
    # on the smooth table: error statistics match sigma(z) = subpixel z^2 / (f B) (+ 1 mm quantisation)
    near = valid & (clean > 0.70) & (clean < 0.75)
    far = valid & (clean > 0.90) & (clean < 0.95)
    for sel in (near, far):
        err = z[sel] - clean[sel]
        expect = np.sqrt(np.mean(spec.depth_sigma(clean[sel]) ** 2) + 1e-6 / 12)
        assert abs(np.mean(err)) < 0.2 * expect
        assert np.std(err) == pytest.approx(expect, rel=0.25)
    # depth edges (cube outline) lose about edge_invalid_prob of their pixels
    jump = np.zeros_like(clean, bool)
    jump[:, 1:] |= np.abs(np.diff(clean, axis=1)) > 0.01
    edge_cube = jump & (clean < 0.80) & (clean > 0)
    assert 0.3 < np.mean(depth[edge_cube] == 0) < 0.9


def test_noise_bank_frames_differ_from_frame_to_frame():
    """The reused fields land at new shifts: consecutive frames of a still scene carry different noise."""
    scene = CubeScene()
    cam = SimD415(scene.model, scene.CAMERA, spec=D415Spec(noise_bank=2), seed=1)
    scene.place_cube(0.55, 0.0, 0.0)
    frames = [cam.render(scene.data) for _ in range(4)]
    cam.close()
    for (c0, d0), (c1, d1) in zip(frames, frames[1:], strict=False):
        both = (d0 > 0) & (d1 > 0)
        assert np.mean(d0[both] != d1[both]) > 0.3
        assert np.mean(c0 != c1) > 0.3


def test_frames_reach_the_capture_through_librealsense(rig):
    scene, cam = rig
    scene.place_cube(0.5, -0.05, 0.1)
    with D415Capture(software=cam.software_device()) as cap:
        for k in range(2):
            cam.push(scene.data)
            got = cap.read()
            assert got.status is CaptureStatus.OK
            assert got.frame.frame_number == k
    f = got.frame
    assert f.intrinsics.fx == pytest.approx(cam.intrinsics.fx, rel=1e-6)
    assert f.depth_scale == pytest.approx(0.001, rel=1e-6)
    _, clean = cam.render_clean(scene.data)
    both = (f.depth > 0) & (clean > 0)
    assert both.mean() > 0.8
    assert np.median(np.abs(f.depth[both] * 0.001 - clean[both])) < 0.002


def test_any_model_and_camera_can_be_rendered_and_mistakes_are_named():
    xml = """<mujoco><visual><global offwidth="640" offheight="480"/></visual><worldbody>
      <light pos="0 0 2"/><geom type="plane" size="1 1 .1"/><geom type="box" pos="0 0 .05" size=".05 .05 .05"/>
      <camera name="top" pos="0 0 0.8"/></worldbody></mujoco>"""
    model = mujoco.MjModel.from_xml_string(xml)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    world_T_base = se3.make_pose([0.1, 0.0, 0.0], np.eye(3))
    cam = SimD415(model, "top", spec=D415Spec(noise=False), world_T_base=world_T_base)
    color, depth = cam.render(data)
    assert depth[240, 320] == 700  # 0.8 m camera, 0.1 m box top: 700 mm
    np.testing.assert_allclose(cam.base_T_camera(data)[:3, 3], [-0.1, 0.0, 0.8], atol=1e-9)
    cam.close()
    with pytest.raises(ConfigError, match="cameras: \\['top'\\]"):
        SimD415(model, "d415")
    with pytest.raises(ConfigError, match="offscreen buffer"):
        SimD415(model, "top", spec=D415Spec(width=1280, height=720))
