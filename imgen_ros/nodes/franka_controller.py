"""``franka_controller``: the FR3 on the ROS graph (DESIGN §5/§6), over :class:`control.FrankaController`.

In: ``/imgen/action`` (TwistStamped: linear = normalised dpos, angular = normalised axis-angle drot) and
``/imgen/gripper_command`` (Float64, -1 open / +1 close; taken with the next arm action). Every arm action is
handed to the controller at once (its own executor thread, watchdog and safety filter; see ``control/``).
Out, every tick (``rate_hz``, own callback group): ``/franka/ee_pose`` (TCP in ``base``), ``/joint_states``
(``fr3_joint1..7``), ``/franka/gripper_width`` (JointState ``gripper_width``, the sim's convention),
``/franka/status`` (mode, last event, counters) and ``/diagnostics``. A NaN/inf action is refused (the arm holds
and the status says so); a robot error (reflex, aborted motion) is recovered by the controller and reported.

``backend`` ``franky`` drives the robot at ``robot_ip``. ``backend`` ``franky_sim`` starts the franky-sim twin of
the cell (FR3, table, 5 cm cube, D415 pose; :mod:`control.twin`) on loopback in a child process and drives it
through the same libfranka protocol — the real-deploy dress rehearsal. The twin also publishes the cube's true
pose (``/sim/cube_pose_true``: the simulated D415 renders it) and the pose the robot *believes* under the
episode's ``corruption`` (``/sim/cube_pose_observed``), and with ``trials > 0`` runs seeded trials like
``sim_world``: between trials the arm is homed, the gripper opened, and the cube placed in the Block Grasp region
(base x 0.46–0.66 m, y ±0.15 m, yaw ±10°) from the trial's seed; each trial is announced on ``/imgen/trial``
(``start``/``end`` JSON, for ``trial_recorder`` and ``policy_server``); success = the cube lifted at least
``lift_height`` above its rest and held between the fingertips for ``success_hold_steps`` ticks.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped, TwistStamped
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64, String
from visualization_msgs.msg import MarkerArray

from imgen_core import se3
from imgen_core.errors import ConfigError, ImgenError, RobotError, SafetyError
from imgen_ros import messages as M
from imgen_ros import schemas as S
from imgen_ros.node_base import ERROR, OK, WARN, ImgenNode, run

ROS_ARM_JOINTS = tuple(f"fr3_joint{i}" for i in range(1, 8))
CUBE_X_RANGE = (0.46, 0.66)  # the Block Grasp region (sim.tasks.block_grasp_env), base frame [m]
CUBE_Y_RANGE = (-0.15, 0.15)
CUBE_YAW_RANGE = (-math.pi / 18, math.pi / 18)
GRASP_RADIUS_M = 0.03  # cube centre within this of the TCP = held between the fingertips
MARKER_EVERY = 5
_LEVEL = {"holding": OK, "running": OK, "stopped": WARN, "error": ERROR, "disconnected": ERROR}


def parse_workspace(text: str) -> Any:
    """``"xmin ymin zmin xmax ymax zmax"`` [m] → WorkspaceLimits; empty → the default box."""
    from imgen_core.control_model import WorkspaceLimits

    if not text.strip():
        return WorkspaceLimits()
    try:
        v = [float(x) for x in text.replace(",", " ").split()]
    except ValueError as exc:
        raise ConfigError(f"workspace={text!r}: six numbers 'xmin ymin zmin xmax ymax zmax' [m] expected") from exc
    if len(v) != 6:
        raise ConfigError(f"workspace={text!r}: six numbers 'xmin ymin zmin xmax ymax zmax' [m] expected, "
                          f"got {len(v)}")
    return WorkspaceLimits(pos_min=(v[0], v[1], v[2]), pos_max=(v[3], v[4], v[5]))


def sample_cube_pose(rng: np.random.Generator, table_top_z: float, size: float) -> np.ndarray:
    """A Block Grasp cube placement (same region and yaw range as the sim task)."""
    x, y, yaw = rng.uniform(*CUBE_X_RANGE), rng.uniform(*CUBE_Y_RANGE), rng.uniform(*CUBE_YAW_RANGE)
    c, s = math.cos(yaw), math.sin(yaw)
    return se3.make_pose([x, y, table_top_z + size / 2], [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


class FrankaControllerNode(ImgenNode):
    INFO = S.FRANKA_CONTROLLER

    def __init__(self) -> None:
        super().__init__()
        from control.config import ControllerConfig
        from control.franka_controller import FrankaController
        from imgen_core import corruption as corruption_lib

        p = self.p
        self.corruption_model = corruption_lib.get(p.corruption)
        self._corruption = corruption_lib.NO_CORRUPTION
        workspace = parse_workspace(p.workspace)
        values: dict[str, Any] = {"rate_hz": p.rate_hz, "watchdog_periods": p.action_timeout * p.rate_hz,
                                  "response_model": p.response_model, "workspace": workspace}
        if not 1.0 <= values["watchdog_periods"] <= 20.0:
            raise ConfigError(f"action_timeout={p.action_timeout} s is {values['watchdog_periods']:.2f} periods at "
                              f"{p.rate_hz} Hz; valid: 1 to 20 control periods")
        self.twin: Any = None
        if p.backend == "franky_sim":
            from control.twin import TwinProcess, twin_controller_config

            self.twin = TwinProcess()
            host = self.twin.start()
            config = twin_controller_config(host, **values)
            self.cube_rest_z = self.twin.config.table_top_z + self.twin.config.cube_size / 2
        else:
            config = ControllerConfig(robot_ip=p.robot_ip, **values)
        self.ctl = FrankaController(config)
        try:
            self.ctl.connect()
        except ImgenError:
            self._close_twin()
            raise
        self.ctl.start()
        self._lock = threading.Lock()
        self._gripper = -1.0
        self._last_action = -1e9
        self._resetting = False
        self._rejected: str | None = None
        self.trial = -1
        self.in_trial = False
        self.steps = 0
        self._success_steps = 0
        self._ticks = 0
        self._n_events = 0
        self.pubs = {t: self.create_publisher(PoseStamped, t, 10) for t in (S.EE_POSE, S.CUBE_POSE_TRUE,
                                                                              S.CUBE_POSE_OBSERVED)}
        self.width_pub = self.create_publisher(JointState, S.GRIPPER_WIDTH, 10)
        self.joints_pub = self.create_publisher(JointState, S.JOINT_STATES, 10)
        self.status_pub = self.create_publisher(DiagnosticStatus, S.CONTROLLER_STATUS, 10)
        self.trial_pub = self.create_publisher(String, S.TRIAL, 10)
        self.marker_pub = self.create_publisher(MarkerArray, S.MARKERS, 10)
        self.create_subscription(TwistStamped, S.ACTION, self._on_action, 10, callback_group=self.io_group)
        self.create_subscription(Float64, S.GRIPPER_COMMAND, self._on_gripper, 10, callback_group=self.io_group)
        self.create_loop(p.rate_hz, self._tick)
        where = f"franky-sim twin at {config.robot_ip}" if self.twin else f"FR3 at {config.robot_ip}"
        self.get_logger().info(f"controlling the {where} at {p.rate_hz} Hz ({p.response_model} response model)")

    # --- inputs ----------------------------------------------------------------------------------------------
    def _on_gripper(self, msg: Float64) -> None:
        with self._lock:
            if not self._resetting:  # a command sent while the cell is reset belongs to the trial that ended
                self._gripper = float(msg.data)

    def _on_action(self, msg: TwistStamped) -> None:
        t, r = msg.twist.linear, msg.twist.angular
        with self._lock:
            grip = self._gripper
            self._last_action = time.monotonic()
            if self._resetting:
                return
        action = [t.x, t.y, t.z, r.x, r.y, r.z, grip]
        try:
            self.ctl.submit_action(action)
            self._rejected = None
        except SafetyError as exc:  # NaN/inf: refused, the arm holds
            self._rejected = str(exc)
        except RobotError as exc:  # stopped / error mode
            self._rejected = str(exc)

    # --- twin trials -----------------------------------------------------------------------------------------
    def _event(self, **event: Any) -> None:
        self.trial_pub.publish(String(data=json.dumps(event, default=str)))

    def _reset_cell(self, seed: int) -> np.ndarray:
        from imgen_core.control_model import PANDA_HOME_Q

        rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
        cube = sample_cube_pose(rng, self.twin.config.table_top_z, self.twin.config.cube_size)
        self._corruption = self.corruption_model.sample(rng)
        self.ctl.shutdown()
        if self.ctl.mode.value in ("stopped", "error"):
            self.ctl.resume()
        self.ctl.move_to_joints(PANDA_HOME_Q, relative_dynamics_factor=0.5)
        self.ctl.open_gripper(0.08)
        self.twin.set_cube_pose(cube)
        self.ctl.start()
        return cube

    def _start_trial(self) -> None:
        from imgen_ros.nodes.sim_world import trial_seed

        with self._lock:
            self._resetting = True
        try:
            self.trial += 1
            seed = trial_seed(self.p.seed, self.trial)
            self._reset_cell(seed)
            with self._lock:
                self._gripper = -1.0
            self.steps, self._success_steps, self.in_trial = 0, 0, True
            self._event(event="start", trial=self.trial, seed=seed, policy=self.p.policy_label or None,
                        operator="policy", task="block_grasp", corruption=self.p.corruption,
                        corruption_sample=self._corruption.to_dict(), world="franky_sim_twin",
                        horizon=self.p.trial_steps)
            self.get_logger().info(f"trial {self.trial} started (seed {seed})")
        finally:
            with self._lock:
                self._resetting = False

    def _end_trial(self, success: bool, reason: str) -> None:
        self.in_trial = False
        self.ctl.hold("trial ended")
        self._event(event="end", trial=self.trial, outcome="success" if success else "failure", reason=reason,
                    steps=self.steps)
        self.get_logger().info(f"trial {self.trial}: {'success' if success else 'failure'} ({reason}) "
                               f"after {self.steps} steps")

    def _lifted_and_held(self, cube: np.ndarray, tcp: np.ndarray) -> bool:
        return bool(cube[2, 3] - self.cube_rest_z >= self.p.lift_height
                    and np.linalg.norm(cube[:3, 3] - tcp[:3, 3]) <= GRASP_RADIUS_M)

    # --- the loop --------------------------------------------------------------------------------------------
    def _tick(self) -> None:
        p = self.p
        self._ticks += 1
        now = self.get_clock().now().nanoseconds
        obs = self.ctl.observation()
        self.pubs[S.EE_POSE].publish(M.pose_stamped(obs.base_T_tcp, now))
        self.width_pub.publish(M.gripper_width_msg(obs.gripper_width, now))
        self.joints_pub.publish(M.joint_state(ROS_ARM_JOINTS, obs.q, now))
        counts = self.ctl.events.counts()  # one source: the controller counts refusals as it reports them
        values: dict[str, Any] = {"mode": self.ctl.mode.value, "refused_actions": counts.get("action_refused", 0),
                                  **{f"n_{k}": v for k, v in counts.items()}}
        if self.twin is not None:
            cube = self.twin.cube_pose()
            believed = self._corruption.apply(cube)
            self.pubs[S.CUBE_POSE_TRUE].publish(M.pose_stamped(cube, now))
            self.pubs[S.CUBE_POSE_OBSERVED].publish(M.pose_stamped(believed, now))
            if self._ticks % MARKER_EVERY == 1:
                size = self.twin.config.cube_size
                self.marker_pub.publish(MarkerArray(markers=[
                    M.cube_marker(cube, size, "cube_true", 0, (0.1, 0.8, 0.1, 0.6), now),
                    M.cube_marker(believed, size, "cube_believed", 0, (1.0, 0.5, 0.0, 0.35), now)]))
            if p.trials:
                self._run_trials(cube, obs.base_T_tcp)
                values.update(trial=self.trial, steps=self.steps)
        last = self.ctl.events.last()
        message = self._rejected or (f"{last.kind}: {last.message}" if last is not None else "connected")
        level = WARN if self._rejected else _LEVEL.get(self.ctl.mode.value, WARN)
        status = DiagnosticStatus(level=level, name=self.get_fully_qualified_name(), message=message,
                                  hardware_id="fr3" if self.twin is None else "franky_sim",
                                  values=[KeyValue(key=k, value=str(v)) for k, v in values.items()])
        self.status_pub.publish(status)
        self.set_health(level, message, **values)

    def _run_trials(self, cube: np.ndarray, tcp: np.ndarray) -> None:
        p = self.p
        if not self.in_trial:
            if self.trial + 1 >= p.trials:
                self.finish(0)
                return
            with self._lock:
                fresh = time.monotonic() - self._last_action <= p.action_timeout
            if fresh:
                self._start_trial()
            return
        self.steps += 1
        self._success_steps = self._success_steps + 1 if self._lifted_and_held(cube, tcp) else 0
        if self._success_steps >= p.success_hold_steps:
            self._end_trial(True, "success")
        elif self.steps >= p.trial_steps:
            reason = "timeout"
            if cube[2, 3] - self.cube_rest_z < 0.01:
                reason = "cube not lifted"
            self._end_trial(False, reason)

    def _close_twin(self) -> None:
        if self.twin is not None:
            with contextlib.suppress(Exception):
                self.twin.close()
            self.twin = None

    def close(self) -> None:
        if self.in_trial:
            with contextlib.suppress(Exception):
                self._event(event="end", trial=self.trial, outcome="interrupted",
                            reason="franka_controller shut down", steps=self.steps)
        try:
            self.ctl.close()
        finally:
            self._close_twin()


def main() -> None:
    run(FrankaControllerNode)


if __name__ == "__main__":
    main()
