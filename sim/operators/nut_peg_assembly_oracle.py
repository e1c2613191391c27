"""Scripted oracle of Nut-and-Peg Assembly: stands in for a human teleoperator (label ``scripted_oracle``).

It moves like the Block Grasp oracle (:mod:`sim.operators.oracle`): a carrot target travelling at a bounded peak
speed with smooth ramps, a slight wobble, small aiming errors and random short hesitations, re-converted into an
action every step. Script: above the nut's handle (TCP yaw aligned with the handle, fingers closing across it)
→ descend → settle → close → lift → rise to the carry height → carry over the peg while turning the nut so that
its hole is square with the peg → settle → lower around the peg → open → back off upward.

``pose_source="true"`` aims at the true nut; ``"observed"`` aims at the believed nut (under ``geometry_swap``
the handle it reaches for is on the wrong side half of the time: it closes on air and never recovers).

Intervention mode: :meth:`NutPegAssemblyOracle.judge` takes over on the adapter's mistake detector (a missed
grasp closes the gripper on air; a knocked or misaligned nut) or a stall; :meth:`take_over` opens, rises and
re-grasps the handle at the **true** nut pose, then finishes (or, if the nut is already held, carries it on).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imgen_core import frames, se3
from sim.operators.base import CLOSE, OPEN, OracleBase, Script
from sim.tasks.nut_peg_assembly_env import HANDLE_CENTER_X, NUT_HALF_THICKNESS


@dataclass(frozen=True)
class NutOracleConfig:
    """Motion style of the oracle (lengths in metres, speeds are peak speeds in m/s, angles in radians)."""

    free_speed: tuple[float, float] = (0.09, 0.12)
    descend_speed: tuple[float, float] = (0.05, 0.07)
    lift_speed: tuple[float, float] = (0.05, 0.07)
    carry_speed: tuple[float, float] = (0.09, 0.11)
    place_speed: tuple[float, float] = (0.035, 0.05)
    clearance: tuple[float, float] = (0.04, 0.06)  # TCP above the nut top before descending
    grasp_z: float = 0.002  # TCP relative to the nut centre at the grasp
    handle_x: float = HANDLE_CENTER_X  # grasp point along the nut's x axis
    carry_clearance: tuple[float, float] = (0.025, 0.035)  # nut bottom above the peg top while carrying
    place_height: float = 0.012  # nut centre above the table top when released
    aim_noise: float = 0.002
    yaw_noise: float = np.deg2rad(2.0)
    wobble: float = 0.002
    pause_prob: float = 0.35
    pause_steps: tuple[int, int] = (2, 6)
    converge_tol: float = 0.003
    max_settle: int = 25
    close_steps: int = 10
    release_steps: int = 8
    lift: float = 0.03
    retreat: float = 0.08
    takeover_stall_steps: int = 320  # policy steps without success before the oracle takes over anyway


def _yaw(rot: np.ndarray) -> float:
    return float(np.arctan2(rot[1, 0], rot[0, 0]))


def _wrap(a: float, period: float) -> float:
    """``a`` wrapped into [-period/2, period/2)."""
    return float((a + period / 2) % period - period / 2)


def _rz(yaw: float) -> np.ndarray:
    return se3.axisangle_to_mat(np.array([0.0, 0.0, yaw]))


class NutPegAssemblyOracle(OracleBase[NutOracleConfig]):
    """Scripted stand-in for a human operator of Nut-and-Peg Assembly.

    Args:
        adapter: a :class:`~sim.tasks.nut_peg_assembly.NutPegAssemblyAdapter`.
        config: motion style.
        pose_source: ``"true"`` or ``"observed"`` (acts on the believed nut pose; no recovery).
    """

    config_cls = NutOracleConfig

    def take_over(self) -> None:
        """Control from the current state: carry on if the nut is held, else open, rise and re-grasp (true pose)."""
        self.carrot = None
        super().take_over()

    def judge(self, policy_steps: int) -> str | None:
        """Reason to take over from a policy now (mistake detector, or a stall), or ``None``; never after success."""
        a = self.adapter
        if a.is_success():
            return None
        reason = a.mistake()
        if reason:
            return reason
        if policy_steps >= self.cfg.takeover_stall_steps:
            return "stalled"
        return None

    # ------------------------------------------------------------------ helpers
    def _nut(self, true: bool = False) -> np.ndarray:
        a = self.adapter
        poses = a.object_poses() if (true or self.pose_source == "true") else a.observed_object_poses()
        return poses["nut"]

    # ------------------------------------------------------------------ phases
    def _recover(self) -> Script:
        """Open the gripper while holding still, then rise to a safe height above the current point."""
        self.phase = "recover"
        a = self.adapter
        here = a.eef_pose()
        hold = here.copy()
        hold[2, 3] += 0.01
        self.carrot = here
        if self._gripper_width() < 0.075 or a.last_gripper_command > 0:
            yield from self._maybe_pause(here, OPEN)
            yield from self._open_at(hold)
        safe = hold.copy()
        safe[2, 3] = max(hold[2, 3], self._nut(true=True)[2, 3] + NUT_HALF_THICKNESS + self.cfg.clearance[1])
        yield from self._move(safe, self._u(self.cfg.descend_speed), OPEN)

    def _grasp(self, nut: np.ndarray) -> Script:
        """Reach the handle of ``nut`` (base_T_nut), close on it and lift it a little."""
        cfg = self.cfg
        self.phase = "approach"
        yaw = _wrap(_yaw(nut[:3, :3]), np.pi) + self._yaw_error()
        rot = _rz(yaw) @ frames.TOP_DOWN_ROT  # fingers close along the nut's y axis, across the handle
        handle = nut[:3, :3] @ np.array([cfg.handle_x, 0.0, 0.0]) + nut[:3, 3]
        aim = self._noise(cfg.aim_noise, size=2)
        grasp = se3.make_pose(np.array([handle[0] + aim[0], handle[1] + aim[1], nut[2, 3] + cfg.grasp_z]), rot)
        above = grasp.copy()
        above[2, 3] = nut[2, 3] + NUT_HALF_THICKNESS + self._u(cfg.clearance)
        yield from self._move(above, self._u(cfg.free_speed), OPEN)
        yield from self._maybe_pause(above, OPEN)
        self.phase = "descend"
        yield from self._move(grasp, self._u(cfg.descend_speed), OPEN, wobble=cfg.wobble / 2)
        yield from self._settle(grasp, OPEN)
        yield from self._maybe_pause(grasp, OPEN)
        self.phase = "close"
        yield from self._hold(grasp, CLOSE, cfg.close_steps + 1, cfg.close_steps + 3)
        self.phase = "lift"
        lifted = grasp.copy()
        lifted[2, 3] += cfg.lift
        yield from self._move(lifted, self._u(cfg.lift_speed), CLOSE, wobble=0.0)

    def _place(self) -> Script:
        """Carry the held nut over the peg (hole square with the peg), lower it around the peg, release."""
        cfg = self.cfg
        a = self.adapter
        peg = a.object_poses()["peg"]
        peg_top = peg[2, 3] + float(a.env.peg_height) / 2
        tcp = self.carrot if self.carrot is not None else a.eef_pose()
        nut = self._nut()
        lever = nut[:3, 3] - a.eef_pose()[:3, 3]  # nut centre relative to the TCP (rigid in the grasp)
        # rise straight up until the nut clears the peg top
        self.phase = "rise"
        carry_z = peg_top + NUT_HALF_THICKNESS + self._u(cfg.carry_clearance)
        up = tcp.copy()
        up[2, 3] = max(tcp[2, 3], carry_z - lever[2])
        yield from self._move(up, self._u(cfg.free_speed), CLOSE, wobble=0.0)
        # turn by delta about the vertical so that the nut's hole is square with the peg (mod pi/2), choosing the
        # turn that leaves the wrist closest to its top-down home yaw
        nut_yaw = _yaw(nut[:3, :3]) - _yaw(peg[:3, :3])
        tcp_yaw = _yaw(up[:3, :3] @ frames.TOP_DOWN_ROT.T)
        deltas = [_wrap(-nut_yaw + k * np.pi / 2, 2 * np.pi) for k in range(4)]
        delta = min(deltas, key=lambda d: abs(_wrap(tcp_yaw + d, 2 * np.pi)))
        turn = _rz(delta)
        over = np.array([peg[0, 3], peg[1, 3], 0.0]) - turn @ lever
        self.phase = "carry"
        above_peg = se3.make_pose(np.array([over[0], over[1], up[2, 3]]), turn @ up[:3, :3])
        yield from self._move(above_peg, self._u(cfg.carry_speed), CLOSE)
        yield from self._maybe_pause(above_peg, CLOSE)
        yield from self._settle(above_peg, CLOSE)
        self.phase = "lower"
        engaged = above_peg.copy()  # slowly until the nut is 1.5 cm down the peg, then at a normal pace
        engaged[2, 3] = peg_top - 0.015 - lever[2]
        yield from self._move(engaged, self._u(cfg.place_speed), CLOSE, wobble=0.0)
        down = above_peg.copy()
        down[2, 3] = a.table_height + cfg.place_height - lever[2]
        yield from self._move(down, self._u(cfg.descend_speed), CLOSE, wobble=0.0)
        yield from self._settle(down, CLOSE)
        self.phase = "release"
        yield from self._hold(down, OPEN, cfg.release_steps, cfg.release_steps + 2)
        self.phase = "retreat"
        back = down.copy()
        back[2, 3] += cfg.retreat
        yield from self._move(back, self._u(cfg.lift_speed), OPEN)

    def _run(self, recover: bool) -> Script:
        a = self.adapter
        held = recover and a.subtask_signals()["grasp"]
        if recover and not held:
            yield from self._recover()
        if not held:
            yield from self._grasp(self._nut(true=recover))
        yield from self._place()
        self.phase = "hold"
        last = self.carrot if self.carrot is not None else a.eef_pose()
        while True:
            yield last, OPEN
