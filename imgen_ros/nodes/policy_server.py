"""``policy_server``: observations → 20 Hz actions (DESIGN §4/§5).

In: ``/franka/ee_pose`` (PoseStamped, ``base``), ``/franka/gripper_width`` (JointState ``gripper_width``),
``/cube_pose`` (PoseStamped, ``base``), ``/imgen/trial`` (JSON; a ``start`` event resets the policy's RNN state).
Out: ``/imgen/action`` (TwistStamped: linear = normalised dpos, angular = normalised axis-angle drot, header.stamp =
stamp of the newest observation used) and ``/imgen/gripper_command`` (Float64, -1 open / +1 close), every tick.

Holds still — a zero twist, the gripper command unchanged — while any observation is missing, older than
``stale_timeout`` (by its header stamp), or non-finite, or when the policy fails; the reason is on ``/diagnostics``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
from geometry_msgs.msg import PoseStamped, TwistStamped
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64, String

from imgen_core import frames
from imgen_core import keys as K
from imgen_core.errors import ConfigError
from imgen_ros import schemas as S
from imgen_ros.convert import gripper_width_of, ns_to_stamp, pose_msg_to_pos_quat, stamp_to_ns, trial_event_kind
from imgen_ros.node_base import ERROR, OK, WARN, ImgenNode, run


def load_any_policy(spec: str, task: str) -> Any:
    """A checkpoint path, or ``scripted:<name>`` from ``sim.operators`` (built on the task twin)."""
    if spec.startswith("scripted:"):
        import importlib

        try:
            operators = importlib.import_module("sim.operators")
            tasks = importlib.import_module("sim.tasks")
        except ImportError as exc:
            raise ConfigError(f"checkpoint={spec!r} needs sim.operators / sim.tasks, which are unavailable: {exc}"
                              ) from exc
        adapter = tasks.make_task(task, corruption="none", observability="none")
        return operators.make_scripted_policy(spec.split(":", 1)[1], adapter)
    from imgen_core.policy import load_policy

    return load_policy(spec)


class PolicyServer(ImgenNode):
    INFO = S.POLICY_SERVER

    def __init__(self) -> None:
        super().__init__()
        p = self.p
        self.obj = p.object_name
        self.provided = {K.OBS_EEF_POS, K.OBS_EEF_QUAT, K.OBS_GRIPPER_WIDTH, K.obs_object_pos(self.obj),
                         K.obs_object_quat(self.obj)}
        self.policy = load_any_policy(p.checkpoint, p.task)
        needed = set(getattr(self.policy, "input_keys", self.provided))
        if needed - self.provided:
            raise ConfigError(f"checkpoint {p.checkpoint} needs observation keys {sorted(needed - self.provided)} "
                              f"that the ROS graph does not provide (it provides {sorted(self.provided)})")
        self._lock = threading.Lock()
        self._latest: dict[str, Any] = {}
        self._reset_requested = True
        self._between_trials = False
        self._gripper: float | None = None
        self.steps = 0
        self.holds = 0
        for topic, typ in ((S.EE_POSE, PoseStamped), (S.GRIPPER_WIDTH, JointState), (S.CUBE_POSE, PoseStamped)):
            self.create_subscription(typ, topic, lambda m, t=topic: self._store(t, m), 10,
                                     callback_group=self.io_group)
        self.create_subscription(String, S.TRIAL, self._on_trial, 10, callback_group=self.io_group)
        self.action_pub = self.create_publisher(TwistStamped, S.ACTION, 10)
        self.gripper_pub = self.create_publisher(Float64, S.GRIPPER_COMMAND, 10)
        self.create_loop(p.rate_hz, self._tick)
        self.get_logger().info(f"policy {p.checkpoint} ready; acting at {p.rate_hz} Hz")

    def _store(self, topic: str, msg: Any) -> None:
        with self._lock:
            self._latest[topic] = msg

    def _on_trial(self, msg: String) -> None:
        if not self.p.reset_on_trial_start:
            return
        kind = trial_event_kind(msg.data)
        with self._lock:
            if kind == "start":
                self._reset_requested = True
                self._between_trials = False
            elif kind == "end":  # until the next start: no actions, no gripper command (the cell is being reset)
                self._between_trials = True

    def observation(self, latest: dict[str, Any], now_ns: int) -> tuple[dict[str, np.ndarray] | None, str, int]:
        """Observation dict from the newest messages, or ``None`` and why; also the newest stamp used [ns]."""
        missing = [t for t in (S.EE_POSE, S.GRIPPER_WIDTH, S.CUBE_POSE) if t not in latest]
        if missing:
            return None, f"missing {', '.join(missing)}", 0
        stamps = {t: stamp_to_ns(latest[t].header.stamp) for t in (S.EE_POSE, S.GRIPPER_WIDTH, S.CUBE_POSE)}
        for t, s in stamps.items():
            age = 1e-9 * (now_ns - s)
            if age > self.p.stale_timeout:
                return None, f"stale {t} (age {age:.3f} s > {self.p.stale_timeout} s)", max(stamps.values())
        eef_pos, eef_quat = pose_msg_to_pos_quat(latest[S.EE_POSE].pose)
        cube_pos, cube_quat = pose_msg_to_pos_quat(latest[S.CUBE_POSE].pose)
        width = gripper_width_of(latest[S.GRIPPER_WIDTH])
        obs = {K.OBS_EEF_POS: eef_pos, K.OBS_EEF_QUAT: frames.eef_quat_for_policy(eef_quat),
               K.OBS_GRIPPER_WIDTH: np.array([width]), K.obs_object_pos(self.obj): cube_pos,
               K.obs_object_quat(self.obj): frames.object_quat_for_policy(cube_quat)}
        bad = [k for k, v in obs.items() if not np.all(np.isfinite(v))]
        if bad:
            return None, f"non-finite observation {', '.join(bad)}", max(stamps.values())
        return obs, "", max(stamps.values())

    def _tick(self) -> None:
        now_ns = self.get_clock().now().nanoseconds
        with self._lock:
            latest = dict(self._latest)
            reset, self._reset_requested = self._reset_requested, False
            between = self._between_trials
        if reset:
            self.policy.reset()
        if reset or between:
            self._gripper = None  # the last trial's gripper command must not carry over into the next one
        if between:
            obs, why, stamp_ns = None, "trial ended: waiting for the next trial start", 0
        else:
            obs, why, stamp_ns = self.observation(latest, now_ns)
        action = None
        t0 = time.perf_counter()
        if obs is not None:
            try:
                a = np.asarray(self.policy.act(obs), dtype=np.float64).reshape(-1)
                if a.shape != (K.ACTION_DIM,) or not np.all(np.isfinite(a)):
                    why = f"policy returned an invalid action {a.tolist()}"
                else:
                    action = np.clip(a, -1.0, 1.0)
            except Exception as exc:  # a failing policy must not take the control loop down: hold and report
                why = f"policy error: {type(exc).__name__}: {exc}"
        act_ms = 1e3 * (time.perf_counter() - t0)
        msg = TwistStamped()
        msg.header.frame_id = S.BASE_FRAME
        ns_to_stamp(stamp_ns if action is not None else now_ns, msg.header.stamp)  # a hold uses no observation
        if action is not None:
            (msg.twist.linear.x, msg.twist.linear.y, msg.twist.linear.z) = (float(v) for v in action[:3])
            (msg.twist.angular.x, msg.twist.angular.y, msg.twist.angular.z) = (float(v) for v in action[3:6])
            self._gripper = float(action[6])
            self.steps += 1
        else:
            self.holds += 1
        self.action_pub.publish(msg)
        if self._gripper is not None:
            self.gripper_pub.publish(Float64(data=self._gripper))
        if action is not None:
            self.set_health(OK, "acting", steps=self.steps, holds=self.holds, act_ms=f"{act_ms:.1f}")
        else:
            level = ERROR if why.startswith(("policy", "non-finite")) else OK if between else WARN
            self.set_health(level, f"holding still: {why}", steps=self.steps, holds=self.holds)


def main() -> None:
    run(PolicyServer)


if __name__ == "__main__":
    main()
