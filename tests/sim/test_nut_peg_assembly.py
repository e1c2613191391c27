"""Nut-and-Peg Assembly twin: adapter contract, geometry-swap belief, contact flag, mistakes, oracle."""

import numpy as np
import pytest

from imgen_core import keys as K
from imgen_core.corruption import CorruptionSample
from imgen_core.errors import ConfigError, SafetyError
from imgen_core.mistakes import CLOSED_ON_AIR
from sim.tasks import make_task, make_task_from_env_args
from sim.tasks.nut_peg_assembly import CONTACT_FLAG_KEY, NUT_ON_PEG_MISALIGNED, SWAP_T

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def nut_task():
    a = make_task("nut_peg_assembly", corruption="geometry_swap")
    yield a
    a.close()


@pytest.fixture(scope="module")
def full_task():
    a = make_task("nut_peg_assembly", corruption="geometry_swap", observability="full")
    yield a
    a.close()


def _in_gripper(a):
    """A nut pose (base frame) whose ring overlaps the open fingers at the current TCP."""
    pose = np.eye(4)
    pose[:3, 3] = a.eef_pose()[:3, 3] + np.array([0.0, 0.0, 0.01])
    return pose


def test_reset_is_deterministic_and_the_scene_does_not_depend_on_the_corruption(nut_task):
    a = nut_task
    o1 = a.reset(3)
    s1 = a.get_state()
    o2 = a.reset(3)
    np.testing.assert_array_equal(s1, a.get_state())
    for k in o1:
        np.testing.assert_array_equal(o1[k], o2[k])
    a.set_geometry(not a.corruption.geometry_swap)  # another belief, same physical scene
    np.testing.assert_array_equal(s1, a.get_state())
    assert not np.array_equal(a.reset(4)[K.obs_object_pos("nut")], o1[K.obs_object_pos("nut")])
    nut = a.object_poses()["nut"]
    assert 0.495 <= nut[0, 3] <= 0.50 and 0.04 <= nut[1, 3] <= 0.155
    assert abs(nut[2, 3] - a.nut_rest_height) < 2e-3 and not a.is_success()
    # the corruption stream is Bernoulli(0.5) over seeds
    swaps = 0
    for s in range(12):
        a.reset(s)
        swaps += a.corruption.geometry_swap
    assert 0 < swaps < 12


def test_observation_keys_shapes_and_geometry_swap_belief(nut_task):
    a = nut_task
    obs = a.reset(0)
    shapes = {K.OBS_EEF_POS: 3, K.OBS_EEF_QUAT: 4, K.OBS_GRIPPER_WIDTH: 1, "nut_pos": 3, "nut_quat": 4,
              "peg_pos": 3, "peg_quat": 4, CONTACT_FLAG_KEY: 1}
    assert {k: v.shape for k, v in obs.items()} == {k: (n,) for k, n in shapes.items()}
    assert obs[CONTACT_FLAG_KEY][0] == 0.0
    true = a.object_poses()
    a.set_geometry(False)
    np.testing.assert_allclose(a.observed_object_poses()["nut"], true["nut"], atol=1e-12)
    a.set_corruption(CorruptionSample(name="geometry_swap", geometry_swap=True))
    seen = a.observed_object_poses()
    np.testing.assert_allclose(seen["nut"], true["nut"] @ SWAP_T, atol=1e-12)
    np.testing.assert_allclose(seen["nut"][:3, 3], true["nut"][:3, 3], atol=1e-12)  # same centre, handle flipped
    np.testing.assert_allclose(seen["peg"], true["peg"], atol=1e-12)
    handle_seen = seen["nut"][:3, 0]
    assert handle_seen @ true["nut"][:3, 0] < -0.999
    q = a.observation()["nut_quat"]
    assert q[3] >= 0 and abs(np.linalg.norm(q) - 1) < 1e-9


def test_env_args_rebuild_reset_to_and_nan_refused(nut_task):
    a = nut_task
    a.reset(5)
    for _ in range(3):
        a.step(np.array([0.3, -0.2, -0.1, 0.0, 0.0, 0.1, -1.0]))
    state, obs = a.get_state(), a.observation()
    b = make_task_from_env_args(a.env_args())
    try:
        assert b.name == "nut_peg_assembly" and b.corruption_model.name == "geometry_swap"
        assert b.horizon == a.horizon and b.observability == "none"
        b.set_corruption(a.corruption_info())
        restored = b.reset_to(state)
        for k in obs:
            np.testing.assert_allclose(restored[k], obs[k], atol=1e-9, err_msg=k)
    finally:
        b.close()
    a.reset_to(state)
    with pytest.raises(SafetyError):
        a.step(np.array([np.nan, 0, 0, 0, 0, 0, -1.0]))
    with pytest.raises(ConfigError):
        a.set_object_pose("peg", np.eye(4))
    with pytest.raises(ConfigError):
        make_task("nut_peg_assembly", observability="some")


