"""The robosuite side of the sim-to-real contract: frames of a robosuite Panda, and its OSC's response to actions.

* :func:`robosuite_base_T_tcp` — the TCP (``imgen_core.frames``) of a robosuite Panda in its base frame (body
  ``robot0_base``), from body ``robot0_link7`` and the Franka kinematics (flange = link7 + 0.107 m along z,
  TCP = flange @ ``FLANGE_T_TCP``). For the same joint positions this equals the FR3's ``O_T_EE`` and
  :func:`imgen_core.control_model.fr3_base_T_tcp` (tested in ``tests/control/test_same_observation.py``).
* :func:`make_reference_env` — robosuite 1.5.2 ``Lift`` with a Panda and the default ``OSC_POSE`` part controller
  (``load_part_controller_config(default_controller="OSC_POSE")`` inside the ``BASIC`` composite config) at 20 Hz,
  no initial joint noise: the same arm controller as the Block Grasp twin.
* :func:`record_response` / :func:`calibration_sequences` / :func:`benchmark_sequences` / :func:`fit_from_sim` —
  record the closed-loop response to 20 Hz action sequences and fit :class:`~imgen_core.control_model.ResponseParams`
  (``imgen control fit-response`` writes the shipped ``control/data/osc_response_panda_20hz.json``).

Importing this module imports MuJoCo and robosuite.
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np
from numpy.typing import NDArray

from imgen_core import frames, se3
from imgen_core.control_model import (
    CONTROL_PERIOD_S,
    FR3_FLANGE_D,
    PANDA_HOME_Q,
    ResponseParams,
    fit_response,
)

F64 = NDArray[np.float64]
log = logging.getLogger(__name__)

BASE_BODY = "robot0_base"
LINK7_BODY = "robot0_link7"
EEF_SITE = "gripper0_right_grip_site"
LINK7_T_TCP = se3.make_pose(np.array([0.0, 0.0, FR3_FLANGE_D]), np.eye(3)) @ frames.FLANGE_T_TCP


def _mj(env: Any) -> tuple[mujoco.MjModel, mujoco.MjData]:
    return env.sim.model._model, env.sim.data._data


def _body_pose(m: mujoco.MjModel, d: mujoco.MjData, name: str) -> F64:
    i = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, name)
    if i < 0:
        raise KeyError(f"body {name!r} not in the robosuite model")
    return se3.make_pose(d.xpos[i], d.xmat[i].reshape(3, 3))


def robosuite_world_T_base(env: Any) -> F64:
    """Pose ``(4,4)`` of the robot base (body ``robot0_base``) in robosuite's world."""
    return _body_pose(*_mj(env), BASE_BODY)


def robosuite_base_T_tcp(env: Any) -> F64:
    """TCP pose ``(4,4)`` of a robosuite Panda in its base frame (from the env's current kinematics)."""
    m, d = _mj(env)
    return se3.pose_inv(_body_pose(m, d, BASE_BODY)) @ _body_pose(m, d, LINK7_BODY) @ LINK7_T_TCP


def robosuite_base_T_site(env: Any) -> F64:
    """robosuite's OSC-controlled eef site ``gripper0_right_grip_site`` ``(4,4)`` in the base frame."""
    m, d = _mj(env)
    i = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, EEF_SITE)
    world_T_site = se3.make_pose(d.site_xpos[i], d.site_xmat[i].reshape(3, 3))
    return se3.pose_inv(_body_pose(m, d, BASE_BODY)) @ world_T_site


def robosuite_tcp_T_site(env: Any) -> F64:
    """The (constant) eef site in the TCP frame ``(4,4)``."""
    return se3.pose_inv(robosuite_base_T_tcp(env)) @ robosuite_base_T_site(env)


def robosuite_joint_positions(env: Any) -> F64:
    """Arm joint positions ``(7,)`` [rad]."""
    return np.array(env.sim.data.qpos[env.robots[0]._ref_joint_pos_indexes], dtype=np.float64)


def robosuite_gripper_width(env: Any) -> float:
    """Finger joint opening [m] (0.08 fully open), the quantity libfranka reports as the gripper width."""
    idx = env.robots[0]._ref_gripper_joint_pos_indexes["right"]
    q = env.sim.data.qpos[idx]
    return float(q[0] - q[1])


def set_robosuite_configuration(env: Any, q: Any, gripper_width: float | None = None) -> None:
    """Put the Panda at joint positions ``q (7,)`` (and finger opening), at rest, and update the kinematics."""
    m, d = _mj(env)
    robot = env.robots[0]
    d.qpos[robot._ref_joint_pos_indexes] = np.asarray(q, dtype=np.float64)
    d.qvel[robot._ref_joint_vel_indexes] = 0.0
    if gripper_width is not None:
        idx = robot._ref_gripper_joint_pos_indexes["right"]
        d.qpos[idx] = (gripper_width / 2.0, -gripper_width / 2.0)
    mujoco.mj_forward(m, d)


def make_reference_env(env_name: str = "Lift", **kwargs: Any) -> Any:
    """robosuite env with a Panda, the default OSC_POSE arm controller at 20 Hz and no initial joint noise."""
    import robosuite
    from robosuite.controllers import load_composite_controller_config, load_part_controller_config

    logging.getLogger("robosuite_logs").setLevel(logging.ERROR)
    config = load_composite_controller_config(robot="Panda")
    part = load_part_controller_config(default_controller="OSC_POSE")
    gripper = config["body_parts"]["right"].get("gripper")
    config["body_parts"]["right"] = {**part, "gripper": gripper}
    args: dict[str, Any] = {"robots": "Panda", "controller_configs": config, "has_renderer": False,
                            "has_offscreen_renderer": False, "use_camera_obs": False, "control_freq": 20,
                            "initialization_noise": None, "horizon": 100000, "ignore_done": True}
    args.update(kwargs)
    env = robosuite.make(env_name, **args)
    env.reset()
    return env


