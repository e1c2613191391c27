"""Scripted oracle: stands in for a human teleoperator of Block Grasp (label ``scripted_oracle``).

It sees the **true** cube pose (or, for baselines, the observed one) and moves like a person with a
SpaceMouse: a carrot target that travels at a bounded peak speed (8-10 cm/s in free space, 5-7 cm/s near the
cube) with smooth ramps, a slight wobble, small aiming errors, and random short hesitations — never a
teleport. Script: (recover: open the gripper and back off upward) → above the cube → descend → settle → close
→ lift. The OSC only covers ~25 % of a commanded delta per step, so the carrot is re-converted into an action
every step (``adapter.target_pose_to_action``) and the oracle waits for the EE to converge before closing.

In intervention mode (:meth:`ScriptedOracle.judge`) it watches a policy and takes over once a mistake is
evident: the adapter's contact-based detector fires (e.g. a finger lands on the cube's top), the fingertips
pass below the cube's top face beside the cube, the gripper closes with the cube not between the fingers, or
the policy stalls.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from imgen_core import frames, se3
from imgen_core.keys import OPERATOR_SCRIPTED
from sim.operators.motion import segment

OPEN, CLOSE = -1.0, 1.0


@dataclass(frozen=True)
class OracleConfig:
    """Motion style of the scripted oracle (lengths in metres, speeds are peak speeds in m/s)."""

    free_speed: tuple[float, float] = (0.08, 0.10)
    descend_speed: tuple[float, float] = (0.05, 0.07)
    lift_speed: tuple[float, float] = (0.05, 0.07)
    clearance: tuple[float, float] = (0.04, 0.06)  # TCP above the cube top before descending
    grasp_z: float = -0.012  # TCP relative to the cube centre at the grasp (pads centred on the cube)
    aim_noise: float = 0.002  # std of the xy aiming error of the grasp (clipped at 2.5 std)
    yaw_noise: float = np.deg2rad(2.0)
    wobble: float = 0.002
    pause_prob: float = 0.35
    pause_steps: tuple[int, int] = (2, 6)
    converge_tol: float = 0.004
    max_settle: int = 20
    close_steps: int = 10  # PandaGripper needs 10 steps to ramp its command fully closed
    lift: float = 0.10
    takeover_stall_steps: int = 160  # policy steps without success before the oracle takes over anyway


class ScriptedOracle:
    """Scripted stand-in for a human operator.

    Args:
        adapter: the task adapter (the oracle reads true poses from it).
        config: motion style.
        pose_source: ``"true"`` (oracle) or ``"observed"`` (acts on the corrupted belief: a baseline that
            cannot recover).
    """

    label = OPERATOR_SCRIPTED
    realtime = False

    def __init__(self, adapter: Any, config: OracleConfig | None = None, pose_source: str = "true") -> None:
        if pose_source not in ("true", "observed"):
            raise ValueError(f"pose_source={pose_source!r}; choose 'true' or 'observed'")
        self.adapter = adapter
        self.cfg = config or OracleConfig()
        self.pose_source = pose_source
        self.rng = np.random.default_rng(0)
        self._script: Iterator[tuple[np.ndarray, float]] | None = None
        self.carrot: np.ndarray | None = None
        self.phase = "idle"

    # ------------------------------------------------------------------ public
    def reset(self, seed: int | None = None) -> None:
        """Start a new episode (the oracle's own randomness is seeded by ``seed``)."""
        self.rng = np.random.default_rng(np.random.SeedSequence([0 if seed is None else int(seed), 7]))
        self._script = None
        self.carrot = None
        self.phase = "idle"

    def take_over(self) -> None:
        """Start controlling from the current state (recover first if the gripper is closed or low)."""
        self._script = self._run(recover=True)

    def act(self) -> tuple[np.ndarray, np.ndarray]:
        """Next ``(action (7,), target_pose (4,4))``; starts the grasp script on the first call."""
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
        return False

    def judge(self, policy_steps: int) -> str | None:
        """Reason to take over from a policy now, or ``None`` (intervention mode)."""
        a = self.adapter
        reason = a.mistake()
        if reason:
            return reason
        if a.is_success():
            return None
        tcp = a.eef_pose()
        cube = a.object_poses()["cube"]
        half = self._half()
        off = tcp[:2, 3] - cube[:2, 3]
        fingertips_z = tcp[2, 3] - 0.0025
        if fingertips_z < cube[2, 3] + half - 0.005 and np.linalg.norm(off) > 0.015:
            return "descending_beside_cube"
        width = a.observation()["robot0_gripper_width"][0]
        cube_in_tcp = (se3.pose_inv(tcp) @ cube[:, 3])[:3]
        if width < 0.075 and getattr(a, "last_gripper_command", 0.0) > 0 and (
                abs(cube_in_tcp[0]) > half or abs(cube_in_tcp[1]) > 0.015 or abs(cube_in_tcp[2]) > 0.04):
            return "closing_off_target"
        if policy_steps >= self.cfg.takeover_stall_steps:
            return "stalled"
        return None

    # ------------------------------------------------------------------ script
    def _half(self) -> float:
        return float(getattr(getattr(self.adapter, "env", None), "cube_size", 0.05)) / 2

    def _cube(self) -> np.ndarray:
        a = self.adapter
        poses = a.object_poses() if self.pose_source == "true" else a.observed_object_poses()
        return poses["cube"]

    def _u(self, lo_hi: tuple[float, float]) -> float:
        return float(self.rng.uniform(*lo_hi))

    def _grasp_rot(self) -> np.ndarray:
        yaw = float(np.clip(self.rng.normal(0.0, self.cfg.yaw_noise), -2.5 * self.cfg.yaw_noise,
                            2.5 * self.cfg.yaw_noise))
        return se3.axisangle_to_mat(np.array([0.0, 0.0, yaw])) @ frames.TOP_DOWN_ROT

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

    def _recover(self) -> Iterator[tuple[np.ndarray, float]]:
        """Open the gripper while backing off, then rise to a safe height above the current point."""
        self.phase = "recover"
        a = self.adapter
        here = a.eef_pose()
        cube = a.object_poses()["cube"]
        width = a.observation()["robot0_gripper_width"][0]
        hold = here.copy()
        hold[2, 3] += 0.01
        self.carrot = here
        if width < 0.075 or getattr(a, "last_gripper_command", -1.0) > 0:
            yield from self._maybe_pause(here, OPEN)
            for k in range(30):
                if k >= 8 and a.observation()["robot0_gripper_width"][0] > 0.075:
                    break
                yield hold, OPEN
            self.carrot = hold
        safe = hold.copy()
        safe[:3, :3] = self._grasp_rot()
        safe[2, 3] = max(hold[2, 3], cube[2, 3] + self._half() + self._u(self.cfg.clearance))
        yield from self._move(safe, self._u(self.cfg.descend_speed), OPEN)

    def _run(self, recover: bool) -> Iterator[tuple[np.ndarray, float]]:
        cfg = self.cfg
        if recover:
            yield from self._recover()
        self.phase = "approach"
        cube = self._cube()
        rot = self._grasp_rot()
        aim = np.clip(self.rng.normal(0.0, cfg.aim_noise, size=2), -2.5 * cfg.aim_noise, 2.5 * cfg.aim_noise)
        grasp = se3.make_pose(np.array([cube[0, 3] + aim[0], cube[1, 3] + aim[1], cube[2, 3] + cfg.grasp_z]), rot)
        above = grasp.copy()
        above[2, 3] = cube[2, 3] + self._half() + self._u(cfg.clearance)
        yield from self._move(above, self._u(cfg.free_speed), OPEN)
        yield from self._maybe_pause(above, OPEN)
        self.phase = "descend"
        yield from self._move(grasp, self._u(cfg.descend_speed), OPEN, wobble=cfg.wobble / 2)
        yield from self._settle(grasp, OPEN)
        yield from self._maybe_pause(grasp, OPEN)
        self.phase = "close"
        for _ in range(cfg.close_steps + int(self.rng.integers(1, 4))):
            yield grasp, CLOSE
        self.phase = "lift"
        lifted = grasp.copy()
        lifted[2, 3] += cfg.lift
        yield from self._move(lifted, self._u(cfg.lift_speed), CLOSE, wobble=0.0)
        self.phase = "hold"
        while True:
            yield lifted, CLOSE
