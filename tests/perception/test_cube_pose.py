"""Cube pose estimation on simulated D415 frames: accuracy, tracking, and never a wrong pose.

Bounds here are loose on purpose (the benchmark `bench/perception.py` reports the precise figures).
"""

import numpy as np
import pytest

from imgen_core.errors import ConfigError
from perception.capture import D415Capture
from perception.cube_model import symmetric_yaw_error
from perception.cube_pose import CubePoseConfig, CubePoseEstimator, TrackState
from sim.d415 import CubeScene, CubeSceneConfig, D415Spec, SimD415

from .conftest import random_placement

pytestmark = pytest.mark.sim

POS_OK_M = 0.002  # a pose, when given, must be at least this good ...
YAW_OK_DEG = 1.5  # ... (typical errors are ~0.2 mm / 0.2°)


def errors(pose, truth):
    return (float(np.linalg.norm(pose[:3, 3] - truth[:3, 3])),
            float(np.degrees(symmetric_yaw_error(pose[:3, :3], truth[:3, :3]))))


def assert_right_or_none(res, truth, what=""):
    if res.base_T_cube is None:
        assert res.status.state in (TrackState.LOST, TrackState.NO_CUBE), what
        assert res.status.reason, what
        return False
    pe, ye = errors(res.base_T_cube, truth)
    assert pe < POS_OK_M and ye < YAW_OK_DEG, f"{what}: wrong pose ({pe * 1e3:.2f} mm, {ye:.2f}°) {res.status}"
    return True


@pytest.fixture
def estimator(scene_cam):
    scene, cam = scene_cam
    return CubePoseEstimator(cam.base_T_camera(scene.data))


def test_accurate_pose_then_tracking_on_random_block_grasp_placements(scene_cam, estimator):
    scene, cam = scene_cam
    rng = np.random.default_rng(0)
    for _ in range(6):
        truth = scene.place_cube(*random_placement(rng))
        estimator.reset()
        for k in range(2):
            res = estimator.estimate(cam.render_frame(scene.data))
            assert res.status.state is TrackState.TRACKING, res.status
            assert res.status.mode == ("init" if k == 0 else "track")
            pe, ye = errors(res.base_T_cube, truth)
            assert pe < 0.001 and ye < 1.0, (pe, ye)
            assert res.status.fitness > 0.9 and res.status.rmse_m < 0.002
            r = res.base_T_cube[:3, :3]  # canonical: z up, yaw in [-45°, 45°)
            assert r[2, 2] > 0.99 and -45.0 <= np.degrees(np.arctan2(r[1, 0], r[0, 0])) < 45.0


def test_frames_through_the_software_device_give_the_same_quality(scene_cam, estimator):
    scene, cam = scene_cam
    truth = scene.place_cube(0.60, -0.08, 0.7)
    with D415Capture(software=cam.software_device()) as cap:
        for _ in range(3):
            cam.push(scene.data)
            res = estimator.estimate(cap.read().frame)
            pe, ye = errors(res.base_T_cube, truth)
            assert pe < 0.001 and ye < 1.0


def test_no_cube_means_no_pose_even_with_a_red_object_outside_the_workspace(scene_cam, estimator):
    scene, cam = scene_cam
    scene.hide_cube()
    res = estimator.estimate(cam.render_frame(scene.data))
    assert res.base_T_cube is None and res.status.state is TrackState.NO_CUBE
    scene.set_distractor((0.30, 0.36, 0.025))  # a red cube of the same size, in view, outside the workspace
    res = estimator.estimate(cam.render_frame(scene.data))
    assert res.base_T_cube is None and res.status.state is TrackState.NO_CUBE
    assert "outside the workspace" in res.status.reason
    scene.set_fingers((0.55, 0.0, 0.03), 0.3, 0.05)  # grey fingers in the workspace are not a cube either
    assert estimator.estimate(cam.render_frame(scene.data)).base_T_cube is None
    truth = scene.place_cube(0.50, 0.10, -0.4)  # with the cube back, the distractor does not disturb it
    scene.set_fingers(None)
    res = estimator.estimate(cam.render_frame(scene.data))
    pe, ye = errors(res.base_T_cube, truth)
    assert pe < 0.001 and ye < 1.0


def test_a_red_object_that_is_not_a_5cm_cube_gives_no_pose():
    scene = CubeScene(CubeSceneConfig(distractor="cylinder", fingers=False))
    cam = SimD415(scene.model, scene.CAMERA, seed=2)
    est = CubePoseEstimator(cam.base_T_camera(scene.data))
    scene.hide_cube()
    scene.set_distractor((0.55, 0.0, 0.04))  # red cylinder 6 cm x 8 cm inside the workspace
    for _ in range(2):
        res = est.estimate(cam.render_frame(scene.data))
        assert res.base_T_cube is None and res.status.state is TrackState.LOST, res.status
    cam.close()


