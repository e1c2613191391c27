"""2-Piece Assembly twin: adapter contract, contact observability, mistake rules, scripted oracle."""

import json

import numpy as np
import pytest

from imgen_core import corruption, se3
from imgen_core import keys as K
from imgen_core.errors import ConfigError, SafetyError
from imgen_core.task import TaskAdapter
from sim.operators import make_oracle
from sim.tasks import make_task, make_task_from_env_args

pytestmark = pytest.mark.sim

OBS_KEYS = {K.OBS_EEF_POS: (3,), K.OBS_EEF_QUAT: (4,), K.OBS_GRIPPER_WIDTH: (1,), "piece_pos": (3,),
            "piece_quat": (4,), "receptacle_pos": (3,), "receptacle_quat": (4,), "receptacle_contact_flag": (1,),
            "receptacle_contact_dir": (3,)}


@pytest.fixture(scope="module")
def tpa():
    a = make_task("two_piece_assembly", corruption="receptacle")
    yield a
    a.close()


def _run(adapter, oracle, seed, steps, until_success=True):
    """Roll ``oracle`` out from ``reset(seed)``; returns (success, first mistake, signal trace, eef positions)."""
    adapter.reset(seed)
    oracle.reset(seed)
    first, signals, eef = None, [], [adapter.eef_pose()[:3, 3]]
    for _ in range(steps):
        action, _ = oracle.act()
        adapter.step(action)
        eef.append(adapter.eef_pose()[:3, 3])
        signals.append(adapter.subtask_signals()["piece_receptacle_contact"])
        first = first or adapter.mistake()
        if until_success and adapter.is_success():
            break
    return adapter.is_success(), first, np.array(signals), np.array(eef)


def _piece_on(adapter, rel_xyz):
    """Teleport the piece (upright) to ``rel_xyz`` off the true receptacle; ``rel_xyz[2]``: bottom above the rim."""
    env = adapter.env
    rec = adapter.object_poses()["receptacle"]
    z = rec[2, 3] + env.rim_above_origin + rel_xyz[2] + env.piece_half_height
    adapter.set_object_pose("piece", se3.make_pose(np.array([rec[0, 3] + rel_xyz[0], rec[1, 3] + rel_xyz[1], z]),
                                                   np.eye(3)))


def test_adapter_contract_keys_seeding_and_corruption(tpa):
    assert isinstance(tpa, TaskAdapter)
    assert tpa.object_names == ("piece", "receptacle") and tpa.subtasks[0].object_ref == "receptacle"
    obs = tpa.reset(3)
    assert {k: v.shape for k, v in obs.items()} == OBS_KEYS
    assert obs["receptacle_contact_flag"][0] == 0 and not obs["receptacle_contact_dir"].any()
    state, corr = tpa.get_state(), tpa.corruption
    true = tpa.object_poses()
    assert 0.50 <= true["receptacle"][0, 3] <= 0.60 and -0.05 <= true["receptacle"][1, 3] <= 0.05
    assert tpa.contacts().held and 0.01 < obs[K.OBS_GRIPPER_WIDTH][0] < 0.03  # starts with the piece in hand
    off = corr.offset_array
    assert corr.name == "receptacle" and np.max(np.abs(off)) >= 0.01
    np.testing.assert_allclose(obs["receptacle_pos"] - true["receptacle"][:3, 3], off, atol=1e-12)
    np.testing.assert_allclose(obs["piece_pos"], true["piece"][:3, 3])  # the piece is never corrupted
    tpa.reset(4)
    assert not np.allclose(tpa.get_state()[1:], state[1:])
    obs2 = tpa.reset(3)
    np.testing.assert_array_equal(tpa.get_state(), state)
    assert tpa.corruption == corr
    for k in obs:
        np.testing.assert_array_equal(obs[k], obs2[k])
    with pytest.raises(SafetyError):
        tpa.step(np.array([np.nan, 0, 0, 0, 0, 0, 1.0]))
    with pytest.raises(ConfigError, match="full.*none.*partial"):
        make_task("two_piece_assembly", observability="xray")


