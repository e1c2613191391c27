"""Scripted oracle of Nut Insertion: stands in for a human teleoperator (label ``scripted_oracle``).

The nut starts in the hand. The oracle moves like a person with a SpaceMouse (carrot target at a bounded peak
speed with smooth ramps, a slight wobble in free space, small aiming errors, short hesitations — never a
teleport): carry the nut above the peg (hole 3-5 cm above the peg's top), settle, lower it to just over the peg's
top, insert slowly until the nut is ~1 cm above the table, release, and back off upward (success — nut centre at
most 2.5 cm above the table — usually comes during the slow insertion, so an episode stopped at success ends with
the nut still held; release and back-off run when it continues). Targets are TCP poses
computed from the wanted nut pose and the nut's measured in-hand offset (the in-hand nut pose is observed
uncorrupted); the peg comes from the true pose (``pose_source="true"``) or the corrupted belief
(``"observed"``: a baseline that cannot recover).

Intervention mode: :meth:`NutInsertionOracle.judge` takes over once a mistake is evident — the adapter's
contact-based detector fires (nut on the peg's top or edge, nut on the table beside the peg, gripper on the peg
or table, nut dropped), the nut's bottom passes below the peg's top while its hole is off the peg, the policy
starts to open the gripper with the nut off the peg, or the policy stalls. :meth:`NutInsertionOracle.take_over`
then recovers from the current state: with the nut still gripped it lifts the nut clear of the peg, re-aims over the
TRUE peg and inserts; with the nut dropped it opens, grasps the nut's handle again where it lies (following its
tilt), lifts it and inserts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imgen_core import frames, se3
from sim.operators.base import CLOSE, OPEN, OracleBase, Script
from sim.tasks.nut_insertion_env import HANDLE_HALF_WIDTH, tcp_T_nut


@dataclass(frozen=True)
class NutOracleConfig:
    """Motion style of the Nut Insertion oracle (lengths in metres, speeds are peak speeds in m/s)."""

    free_speed: tuple[float, float] = (0.08, 0.10)
    descend_speed: tuple[float, float] = (0.05, 0.07)
    insert_speed: tuple[float, float] = (0.03, 0.04)
    clearance: tuple[float, float] = (0.03, 0.05)  # nut bottom above the peg top before descending
    pre_insert: float = 0.008  # nut bottom above the peg top where the slow insertion starts
    release_height: float = 0.01  # nut bottom above the table (peg base) when the gripper opens
    aim_noise: float = 0.001  # std of the xy aiming error (clipped at 2.5 std); clearance is 3.75 mm per side
    yaw_noise: float = np.deg2rad(2.0)
    wobble: float = 0.002
    pause_prob: float = 0.35
    pause_steps: tuple[int, int] = (2, 6)
    converge_tol: float = 0.0015
    max_settle: int = 25
    open_steps: int = 10
    retreat: float = 0.06
    max_grasp_tilt: float = np.deg2rad(60.0)  # a dropped nut tilted more than this is grasped top-down
    max_tilt: float = np.deg2rad(35.0)  # largest hand tilt from top-down used to level a nut tilted in the hand
    takeover_stall_steps: int = 200  # policy steps without success before the oracle takes over anyway


class NutInsertionOracle(OracleBase[NutOracleConfig]):
    """Scripted stand-in for a human operator of Nut Insertion.

    Args:
        adapter: a :class:`~sim.tasks.nut_insertion.NutInsertionAdapter`.
        config: motion style.
        pose_source: ``"true"`` (oracle) or ``"observed"`` (acts on the corrupted peg belief; no recovery).
    """

    config_cls = NutOracleConfig

    def _task_mistake(self) -> str | None:
        """Nut below the peg's top with its hole off the peg, or the gripper opening with the nut off it."""
        a = self.adapter
        off = a.nut_peg_offset()
        bottom = off[2] - a.nut_half_thickness  # nut bottom above the table
        off_target = float(np.max(np.abs(off[:2]))) > a.clearance + 0.0015
        if bottom < a.env.peg_height - 0.002 and off_target:
            return "nut_below_peg_top_off_target"
        if a.last_gripper_command < 0 and off_target and a.nut_in_hand():
            return "releasing_off_target"
        return None

    # ------------------------------------------------------------------ geometry
    def _peg(self) -> np.ndarray:
        a = self.adapter
        poses = a.object_poses() if self.pose_source == "true" else a.observed_object_poses()
        return poses["peg"]

    def _peg_top_z(self, peg: np.ndarray) -> float:
        return float(peg[2, 3] + self.adapter.env.peg_height / 2)

    def _nut_in_tcp(self) -> np.ndarray:
        """Measured nut centre in the TCP frame ``(3,)`` (the in-hand pose is observed uncorrupted)."""
        a = self.adapter
        return (se3.pose_inv(a.eef_pose()) @ a.object_poses()["nut"][:, 3])[:3]

    def _level_hand_rot(self) -> np.ndarray:
        """Hand orientation that levels the held nut with its sides along the peg's (square: modulo 90°).

        Falls back to top-down (with the yaw error) when that would tilt the hand more than ``max_tilt``.
        """
        a = self.adapter
        tcp_r_nut = a.eef_pose()[:3, :3].T @ a.object_poses()["nut"][:3, :3]
        nut_r = a.object_poses()["nut"][:3, :3]
        yaw = float(np.arctan2(nut_r[1, 0], nut_r[0, 0]))
        peg_yaw = float(a.env.peg_yaw)
        quarter = np.pi / 2
        want = peg_yaw + quarter * round((yaw - peg_yaw) / quarter) + self._yaw_error()
        rot = se3.axisangle_to_mat(np.array([0.0, 0.0, want])) @ tcp_r_nut.T
        if np.arccos(np.clip(-rot[2, 2], -1.0, 1.0)) > self.cfg.max_tilt:
            return self._top_down_rot()
        return rot

    # ------------------------------------------------------------------ recovery
    def _holding(self) -> bool:
        """The fingers still grip the nut (a gripper that just started to open still counts)."""
        a = self.adapter
        return a.nut_in_hand() and a.robot.gripper_width() < 2 * HANDLE_HALF_WIDTH + 0.004

    def _lift_clear(self) -> Script:
        """Nut in hand: rise straight up until the nut's bottom clears the true peg top."""
        self.phase = "recover"
        a = self.adapter
        here = a.eef_pose()
        self.carrot = here
        yield from self._maybe_pause(here, CLOSE)
        peg = a.object_poses()["peg"]
        nut_bottom = a.object_poses()["nut"][2, 3] - a.nut_half_thickness
        up = self._peg_top_z(peg) + self._u(self.cfg.clearance) - nut_bottom
        goal = here.copy()  # straight up, orientation kept (the approach levels the nut)
        goal[2, 3] += max(up, 0.02)
        yield from self._move(goal, self._u(self.cfg.descend_speed), CLOSE, wobble=0.0)

    def _handle_grasp(self) -> np.ndarray:
        """TCP pose ``(4,4)`` grasping the handle of the nut where it lies (as in the episode's start grasp).

        The hand follows the nut's tilt up to ``max_grasp_tilt`` (beyond: top-down, matching only the yaw), and
        takes the half turn about its approach axis that keeps the wrist nearer its home yaw.
        """
        a = self.adapter
        nut = a.object_poses()["nut"]
        grasp = nut @ se3.pose_inv(tcp_T_nut(a.env.grip_offset))
        if np.arccos(np.clip(nut[2, 2], -1.0, 1.0)) > self.cfg.max_grasp_tilt:
            yaw = float(np.arctan2(nut[1, 0], nut[0, 0])) - np.pi
            grasp[:3, :3] = se3.axisangle_to_mat(np.array([0.0, 0.0, yaw])) @ frames.TOP_DOWN_ROT
        if grasp[0, 0] < 0:  # the parallel gripper is symmetric under a half turn about its approach axis
            grasp[:3, :3] = grasp[:3, :3] @ np.diag([-1.0, -1.0, 1.0])
        grasp[2, 3] = max(grasp[2, 3], a.table_height + 0.006)
        return grasp

    def _regrasp(self) -> Script:
        """Nut dropped: open, rise, grasp the handle where the nut lies, lift it clear of the peg."""
        self.phase = "regrasp"
        a, cfg = self.adapter, self.cfg
        here = a.eef_pose()
        self.carrot = here
        for k in range(cfg.open_steps):  # open enough to let go before moving (it opens fully on the way)
            if k >= 3 and a.robot.gripper_width() > 0.06:
                break
            yield here, OPEN
        grasp = self._handle_grasp()
        above = grasp @ se3.make_pose(np.array([0.0, 0.0, -0.05]), np.eye(3))  # backed off along the approach
        above[2, 3] = max(above[2, 3], self._peg_top_z(a.object_poses()["peg"]) + 0.03)
        if here[2, 3] < above[2, 3]:
            rise = here.copy()
            rise[2, 3] = above[2, 3]
            yield from self._move(rise, self._u(cfg.descend_speed), OPEN, wobble=0.0)
        yield from self._move(above, self._u(cfg.free_speed), OPEN)
        yield from self._move(grasp, self._u(cfg.descend_speed), OPEN, wobble=0.0)
        yield from self._settle(grasp, OPEN, tol=0.004)
        yield from self._hold(grasp, CLOSE, cfg.open_steps + 2)
        yield from self._lift_clear()

    # ------------------------------------------------------------------ script
    def _run(self, recover: bool) -> Script:
        cfg = self.cfg
        a = self.adapter
        if recover:
            if self._holding():
                yield from self._lift_clear()
            else:
                yield from self._regrasp()
        self.phase = "approach"
        peg = self._peg()
        top = self._peg_top_z(peg)
        base_z = float(peg[2, 3] - a.env.peg_height / 2)
        half = a.nut_half_thickness
        aim = self._noise(cfg.aim_noise, size=2)
        xy = peg[:2, 3] + aim
        rot = self._level_hand_rot()
        tcp_p_nut = self._nut_in_tcp()
        above = self._tcp_for_point(np.array([*xy, top + half + self._u(cfg.clearance)]), rot, tcp_p_nut)
        yield from self._move(above, self._u(cfg.free_speed), CLOSE)
        yield from self._settle(above, CLOSE)
        yield from self._maybe_pause(above, CLOSE)
        self.phase = "descend"
        tcp_p_nut = self._nut_in_tcp()
        pre = self._tcp_for_point(np.array([*xy, top + half + cfg.pre_insert]), rot, tcp_p_nut)
        yield from self._move(pre, self._u(cfg.descend_speed), CLOSE, wobble=0.0)
        yield from self._settle(pre, CLOSE)
        self.phase = "insert"
        release = self._tcp_for_point(np.array([*xy, base_z + half + cfg.release_height]), rot, tcp_p_nut)
        yield from self._move(release, self._u(cfg.insert_speed), CLOSE, wobble=0.0)
        yield from self._settle(release, CLOSE)
        yield from self._maybe_pause(release, CLOSE)
        self.phase = "release"
        yield from self._hold(release, OPEN, cfg.open_steps + 1, cfg.open_steps + 3)
        yield from self._rise_and_hold(release, cfg.retreat, self._u(cfg.descend_speed), OPEN, "retreat")
