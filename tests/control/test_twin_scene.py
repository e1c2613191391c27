"""The franky-sim twin scene: table and cube where the Block Grasp sim has them, the D415's named extrinsics,
true cube pose access, and start-up over loopback."""

import json

import mujoco
import numpy as np
import pytest

from control.twin import MJCAM_T_OPTICAL, FrankySimTwin, TwinSceneConfig
from imgen_core import se3
from imgen_core.errors import ConfigError

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def twin():
    with FrankySimTwin() as t:
        yield t


def test_cube_rests_on_the_table_where_block_grasp_puts_it(twin):
    import time

    time.sleep(0.3)
    pose = twin.cube_pose()
    cfg = twin.config
    # Block Grasp: table top 0.112 m below the base, cube centre 2.5 cm above it, in front of the robot
    np.testing.assert_allclose(pose[:3, 3], [0.56, 0.0, -0.112 + 0.025], atol=5e-4)
    assert se3.rotation_angle(pose[:3, :3]) < 1e-3
    m = twin.sim.model
    cube = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "cube")
    assert m.jnt_type[m.body_jntadr[cube]] == mujoco.mjtJoint.mjJNT_FREE
    np.testing.assert_allclose(m.body_mass[cube], cfg.cube_density * cfg.cube_size ** 3, rtol=1e-6)
    assert m.geom_friction[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "cube")][0] == pytest.approx(1.0)


def test_cube_can_be_teleported_and_read_back(twin):
    import time

    target = se3.make_pose([0.5, 0.1, -0.087], se3.axisangle_to_mat([0, 0, 0.3]))
    twin.set_cube_pose(target)
    time.sleep(0.05)
    np.testing.assert_allclose(twin.cube_pose()[:3, 3], target[:3, 3], atol=2e-3)
    twin.set_cube_pose(twin.config.base_T_cube_rest())


def test_camera_body_and_site_carry_the_named_extrinsics(twin, tmp_path):
    from perception.extrinsics import CameraExtrinsics

    m, d = twin.sim.model, twin.sim.data
    cam = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_CAMERA, "d415")
    world_T_optical = se3.make_pose(d.cam_xpos[cam], d.cam_xmat[cam].reshape(3, 3)) @ MJCAM_T_OPTICAL
    np.testing.assert_allclose(world_T_optical, twin.extrinsics(), atol=1e-6)
    site = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, "camera_color_optical_frame")
    np.testing.assert_allclose(se3.make_pose(d.site_xpos[site], d.site_xmat[site].reshape(3, 3)), twin.extrinsics(),
                               atol=1e-6)
    # the camera looks at the workspace: the cube centre projects in front of it, near the image centre
    p_cam = se3.pose_inv(twin.extrinsics()) @ np.r_[twin.cube_pose()[:3, 3], 1.0]
    assert 0.5 < p_cam[2] < 1.2 and abs(p_cam[0] / p_cam[2]) < 0.2 and abs(p_cam[1] / p_cam[2]) < 0.2
    path = twin.write_extrinsics(tmp_path / "extrinsics_twin.json")
    assert json.loads(path.read_text())["transform"] == "base_T_camera_color_optical_frame"
    np.testing.assert_allclose(CameraExtrinsics.load(path).base_T_camera, twin.extrinsics(), atol=1e-9)


def test_scene_config_is_validated():
    with pytest.raises(ConfigError, match=r"cube_size.*valid range"):
        TwinSceneConfig(cube_size=0.5)
    with pytest.raises(ConfigError, match="7 joint positions"):
        TwinSceneConfig(initial_q=(0.0,) * 6)