def reset_reference_env(env: Any) -> None:
    """Reset to the home configuration at rest with a fresh controller (nullspace target = home)."""
    env.reset()
    robot = env.robots[0]
    set_robosuite_configuration(env, PANDA_HOME_Q)
    robot.composite_controller.get_controller("right").update_initial_joints(np.array(PANDA_HOME_Q))
    robot.composite_controller.reset()


@dataclass
class Recording:
    """One recorded response: ``N`` actions and ``N+1`` samples (before the first action, after each one)."""

    actions: F64  # (N,7)
    base_T_tcp: F64  # (N+1,4,4)
    base_T_site: F64  # (N+1,4,4)
    q: F64  # (N+1,7)
    gripper_width: F64  # (N+1,)


def record_response(env: Any, actions: Any, reset: bool = True) -> Recording:
    """Run ``actions (N,7)`` at 20 Hz from home (if ``reset``) and record TCP/site poses after every step."""
    if reset:
        reset_reference_env(env)
    acts = np.asarray(actions, dtype=np.float64)
    tcp, site, q, width = [robosuite_base_T_tcp(env)], [robosuite_base_T_site(env)], [
        robosuite_joint_positions(env)], [robosuite_gripper_width(env)]
    for a in acts:
        env.step(a)
        tcp.append(robosuite_base_T_tcp(env))
        site.append(robosuite_base_T_site(env))
        q.append(robosuite_joint_positions(env))
        width.append(robosuite_gripper_width(env))
    return Recording(acts, np.stack(tcp), np.stack(site), np.stack(q), np.array(width))


# ---------------------------------------------------------------------------------------------- sequences
def _seq(*parts: tuple[int, Any]) -> F64:
    rows = []
    for n, a in parts:
        rows += [np.asarray(a, dtype=np.float64)] * n
    return np.stack(rows)


def _act(axis: int, value: float, gripper: float = -1.0) -> F64:
    a = np.zeros(7)
    a[axis] = value
    a[6] = gripper
    return a


def benchmark_sequences() -> dict[str, F64]:
    """The 20 Hz action sequences of the sim-to-real benchmark (each ``(N,7)``, starting at home, gripper open).

    * ``step_<axis>_<mm>mm``: 8 steps of a constant ``mm`` delta along a base axis, 6 idle, 8 back, 6 idle;
    * ``rot_<axis>_<deg>deg``: the same with a rotation delta about a base axis;
    * ``pick``: descend, close the gripper, lift (the Block Grasp motion, in free space).
    """
    out: dict[str, F64] = {}
    zero = _act(0, 0.0)
    for i, ax in enumerate("xyz"):
        for mm in (5, 10, 25):
            v = mm / 1000.0 / 0.05
            out[f"step_{ax}_{mm}mm"] = _seq((8, _act(i, v)), (6, zero), (8, _act(i, -v)), (6, zero))
    for i, ax in enumerate(("rx", "ry", "rz")):
        for deg in (3, 9):
            v = np.deg2rad(deg) / 0.5
            out[f"rot_{ax}_{deg}deg"] = _seq((6, _act(3 + i, v)), (6, zero), (6, _act(3 + i, -v)), (6, zero))
    close = _act(0, 0.0, gripper=1.0)
    out["pick"] = _seq((14, _act(2, -0.5)), (4, zero), (8, close), (14, _act(2, 0.5, gripper=1.0)), (6, close))
    return out


def calibration_sequences(seed: int = 0, steps: int = 40) -> dict[str, F64]:
    """Fitting data, disjoint from :func:`benchmark_sequences`: per axis, random piecewise-constant deltas + pulses.

    One axis at a time: the per-axis model has no cross-coupling, and mixing axes would bend its parameters.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, F64] = {}
    zero = _act(0, 0.0)
    for i, ax in enumerate(("x", "y", "z", "rx", "ry", "rz")):
        amp = 0.8 if i < 3 else 0.3
        rows: list[F64] = []
        while len(rows) < steps:
            v = float(rng.uniform(-amp, amp)) * float(rng.random() < 0.7)
            rows += [_act(i, v)] * int(rng.integers(1, 7))
        out[f"random_{ax}"] = np.stack(rows[:steps])
        out[f"pulse_{ax}"] = _seq((3, _act(i, amp * 0.9)), (8, zero), (5, _act(i, -amp * 0.45)), (8, zero))
    return out


def fit_from_sim(seed: int = 0, env: Any | None = None) -> ResponseParams:
    """Record :func:`calibration_sequences` in robosuite and fit the response model (a few seconds)."""
    own = env is None
    env = make_reference_env() if env is None else env
    try:
        records, tcp_T_site = [], None
        for _, actions in calibration_sequences(seed).items():
            rec = record_response(env, actions)
            records.append((rec.actions, rec.base_T_site))
            tcp_T_site = se3.pose_inv(rec.base_T_tcp[0]) @ rec.base_T_site[0]
        import robosuite

        meta = {"source": "robosuite Lift, Panda, OSC_POSE default part config (kp 150, damping_ratio 1), "
                          "control_freq 20, initialization_noise None",
                "robosuite": robosuite.__version__, "seed": seed,
                "fitted": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
        assert tcp_T_site is not None
        return fit_response(records, tcp_T_site, period_s=CONTROL_PERIOD_S, meta=meta)
    finally:
        if own:
            env.close()
