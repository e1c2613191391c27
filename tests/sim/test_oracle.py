"""Scripted oracle and weak policy: success, human-like motion, determinism of recorded demos."""

import numpy as np
import pytest

from imgen_core import keys as K
from sim.collect import record_demo, record_intervention
from sim.operators import ObservedPoseGraspPolicy, ScriptedOracle, make_scripted_policy

pytestmark = pytest.mark.sim


@pytest.fixture
def clean(adapter):
    """The shared adapter with corruption switched off for the scene seeds used below."""
    model = adapter.corruption_model
    from imgen_core import corruption

    adapter.corruption_model = corruption.get("none")
    yield adapter
    adapter.corruption_model = model


def test_oracle_grasps_and_moves_like_a_person(clean):
    oracle = ScriptedOracle(clean)
    res = record_demo(clean, oracle, seed=1)
    assert res.success and res.reason == "success"
    ep = res.episode
    assert ep.operator == K.OPERATOR_SCRIPTED and ep.intervention is None
    assert 80 < len(ep) < 200
    speed = np.linalg.norm(np.diff(ep.eef_pose[:, :3, 3], axis=0), axis=1) / 0.05
    assert speed.max() < 0.16  # m/s: bounded, no teleport
    assert np.median(speed[speed > 0.01]) > 0.03
    assert ep.gripper_action[0, 0] == -1 and ep.gripper_action[-1, 0] == 1
    # the recorded target is what the OSC aimed at: converting it back gives the recorded action
    for t in (0, len(ep) // 2, len(ep) - 1):
        clean.reset_to(ep.states[t])
        np.testing.assert_allclose(clean.target_pose_to_action(ep.target_pose[t], ep.actions[t, 6]), ep.actions[t],
                                   atol=1e-9)


def test_replaying_a_demo_from_its_first_state_reproduces_it(clean):
    oracle = ScriptedOracle(clean)
    ep = record_demo(clean, oracle, seed=2).episode
    record_demo(clean, oracle, seed=3)  # leave the simulator (and its gripper state) elsewhere
    clean.reset_to(ep.states[0])
    for t, a in enumerate(ep.actions):
        np.testing.assert_array_equal(clean.get_state(), ep.states[t])
        clean.step(a)
    assert clean.is_success()


def test_weak_policy_acts_on_the_observed_pose_and_fails_under_block_corruption(adapter):
    policy = make_scripted_policy("observed_grasp", adapter)
    assert isinstance(policy, ObservedPoseGraspPolicy)
    obs = adapter.reset(4)
    policy.reset()
    first = None
    for _ in range(150):
        obs = adapter.step(policy.act(obs))
        first = first or adapter.mistake()
        if first:
            break
    assert first is not None and not adapter.is_success()


def test_intervention_has_robot_then_human_segments_and_succeeds(adapter):
    oracle = ScriptedOracle(adapter)
    policy = make_scripted_policy("observed_grasp", adapter)
    res = record_intervention(adapter, policy, oracle, seed=5)
    assert res.success and res.has_both_segments
    m = res.episode.intervention
    k = int(np.argmax(m))
    assert not m[:k].any() and m[k:].all()  # the oracle takes over once and finishes the task
    assert res.takeovers[0]["step"] == k and res.takeovers[0]["reason"]
    assert res.episode.info["corruption"]["name"] == "block"
    np.testing.assert_allclose(res.episode.observed_object_poses["cube"][0, :3, 3]
                               - res.episode.object_poses["cube"][0, :3, 3],
                               res.episode.info["corruption"]["offset"], atol=1e-12)