def test_reset_to_and_env_args_rebuild(tpa):
    tpa.reset(5)
    for _ in range(6):
        tpa.step(np.array([0.3, -0.2, -0.3, 0.0, 0.0, 0.1, 1.0]))
    s, obs = tpa.get_state(), tpa.observation()
    corr = tpa.corruption
    tpa.reset(8)  # another scene and corruption sample; reset_to keeps the sample, so restore it
    tpa.reset_to(s)
    tpa.set_corruption(corr)
    obs2 = tpa.observation()
    np.testing.assert_array_equal(tpa.get_state(), s)
    for k in obs:
        np.testing.assert_allclose(obs2[k], obs[k], atol=1e-12)
    assert tpa.last_gripper_command == 1.0  # closed on the handle: inferred from the fingers
    args = json.loads(json.dumps(tpa.env_args()))
    assert args["env_name"] == "ImgenTwoPieceAssembly" and args["imgen"]["task"] == "two_piece_assembly"
    again = make_task_from_env_args(args)
    try:
        again.reset_to(s)
        again.set_corruption(tpa.corruption_info())
        for k, v in again.observation().items():
            np.testing.assert_allclose(v, obs[k], atol=1e-12)
        assert again.corruption_model.name == "receptacle" and again.horizon == tpa.horizon
    finally:
        again.close()


@pytest.mark.parametrize("mode", ["none", "full", "partial"])
def test_observability_switches_at_the_first_contact(tpa, mode):
    tpa.observability = mode
    try:
        tpa.reset(2)
        tpa.set_corruption({"name": "receptacle", "offset": [0.02, -0.01, 0.005]})
        rec_true = tpa.object_poses()["receptacle"]
        _piece_on(tpa, (0.0, 0.12, 0.01))  # beside the receptacle, in the air: no contact yet
        obs = tpa.observation()
        assert obs["receptacle_contact_flag"][0] == 0 and not obs["receptacle_contact_dir"].any()
        _piece_on(tpa, (0.035, 0.0, -0.0005))  # on the +x wall's top: the first piece-receptacle contact
        assert tpa.contacts().piece_wall
        d = tpa.robot.data
        g1, g2 = d.contact.geom1[:d.ncon], d.contact.geom2[:d.ncon]
        piece, rec = tpa.env.piece_geom_ids, tpa.env.receptacle_geom_ids
        hit = (np.isin(g1, piece) & np.isin(g2, rec)) | (np.isin(g2, piece) & np.isin(g1, rec))
        point = (tpa.robot.base_T_world @ np.append(d.contact.pos[:d.ncon][hit].mean(axis=0), 1.0))[:3]
        expected = np.append(rec_true[:2, 3] - point[:2], 0.0)
        expected /= np.linalg.norm(expected)
        obs = tpa.observation()
        seen = obs["receptacle_pos"]
        if mode == "none":
            assert obs["receptacle_contact_flag"][0] == 0 and not obs["receptacle_contact_dir"].any()
            np.testing.assert_allclose(seen - rec_true[:3, 3], [0.02, -0.01, 0.005], atol=1e-9)
            return
        assert obs["receptacle_contact_flag"][0] == 1
        np.testing.assert_allclose(obs["receptacle_contact_dir"], expected, atol=1e-9)
        assert obs["receptacle_contact_dir"][0] < -0.95  # from the +x wall toward the centre
        if mode == "full":
            np.testing.assert_allclose(seen, rec_true[:3, 3], atol=1e-9)
        else:
            np.testing.assert_allclose(seen - rec_true[:3, 3], [0.02, -0.01, 0.005], atol=1e-9)
        _piece_on(tpa, (-0.035, 0.0, -0.0005))  # a later contact elsewhere changes nothing
        _piece_on(tpa, (0.0, 0.12, 0.01))
        later = tpa.observation()
        assert later["receptacle_contact_flag"][0] == 1
        np.testing.assert_array_equal(later["receptacle_contact_dir"], obs["receptacle_contact_dir"])
        np.testing.assert_allclose(later["receptacle_pos"], seen, atol=1e-9)
    finally:
        tpa.observability = "none"