def test_gripper_fingers_next_to_or_over_the_cube(scene_cam, estimator):
    scene, cam = scene_cam
    rng = np.random.default_rng(1)
    given = 0
    for i in range(4):
        x, y, yaw = random_placement(rng)
        truth = scene.place_cube(x, y, yaw)
        for center, f_yaw, opening in (((x, y, 0.03), yaw, 0.052),  # grasping
                                       ((x, y, 0.03), yaw + np.pi / 2, 0.07),  # open, around the other faces
                                       ((x + 0.01, y + 0.01, 0.078), yaw, 0.0),  # just above, over the top face
                                       ((x + 0.03, y, 0.078), yaw + 0.5, 0.0)):  # over one side
            scene.set_fingers(center, f_yaw, opening)
            estimator.reset()
            given += assert_right_or_none(estimator.estimate(cam.render_frame(scene.data)), truth,
                                          f"placement {i} fingers {center}")
    assert given >= 12  # fingers beside the cube must not make it invisible


def test_an_occluder_in_front_of_the_cube_never_yields_a_wrong_pose(scene_cam, estimator):
    scene, cam = scene_cam
    rng = np.random.default_rng(7)
    eye = np.asarray(scene.config.camera_eye)
    given = 0
    for _ in range(3):
        x, y, yaw = random_placement(rng)
        truth = scene.place_cube(x, y, yaw)
        c = np.array([x, y, 0.025])
        side = np.cross(eye - c, [0.0, 0.0, 1.0])
        side /= np.linalg.norm(side)
        for frac in (0.1, 0.25):
            for lat in (-0.02, 0.0, 0.02):
                scene.set_fingers(tuple(c + frac * (eye - c) + lat * side), rng.uniform(-1, 1), 0.02)
                estimator.reset()
                given += assert_right_or_none(estimator.estimate(cam.render_frame(scene.data)), truth,
                                              f"occluder frac={frac} lat={lat}")
    assert 0 < given < 18  # some views are too occluded (no pose), many are still fine


def test_depth_holes_at_every_cube_edge():
    scene = CubeScene()
    cam = SimD415(scene.model, scene.CAMERA, spec=D415Spec(edge_invalid_prob=1.0, dropout_prob=0.02), seed=5)
    est = CubePoseEstimator(cam.base_T_camera(scene.data))
    rng = np.random.default_rng(5)
    given = 0
    for _ in range(5):
        truth = scene.place_cube(*random_placement(rng))
        est.reset()
        given += assert_right_or_none(est.estimate(cam.render_frame(scene.data)), truth, "edge holes")
    assert given >= 4
    cam.close()


def test_cube_moved_between_frames_is_reacquired_not_drifted(scene_cam, estimator):
    scene, cam = scene_cam
    truth = scene.place_cube(0.52, 0.05, 0.2)
    for _ in range(2):
        res = estimator.estimate(cam.render_frame(scene.data))
    assert res.status.mode == "track"
    for dx, dy, dyaw in ((0.04, -0.03, 0.5), (0.0, 0.02, 0.0), (0.003, 0.0, 0.05), (-0.09, 0.06, -0.8)):
        old = truth
        truth = scene.place_cube(truth[0, 3] + dx, truth[1, 3] + dy, np.arctan2(truth[1, 0], truth[0, 0]) + dyaw)
        res = estimator.estimate(cam.render_frame(scene.data))
        assert res.base_T_cube is not None, res.status
        pe, ye = errors(res.base_T_cube, truth)
        assert pe < 0.001 and ye < 1.0, (dx, dy, dyaw, pe, ye, res.status)
        if np.hypot(dx, dy) > 0.01:
            assert np.linalg.norm(res.base_T_cube[:3, 3] - old[:3, 3]) > 0.01
    scene.hide_cube()
    res = estimator.estimate(cam.render_frame(scene.data))
    assert res.base_T_cube is None and res.status.state is TrackState.NO_CUBE
    assert estimator.last_pose is None
    assert res.status.diagnostic_values()["state"] == "no_cube"


def test_config_is_validated():
    with pytest.raises(ConfigError, match="workspace_min"):
        CubePoseConfig(workspace_min=(1, 0, 0), workspace_max=(0, 1, 1))
    with pytest.raises(ConfigError, match="min_fitness"):
        CubePoseConfig(min_fitness=1.5)
    with pytest.raises(ConfigError, match="rigid"):
        CubePoseEstimator(np.zeros((4, 4)))
