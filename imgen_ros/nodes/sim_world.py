"""``sim_world``: the MuJoCo twin of the task as ROS topics (DESIGN §5).

Publishes every tick (``rate_hz``, own callback group): ``/franka/ee_pose`` (TCP in ``base``),
``/franka/gripper_width``, ``/joint_states``, ``/sim/cube_pose_true`` (ground truth) and
``/sim/cube_pose_observed`` (the pose the robot *believes*, after the episode's corruption — remapped onto
``/cube_pose`` when the twin stands in for camera + ICP); markers of the true and believed cube on
``/imgen/markers``; contacts and success on ``/diagnostics``.

With ``closed_loop`` it steps the sim from the newest ``/imgen/action`` (TwistStamped: linear = dpos, angular =
drot, normalised) and ``/imgen/gripper_command`` (Float64); an arm action older than ``action_timeout`` becomes
a zero (hold) action. With ``trials > 0`` it runs seeded trials (the seeds of ``imgen eval``), each announced on
``/imgen/trial`` (``start`` with seed/policy/corruption, ``end`` with the outcome), starting as soon as a policy
publishes actions, and exits when they are done.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

import numpy as np
from geometry_msgs.msg import PoseStamped, TwistStamped
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64, String
from visualization_msgs.msg import MarkerArray

from imgen_core import keys as K
from imgen_ros import messages as M
from imgen_ros import schemas as S
from imgen_ros.node_base import OK, WARN, ImgenNode, run

ARM_JOINTS = tuple(f"robot0_joint{i}" for i in range(1, 8))
ROS_ARM_JOINTS = tuple(f"fr3_joint{i}" for i in range(1, 8))
MARKER_EVERY = 5  # ticks between marker messages


def trial_seed(seed: int, trial: int) -> int:
    """Scene seed of trial ``trial`` — the same as ``imgen eval --seed seed`` uses for its trial ``trial``."""
    from imgen_core.generation.runner import episode_seed

    return episode_seed(seed, trial)


class SimWorld(ImgenNode):
    INFO = S.SIM_WORLD

    def __init__(self) -> None:
        super().__init__()
        import mujoco

        from sim.tasks import make_task

        p = self.p
        self.adapter = make_task(p.task, corruption=p.corruption, observability=p.observability)
        m = self.adapter.robot.model
        self._arm_qpos = [int(m.jnt_qposadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, j)]) for j in ARM_JOINTS]
        self.cube_size = float(getattr(getattr(self.adapter, "env", None), "cube_size", 0.05))
        self.horizon = p.trial_steps or int(self.adapter.horizon)
        self._lock = threading.Lock()
        self._action: tuple[np.ndarray, float] | None = None  # (arm (6,), monotonic receive time)
        self._gripper = -1.0
        self.trial = -1
        self.in_trial = False
        self.steps = 0
        self._success_steps = 0
        self._ticks = 0
        self.adapter.reset(trial_seed(p.seed, 0) if p.trials else p.seed)
        self.pubs = {t: self.create_publisher(PoseStamped, t, 10)
                     for t in (S.EE_POSE, S.CUBE_POSE_TRUE, S.CUBE_POSE_OBSERVED)}
        self.width_pub = self.create_publisher(JointState, S.GRIPPER_WIDTH, 10)
        self.joints_pub = self.create_publisher(JointState, S.JOINT_STATES, 10)
        self.marker_pub = self.create_publisher(MarkerArray, S.MARKERS, 10)
        self.trial_pub = self.create_publisher(String, S.TRIAL, 10)
        self._announce_after = time.monotonic() + p.announce_delay  # see _tick: the first trial waits for discovery
        if p.closed_loop:
            self.create_subscription(TwistStamped, S.ACTION, self._on_action, 10, callback_group=self.io_group)
            self.create_subscription(Float64, S.GRIPPER_COMMAND, self._on_gripper, 10, callback_group=self.io_group)
        self.create_loop(p.rate_hz, self._tick)
        mode = f"closed loop, {p.trials or 'endless'} trial(s)" if p.closed_loop else "open loop (scene only)"
        self.get_logger().info(f"twin of {p.task} (corruption {p.corruption}) at {p.rate_hz} Hz, {mode}")

    # --- inputs ----------------------------------------------------------------------------------------------
    def _on_action(self, msg: TwistStamped) -> None:
        t, r = msg.twist.linear, msg.twist.angular
        arm = np.array([t.x, t.y, t.z, r.x, r.y, r.z], dtype=np.float64)
        with self._lock:
            self._action = (arm, time.monotonic())

    def _on_gripper(self, msg: Float64) -> None:
        with self._lock:
            self._gripper = float(msg.data)

    def current_action(self) -> tuple[np.ndarray, bool]:
        """The 7-D action to apply now and whether the arm part is fresh (else a zero hold)."""
        with self._lock:
            act, grip = self._action, self._gripper
        fresh = act is not None and time.monotonic() - act[1] <= self.p.action_timeout and bool(
            np.all(np.isfinite(act[0])))
        arm = np.clip(act[0], -1.0, 1.0) if fresh and act is not None else np.zeros(6)
        g = float(np.clip(grip, -1.0, 1.0)) if np.isfinite(grip) else -1.0
        return np.concatenate([arm, [g]]), fresh

    # --- trials ----------------------------------------------------------------------------------------------
    def _event(self, **event: Any) -> None:
        self.trial_pub.publish(String(data=json.dumps(event, default=str)))

    def _start_trial(self) -> None:
        self.trial += 1
        seed = trial_seed(self.p.seed, self.trial)
        self.adapter.reset(seed)
        with self._lock:
            self._gripper = -1.0
        self.steps, self._success_steps, self.in_trial = 0, 0, True
        corr: dict[str, Any] = getattr(self.adapter, "corruption_info", dict)()
        self._event(event="start", trial=self.trial, seed=seed, policy=self.p.policy_label or None,
                    operator="policy", task=self.p.task, corruption=self.p.corruption, corruption_sample=corr,
                    world="sim_twin", horizon=self.horizon)
        self.get_logger().info(f"trial {self.trial} started (seed {seed})")

    def _end_trial(self, success: bool, reason: str) -> None:
        self.in_trial = False
        self._event(event="end", trial=self.trial, outcome="success" if success else "failure", reason=reason,
                    steps=self.steps)
        self.get_logger().info(f"trial {self.trial}: {'success' if success else 'failure'} ({reason}) "
                               f"after {self.steps} steps")

    # --- the loop --------------------------------------------------------------------------------------------
    def _tick(self) -> None:
        p = self.p
        self._ticks += 1
        status = "scene"
        if p.closed_loop:
            action, fresh = self.current_action()
            if p.trials and not self.in_trial:
                if self.trial + 1 >= p.trials:
                    self._publish_state()
                    self.set_health(OK, f"all {p.trials} trials done")
                    self.finish(0)
                    return
                if not fresh:
                    self._publish_state()
                    self.set_health(WARN, "waiting for a policy on /imgen/action to start the next trial")
                    return
                if self.trial < 0 and time.monotonic() < self._announce_after:
                    # a trial start published before DDS discovery has matched a subscriber (the trial recorder)
                    # is lost to it, and so is that trial's bag
                    self._publish_state()
                    self.set_health(OK, "letting /imgen/trial subscribers connect before the first trial")
                    return
                self._start_trial()
                action, fresh = self.current_action()
            self.adapter.step(action)
            self.steps += 1
            status = "acting" if fresh else "holding (no fresh action)"
            if p.trials:
                self._success_steps = self._success_steps + 1 if self.adapter.is_success() else 0
                if self._success_steps >= p.success_hold_steps:
                    self._end_trial(True, "success")
                elif self.steps >= self.horizon:
                    self._end_trial(False, self.adapter.mistake() or "timeout")
        self._publish_state()
        c = self.adapter.contacts() if hasattr(self.adapter, "contacts") else None
        values: dict[str, Any] = {"trial": self.trial, "steps": self.steps, "success": self.adapter.is_success()}
        if c is not None:
            values.update(left_cube=c.left_cube, right_cube=c.right_cube, finger_on_top=c.finger_on_top)
        self.set_health(OK, status, **values)

    def _publish_state(self) -> None:
        now = self.get_clock().now().nanoseconds
        a = self.adapter
        obs = a.observation()
        cube = a.object_poses()["cube"]
        believed = a.observed_object_poses()["cube"]
        self.pubs[S.EE_POSE].publish(M.pose_stamped(a.eef_pose(), now))
        self.pubs[S.CUBE_POSE_TRUE].publish(M.pose_stamped(cube, now))
        self.pubs[S.CUBE_POSE_OBSERVED].publish(M.pose_stamped(believed, now))
        self.width_pub.publish(M.gripper_width_msg(float(obs[K.OBS_GRIPPER_WIDTH][0]), now))
        q = a.robot.data.qpos[self._arm_qpos]
        self.joints_pub.publish(M.joint_state(ROS_ARM_JOINTS, q, now))
        if self.p.publish_markers and self._ticks % MARKER_EVERY == 1:
            self.marker_pub.publish(MarkerArray(markers=[
                M.cube_marker(cube, self.cube_size, "cube_true", 0, (0.1, 0.8, 0.1, 0.6), now),
                M.cube_marker(believed, self.cube_size, "cube_believed", 0, (1.0, 0.5, 0.0, 0.35), now),
            ]))

    def close(self) -> None:
        if self.in_trial:
            # the context may already be shut down (Ctrl-C): then the recorder closes the bag itself
            with contextlib.suppress(Exception):
                self._event(event="end", trial=self.trial, outcome="interrupted", reason="sim_world shut down",
                            steps=self.steps)
        self.adapter.close()


def main() -> None:
    run(SimWorld)


if __name__ == "__main__":
    main()
