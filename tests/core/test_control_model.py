"""Pure math of the FR3 controller (imgen_core.control_model): actions, kinematics, response model, limits."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgen_core import control_model as cm
from imgen_core import frames, se3
from imgen_core.errors import ConfigError, SafetyError

finite = st.floats(-3.0, 3.0, allow_nan=False)


# ---------------------------------------------------------------------------------------------- actions
def test_action_scaling_is_osc_pose_output_limits():
    dpos, drot, g = cm.action_to_delta([1.0, -0.5, 0.2, 1.0, 0.0, -1.0, 1.0])
    np.testing.assert_allclose(dpos, [0.05, -0.025, 0.01])
    np.testing.assert_allclose(drot, [0.5, 0.0, -0.5])
    assert g == 1.0
    np.testing.assert_allclose(cm.delta_to_action(dpos, drot, g), [1.0, -0.5, 0.2, 1.0, 0.0, -1.0, 1.0])


def test_actions_are_clipped_per_component_like_robosuite():
    a = cm.validate_action([2.0, -3.0, 0.5, 0, 0, 0, 5])
    np.testing.assert_allclose(a, [1.0, -1.0, 0.5, 0, 0, 0, 1.0])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_actions_are_refused(bad):
    a = np.zeros(7)
    a[2] = bad
    with pytest.raises(SafetyError, match=r"NaN/inf"):
        cm.validate_action(a)


@pytest.mark.parametrize("bad", [np.zeros(6), np.zeros(8), "abc", [[0.0] * 7] * 2])
def test_malformed_actions_are_refused(bad):
    with pytest.raises(SafetyError):
        cm.validate_action(bad)


def test_gripper_semantics_follow_robosuite_grip():
    assert cm.gripper_command(0.3) == "close"
    assert cm.gripper_command(-0.01) == "open"
    assert cm.gripper_command(0.0) is None


# ---------------------------------------------------------------------------------------------- kinematics
def test_fr3_home_tcp_is_top_down_in_front_of_the_base():
    tcp = cm.fr3_base_T_tcp(cm.PANDA_HOME_Q)
    np.testing.assert_allclose(tcp[:3, 3], [0.4581, 0.0, 0.0922], atol=2e-4)  # robosuite Panda home
    assert tcp[2, 2] < -0.99  # TCP z points down
    assert se3.rotation_angle(tcp[:3, :3].T @ frames.TOP_DOWN_ROT) < math.radians(8)


def test_fr3_zero_configuration_matches_the_franka_documentation():
    # q = 0: flange at x = 0.088, z = 0.333 + 0.316 + 0.384 - 0.107 = 0.926, pointing down
    flange = cm.fr3_base_T_flange(np.zeros(7))
    np.testing.assert_allclose(flange[:3, 3], [0.088, 0.0, 0.926], atol=1e-9)
    np.testing.assert_allclose(flange[:3, 2], [0.0, 0.0, -1.0], atol=1e-9)
    np.testing.assert_allclose(cm.fr3_base_T_tcp(np.zeros(7)), flange @ frames.FLANGE_T_TCP)


# ---------------------------------------------------------------------------------------------- response model
def _ideal():
    return cm.ResponseParams.ideal_osc()


def test_first_step_from_rest_is_the_critically_damped_step_response():
    p = _ideal()
    w, T = math.sqrt(150.0), 0.05
    a, b, c, d = p.transitions()
    np.testing.assert_allclose(b, 1 - (1 + w * T) * math.exp(-w * T), rtol=1e-9)  # ~12.6 % of the delta
    np.testing.assert_allclose(d, w * w * T * math.exp(-w * T), rtol=1e-9)
    np.testing.assert_allclose(a, T * math.exp(-w * T), rtol=1e-9)
    np.testing.assert_allclose(c, (1 - w * T) * math.exp(-w * T), rtol=1e-9)


def test_repeated_deltas_reach_a_quarter_per_step_as_the_sim_does():
    # DESIGN §6: 5/10/25 mm commanded -> ~1.2/2.5/6.5 mm moved per step once moving
    p = _ideal()
    model = cm.SimMatchedModel(p, cm.fr3_base_T_tcp(cm.PANDA_HOME_Q))
    x0 = model.base_T_tcp[0, 3]
    for _ in range(12):
        model.apply_action([0.2, 0, 0, 0, 0, 0, -1])
    x1 = model.base_T_tcp[0, 3]
    model.apply_action([0.2, 0, 0, 0, 0, 0, -1])
    per_step = model.base_T_tcp[0, 3] - x1
    assert 0.2 < per_step / 0.01 < 0.3
    assert x1 > x0


def test_model_rotates_about_the_site_left_multiplied_in_the_base_frame():
    p = cm.ResponseParams.ideal_osc(tcp_T_site=se3.make_pose([0, 0, -0.0069], np.eye(3)))
    start = cm.fr3_base_T_tcp(cm.PANDA_HOME_Q)
    model = cm.SimMatchedModel(p, start)
    site0 = model.base_T_site.copy()
    for _ in range(40):
        model.apply_action([0, 0, 0, 0, 0, 0.2, -1])
    dpos, drot = se3.delta_pose(site0, model.base_T_site)
    np.testing.assert_allclose(dpos, 0.0, atol=1e-12)  # the site does not move
    assert abs(drot[0]) < 1e-9 and abs(drot[1]) < 1e-9 and drot[2] > 0.1  # about base z


def test_coasting_and_rest_pose_agree_with_stepping_zero_actions():
    p = _ideal()
    model = cm.SimMatchedModel(p, cm.fr3_base_T_tcp(cm.PANDA_HOME_Q))
    for _ in range(5):
        model.apply_action([0.8, -0.4, 0.3, 0, 0, 0.1, -1])
    rest = model.rest_tcp()
    for _ in range(200):
        model.apply_action(np.r_[np.zeros(6), -1.0])
    np.testing.assert_allclose(model.base_T_tcp, rest, atol=1e-9)
    np.testing.assert_allclose(model.twist, 0.0, atol=1e-9)


def test_anti_windup_keeps_the_model_within_the_tracking_error():
    p = _ideal()
    measured = cm.fr3_base_T_tcp(cm.PANDA_HOME_Q)
    model = cm.SimMatchedModel(p, measured)
    for _ in range(10):
        model.apply_action([0, 0, -1, 0, 0, 0, 1])  # the real arm stays (blocked)
    assert model.constrain_to(measured, 0.02, 0.2)
    dpos, _ = se3.delta_pose(measured, model.base_T_tcp)
    np.testing.assert_allclose(np.linalg.norm(dpos), 0.02, rtol=1e-9)
    assert not model.constrain_to(measured, 0.02, 0.2)


def test_fit_recovers_parameters_from_model_generated_data():
    truth = cm.ResponseParams(omega=(9.0, 11.0, 13.0, 8.0, 10.0, 12.0), zeta=(0.7, 0.9, 1.1, 0.8, 1.0, 1.2))
    rng = np.random.default_rng(3)
    start = cm.fr3_base_T_tcp(cm.PANDA_HOME_Q)
    records = []
    for i in range(6):
        acts = np.zeros((40, 7))
        acts[:, i] = np.repeat(rng.uniform(-0.5, 0.5, 10), 4) * (0.3 if i >= 3 else 1.0)
        traj = cm.simulate_response(truth, start, acts)
        records.append((acts, traj))
    fit = cm.fit_response(records, np.eye(4))
    np.testing.assert_allclose(fit.omega, truth.omega, rtol=1e-3)
    np.testing.assert_allclose(fit.zeta, truth.zeta, rtol=1e-3)
    assert max(fit.meta["rms_m"]) < 1e-7


def test_response_params_round_trip_and_validation(tmp_path):
    p = cm.ResponseParams.ideal_osc(kp=120.0)
    path = p.save(tmp_path / "r.json")
    assert cm.ResponseParams.load(path) == p
    with pytest.raises(ConfigError, match=r"zeta\[y\].*valid range"):
        cm.ResponseParams(omega=(10.0,) * 6, zeta=(1.0, -1.0, 1.0, 1.0, 1.0, 1.0))
    with pytest.raises(ConfigError, match="6 values"):
        cm.ResponseParams(omega=(10.0,) * 5, zeta=(1.0,) * 6)
    with pytest.raises(ConfigError, match="does not exist"):
        cm.ResponseParams.load(tmp_path / "missing.json")


def test_shipped_fitted_parameters_load_and_are_plausible():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "control" / "data" / "osc_response_panda_20hz.json"
    p = cm.ResponseParams.load(path)
    assert all(5.0 < w < 20.0 for w in p.omega)  # around sqrt(kp=150) = 12.2 rad/s
    assert all(0.5 < z < 1.5 for z in p.zeta)
    np.testing.assert_allclose(p.tcp_T_site_mat[:3, 3], [0, 0, -0.0069], atol=2e-4)


# ---------------------------------------------------------------------------------------------- limits
WS = cm.WorkspaceLimits(pos_min=(0.3, -0.3, -0.05), pos_max=(0.7, 0.3, 0.4), max_tilt_rad=math.radians(30),
                        max_yaw_rad=math.radians(60))


def _pose(p, rotvec):
    return se3.make_pose(np.asarray(p), se3.axisangle_to_mat(np.asarray(rotvec)) @ frames.TOP_DOWN_ROT)


def test_inside_poses_pass_unchanged():
    pose = _pose([0.5, 0.0, 0.1], [0.1, -0.1, 0.3])
    out, hits = cm.clamp_to_workspace(pose, WS)
    assert hits == []
    np.testing.assert_allclose(out, pose, atol=1e-12)


def test_box_violations_are_clamped_and_named():
    out, hits = cm.clamp_to_workspace(_pose([0.9, -0.5, -0.2], [0, 0, 0]), WS)
    assert set(hits) == {"x>max", "y<min", "z<min"}
    np.testing.assert_allclose(out[:3, 3], [0.7, -0.3, -0.05])


def test_tilt_and_yaw_are_limited():
    out, hits = cm.clamp_to_workspace(_pose([0.5, 0, 0.1], [math.radians(50), 0, 0]), WS)
    assert hits == ["tilt"]
    tilt = math.acos(np.clip(out[:3, 2] @ frames.TOP_DOWN_ROT[:, 2], -1, 1))
    assert tilt == pytest.approx(math.radians(30), abs=1e-6)
    out, hits = cm.clamp_to_workspace(_pose([0.5, 0, 0.1], [0, 0, math.radians(100)]), WS)
    assert hits == ["yaw"]
    assert se3.rotation_angle(out[:3, :3] @ frames.TOP_DOWN_ROT.T) == pytest.approx(math.radians(60), abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(st.tuples(finite, finite, finite), st.tuples(finite, finite, finite))
def test_clamped_poses_are_always_inside_and_clamping_is_idempotent(p, rv):
    out, _ = cm.clamp_to_workspace(_pose(p, rv), WS)
    assert se3.is_pose(out)
    assert np.all(out[:3, 3] >= np.array(WS.pos_min) - 1e-12) and np.all(out[:3, 3] <= np.array(WS.pos_max) + 1e-12)
    again, hits = cm.clamp_to_workspace(out, WS)
    assert hits == []
    np.testing.assert_allclose(again, out, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.tuples(finite, finite, finite), st.tuples(finite, finite, finite))
def test_step_limit_bounds_the_change_and_keeps_its_direction(dp, dr):
    start = _pose([0.5, 0, 0.1], [0, 0, 0])
    target = se3.apply_delta(start, np.array(dp) * 0.1, np.array(dr) * 0.3)
    out, limited = cm.limit_step(start, target, 0.02, 0.1)
    dpos, drot = se3.delta_pose(start, out)
    assert np.linalg.norm(dpos) <= 0.02 + 1e-9 and np.linalg.norm(drot) <= 0.1 + 1e-9
    tp, tr = se3.delta_pose(start, target)
    if np.linalg.norm(tp) > 1e-6:
        assert np.dot(dpos, tp) >= 0
    assert limited == (np.linalg.norm(tp) > 0.02 or np.linalg.norm(tr) > 0.1)


def test_workspace_validation_names_the_valid_range():
    with pytest.raises(ConfigError, match=">= 0.01 m"):
        cm.WorkspaceLimits(pos_min=(0.5, 0, 0), pos_max=(0.4, 0.1, 0.1))
    with pytest.raises(ConfigError, match=r"max_tilt_rad.*valid range"):
        cm.WorkspaceLimits(max_tilt_rad=4.0)


def test_speed_toward_a_wall_lets_a_held_command_stop_inside():
    from imgen_core.control_model import WorkspaceLimits, brake_to_workspace

    box = WorkspaceLimits(pos_min=(0.2, -0.4, 0.0), pos_max=(0.8, 0.4, 0.5))
    pos = np.array([0.5, 0.0, 0.02])  # 2 cm above the floor
    v, limited = brake_to_workspace(pos, [0.0, 0.0, -1.0], box, decel_mps2=2.0)
    assert limited and v[2] == pytest.approx(-np.sqrt(2 * 2.0 * 0.02))  # braking distance only
    v, limited = brake_to_workspace(pos, [0.0, 0.0, -1.0], box, decel_mps2=2.0, horizon_s=0.15)
    assert limited and v[2] == pytest.approx(-0.02 / 0.15)  # held for 0.15 s, the command ends at the floor
    assert pos[2] + 0.15 * v[2] >= box.pos_min[2] - 1e-12
    v, limited = brake_to_workspace(pos, [0.3, 0.1, 0.5], box, decel_mps2=2.0, horizon_s=0.15)
    assert not limited and v.tolist() == [0.3, 0.1, 0.5]  # away from the walls: untouched
    v, _ = brake_to_workspace([0.5, 0.0, -0.01], [0.0, 0.0, -0.2], box, decel_mps2=2.0, horizon_s=0.15)
    assert v[2] == 0.0  # outside (below the floor): no further motion outward


def test_outside_workspace_by_is_the_largest_excess_over_the_box():
    lim = cm.WorkspaceLimits(pos_min=(0.25, -0.4, -0.1), pos_max=(0.85, 0.4, 0.45))
    assert cm.outside_workspace_by(se3.make_pose([0.5, 0.0, 0.0], np.eye(3)), lim) == 0.0
    assert cm.outside_workspace_by(se3.make_pose([0.5, 0.0, -0.103], np.eye(3)), lim) == pytest.approx(0.003)
    assert cm.outside_workspace_by(se3.make_pose([0.9, 0.41, -0.101], np.eye(3)), lim) == pytest.approx(0.05)