def test_mistake_detector_on_constructed_states(tpa):
    tpa.reset(6)
    assert tpa.mistake() is None
    _piece_on(tpa, (0.0, 0.035, -0.0005))
    assert tpa.mistake() == "piece_on_rim"
    table_gap = tpa.env.rim_above_origin + tpa.env.receptacle_half_height  # rim height above the table
    _piece_on(tpa, (0.10, 0.0, -table_gap - 0.0005))
    assert tpa.mistake() == "piece_table_contact"
    _piece_on(tpa, (0.001, -0.002, -tpa.env.rim_above_origin + tpa.env.floor_above_origin - 0.0005))
    assert tpa.is_success() and tpa.mistake() is None
    askew = tpa.object_poses()["piece"]
    askew[:3, :3] = se3.axisangle_to_mat(np.array([np.deg2rad(15.0), 0.0, 0.0]))
    askew[2, 3] += 0.004
    tpa.set_object_pose("piece", askew)  # turned in the grasp, jammed askew: inside, not seated
    assert not tpa.is_success() and tpa.mistake() == "piece_tilted"


def test_oracle_inserts_with_true_poses_and_moves_like_a_person(tpa):
    from sim.collect import record_demo

    tpa.set_corruption(None)
    oracle = make_oracle(tpa)
    assert oracle.label == K.OPERATOR_SCRIPTED
    ok, first, signals, eef = _run(tpa, oracle, 2, tpa.horizon)
    assert ok and first is None
    assert signals[-1] and not signals[0]  # the contact signal turns on at the insertion
    speed = np.linalg.norm(np.diff(eef, axis=0), axis=1) / 0.05
    assert speed.max() < 0.15 and 50 < len(eef) < 200
    model = tpa.corruption_model
    tpa.corruption_model = corruption.get("none")
    try:
        ep = record_demo(tpa, oracle, seed=1).episode
    finally:
        tpa.corruption_model = model
    assert ep.info["outcome"] == "success" and ep.gripper_action[0, 0] == 1
    tpa.reset_to(ep.states[0])  # replaying the actions from the first state reproduces the demo
    for t, a in enumerate(ep.actions):
        np.testing.assert_array_equal(tpa.get_state(), ep.states[t])
        tpa.step(a)
    assert tpa.is_success()


class _Blind:
    """The oracle acting on the corrupted receptacle pose, behind the policy interface ``act(obs)``."""

    def __init__(self, adapter):
        self.oracle = make_oracle(adapter, pose_source="observed")

    def reset(self):
        self.oracle.reset(0)

    def act(self, obs):
        return self.oracle.act()[0]


def test_observed_pose_oracle_fails_under_corruption_and_the_oracle_recovers(tpa):
    from sim.collect import record_intervention

    blind, oracle = _Blind(tpa), make_oracle(tpa)
    tpa.reset(0)  # receptacle offset >= 1.4 cm in x and y: the blind insertion ends on the rim
    blind.reset()
    for k in range(120):
        tpa.step(blind.act(None))
        if oracle.judge(k):
            break
    assert oracle.judge(k) in ("piece_on_rim", "piece_misaligned_contact") and not tpa.is_success()
    res = record_intervention(tpa, blind, oracle, seed=3)  # lift, re-aim at the true receptacle, insert
    assert res.success and res.has_both_segments
    assert res.takeovers[0]["reason"] in ("piece_on_rim", "piece_misaligned_contact", "piece_below_rim_misaligned")
