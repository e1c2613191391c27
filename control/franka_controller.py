"""``FrankaController``: 20 Hz normalised delta-pose actions → an FR3 through franky, moving as the sim arm moves.

Per action (DESIGN §4/§6):

1. the action is validated (NaN/inf → :class:`~imgen_core.errors.SafetyError`, the arm holds);
2. a reference model of the sim arm (``ControllerConfig.response_model``; by default robosuite's own OSC on a Panda,
   :class:`control.osc_emulator.RobosuiteOscModel`) advances one period under the action — anchored on the measured
   arm after start, stops and errors, and whenever the arm could not follow (anti-windup);
3. the model's TCP at the end of the period, clamped into the workspace and limited per period
   (:class:`control.safety.TargetFilter`), becomes a base-frame velocity command with a P-term,
   ``v = log(target ⊖ measured) / T``, sent asynchronously as a franky ``CartesianVelocityWaypointMotion`` held for
   ``command_hold_periods`` (the robot stops by itself if commands stop coming — a dead-man independent of this
   process; franky's ``Relative`` pose reference is in the EE frame, velocities here are in the base frame);
4. the gripper is commanded only when the command changes sign, asynchronously (close =
   ``grasp(0, speed, force, 0.005, epsilon_outer)``).

A background loop (:meth:`start`) executes actions as soon as they arrive (arrivals closer than 0.8 period are
delayed, so a faster stream cannot speed the arm up) and ticks at
``rate_hz``: refreshes the observation, polls asynchronous motion errors, runs the watchdog (no action for
``watchdog_periods`` → stop). Robot errors (reflex, aborted motion) are caught, ``recover_from_errors()`` is called,
the model is re-synced to the measured pose and the loop carries on; everything is reported in :attr:`events`.

The observation (:meth:`observation`) is the TCP of ``imgen_core.frames`` computed from the measured joint positions
with the Franka kinematics (identical to the robot's ``O_T_EE`` for the Franka Hand), joint positions, gripper width.
"""

from __future__ import annotations

import enum
import logging
import os
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from control.config import ControllerConfig
from control.safety import EventLog, TargetFilter, Watchdog
from imgen_core import frames, se3
from imgen_core.control_model import fr3_base_T_tcp, gripper_command, outside_workspace_by, validate_action
from imgen_core.errors import RobotError, SafetyError

F64 = NDArray[np.float64]
log = logging.getLogger(__name__)


