"""Nut Insertion twin: adapter contract, contact observability, mistakes, scripted oracle and its recovery."""

import json

import numpy as np
import pytest

from imgen_core import keys as K
from imgen_core import se3
from imgen_core.errors import ConfigError, SafetyError
from imgen_core.task import TaskAdapter
from sim.operators import make_oracle
from sim.operators.nut_insertion_oracle import NutInsertionOracle
from sim.tasks import make_task, make_task_from_env_args
from sim.tasks.nut_insertion import (
    CONTACT_SIGNAL,
    NUT_ON_PEG_MISALIGNED,
    NUT_TABLE_BESIDE_PEG,
    OBS_CONTACT_FLAG,
    OBS_CONTACT_POS,
)

pytestmark = pytest.mark.sim

KEYS = {K.OBS_EEF_POS: (3,), K.OBS_EEF_QUAT: (4,), K.OBS_GRIPPER_WIDTH: (1,), "nut_pos": (3,), "nut_quat": (4,),
        "peg_pos": (3,), "peg_quat": (4,), OBS_CONTACT_FLAG: (1,), OBS_CONTACT_POS: (3,)}


@pytest.fixture(scope="module")
def nut():
    a = make_task("nut_insertion", corruption="peg")
    yield a
    a.close()


@pytest.fixture
def mode(nut):
    """Set the shared adapter's observability for one test and restore it afterwards."""
    def set_mode(m):
        nut.observability = m
    yield set_mode
    nut.observability = "none"


def _nut_peg_contact_mean(adapter):
    """Mean world→base position of the current nut–peg contact points, computed from MuJoCo directly."""
    m, d = adapter.robot.model, adapter.robot.data
    nut_b, peg_b = adapter.env.nut_body_id, adapter.env.peg_body_id
    pts = [d.contact[i].pos.copy() for i in range(d.ncon)
           if {m.geom_bodyid[d.contact[i].geom1], m.geom_bodyid[d.contact[i].geom2]} == {nut_b, peg_b}]
    assert pts
    return (adapter.robot.base_T_world @ np.append(np.mean(pts, axis=0), 1.0))[:3]


def _on_peg_top(adapter, dx):
    """Nut pose ``(4,4)`` lying flat on the peg's top, its hole ``dx`` [m] off the peg axis along base x."""
    peg = adapter.object_poses()["peg"]
    z = peg[2, 3] + adapter.env.peg_height / 2 + adapter.nut_half_thickness - 0.0005
    return se3.make_pose(np.array([peg[0, 3] + dx, peg[1, 3], z]), np.diag([-1.0, -1.0, 1.0]))


def test_adapter_contract_keys_and_scene(nut):
    assert isinstance(nut, TaskAdapter)
    assert nut.name == "nut_insertion" and nut.object_names == ("nut", "peg")
    assert len(nut.subtasks) == 1 and nut.subtasks[0].object_ref == "peg" and nut.subtasks[0].term_signal is None
    obs = nut.reset(4)
    assert {k: v.shape for k, v in obs.items()} == KEYS
    assert obs[OBS_CONTACT_FLAG][0] == 0 and not obs[OBS_CONTACT_POS].any()
    true, seen = nut.object_poses(), nut.observed_object_poses()
    np.testing.assert_allclose(seen["peg"][:3, 3] - true["peg"][:3, 3], nut.corruption.offset_array, atol=1e-12)
    np.testing.assert_allclose(obs["nut_pos"], true["nut"][:3, 3])  # the in-hand nut is observed uncorrupted
    np.testing.assert_allclose(obs["peg_pos"], seen["peg"][:3, 3])
    peg = true["peg"][:3, 3]
    assert 0.50 <= peg[0] <= 0.60 and -0.05 <= peg[1] <= 0.05
    assert peg[2] == pytest.approx(nut.table_height + nut.env.peg_height / 2)
    assert nut.nut_in_hand() and nut.last_gripper_command == 1.0
    assert 0.003 <= nut.clearance <= 0.005
    assert obs["nut_quat"][2] > 0.95  # hemisphere of the nominal in-hand yaw (pi), no sign flip there
    assert not nut.is_success() and nut.mistake() is None
    for _ in range(10):  # a held close command keeps the nut in the hand
        nut.step(np.array([0.0, 0.0, 0.3, 0.0, 0.0, 0.0, 1.0]))
    assert nut.nut_in_hand()
    np.testing.assert_allclose(nut.observation()["nut_pos"] - nut.eef_pose()[:3, 3],
                               obs["nut_pos"] - obs[K.OBS_EEF_POS], atol=0.003)


