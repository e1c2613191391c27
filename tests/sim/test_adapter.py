"""BlockGraspAdapter: the TaskAdapter contract, seeding, corruption, state round trips, env_args rebuild."""

import json

import numpy as np
import pytest
import robosuite

from imgen_core import corruption, se3
from imgen_core import keys as K
from imgen_core.errors import ConfigError, SafetyError
from imgen_core.task import TaskAdapter
from sim.tasks import make_task, make_task_from_env_args

pytestmark = pytest.mark.sim


def test_satisfies_the_task_adapter_protocol(adapter):
    assert isinstance(adapter, TaskAdapter)
    assert adapter.name == "block_grasp" and adapter.object_names == ("cube",)
    assert len(adapter.subtasks) == 1 and adapter.subtasks[0].object_ref == "cube"
    assert adapter.subtasks[0].term_signal is None
    assert adapter.horizon == 400  # room for a grasp, a mistake, its recovery and one more try


def test_observation_keys_shapes_and_conventions(fresh):
    obs = fresh.reset(4)
    assert set(obs) == {K.OBS_EEF_POS, K.OBS_EEF_QUAT, K.OBS_GRIPPER_WIDTH, "cube_pos", "cube_quat"}
    shapes = {k: v.shape for k, v in obs.items()}
    assert shapes == {K.OBS_EEF_POS: (3,), K.OBS_EEF_QUAT: (4,), K.OBS_GRIPPER_WIDTH: (1,), "cube_pos": (3,),
                      "cube_quat": (4,)}
    ee = fresh.eef_pose()
    np.testing.assert_allclose(obs[K.OBS_EEF_POS], ee[:3, 3])
    np.testing.assert_allclose(se3.quat_xyzw_to_mat(obs[K.OBS_EEF_QUAT]), ee[:3, :3], atol=1e-9)
    assert obs[K.OBS_EEF_QUAT][0] > 0.9  # top-down home: hemisphere of xyzw (1, 0, 0, 0), no sign flips
    assert obs[K.OBS_GRIPPER_WIDTH][0] == pytest.approx(0.08)  # starts fully open
    cube = fresh.object_poses()["cube"]
    assert 0.46 <= cube[0, 3] <= 0.66 and -0.15 <= cube[1, 3] <= 0.15
    assert cube[2, 3] == pytest.approx(fresh.cube_rest_height, abs=1e-3)
    assert abs(cube[2, 3] - (0.8 - 0.912 + 0.025)) < 1e-3  # table top 11.2 cm below the base
    assert obs["cube_quat"][3] > 0.98  # yaw within +-10 deg


def test_reset_is_a_function_of_the_seed(adapter):
    a1 = adapter.reset(11)
    s1, c1 = adapter.get_state(), adapter.corruption
    adapter.reset(12)
    assert not np.allclose(adapter.get_state()[1:], s1[1:])
    a2 = adapter.reset(11)
    np.testing.assert_array_equal(adapter.get_state(), s1)
    assert adapter.corruption == c1 and c1.name == "block"
    for k in a1:
        np.testing.assert_array_equal(a1[k], a2[k])


def test_observed_pose_carries_the_corruption(adapter):
    adapter.reset(3)
    off = adapter.corruption.offset_array
    assert abs(off[1]) >= 0.025
    true, seen = adapter.object_poses()["cube"], adapter.observed_object_poses()["cube"]
    np.testing.assert_allclose(seen[:3, 3] - true[:3, 3], off, atol=1e-12)
    np.testing.assert_allclose(adapter.observation()["cube_pos"], seen[:3, 3])
    adapter.set_corruption(None)
    np.testing.assert_allclose(adapter.observation()["cube_pos"], true[:3, 3])
    adapter.set_corruption({"name": "block", "offset": [0.0, 0.05, 0.0]})
    assert adapter.observation()["cube_pos"][1] == pytest.approx(true[1, 3] + 0.05)
    assert json.loads(json.dumps(adapter.corruption_info()))["offset"] == [0.0, 0.05, 0.0]


def test_same_seed_same_scene_under_any_corruption_model(adapter):
    other = make_task("block_grasp", corruption="none")
    try:
        adapter.reset(21)
        other.reset(21)
        np.testing.assert_array_equal(adapter.get_state(), other.get_state())
        assert other.corruption == corruption.NO_CORRUPTION
    finally:
        other.close()


def test_get_state_reset_to_round_trip(fresh):
    for _ in range(5):
        fresh.step(np.array([0.3, -0.2, -0.1, 0.0, 0.0, 0.1, 1.0]))
    s = fresh.get_state()
    obs = fresh.observation()
    assert s.shape == (1 + fresh.robot.model.nq + fresh.robot.model.nv,)
    fresh.reset(7)  # another scene and another corruption sample
    fresh.set_corruption(None)  # reset_to keeps the current sample: restore the one of the saved state
    obs2 = fresh.reset_to(s)
    np.testing.assert_array_equal(fresh.get_state(), s)
    for k in obs:
        np.testing.assert_allclose(obs2[k], obs[k], atol=1e-12)
    with pytest.raises(ConfigError, match="entries"):
        fresh.reset_to(s[:-1])


def test_bad_actions_are_refused(fresh):
    with pytest.raises(SafetyError):
        fresh.step(np.zeros(6))
    with pytest.raises(SafetyError):
        fresh.step(np.array([np.nan, 0, 0, 0, 0, 0, 0]))