class RobotIO:
    """The lock around every call into franky, which also keeps the calling thread's scheduling policy.

    libfranka raises the thread that constructs a ``Robot`` or runs a synchronous motion to ``SCHED_FIFO`` priority
    99, whatever the ``RealtimeConfig`` (it only decides whether failing to do so is an error), and never lowers it
    again. That thread is then the caller's: a ROS node's executor, a test runner, a trial loop. Every process it
    starts afterwards inherits real-time FIFO scheduling, and at FIFO 99 a busy thread is never preempted: on a
    2-core machine two such processes starve everything else. franky's own control thread for asynchronous motions
    keeps its real-time priority; only the callers' threads are put back to what they were on entry.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._local = threading.local()

    def __enter__(self) -> RobotIO:
        self._lock.acquire()
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        stack.append(thread_scheduling())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            restore_scheduling(self._local.stack.pop())
        finally:
            self._lock.release()


def thread_scheduling() -> tuple[int, int]:
    """(policy, priority) of the calling thread (Linux: pid 0 = this thread)."""
    return os.sched_getscheduler(0), os.sched_getparam(0).sched_priority


def restore_scheduling(saved: tuple[int, int]) -> None:
    """Put the calling thread back to ``saved`` if something (libfranka) changed it."""
    if thread_scheduling() != saved:
        try:
            os.sched_setscheduler(0, saved[0], os.sched_param(saved[1]))
        except OSError as exc:  # lowering one's own priority is always permitted; report anything else
            log.warning("could not restore the thread's scheduling policy %s: %s", saved, exc)


class Mode(enum.StrEnum):
    """Controller state."""

    DISCONNECTED = "disconnected"
    HOLDING = "holding"  # connected, arm at rest; the next action starts motion
    RUNNING = "running"  # executing a stream of actions
    STOPPED = "stopped"  # stopped by the user; actions are refused until resume()
    ERROR = "error"  # a robot error could not be recovered; actions are refused


@dataclass(frozen=True)
class Observation:
    """What the controller reports. Poses in the robot base frame; ``stamp`` is ``time.monotonic()`` [s]."""

    stamp: float
    robot_time_s: float
    base_T_tcp: F64  # (4,4) TCP (imgen_core.frames)
    q: F64  # (7,) [rad]
    dq: F64  # (7,) [rad/s]
    gripper_width: float  # [m], in the sim's convention (ControllerConfig.gripper_width_offset_m applied)
    mode: Mode

    @property
    def tcp_pos(self) -> F64:
        return self.base_T_tcp[:3, 3].copy()

    @property
    def tcp_quat_xyzw(self) -> F64:
        """Policy-boundary quaternion (hemisphere of the top-down orientation, ``frames.eef_quat_for_policy``)."""
        return frames.eef_quat_for_policy(se3.mat_to_quat_xyzw(self.base_T_tcp[:3, :3]))


@dataclass(frozen=True)
class CommandRecord:
    """One executed action: when it arrived / was sent (monotonic [s]) and what was commanded."""

    t_received: float
    t_sent: float
    action: F64
    target: F64  # (4,4) filtered TCP target for the end of the period
    twist: F64  # (6,) commanded base-frame TCP twist


class _Gripper:
    """Open/close on change only, on a worker thread of its own: the arm never waits for the gripper.

    libfranka's gripper commands block (a grasp until the fingers stop), so they run here, never under the arm's I/O
    lock. The newest request wins: a change while a command runs is sent when that command has finished.

    Every gripper command, the worker's and a direct one (:meth:`direct`, e.g. opening between trials), holds
    ``io``: two commands never overlap (a second command aborts the first on libfranka, and franky-sim then never
    completes the first one's future, which blocked the worker for good). A command that has not finished within
    ``gripper_timeout_s`` is reported as a ``gripper_error`` and the worker moves on.
    """

    def __init__(self, gripper: Any, cfg: ControllerConfig, events: EventLog) -> None:
        self.gripper, self.cfg, self.events = gripper, cfg, events
        self.sent: str | None = None
        self.wanted: str | None = None
        self._candidate: str | None = None  # a change being debounced, and how many requests asked for it
        self._count = 0
        self._cv = threading.Condition()
        self.io = threading.Lock()  # held for the whole of any gripper command
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="franka-gripper", daemon=True)
        self._thread.start()

    def request(self, command: str | None) -> None:
        """Ask for ``"open"`` / ``"close"`` (None: no change); a change counts once ``gripper_debounce_actions``
        consecutive requests ask for it. Never blocks."""
        if command is None:
            return
        with self._cv:
            if command == self.wanted:
                self._candidate, self._count = None, 0
                return
            if command == self._candidate:
                self._count += 1
            else:
                self._candidate, self._count = command, 1
            if self.wanted is None or self._count >= self.cfg.gripper_debounce_actions:
                self.wanted, self._candidate, self._count = command, None, 0
                self._cv.notify()

    def mark(self, command: str) -> None:
        """Record that the gripper was moved to ``command`` directly (e.g. opened between trials)."""
        with self._cv:
            self.sent = self.wanted = command
            self._candidate, self._count = None, 0

    def direct(self, command: str, run: Any, timeout_s: float) -> None:
        """Run the blocking call ``run()`` (which moves the gripper to ``command``) once no worker command runs.

        Raises:
            RobotError: a running command did not finish within ``timeout_s``.
        """
        if not self.io.acquire(timeout=timeout_s):
            raise RobotError(f"gripper busy: the running command did not finish within {timeout_s:.1f} s")
        try:
            run()
            self.mark(command)
        finally:
            self.io.release()

    def close(self, timeout_s: float = 2.0) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()
        self._thread.join(timeout_s)

    def _next(self) -> str | None:
        with self._cv:
            while not self._closed and (self.wanted is None or self.wanted == self.sent):
                self._cv.wait(0.5)
            return None if self._closed else self.wanted

    def _run(self) -> None:
        while (command := self._next()) is not None:
            with self.io:
                with self._cv:  # a direct command may have done it meanwhile
                    if command != self.wanted or command == self.sent:
                        continue
                self._execute(command)

    def _execute(self, command: str) -> None:
        c = self.cfg
        try:
            if command == "close":
                future = self.gripper.grasp_async(0.0, c.gripper_speed_mps, c.gripper_force_n, 0.005,
                                                  c.gripper_epsilon_outer_m)
            else:
                future = self.gripper.move_async(c.gripper_open_width_m, c.gripper_speed_mps)
            self.sent = command
            self.events.add("gripper", f"gripper {command}", command=command)
            # A running command is finished, not stopped: a grasp ends when the fingers close on the object
            # (or on themselves), within a second or two. (franky's stop() during an asynchronous grasp leaves
            # that grasp's future pending on franky-sim, which then blocks every later gripper command.)
            deadline = time.monotonic() + c.gripper_timeout_s
            while not future.wait(0.02):
                if self._closed:
                    return
                if time.monotonic() > deadline:
                    raise RobotError(f"no answer within gripper_timeout_s={c.gripper_timeout_s:.1f} s")
            ok = bool(future.get())
            self.events.add("gripper_done", f"gripper {command}: {'ok' if ok else 'failed'}", command=command,
                            success=ok)
        except Exception as exc:  # a gripper failure must not end the worker: report, retry on the next change
            self.events.add("gripper_error", f"gripper {command}: {type(exc).__name__}: {exc}", command=command)
            self.sent = None
            time.sleep(0.2)


class FrankaController:
    """Executes normalised 7-D delta-pose actions on an FR3 through franky (see the module doc).

    Example (against the franky-sim twin)::

        with TwinProcess() as twin:                          # franky-sim on loopback, in a child process
            ctl = FrankaController(twin_controller_config(twin.hostname))   # real FR3: ControllerConfig(robot_ip=...)
            ctl.connect()
            ctl.start()
            ctl.submit_action([0, 0, -0.5, 0, 0, 0, -1])   # 20 Hz, from the policy
            obs = ctl.observation()
            ctl.close()
    """

    def __init__(self, config: ControllerConfig) -> None:
        self.config = config
        self.events = EventLog()
        self.watchdog = Watchdog(config.watchdog_timeout_s)
        self.filter = self._make_filter(config.workspace)
        self.commands: deque[CommandRecord] = deque(maxlen=10000)
        self.tick_times: deque[float] = deque(maxlen=100000)
        self.robot: Any = None
        self.gripper: Any = None
        self.model: Any = None
        self._mode = Mode.DISCONNECTED
        self._io = RobotIO()  # serialises robot I/O; keeps the caller's scheduling policy (see RobotIO)
        self._model_lock = threading.Lock()  # the response model is stepped by the executor and closed by close()
        self._cond = threading.Condition()
        self._pending: tuple[F64, float] | None = None
        self._thread: threading.Thread | None = None
        self._stop_loop = False
        self._hold_requested = False
        self._resync_next = True
        self._last_exec = -1e9
        self._recoveries: deque[float] = deque()
        self._recovered_at = -1e9
        self._obs: Observation | None = None
        self._ee_frame: Any = None
        self._gripper: _Gripper | None = None
        self._width = float("nan")
        self._exec_thread: threading.Thread | None = None

    # ------------------------------------------------------------------ connection
    def _make_filter(self, workspace: Any) -> TargetFilter:
        c = self.config
        # a velocity command stays in force for command_hold_periods (robot side), plus one period of latency
        return TargetFilter(workspace, c.max_step_translation_m, c.max_step_rotation_rad, c.period_s,
                            c.brake_decel_mps2, horizon_s=(c.command_hold_periods + 1.0) * c.period_s)

    def connect(self) -> None:
        """Connect to robot and gripper, set collision behaviour, recover pending errors, build the model."""
        import franky

        from control.osc_emulator import make_response_model

        c = self.config
        rt = franky.RealtimeConfig.Enforce if c.realtime_config == "enforce" else franky.RealtimeConfig.Ignore
        try:
            with self._io:
                self.robot = franky.Robot(c.robot_ip, realtime_config=rt)
                self.robot.relative_dynamics_factor = c.relative_dynamics_factor
                self.robot.set_collision_behavior(c.collision_torque_threshold_nm, c.collision_force_threshold_n)
                if self.robot.has_errors:
                    self.events.add("recovered" if self.robot.recover_from_errors() else "robot_error",
                                    "errors pending at connect: automatic error recovery")
                self.gripper = franky.Gripper(c.robot_ip)
        except Exception as exc:  # franky raises its own exception types (network, incompatible version, ...)
            raise RobotError(f"cannot connect to the FR3 at {c.robot_ip}: {type(exc).__name__}: {exc}") from exc
        # our TCP may differ from the EE configured on the robot: velocity targets are given for our TCP
        f_t_ee = np.array(self.robot.state.F_T_EE.matrix)
        ee_t_tcp = se3.pose_inv(f_t_ee) @ frames.FLANGE_T_TCP
        if not np.allclose(ee_t_tcp, np.eye(4), atol=1e-6):
            self._ee_frame = franky.Affine(ee_t_tcp)
            self.events.add("info", "robot EE differs from the imgen TCP; commands use ee_frame",
                            ee_T_tcp=ee_t_tcp.tolist())
        self._gripper = _Gripper(self.gripper, c, self.events)
        obs = self.refresh()
        self.model = make_response_model(c.response_model, obs.base_T_tcp, obs.q, c.response_params_path or None)
        # The first step of the robosuite OSC model compiles its numba kernels (seconds on a fresh install): take it
        # now, not in the first action of a motion (it would stall the executor past the watchdog).
        self.model.apply_action(np.zeros(7))
        self.model.resync(obs.q, obs.gripper_width)
        self._mode = Mode.HOLDING
        self._resync_next = True
        self.events.add("connected", f"connected to {c.robot_ip} ({c.response_model} response model)")

    def close(self) -> None:
        """Stop the loop and the arm, disconnect."""
        self.shutdown()
        if self.robot is not None:
            with self._io:
                try:
                    self._send_stop()
                    self.robot.join_motion(1.0)
                except Exception as exc:
                    log.debug("close: %s", exc)
        if self._gripper is not None:
            self._gripper.close()
            self._gripper = None
        with self._model_lock:  # never free the model while the executor steps it
            if self.model is not None and hasattr(self.model, "close"):
                self.model.close()
            self.model = None
        self.robot, self.gripper = None, None
        self._mode = Mode.DISCONNECTED

    # ------------------------------------------------------------------ observation
    def refresh(self, gripper: bool = True) -> Observation:
        """Read the robot (and, if ``gripper``, the gripper) state now and return the new observation."""
        with self._io:
            st = self.robot.state
            if gripper and self.gripper is not None:
                self._width = float(self.gripper.width) + self.config.gripper_width_offset_m
        q = np.array(st.q, dtype=np.float64)
        obs = Observation(time.monotonic(), float(st.time.to_sec()), fr3_base_T_tcp(q), q,
                          np.array(st.dq, dtype=np.float64), self._width, self._mode)
        self._obs = obs
        return obs

    def observation(self) -> Observation:
        """The latest observation (refreshed every tick and after every action)."""
        return self._obs if self._obs is not None else self.refresh()

    @property
    def mode(self) -> Mode:
        return self._mode

    def status(self) -> dict[str, Any]:
        """Mode, event counters, the last event, and the number of executed actions."""
        last = self.events.last()
        return {"mode": self._mode.value, "counts": self.events.counts(), "n_commands": len(self.commands),
                "last_event": None if last is None else {"kind": last.kind, "message": last.message}}

    def set_workspace(self, workspace: Any) -> None:
        """Replace the workspace limits (a :class:`~imgen_core.control_model.WorkspaceLimits`), e.g. per task."""
        import dataclasses

        self.config = dataclasses.replace(self.config, workspace=workspace)
        self.filter = self._make_filter(workspace)
        self.events.add("info", "workspace limits replaced", pos_min=list(workspace.pos_min),
                        pos_max=list(workspace.pos_max))

    # ------------------------------------------------------------------ actions
    def submit_action(self, action: ArrayLike) -> None:
        """Queue an action for immediate execution by the loop (latest wins). Thread-safe.

        Raises:
            SafetyError: the action has NaN/inf or a wrong shape (the arm is stopped and holds).
            RobotError: the controller is stopped, in error, or not connected.
        """
        t = time.monotonic()
        try:
            a = validate_action(action)
        except SafetyError as exc:
            self.events.add("action_refused", str(exc))
            with self._cond:
                self._pending = None
                self._hold_requested = True
                self._cond.notify()
            raise
        self._check_accepting()
        with self._cond:
            self._pending = (a, t)
            if self._mode == Mode.RUNNING:
                self.watchdog.feed(t)  # the watchdog watches arrivals
            self._cond.notify()

    def _check_accepting(self) -> None:
        if self._mode in (Mode.STOPPED, Mode.ERROR, Mode.DISCONNECTED):
            raise RobotError(f"controller is {self._mode.value}; actions are refused"
                             + (" (call resume())" if self._mode == Mode.STOPPED else ""))

    def execute(self, action: ArrayLike, t_received: float | None = None) -> CommandRecord | None:
        """Execute one action now, in the calling thread (the loop uses it; also for lock-step use without loop).

        Returns the command record, or None if a robot error occurred (then handled and reported).
        """
        t_recv = time.monotonic() if t_received is None else t_received
        try:
            a = validate_action(action)
        except SafetyError as exc:
            self.events.add("action_refused", str(exc))
            self.hold("action_refused")
            raise
        self._check_accepting()
        import franky

        c = self.config
        errors = (franky.ControlException, franky.CommandException, franky.InvalidMotionTypeException,
                  franky.NetworkException, franky.InvalidOperationException)
        try:
            obs = self.refresh(gripper=False)
        except errors as exc:
            self._on_robot_error(exc)
            return None
        with self._model_lock:
            model = self.model
            if model is None:  # closed meanwhile
                return None
            if self._resync_next:
                model.resync(obs.q, obs.gripper_width)
                self._resync_next = False
            else:
                dpos, drot = se3.delta_pose(obs.base_T_tcp, model.base_T_tcp)
                if np.linalg.norm(dpos) > c.max_tracking_error_m or np.linalg.norm(drot) > c.max_tracking_error_rad:
                    self.events.add("resync", "the arm could not follow the model: re-anchored",
                                    error_m=float(np.linalg.norm(dpos)), error_rad=float(np.linalg.norm(drot)))
                    model.resync(obs.q, obs.gripper_width)
            model.apply_action(a)
            model_target = model.base_T_tcp.copy()
        res = self.filter(obs.base_T_tcp, model_target)
        if res.workspace_hits:
            self.events.add("workspace_clamp", f"target clamped: {', '.join(res.workspace_hits)}",
                            hits=res.workspace_hits, target=res.target[:3, 3].tolist())
            # The model may press against a wall of the box as the sim arm presses on its table: it keeps its
            # motion along the free axes (re-anchoring it at rest every period would freeze the arm, e.g. a
            # grasp at the floor could not drag the cube a millimetre). Beyond the margin, or past an
            # orientation limit, it is re-anchored so that it cannot wind up outside the workspace.
            if outside_workspace_by(model_target, c.workspace) > c.workspace_model_margin_m or any(
                    h in ("tilt", "yaw") for h in res.workspace_hits):
                self._resync_next = True
        if res.step_limited:
            self.events.add("step_limit", "target change limited to the per-period maximum")
        twist = res.twist
        hold = franky.Duration(int(round(c.command_hold_periods * c.period_s * 1000)))
        wp = franky.CartesianVelocityWaypoint(franky.RobotVelocity(franky.Twist(twist[:3], twist[3:])),
                                              hold_target_duration=hold)
        motion = (franky.CartesianVelocityWaypointMotion([wp]) if self._ee_frame is None
                  else franky.CartesianVelocityWaypointMotion([wp], ee_frame=self._ee_frame))
        with self._io:
            if self._mode in (Mode.STOPPED, Mode.ERROR):  # stopped while the model stepped
                return None
            try:
                self.robot.move(motion, asynchronous=True)
                t_sent = time.monotonic()
                if self._gripper is not None:
                    self._gripper.request(gripper_command(float(a[6])))
            except errors as exc:
                self._on_robot_error(exc)
                return None
        self.watchdog.feed(t_recv)
        self._last_exec = t_recv
        if self._mode == Mode.HOLDING:
            self._mode = Mode.RUNNING
            self.events.add("running", "motion started")
        rec = CommandRecord(t_recv, t_sent, a, res.target, twist)
        self.commands.append(rec)
        return rec

    # ------------------------------------------------------------------ stop / resume / errors
    def _send_stop(self) -> None:
        import franky

        self.robot.move(franky.CartesianVelocityStopMotion(), asynchronous=True)

    def hold(self, reason: str) -> None:
        """Bring the arm to rest; the next valid action resumes motion (re-synced to the measured pose)."""
        with self._io:
            if self.robot is None:
                return
            try:
                self._send_stop()
            except Exception as exc:
                self._on_robot_error(exc)
                return
            robot_t = float(self.robot.state.time.to_sec())
        self.watchdog.disarm()
        self._resync_next = True
        if self._mode == Mode.RUNNING:
            self._mode = Mode.HOLDING
        self.events.add("hold", f"arm holds ({reason})", reason=reason, robot_time=robot_t)

    def stop(self, reason: str = "user") -> None:
        """Stop the arm; actions are refused until :meth:`resume`."""
        self.hold(reason)
        self._mode = Mode.STOPPED
        self.events.add("stopped", f"stopped ({reason})", reason=reason)

    def resume(self) -> None:
        """Leave STOPPED (or ERROR, after recovering the robot); the next action starts from the measured pose."""
        if self._mode == Mode.ERROR:
            with self._io:
                if not self.robot.recover_from_errors():
                    raise RobotError("recover_from_errors() failed; check the robot (Desk) and try again")
            self._recoveries.clear()
        self._resync_next = True
        self._mode = Mode.HOLDING
        self.events.add("resumed", "accepting actions")

    def _on_robot_error(self, exc: BaseException) -> None:
        """Report, recover (``recover_from_errors``), re-sync the model on the measured pose; or enter ERROR."""
        msg = f"{type(exc).__name__}: {exc}"
        self.events.add("robot_error", msg, error=type(exc).__name__)
        log.warning("robot error: %s", msg)
        self.watchdog.disarm()
        self._resync_next = True
        now = time.monotonic()
        while self._recoveries and now - self._recoveries[0] > 60.0:
            self._recoveries.popleft()
        if not self.config.auto_recover or len(self._recoveries) >= self.config.max_recoveries:
            self._mode = Mode.ERROR
            self.events.add("error", "not recovering automatically (auto_recover off or too many recoveries)")
            return
        self._recoveries.append(now)
        with self._io:
            ok = False
            for _ in range(3):  # a pending exception of the aborted asynchronous motion may surface first
                try:
                    self.robot.poll_motion()
                except Exception as pexc:
                    log.debug("pending motion exception: %s", pexc)
                try:
                    ok = bool(self.robot.recover_from_errors())
                except Exception as rexc:
                    msg = f"{type(rexc).__name__}: {rexc}"
                    continue
                if ok:
                    break
            if ok:
                self._recovered_at = time.monotonic()
                obs = self.refresh(gripper=False)
                self._resync_next = True  # the next action starts from the measured pose
                self._mode = Mode.HOLDING
                self.events.add("recovered", "recover_from_errors() succeeded; target re-synced to the measured pose",
                                tcp=obs.tcp_pos.tolist())
            else:
                self._mode = Mode.ERROR
                self.events.add("error", f"recovery failed: {msg}")

    def poll(self) -> None:
        """Surface errors of the running asynchronous motion (franky raises them on the next call)."""
        import franky

        with self._io:
            try:
                self.robot.poll_motion()
                settled = time.monotonic() - self._recovered_at > 0.1  # the state reports errors a few ms longer
                if self._mode in (Mode.HOLDING, Mode.RUNNING) and settled and self.robot.has_errors:
                    raise RobotError(f"robot reports errors (mode {self.robot.state.robot_mode.name})")
            except (franky.ControlException, franky.CommandException, franky.InvalidMotionTypeException,
                    franky.NetworkException, RobotError) as exc:
                self._on_robot_error(exc)

    # ------------------------------------------------------------------ loop
    def _watchdog_due(self, now: float) -> bool:
        return self._mode == Mode.RUNNING and self.watchdog.expired(now)

    def _watchdog_stop(self) -> None:
        last = self.watchdog.last_feed
        self.hold("watchdog")
        self.events.add("watchdog_stop", f"no action for {self.config.watchdog_timeout_s * 1000:.0f} ms: arm stopped",
                        last_action=last)

    def tick(self) -> None:
        """Periodic work: observation and error polling (the executor runs the watchdog, its own worker the gripper)."""
        self.poll()
        if self.robot is None:
            return
        with self._io:
            self.refresh()

    def start(self) -> None:
        """Run the control loop: a 20 Hz tick thread and an action executor thread (see :meth:`submit_action`)."""
        if self._thread is not None:
            return
        if self.config.python_switch_interval_s > 0:
            sys.setswitchinterval(self.config.python_switch_interval_s)
        self._stop_loop = False
        self._hold_requested = False
        self._thread = threading.Thread(target=self._run_ticks, name="franka-controller-tick", daemon=True)
        self._exec_thread = threading.Thread(target=self._run_executor, name="franka-controller-exec", daemon=True)
        self._thread.start()
        self._exec_thread.start()

    def shutdown(self) -> None:
        """Stop the background threads (the arm is not commanded; see :meth:`close`)."""
        if self._thread is None:
            return
        with self._cond:
            self._stop_loop = True
            self._cond.notify_all()
        for th in (self._thread, self._exec_thread):
            if th is not None:
                th.join(timeout=30.0)
                if th.is_alive():
                    raise RobotError(f"control thread {th.name} did not stop within 30 s")
        self._thread, self._exec_thread = None, None

    def _run_ticks(self) -> None:
        """Fixed-rate tick: observation, error polling, watchdog, gripper (never blocked by action execution)."""
        period = self.config.period_s
        next_tick = time.perf_counter()
        while not self._stop_loop:
            delay = next_tick - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            self.tick_times.append(time.perf_counter())
            try:
                self.tick()
            except Exception as exc:  # keep the loop alive; report
                self.events.add("loop_error", f"{type(exc).__name__}: {exc}")
                log.exception("control tick error")
            next_tick += period
            now = time.perf_counter()
            if now - next_tick > period:  # fell behind (stall): re-phase instead of bursting
                next_tick = now + period

    def _run_executor(self) -> None:
        """Execute actions as they arrive (arrivals closer than 0.8 period wait); stop on the watchdog."""
        min_gap = 0.8 * self.config.period_s
        while True:
            with self._cond:
                while True:
                    if self._stop_loop:
                        return
                    now = time.monotonic()
                    ready = self._pending is not None and now - self._last_exec >= min_gap
                    if ready or self._hold_requested or self._watchdog_due(now):
                        break
                    wake = now + 0.5
                    if self._pending is not None:
                        wake = min(wake, self._last_exec + min_gap)
                    fed = self.watchdog.last_feed
                    if self._mode == Mode.RUNNING and fed is not None:
                        wake = min(wake, fed + self.watchdog.timeout_s + 1e-4)
                    self._cond.wait(max(0.0, wake - now))
                pending = self._pending if ready else None
                if ready:
                    self._pending = None
                hold = self._hold_requested
                self._hold_requested = False
            try:
                if hold:
                    self.hold("action_refused")
                if pending is not None:
                    try:
                        self.execute(pending[0], pending[1])
                    except (SafetyError, RobotError) as exc:
                        log.debug("action not executed: %s", exc)
                if self._watchdog_due(time.monotonic()):
                    self._watchdog_stop()
            except Exception as exc:  # keep the loop alive; report
                self.events.add("loop_error", f"{type(exc).__name__}: {exc}")
                log.exception("action executor error")

    def open_gripper(self, width_m: float | None = None, speed_mps: float = 0.1) -> None:
        """Blocking open (e.g. between trials); the next close action is sent as a change."""
        if self.gripper is None:
            raise RobotError("not connected")
        width = self.config.gripper_open_width_m if width_m is None else width_m
        if self._gripper is None:
            self.gripper.move(width, speed_mps)
        else:  # never beside a running worker command (see _Gripper)
            self._gripper.direct("open", lambda: self.gripper.move(width, speed_mps), self.config.gripper_timeout_s)

    def move_to_joints(self, q: ArrayLike, relative_dynamics_factor: float = 0.3, timeout_s: float = 30.0) -> None:
        """Blocking joint-space move (e.g. home between trials); the next action starts from there.

        Only while no action stream runs (the loop must not execute actions meanwhile).
        """
        import franky

        target = [float(x) for x in np.asarray(q, dtype=np.float64).reshape(7)]
        with self._io:
            self.watchdog.disarm()
            try:
                self._send_stop()
                self.robot.join_motion(timeout_s)
                self.robot.move(franky.JointMotion(target, relative_dynamics_factor=relative_dynamics_factor))
            except Exception as exc:
                self._on_robot_error(exc)
                raise RobotError(f"move_to_joints failed: {type(exc).__name__}: {exc}") from exc
            self._resync_next = True
            if self._mode == Mode.RUNNING:
                self._mode = Mode.HOLDING
            self.refresh()
        self.events.add("moved", "joint move done", q=target)

    # ------------------------------------------------------------------ helpers for lock-step use
    def robot_time(self) -> float:
        """The robot's clock [s] (libfranka state time; the simulator's clock in the twin)."""
        with self._io:
            return float(self.robot.state.time.to_sec())

    def wait_robot_until(self, t_robot: float, timeout_s: float = 10.0) -> float:
        """Block until the robot clock reaches ``t_robot`` [s] (lock-step with a slower-than-real-time simulator)."""
        deadline = time.monotonic() + timeout_s
        while True:
            t = self.robot_time()
            if t >= t_robot - 5e-4:
                return t
            if time.monotonic() > deadline:
                raise RobotError(f"robot clock did not reach {t_robot:.3f} s within {timeout_s} s (at {t:.3f} s)")
            time.sleep(2e-4)