def test_reset_is_a_function_of_the_seed_and_reset_to_restores(nut):
    o1 = nut.reset(11)
    s1, c1 = nut.get_state(), nut.corruption
    nut.reset(12)
    assert not np.allclose(nut.get_state()[1:], s1[1:])
    o2 = nut.reset(11)
    np.testing.assert_array_equal(nut.get_state(), s1)
    assert nut.corruption == c1 and c1.name == "peg"
    for k in o1:
        np.testing.assert_array_equal(o1[k], o2[k])
    for _ in range(5):
        nut.step(np.array([0.3, -0.2, -0.1, 0.0, 0.0, 0.1, 1.0]))
    s, obs = nut.get_state(), nut.observation()
    nut.reset(7)
    nut.set_corruption(c1)
    back = nut.reset_to(s)
    np.testing.assert_array_equal(nut.get_state(), s)
    for k in obs:
        np.testing.assert_allclose(back[k], obs[k], atol=1e-12)
    assert nut.last_gripper_command == 1.0
    with pytest.raises(ConfigError, match="entries"):
        nut.reset_to(s[:-1])


def test_bad_actions_are_refused(nut):
    nut.reset(0)
    with pytest.raises(SafetyError):
        nut.step(np.zeros(6))
    with pytest.raises(SafetyError):
        nut.step(np.array([0, 0, np.nan, 0, 0, 0, 1.0]))


def test_env_args_rebuild_the_adapter(nut):
    nut.reset(5)
    args = json.loads(json.dumps(nut.env_args()))
    assert args["env_name"] == "ImgenNutInsertion" and args["imgen"]["task"] == "nut_insertion"
    assert args["imgen"]["corruption"] == "peg" and args["env_kwargs"]["control_freq"] == 20
    again = make_task_from_env_args(args, observability="partial")
    try:
        assert again.horizon == nut.horizon and again.observability == "partial"
        again.reset_to(nut.get_state())
        again.set_corruption(nut.corruption_info())
        o1, o2 = again.observation(), nut.observation()
        for k in o2:
            np.testing.assert_allclose(o1[k], o2[k], atol=1e-12)
    finally:
        again.close()
    with pytest.raises(ConfigError, match="full.*none.*partial"):
        make_task("nut_insertion", observability="xray")


