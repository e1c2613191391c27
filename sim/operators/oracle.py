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

from dataclasses import dataclass

import numpy as np

from imgen_core import se3
from sim.operators.base import CLOSE, OPEN, OracleBase, Script


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


class ScriptedOracle(OracleBase[OracleConfig]):
    """Scripted stand-in for a human operator of Block Grasp.

    Args:
        adapter: the task adapter (the oracle reads true poses from it).
        config: motion style.
        pose_source: ``"true"`` (oracle) or ``"observed"`` (acts on the corrupted belief: a baseline that
            cannot recover).
    """

    config_cls = OracleConfig
    seed_salt = 7

    def _task_mistake(self) -> str | None:
        """Fingertips below the cube's top beside the cube, or closing with the cube not between the fingers."""
        a = self.adapter
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
        return None

    # ------------------------------------------------------------------ script
    def _half(self) -> float:
        return float(getattr(getattr(self.adapter, "env", None), "cube_size", 0.05)) / 2

    def _cube(self) -> np.ndarray:
        a = self.adapter
        poses = a.object_poses() if self.pose_source == "true" else a.observed_object_poses()
        return poses["cube"]

    def _recover(self) -> Script:
        """Open the gripper while backing off, then rise to a safe height above the current point."""
        self.phase = "recover"
        a = self.adapter
        here = a.eef_pose()
        cube = a.object_poses()["cube"]
        hold = here.copy()
        hold[2, 3] += 0.01
        self.carrot = here
        if self._gripper_width() < 0.075 or getattr(a, "last_gripper_command", -1.0) > 0:
            yield from self._maybe_pause(here, OPEN)
            yield from self._open_at(hold)
        safe = hold.copy()
        safe[:3, :3] = self._top_down_rot()
        safe[2, 3] = max(hold[2, 3], cube[2, 3] + self._half() + self._u(self.cfg.clearance))
        yield from self._move(safe, self._u(self.cfg.descend_speed), OPEN)

    def _run(self, recover: bool) -> Script:
        cfg = self.cfg
        if recover:
            yield from self._recover()
        self.phase = "approach"
        cube = self._cube()
        rot = self._top_down_rot()
        aim = self._noise(cfg.aim_noise, size=2)
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
        yield from self._hold(grasp, CLOSE, cfg.close_steps + 1, cfg.close_steps + 3)
        yield from self._rise_and_hold(grasp, cfg.lift, self._u(cfg.lift_speed), CLOSE, "lift")