def test_full_observability_switches_exactly_at_the_first_gripper_nut_contact(full_task):
    a = full_task
    a.reset(1)
    a.set_geometry(True)
    true = a.object_poses()["nut"]
    for _ in range(3):  # moving in free space: no contact, belief unchanged
        obs = a.step(np.array([0.0, 0.0, 0.2, 0, 0, 0, -1.0]))
        assert obs[CONTACT_FLAG_KEY][0] == 0.0
    np.testing.assert_allclose(a.observed_object_poses()["nut"], a.object_poses()["nut"] @ SWAP_T, atol=1e-9)
    a.set_object_pose("nut", _in_gripper(a))
    assert a._pairs("gripper", "nut")
    obs = a.observation()
    assert obs[CONTACT_FLAG_KEY][0] == 1.0
    np.testing.assert_allclose(a.observed_object_poses()["nut"], a.object_poses()["nut"], atol=1e-12)
    a.set_object_pose("nut", true)  # contact over: the revealed truth stays
    assert not a._pairs("gripper", "nut") and a.observation()[CONTACT_FLAG_KEY][0] == 1.0
    np.testing.assert_allclose(a.observed_object_poses()["nut"], true, atol=1e-6)
    assert a.reset(1)[CONTACT_FLAG_KEY][0] == 0.0


def test_partial_reveals_position_only_and_none_never_sets_the_flag(full_task, nut_task):
    a = full_task
    a.observability = "partial"
    try:
        a.reset(2)
        a.set_object_pose("nut", _in_gripper(a))
        a.set_geometry(True)
        seen, true = a.observed_object_poses()["nut"], a.object_poses()["nut"]
        assert a.observation()[CONTACT_FLAG_KEY][0] == 1.0
        np.testing.assert_allclose(seen[:3, 3], true[:3, 3], atol=1e-12)
        np.testing.assert_allclose(seen[:3, :3], true[:3, :3] @ SWAP_T[:3, :3], atol=1e-12)
        a.set_corruption(CorruptionSample(name="peg", offset=(0.03, 0.0, 0.0)))  # position error: revealed
        np.testing.assert_allclose(a.observed_object_poses()["nut"][:3, 3], true[:3, 3], atol=1e-12)
    finally:
        a.observability = "full"
    b = nut_task
    b.reset(2)
    b.set_object_pose("nut", _in_gripper(b))
    assert b._pairs("gripper", "nut") and b.observation()[CONTACT_FLAG_KEY][0] == 0.0


def test_mistakes_closed_on_air_and_nut_on_peg_top(nut_task):
    a = nut_task
    a.reset(0)
    assert a.mistake() is None
    for _ in range(20):
        a.step(np.array([0, 0, 0, 0, 0, 0, 1.0]))
    assert a.mistake() == CLOSED_ON_AIR
    a.reset(0)
    peg = a.object_poses()["peg"]
    on_top = np.eye(4)
    on_top[:3, 3] = peg[:3, 3] + np.array([0.01, 0.0, a.env.peg_height / 2 + 0.01])
    a.set_object_pose("nut", on_top)
    assert a.mistake() == NUT_ON_PEG_MISALIGNED and not a.is_success()
    around = np.eye(4)
    around[:3, 3] = np.array([peg[0, 3], peg[1, 3], a.nut_rest_height])
    a.set_object_pose("nut", around)
    assert a.is_success() and a.mistake() is None
    far = a.object_poses()["nut"]
    far[:3, 3] = np.array([0.40, 0.25, a.nut_rest_height])
    a.set_object_pose("nut", far)
    assert a.mistake() == "nut_knocked"


def _episode(a, oracle, seed, geometry_swap, steps=None, path=None):
    a.reset(seed)
    a.set_geometry(geometry_swap)
    oracle.reset(seed)
    grasp_on, first = None, None
    for k in range(steps or a.horizon):
        a.step(oracle.act()[0])
        if path is not None:
            path.append(a.eef_pose()[:3, 3])
        if grasp_on is None and a.subtask_signals()["grasp"]:
            grasp_on = k
        if a.is_success():
            return True, grasp_on, first, k
        first = first or a.mistake()
        if first and steps:
            break
    return False, grasp_on, first, k


@pytest.mark.slow
def test_oracle_assembles_with_true_poses_and_moves_like_a_person(nut_task):
    from sim.operators import make_oracle

    oracle = make_oracle(nut_task)
    p0 = nut_task.reset(0)[K.OBS_EEF_POS]
    path = [p0]
    ok, grasp_on, first, k = _episode(nut_task, oracle, 0, True, path=path)  # true poses: the belief is irrelevant
    assert ok and first is None and grasp_on is not None and 60 < grasp_on < k < 330
    speed = np.linalg.norm(np.diff(np.array(path), axis=0), axis=1) / 0.05
    assert speed.max() < 0.2 and np.median(speed[speed > 0.01]) > 0.03  # m/s: bounded, no teleport


@pytest.mark.slow
def test_observed_pose_oracle_misses_the_swapped_handle_and_takeover_recovers(nut_task):
    from sim.operators import make_oracle

    blind = make_oracle(nut_task, pose_source="observed")
    ok, grasp_on, first, k = _episode(nut_task, blind, 1, True, steps=160)
    assert not ok and grasp_on is None and first == CLOSED_ON_AIR and k < 140
    oracle = make_oracle(nut_task)
    oracle.reset(1)
    assert oracle.judge(k) == CLOSED_ON_AIR
    oracle.take_over()
    for _ in range(nut_task.horizon - k):
        nut_task.step(oracle.act()[0])
        if nut_task.is_success():
            break
    assert nut_task.is_success() and nut_task.subtask_signals()["grasp"]
