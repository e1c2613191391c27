"""Validated parameters of the FR3 controller (robot address, rate, response model, limits, gains, gripper).

Every field is checked in ``__post_init__``; a bad value raises :class:`~imgen_core.errors.ConfigError` naming the
valid range, so a ROS node or CLI fails at start-up with a clear message. ``ControllerConfig.from_dict`` builds one
from plain values (ROS parameters, JSON), unknown keys rejected with the list of valid ones.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgen_core.control_model import CONTROL_PERIOD_S, WorkspaceLimits
from imgen_core.errors import ConfigError, check_choice, check_range

DEFAULT_RESPONSE_PATH = Path(__file__).resolve().parent / "data" / "osc_response_panda_20hz.json"
RESPONSE_MODELS = ("robosuite_osc", "fitted", "ideal")
REALTIME_CONFIGS = ("ignore", "enforce")


@dataclass(frozen=True)
class ControllerConfig:
    """Parameters of :class:`control.franka_controller.FrankaController`.

    Attributes:
        robot_ip: FR3 control box address (franky-sim twin: its loopback hostname, e.g. ``127.0.0.1``).
        rate_hz: control rate; the action contract is defined at 20 Hz.
        response_model: how the arm's motion is made to match the sim's: ``robosuite_osc`` (robosuite's own OSC
            on a Panda model, exact), ``fitted`` (per-axis 2nd-order fit, pure NumPy, ``response_params_path``) or
            ``ideal`` (textbook critically damped OSC).
        response_params_path: fitted parameters (empty: the shipped ``control/data/osc_response_panda_20hz.json``).
        workspace: TCP box and orientation limits (base frame); commands beyond are clamped and reported.
        max_step_translation_m / max_step_rotation_rad: largest TCP change commanded per control period.
        brake_decel_mps2: the speed toward a workspace wall is limited to ``sqrt(2 * decel * distance)`` so the
            arm stops at the wall instead of overshooting it.
        max_tracking_error_m / max_tracking_error_rad: anti-windup — the reference model is re-anchored to the
            measured arm when it leads it by more than this (contact, blocked arm).
        workspace_model_margin_m: while a command is clamped at a wall of the workspace box, the reference model
            keeps running (its motion along the free axes passes) as long as it is within this distance beyond the
            wall; farther, or past an orientation limit, it is re-anchored on the measured arm.
        watchdog_periods: stop the arm when no action arrived for this many control periods.
        command_hold_periods: each velocity command expires on the robot after this many periods (a robot-side
            dead-man: the arm stops even if this process hangs).
        relative_dynamics_factor: franky's velocity/acceleration/jerk scaling of the commanded motion.
        collision_torque_threshold_nm / collision_force_threshold_n: the robot's collision reflex thresholds.
        gripper_speed_mps / gripper_force_n / gripper_epsilon_outer_m / gripper_open_width_m: gripper commands
            (close = ``grasp(0, speed, force, 0.005, epsilon_outer)``, squeezing whatever is between the fingers).
        gripper_timeout_s: a gripper command not finished by then is reported (``gripper_error``) and given up.
        gripper_debounce_actions: a gripper change is sent once that many consecutive actions ask for it (a
            policy's one-step open/close flicker, harmless to the sim's continuously driven fingers, would otherwise
            abort a real grasp: franky's commands are discrete).
        gripper_width_offset_m: added to the width the gripper reports so that it reads as the sim's finger-joint
            width for the same physical opening (robosuite's pads overlap by 1 mm: a 5 cm cube reads 0.051 m
            there; a Franka Hand reports its finger distance, hence +1 mm; franky-sim's pads sit 3 mm outside its
            joint width: the twin uses +4 mm, see ``control.twin.twin_controller_config``).
        auto_recover: call ``recover_from_errors()`` after a robot error (reflex, aborted motion).
        max_recoveries: give up (state ``error``) after this many recoveries within 60 s.
        realtime_config: franky ``RealtimeConfig`` (``enforce`` needs a realtime kernel; the twin uses ``ignore``).
        python_switch_interval_s: ``sys.setswitchinterval`` applied when the loop starts (process-wide; 0 keeps
            Python's 5 ms): the tick thread then waits at most this long for the GIL while an action is computed.
    """

    robot_ip: str = "172.16.0.2"
    rate_hz: float = 1.0 / CONTROL_PERIOD_S
    response_model: str = "robosuite_osc"
    response_params_path: str = ""
    workspace: WorkspaceLimits = field(default_factory=WorkspaceLimits)
    max_step_translation_m: float = 0.03
    max_step_rotation_rad: float = 0.3
    brake_decel_mps2: float = 2.0
    max_tracking_error_m: float = 0.03
    max_tracking_error_rad: float = 0.3
    workspace_model_margin_m: float = 0.005
    watchdog_periods: float = 2.0
    command_hold_periods: float = 2.0
    relative_dynamics_factor: float = 1.0
    collision_torque_threshold_nm: float = 40.0
    collision_force_threshold_n: float = 60.0
    gripper_speed_mps: float = 0.05
    gripper_force_n: float = 40.0
    gripper_epsilon_outer_m: float = 0.08
    gripper_open_width_m: float = 0.08
    gripper_timeout_s: float = 5.0
    gripper_width_offset_m: float = 0.001
    gripper_debounce_actions: int = 2
    auto_recover: bool = True
    max_recoveries: int = 5
    realtime_config: str = "ignore"
    python_switch_interval_s: float = 0.0005

    def __post_init__(self) -> None:
        if not isinstance(self.robot_ip, str) or not self.robot_ip.strip():
            raise ConfigError(f"robot_ip={self.robot_ip!r}; give the FR3's address (franky-sim: 127.0.0.1)")
        check_range("rate_hz", self.rate_hz, 1.0, 100.0)
        check_choice("response_model", self.response_model, RESPONSE_MODELS)
        if not isinstance(self.workspace, WorkspaceLimits):
            raise ConfigError("workspace must be an imgen_core.control_model.WorkspaceLimits")
        check_range("max_step_translation_m", self.max_step_translation_m, 0.001, 0.1)
        check_range("max_step_rotation_rad", self.max_step_rotation_rad, 0.001, 1.0)
        check_range("brake_decel_mps2", self.brake_decel_mps2, 0.1, 20.0)
        check_range("max_tracking_error_m", self.max_tracking_error_m, 0.002, 0.2)
        check_range("workspace_model_margin_m", self.workspace_model_margin_m, 0.0, 0.05)
        check_range("max_tracking_error_rad", self.max_tracking_error_rad, 0.01, math.pi)
        check_range("watchdog_periods", self.watchdog_periods, 1.0, 20.0)
        check_range("command_hold_periods", self.command_hold_periods, 1.0, 10.0)
        check_range("relative_dynamics_factor", self.relative_dynamics_factor, 0.05, 1.0)
        check_range("collision_torque_threshold_nm", self.collision_torque_threshold_nm, 1.0, 100.0)
        check_range("collision_force_threshold_n", self.collision_force_threshold_n, 1.0, 200.0)
        check_range("gripper_speed_mps", self.gripper_speed_mps, 0.001, 0.2)
        check_range("gripper_force_n", self.gripper_force_n, 1.0, 140.0)
        check_range("gripper_epsilon_outer_m", self.gripper_epsilon_outer_m, 0.0, 0.1)
        check_range("gripper_open_width_m", self.gripper_open_width_m, 0.0, 0.08)
        check_range("gripper_timeout_s", self.gripper_timeout_s, 0.5, 60.0)
        check_range("gripper_width_offset_m", self.gripper_width_offset_m, -0.01, 0.01)
        check_range("gripper_debounce_actions", self.gripper_debounce_actions, 1, 20)
        check_range("max_recoveries", self.max_recoveries, 0, 100)
        check_choice("realtime_config", self.realtime_config, REALTIME_CONFIGS)
        if self.python_switch_interval_s != 0:
            check_range("python_switch_interval_s", self.python_switch_interval_s, 1e-4, 0.01)

    @property
    def period_s(self) -> float:
        return 1.0 / self.rate_hz

    @property
    def watchdog_timeout_s(self) -> float:
        return self.watchdog_periods * self.period_s

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ControllerConfig:
        """Build from plain values; ``workspace`` may be a dict of :class:`WorkspaceLimits` fields."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(f"unknown controller parameters {unknown}; valid: {', '.join(sorted(names))}")
        v = dict(values)
        if isinstance(v.get("workspace"), dict):
            ws_names = {f.name for f in dataclasses.fields(WorkspaceLimits)}
            bad = sorted(set(v["workspace"]) - ws_names)
            if bad:
                raise ConfigError(f"unknown workspace parameters {bad}; valid: {', '.join(sorted(ws_names))}")
            ws_kwargs: dict[str, Any] = {k: tuple(x) if isinstance(x, list) else x for k, x in v["workspace"].items()}
            v["workspace"] = WorkspaceLimits(**ws_kwargs)
        return cls(**v)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["workspace"] = dataclasses.asdict(self.workspace)
        return d