@pytest.mark.parametrize("obs_mode", ["none", "full", "partial"])
def test_observability_switches_at_the_first_nut_peg_contact(nut, mode, obs_mode):
    mode(obs_mode)
    nut.reset(9)
    nut.step(np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]))
    obs = nut.observation()
    assert not nut.contacts()["nut_peg"] and obs[OBS_CONTACT_FLAG][0] == 0 and not obs[OBS_CONTACT_POS].any()
    true_peg = nut.object_poses()["peg"]
    np.testing.assert_allclose(obs["peg_pos"], nut.corruption.apply(true_peg)[:3, 3])
    nut.set_object_pose("nut", _on_peg_top(nut, 0.012))  # the first nut-peg contact
    assert nut.contacts()["nut_peg"] and nut.subtask_signals()[CONTACT_SIGNAL]
    obs = nut.observation()
    if obs_mode == "none":
        assert obs[OBS_CONTACT_FLAG][0] == 0 and not obs[OBS_CONTACT_POS].any()
        np.testing.assert_allclose(obs["peg_pos"], nut.corruption.apply(true_peg)[:3, 3])
        return
    assert obs[OBS_CONTACT_FLAG][0] == 1
    if obs_mode == "full":
        np.testing.assert_allclose(obs["peg_pos"], true_peg[:3, 3], atol=1e-12)
        np.testing.assert_allclose(obs[OBS_CONTACT_POS], true_peg[:3, 3], atol=1e-12)
    else:
        first = _nut_peg_contact_mean(nut)
        np.testing.assert_allclose(obs[OBS_CONTACT_POS], first, atol=1e-12)
        assert first[2] == pytest.approx(true_peg[2, 3] + nut.env.peg_height / 2, abs=0.002)  # on the peg's top
        np.testing.assert_allclose(obs["peg_pos"], nut.corruption.apply(true_peg)[:3, 3])  # belief stays
    nut.set_object_pose("nut", _on_peg_top(nut, -0.015))  # later contacts do not change the first one
    nut.step(np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]))
    after = nut.observation()
    assert after[OBS_CONTACT_FLAG][0] == 1
    if obs_mode == "full":  # the true peg position (contacts may nudge it by nanometres)
        np.testing.assert_allclose(after[OBS_CONTACT_POS], nut.object_poses()["peg"][:3, 3], atol=1e-12)
        np.testing.assert_allclose(after[OBS_CONTACT_POS], obs[OBS_CONTACT_POS], atol=1e-6)
    else:
        np.testing.assert_array_equal(after[OBS_CONTACT_POS], obs[OBS_CONTACT_POS])


def test_mistake_detector_on_constructed_states(nut):
    nut.reset(3)
    nut.set_object_pose("nut", _on_peg_top(nut, 0.012))
    assert nut.mistake() == NUT_ON_PEG_MISALIGNED and not nut.is_success()
    beside = _on_peg_top(nut, 0.0)
    beside[1, 3] += 0.10
    beside[2, 3] = nut.table_height + nut.nut_half_thickness - 0.0005
    nut.set_object_pose("nut", beside)
    assert nut.mistake() == NUT_TABLE_BESIDE_PEG
    around = beside.copy()
    around[:2, 3] = nut.object_poses()["peg"][:2, 3]
    nut.set_object_pose("nut", around)  # threaded on the peg, resting on the table: success, no mistake
    assert nut.is_success() and nut.mistake() is None and nut.subtask_signals()[CONTACT_SIGNAL]


def _run(adapter, operator, steps, path=None):
    """Roll ``operator`` out; per step (success, nut-peg contact, signal, flag, contact pos, mean contact, mistake).

    ``path`` (a list), if given, collects the TCP positions.
    """
    log = []
    for _ in range(steps):
        action, _ = operator.act()
        adapter.step(action)
        if path is not None:
            path.append(adapter.eef_pose()[:3, 3])
        c = adapter.contacts()["nut_peg"]
        obs = adapter.observation()
        log.append((adapter.is_success(), c, adapter.subtask_signals()[CONTACT_SIGNAL], obs[OBS_CONTACT_FLAG][0],
                    obs[OBS_CONTACT_POS], _nut_peg_contact_mean(adapter) if c else None, adapter.mistake()))
        if log[-1][0]:
            break
    return log


@pytest.mark.slow
def test_oracle_inserts_with_true_poses(nut):
    oracle = make_oracle(nut)
    assert isinstance(oracle, NutInsertionOracle) and oracle.label == K.OPERATOR_SCRIPTED
    for seed in (1, 2):
        nut.reset(seed)
        oracle.reset(seed)
        start = nut.eef_pose()[:3, 3]
        path = []
        log = _run(nut, oracle, 160, path)
        assert log[-1][0], f"seed {seed}: no success in {len(log)} steps"
        speed = np.linalg.norm(np.diff(np.array(path), axis=0), axis=1) / 0.05
        assert speed.max() < 0.16 and np.median(speed[speed > 0.01]) > 0.03  # m/s: bounded, no teleport
        assert 60 < len(log) < 160
        assert any(signal for _, _, signal, *_ in log)  # the subtask signal turns on before success
        assert all(m is None for *_, m in log)
        assert np.linalg.norm(nut.eef_pose()[:3, 3] - start) > 0.05