def test_env_args_rebuild_with_robosuite_make(adapter):
    adapter.reset(5)
    args = json.loads(json.dumps(adapter.env_args()))  # what a dataset stores
    assert args["env_name"] == "ImgenBlockGrasp" and args["type"] == 1
    kw = args["env_kwargs"]
    assert kw["controller_configs"]["body_parts"]["right"]["type"] == "OSC_POSE"
    assert kw["controller_configs"]["body_parts"]["right"]["input_ref_frame"] == "base"
    assert kw["control_freq"] == 20 and kw["has_offscreen_renderer"] is False
    env = robosuite.make(args["env_name"], **kw)
    try:
        env.reset()
        assert env.sim.model.nq == adapter.robot.model.nq and env.sim.model.nv == adapter.robot.model.nv
        env.sim.set_state_from_flattened(adapter.get_state())
        env.sim.forward()
        np.testing.assert_allclose(env.sim.data.body_xpos[env.cube_body_id],
                                   adapter.robot.data.xpos[adapter.env.cube_body_id])
        assert env.cube_size == pytest.approx(0.05)
        obs, *_ = env.step(np.zeros(7))
        assert "cube_pos" in obs and "robot0_eef_pos" in obs
    finally:
        env.close()
    # and the adapter can be rebuilt from the same dict (what `imgen render` does)
    again = make_task_from_env_args(args)
    try:
        again.reset_to(adapter.get_state())
        again.set_corruption(adapter.corruption)
        o1 = again.observation()
        o2 = adapter.observation()
        for k in o2:
            np.testing.assert_allclose(o1[k], o2[k], atol=1e-12)
        assert again.corruption_model.name == "block"
    finally:
        again.close()


def test_unknown_task_and_observability_name_valid_choices():
    with pytest.raises(ConfigError, match="block_grasp"):
        make_task("stack")
    with pytest.raises(ConfigError, match="full.*none.*partial"):
        make_task("block_grasp", observability="xray")
    with pytest.raises(ConfigError, match="coffee_radial"):
        make_task("block_grasp", corruption="gauss")


@pytest.mark.parametrize("mode", ["full", "partial"])
def test_contact_reveals_the_pose_with_full_and_the_contact_cues_with_partial(adapter, mode):
    from sim.tasks.block_grasp import OBS_CONTACT_DIR, OBS_CONTACT_FLAG, OBS_CONTACT_POS
    from tests.sim.helpers import constructed_state

    adapter.observability = mode
    try:
        obs = adapter.reset(9)
        true = adapter.object_poses()["cube"]
        assert not np.allclose(adapter.observed_object_poses()["cube"], true)  # block corruption, no contact yet
        if mode == "partial":
            assert obs[OBS_CONTACT_FLAG].tolist() == [0.0]
            assert obs[OBS_CONTACT_DIR].tolist() == obs[OBS_CONTACT_POS].tolist() == [0.0, 0.0, 0.0]
        else:  # the keys exist only with partial
            assert not {OBS_CONTACT_FLAG, OBS_CONTACT_POS, OBS_CONTACT_DIR} & set(obs)
        tip = (adapter.eef_pose() @ np.array([0.0, 0.052, 0.0023, 1.0]))[:3]
        beyond = (adapter.eef_pose() @ np.array([0.0, 0.067, 0.0023, 1.0]))[:3]  # 1.5 cm past the finger
        centre = beyond if mode == "partial" else tip
        cube = se3.make_pose(centre - np.array([0.0, 0.0, 0.024]), np.eye(3))
        obs = adapter.reset_to(constructed_state(adapter, cube_base=cube))  # a finger touches the cube
        seen = adapter.observed_object_poses()["cube"]
        true = adapter.object_poses()["cube"]
        if mode == "full":
            np.testing.assert_allclose(seen, true)
        else:  # the pose stays corrupted; the direction key points from the finger toward the cube centre
            np.testing.assert_allclose(seen, adapter.corruption.apply(true))
            assert obs[OBS_CONTACT_FLAG].tolist() == [1.0]
            d = obs[OBS_CONTACT_DIR]
            assert d[2] == 0.0 and np.linalg.norm(d) == pytest.approx(1.0)
            to_centre = (beyond - tip)[:2] / np.linalg.norm((beyond - tip)[:2])
            assert float(d[:2] @ to_centre) > 0.9  # within ~25°: the finger pad is 2 cm wide
            p = obs[OBS_CONTACT_POS]  # on the cube top, under the finger
            assert np.linalg.norm(p[:2] - tip[:2]) < 0.012 and p[2] == pytest.approx(true[2, 3] + 0.025, abs=0.003)
        first = {k: obs[k] for k in (OBS_CONTACT_POS, OBS_CONTACT_DIR) if k in obs}
        obs = adapter.step(np.zeros(7))  # the cube falls away from the finger: the revealed information stays
        after = adapter.observed_object_poses()["cube"]
        if mode == "full":
            np.testing.assert_allclose(after, adapter.object_poses()["cube"])
        else:
            assert obs[OBS_CONTACT_FLAG].tolist() == [1.0]
            for k, v in first.items():
                np.testing.assert_array_equal(obs[k], v)
    finally:
        adapter.observability = "none"


def test_reset_to_right_after_a_reset_replays_exactly(adapter):
    """``reset_to`` straight after ``reset`` (no step between) must restore the OSC goal from the restored pose,
    not from the pose robosuite cached at the reset: the same actions then give the same states."""
    import numpy as np

    adapter.reset(5)
    start = adapter.get_state()
    actions = [np.array([0.3, -0.2, -0.4, 0.0, 0.0, 0.1, -1.0])] * 8
    ref = []
    for a in actions:
        adapter.step(a)
        ref.append(adapter.get_state())
    adapter.reset(6)  # another scene, then straight back to the first one's start
    adapter.reset_to(start)
    for a, want in zip(actions, ref, strict=True):
        adapter.step(a)
        np.testing.assert_allclose(adapter.get_state(), want, atol=1e-9)
