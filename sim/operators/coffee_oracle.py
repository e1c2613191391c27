"""Scripted oracle of the Coffee task (label ``scripted_oracle``): stands in for a human teleoperator.

The episode starts with the pod in the closed gripper. Script: turn top-down and carry the pod above the holder
(pod bottom 3-5 cm above the rim) → pause now and then → descend slowly until the pod bottom is 1-4 mm above
the holder floor → settle → open the gripper → rise. Targets are placed so that the **pod centre** (measured in
the TCP frame at the start of the script, as a person sees where the pod sits in the hand) lines up with the
holder axis, with a small aiming error. Motion is a carrot target at bounded speed with ramps, a slight wobble
and random hesitations (``sim.operators.motion.segment``).

``pose_source="observed"`` aims at the holder of the *observed* (corrupted) machine pose and never recovers.

Intervention mode: :meth:`CoffeeOracle.judge` takes over when the adapter's detector fires (pod on the rim,
misaligned contact, pod dropped, arm or gripper on the machine), when the pod goes below the rim off the holder axis,
when the gripper opens with the pod off the holder, or when the policy stalls. :meth:`CoffeeOracle.take_over`
recovers from the current state: if the pod is still in the hand it lifts it clear of the rim, otherwise it opens,
rises and re-grasps the pod where it lies (upright within 35°, two attempts; else it aborts), then re-aims at the TRUE
holder and inserts and releases.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from imgen_core import frames, se3
from imgen_core.errors import ConfigError
from imgen_core.keys import OPERATOR_SCRIPTED
from sim.operators.motion import segment
from sim.tasks.coffee import ALIGN_TOL
from sim.tasks.coffee_env import HOLDER_WALL_HEIGHT, POD_HEIGHT, POD_IN_TCP_Z

OPEN, CLOSE = -1.0, 1.0


@dataclass(frozen=True)
class CoffeeOracleConfig:
    """Motion style (lengths in metres, speeds are peak speeds in m/s)."""

    free_speed: tuple[float, float] = (0.08, 0.10)
    descend_speed: tuple[float, float] = (0.04, 0.06)
    lift_speed: tuple[float, float] = (0.05, 0.07)
    clearance: tuple[float, float] = (0.03, 0.05)  # pod bottom above the rim before descending
    release_height: tuple[float, float] = (0.001, 0.004)  # pod bottom above the holder floor at release
    aim_noise: float = 0.0015  # std of the xy aiming error (clipped at 2.5 std)
    yaw_noise: float = np.deg2rad(2.0)
    wobble: float = 0.002
    pause_prob: float = 0.35
    pause_steps: tuple[int, int] = (2, 6)
    converge_tol: float = 0.003
    max_settle: int = 20
    open_steps: int = 10  # PandaGripper needs 10 steps to ramp its command fully open
    close_steps: int = 10
    retreat: float = 0.06
    regrasp_max_tilt: float = np.deg2rad(35.0)
    regrasp_attempts: int = 2
    takeover_stall_steps: int = 220


class CoffeeOracle:
    """Scripted stand-in for a human operator of the Coffee task.

    Args:
        adapter: a :class:`sim.tasks.coffee.CoffeeAdapter`.
        config: motion style.
        pose_source: ``"true"`` (oracle) or ``"observed"`` (acts on the corrupted machine pose; no recovery).
    """

    label = OPERATOR_SCRIPTED
    realtime = False

    def __init__(self, adapter: Any, config: CoffeeOracleConfig | None = None, pose_source: str = "true") -> None:
        if pose_source not in ("true", "observed"):
            raise ConfigError(f"pose_source={pose_source!r}; choose 'true' or 'observed'")
        self.adapter = adapter
        self.cfg = config or CoffeeOracleConfig()
        self.pose_source = pose_source
        self.rng = np.random.default_rng(0)
        self._script: Iterator[tuple[np.ndarray, float]] | None = None
        self.carrot: np.ndarray | None = None
        self.phase = "idle"
        self._aborted = False

    # ------------------------------------------------------------------ public
    def reset(self, seed: int | None = None) -> None:
        """Start a new episode (the oracle's own randomness is seeded by ``seed``)."""
        self.rng = np.random.default_rng(np.random.SeedSequence([0 if seed is None else int(seed), 11]))
        self._script = None
        self.carrot = None
        self.phase = "idle"
        self._aborted = False

    def take_over(self) -> None:
        """Start controlling from the current state (recover first, then insert at the TRUE holder)."""
        self._script = self._run(recover=True)

    def act(self) -> tuple[np.ndarray, np.ndarray]:
        """Next ``(action (7,), target_pose (4,4))``; starts the insertion script on the first call."""
        if self._script is None:
            self._script = self._run(recover=False)
        target, gripper = next(self._script)
        self.carrot = target
        action = np.asarray(self.adapter.target_pose_to_action(target, gripper), dtype=np.float64)
        return action, self.adapter.action_to_target_pose(action)

    def wants_hand_back(self) -> bool:
        """The oracle finishes the task itself once it has taken over."""
        return False

    def aborted(self) -> bool:
        """True when the recovery gave up (the pod lies on its side and cannot be re-grasped)."""
        return self._aborted

    def judge(self, policy_steps: int) -> str | None:
        """Reason to take over from a policy now, or ``None`` (intervention mode)."""
        a = self.adapter
        reason = a.mistake()
        if reason:
            return reason
        if a.is_success():
            return None
        err, bottom = a.pod_holder_offset()
        if err > ALIGN_TOL and bottom < HOLDER_WALL_HEIGHT - 0.003 and err < 0.08:
            return "pod_below_rim_off_axis"
        width = a.observation()["robot0_gripper_width"][0]
        if a.last_gripper_command < 0 and width < 0.07 and (err > ALIGN_TOL or bottom > 0.015):
            return "releasing_off_holder"
        if policy_steps >= self.cfg.takeover_stall_steps:
            return "stalled"
        return None

    # ------------------------------------------------------------------ helpers
    def _u(self, lo_hi: tuple[float, float]) -> float:
        return float(self.rng.uniform(*lo_hi))

    def _rot(self) -> np.ndarray:
        lim = 2.5 * self.cfg.yaw_noise
        yaw = float(np.clip(self.rng.normal(0.0, self.cfg.yaw_noise), -lim, lim))
        return se3.axisangle_to_mat(np.array([0.0, 0.0, yaw])) @ frames.TOP_DOWN_ROT

    def _holder(self) -> np.ndarray:
        return self.adapter.holder_pose(observed=self.pose_source == "observed")

    def _maybe_pause(self, target: np.ndarray, gripper: float) -> Iterator[tuple[np.ndarray, float]]:
        if self.rng.random() < self.cfg.pause_prob:
            for _ in range(int(self.rng.integers(self.cfg.pause_steps[0], self.cfg.pause_steps[1] + 1))):
                yield target, gripper

    def _move(self, goal: np.ndarray, speed: float, gripper: float,
              wobble: float | None = None) -> Iterator[tuple[np.ndarray, float]]:
        start = self.carrot if self.carrot is not None else self.adapter.eef_pose()
        for t in segment(start, goal, speed, noise=self.cfg.wobble if wobble is None else wobble, rng=self.rng):
            self.carrot = t
            yield t, gripper

    def _settle(self, goal: np.ndarray, gripper: float) -> Iterator[tuple[np.ndarray, float]]:
        for _ in range(self.cfg.max_settle):
            if np.linalg.norm(self.adapter.eef_pose()[:3, 3] - goal[:3, 3]) < self.cfg.converge_tol:
                return
            yield goal, gripper

    def _hold(self, target: np.ndarray, gripper: float, steps: int) -> Iterator[tuple[np.ndarray, float]]:
        self.carrot = target
        for _ in range(steps):
            yield target, gripper

    @staticmethod
    def _tcp_for_pod(pod_pos: np.ndarray, rot: np.ndarray, pod_in_tcp: np.ndarray) -> np.ndarray:
        """TCP pose with orientation ``rot`` that puts the pod centre at ``pod_pos`` (base frame)."""
        return se3.make_pose(pod_pos - rot @ pod_in_tcp, rot)

    # ------------------------------------------------------------------ script
    def _regrasp(self) -> Iterator[tuple[np.ndarray, float]]:
        """Open, rise, and grasp the pod where it lies (it must be roughly upright)."""
        a, cfg = self.adapter, self.cfg
        here = a.eef_pose()
        self.carrot = here
        up = here.copy()
        up[2, 3] += 0.01
        for k in range(30):
            if k >= 8 and a.observation()["robot0_gripper_width"][0] > 0.075:
                break
            yield up, OPEN
        self.carrot = up
        pod = a.object_poses()["pod"]
        if pod[2, 2] < np.cos(cfg.regrasp_max_tilt):
            self._aborted = True
            self.phase = "aborted"
            while True:
                yield up, OPEN
        rot = self._rot()
        grasp = self._tcp_for_pod(pod[:3, 3], rot, np.array([0.0, 0.0, POD_IN_TCP_Z]))
        above = grasp.copy()
        above[2, 3] = max(up[2, 3], grasp[2, 3] + self._u(cfg.clearance))
        lift = up.copy()
        lift[2, 3] = above[2, 3]
        yield from self._move(lift, self._u(cfg.lift_speed), OPEN, wobble=0.0)
        yield from self._move(above, self._u(cfg.free_speed), OPEN)
        yield from self._move(grasp, self._u(cfg.descend_speed), OPEN, wobble=self.cfg.wobble / 2)
        yield from self._settle(grasp, OPEN)
        yield from self._hold(grasp, CLOSE, cfg.close_steps + int(self.rng.integers(1, 4)))

    def _recover(self) -> Iterator[tuple[np.ndarray, float]]:
        """Get the pod back into the hand (if needed) and clear of the holder rim."""
        self.phase = "recover"
        a, cfg = self.adapter, self.cfg
        c = a.contacts()
        width = a.observation()["robot0_gripper_width"][0]
        in_hand = (c.left_pod or c.right_pod) and a.last_gripper_command > 0 and width < 0.05
        for _ in range(cfg.regrasp_attempts):
            if in_hand:
                break
            yield from self._regrasp()
            in_hand = a.contacts().held
        if not in_hand:
            self._aborted = True
            self.phase = "aborted"
            stay = a.eef_pose()
            while True:
                yield stay, OPEN
        here = a.eef_pose()
        self.carrot = here
        yield from self._maybe_pause(here, CLOSE)
        rim = a.holder_pose()[2, 3] + HOLDER_WALL_HEIGHT
        pod_bottom = a.object_poses()["pod"][2, 3] - POD_HEIGHT / 2
        up = here.copy()
        up[2, 3] += max(0.03, rim + self._u(cfg.clearance) - pod_bottom)
        yield from self._move(up, self._u(cfg.lift_speed), CLOSE, wobble=0.0)

    def _run(self, recover: bool) -> Iterator[tuple[np.ndarray, float]]:
        cfg, a = self.cfg, self.adapter
        if recover:
            yield from self._recover()
        self.phase = "approach"
        tcp, pod = a.eef_pose(), a.object_poses()["pod"]
        pod_in_tcp = (se3.pose_inv(tcp) @ pod[:, 3])[:3]
        holder = self._holder()
        rot = self._rot()
        aim = np.clip(self.rng.normal(0.0, cfg.aim_noise, size=2), -2.5 * cfg.aim_noise, 2.5 * cfg.aim_noise)
        centre = holder[:3, 3] + np.array([aim[0], aim[1], POD_HEIGHT / 2])
        insert = self._tcp_for_pod(centre + np.array([0.0, 0.0, self._u(cfg.release_height)]), rot, pod_in_tcp)
        above = self._tcp_for_pod(centre + np.array([0.0, 0.0, HOLDER_WALL_HEIGHT + self._u(cfg.clearance)]),
                                  rot, pod_in_tcp)
        yield from self._maybe_pause(tcp, CLOSE)
        yield from self._move(above, self._u(cfg.free_speed), CLOSE)
        yield from self._maybe_pause(above, CLOSE)
        self.phase = "descend"
        yield from self._move(insert, self._u(cfg.descend_speed), CLOSE, wobble=cfg.wobble / 2)
        yield from self._settle(insert, CLOSE)
        yield from self._maybe_pause(insert, CLOSE)
        self.phase = "release"
        yield from self._hold(insert, OPEN, cfg.open_steps + int(self.rng.integers(1, 4)))
        self.phase = "retreat"
        retreat = insert.copy()
        retreat[2, 3] += cfg.retreat
        yield from self._move(retreat, self._u(cfg.lift_speed), OPEN, wobble=0.0)
        self.phase = "hold"
        while True:
            yield retreat, OPEN
