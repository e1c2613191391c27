"""The action <-> target conversion matches robosuite 1.5's OSC_POSE exactly."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from imgen_core import se3
from sim import osc

small = arrays(np.float64, (3,), elements=st.floats(-0.04, 0.04))
small_rot = arrays(np.float64, (3,), elements=st.floats(-0.25, 0.25))
unit = arrays(np.float64, (3,), elements=st.floats(-1, 1))
TCP_T_SITE = se3.make_pose([0.0, 0.0, -0.0069], se3.axisangle_to_mat([0.0, 0.0, -np.pi / 2]))


@settings(max_examples=100, deadline=None)
@given(small, small_rot, unit, small, small_rot)
def test_round_trip_within_limits(p0, r0, g, dp, dr):
    start = se3.make_pose(np.array([0.5, 0.0, 0.1]) + p0, se3.axisangle_to_mat(r0) @ np.diag([1.0, -1, -1]))
    target = se3.apply_delta(start, dp, dr)
    a = osc.target_to_action(start, target, TCP_T_SITE, float(g[0]))
    assert np.all(np.abs(a) <= 1.0 + 1e-12)
    np.testing.assert_allclose(osc.action_to_target(start, a, TCP_T_SITE), target, atol=1e-9)
    assert a[6] == pytest.approx(float(g[0]))


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (3,), elements=st.floats(-1.0, 1.0)))
def test_out_of_range_targets_keep_their_direction(direction):
    if np.linalg.norm(direction) < 1e-3:
        return
    start = se3.make_pose([0.5, 0.0, 0.1], np.diag([1.0, -1, -1]))
    target = start.copy()
    target[:3, 3] += direction  # up to 1 m away: far beyond 5 cm
    a = osc.target_to_action(start, target, TCP_T_SITE, -1.0)
    assert np.max(np.abs(a[:3])) == pytest.approx(1.0) or np.max(np.abs(direction)) <= 0.05  # per-component limit
    reached = osc.action_to_target(start, a, TCP_T_SITE)[:3, 3] - start[:3, 3]
    cos = reached @ direction / (np.linalg.norm(reached) * np.linalg.norm(direction))
    assert cos > 1 - 1e-9


@pytest.mark.sim
def test_action_to_target_equals_robosuite_osc_goal(fresh):
    ctrl = fresh.env.robots[0].composite_controller.get_controller("right")
    rng = np.random.default_rng(3)
    for _ in range(5):
        a = np.concatenate([rng.uniform(-1, 1, 6), [-1.0]])
        predicted_site = fresh.action_to_target_pose(a) @ fresh.robot.tcp_T_site
        fresh.step(a)
        # with input_ref_frame="base" the goal is stored in the controller origin (= base) frame
        np.testing.assert_allclose(ctrl.goal_pos, predicted_site[:3, 3], atol=1e-9)
        np.testing.assert_allclose(ctrl.goal_ori, predicted_site[:3, :3], atol=1e-6)  # robosuite: float32 quats


@pytest.mark.sim
def test_osc_response_to_a_re_issued_target(fresh):
    """DESIGN §6: the OSC covers only a fraction of a delta per step; re-issuing the target converges."""
    start = fresh.eef_pose()
    target = start.copy()
    target[:3, 3] += [0.0, 0.01, 0.0]
    moved = []
    for _ in range(20):
        fresh.step(fresh.target_pose_to_action(target, -1.0))
        moved.append(fresh.eef_pose()[1, 3] - start[1, 3])
    assert 0.05 < moved[0] / 0.01 < 0.5  # first step: a small fraction of the 1 cm delta
    assert abs(moved[-1] - 0.01) < 1.5e-3  # converged
