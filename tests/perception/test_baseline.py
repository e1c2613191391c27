import numpy as np
import pytest

from perception.baseline import PlainPipeline
from perception.cube_model import symmetric_yaw_error

pytestmark = pytest.mark.sim


def test_plain_open3d_pipeline_fits_a_lone_cube_and_finds_nothing_on_an_empty_table(scene_cam):
    scene, cam = scene_cam
    plain = PlainPipeline(cam.base_T_camera(scene.data))
    truth = scene.place_cube(0.56, -0.04, 0.35)
    res = plain.estimate(cam.render_frame(scene.data))
    assert res.base_T_cube is not None, res
    assert np.linalg.norm(res.base_T_cube[:3, 3] - truth[:3, 3]) < 0.002
    assert np.degrees(symmetric_yaw_error(res.base_T_cube[:3, :3], truth[:3, :3])) < 2.0
    scene.hide_cube()
    res = plain.estimate(cam.render_frame(scene.data))
    assert res.base_T_cube is None and "points in the workspace" in res.reason