@pytest.mark.slow
def test_observed_poses_fail_and_partial_contact_is_the_first_contact_mean(nut, mode):
    mode("partial")
    nut.reset(0)  # peg corruption (1.4, -2.1, 0.9) cm: the nut lands on the peg's edge
    oracle = NutInsertionOracle(nut, pose_source="observed")
    oracle.reset(0)
    log = _run(nut, oracle, 110)
    assert not any(s for s, *_ in log)
    contact = [c for _, c, *_ in log]
    k = contact.index(True)
    flags = np.array([f for _, _, _, f, *_ in log])
    assert not flags[:k].any() and flags[k:].all()  # switches exactly at the first contact step
    np.testing.assert_allclose(log[k][4], log[k][5], atol=1e-12)  # mean of that step's contact points
    np.testing.assert_array_equal(log[-1][4], log[k][4])
    assert NUT_ON_PEG_MISALIGNED in [m for *_, m in log]


@pytest.mark.slow
def test_take_over_recovers_from_a_misaligned_policy(nut):
    policy = NutInsertionOracle(nut, pose_source="observed")
    expert = NutInsertionOracle(nut)
    nut.reset(3)
    policy.reset(3)
    expert.reset(3)
    reason, k = None, 0
    while reason is None and k < 150:
        reason = expert.judge(k)
        if reason is None:
            nut.step(policy.act()[0])
            k += 1
    assert reason in (NUT_ON_PEG_MISALIGNED, "nut_below_peg_top_off_target")
    expert.take_over()
    log = _run(nut, expert, 200)
    assert log[-1][0]
    assert expert.wants_hand_back() is False and expert.aborted() is False


@pytest.mark.slow
def test_take_over_regrasps_a_dropped_nut(nut):
    expert = NutInsertionOracle(nut)
    nut.reset(1)
    expert.reset(1)
    for _ in range(12):  # the "policy" opens the gripper: the nut falls out of the hand
        nut.step(np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0]))
    peg = nut.object_poses()["peg"]
    lying = se3.make_pose(np.array([peg[0, 3] - 0.08, peg[1, 3] - 0.05, nut.table_height + nut.nut_half_thickness]),
                          se3.axisangle_to_mat(np.array([0.0, 0.0, np.pi + 0.3])))
    nut.set_object_pose("nut", lying)
    for _ in range(5):
        nut.step(np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0]))
    assert expert.judge(17) == NUT_TABLE_BESIDE_PEG and not nut.nut_in_hand()
    expert.take_over()
    log = _run(nut, expert, 280)
    assert log[-1][0], f"no success after {len(log)} steps (phase {expert.phase})"
    assert nut.nut_in_hand()  # inserted while held again


def test_a_recorded_demo_replays_exactly_from_its_first_state(nut):
    from imgen_core import corruption
    from sim.collect import record_demo

    model, nut.corruption_model = nut.corruption_model, corruption.get("none")
    try:
        ep = record_demo(nut, make_oracle(nut), seed=2).episode
        nut.reset(3)  # leave the simulator and the controller elsewhere
        nut.step(np.array([0.5, 0.0, -0.5, 0.0, 0.0, 0.0, -1.0]))
        nut.reset_to(ep.states[0])
        for t, a in enumerate(ep.actions):
            np.testing.assert_array_equal(nut.get_state(), ep.states[t])
            nut.step(a)
        assert nut.is_success()
    finally:
        nut.corruption_model = model
