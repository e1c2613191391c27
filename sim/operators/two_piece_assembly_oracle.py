"""Scripted oracle of 2-Piece Assembly: stands in for a human teleoperator (label ``scripted_oracle``).

The piece starts in the hand. The oracle reads where the piece sits in the hand (``tcp_T_piece``, true: the
piece is never corrupted) and aims the *piece* at the receptacle, true or (``pose_source="observed"``) as
believed. It moves like a person with a SpaceMouse (carrot target at a bounded peak speed with smooth ramps,
a slight wobble, a small aiming error, random short hesitations): above the receptacle → down to just above
the rim → settle (precise alignment before entering the 5 mm clearance) → insert slowly → release → back off.

In intervention mode (:meth:`AssemblyOracle.judge`) it takes over once a mistake is evident: the adapter's
detector fires (piece on the rim, piece touching the receptacle misaligned, piece on the table, gripper
hitting something), the piece goes below the rim beside the opening, the hand opens with the piece off the
opening, or the policy stalls. :meth:`AssemblyOracle.take_over` lifts the piece clear of the rim (re-grasping it by the
handle first if it was dropped), re-aims at the **true** receptacle and inserts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imgen_core import frames, se3
from sim.operators.base import CLOSE, OPEN, OracleBase, Script
from sim.tasks.two_piece_assembly_env import HANDLE_HEIGHT, PIECE_HEIGHT, TCP_BELOW_HANDLE, WALL_HEIGHT


@dataclass(frozen=True)
class AssemblyOracleConfig:
    """Motion style (lengths in metres, speeds are peak speeds in m/s)."""

    free_speed: tuple[float, float] = (0.08, 0.10)
    descend_speed: tuple[float, float] = (0.05, 0.07)
    insert_speed: tuple[float, float] = (0.03, 0.04)
    lift_speed: tuple[float, float] = (0.05, 0.07)
    clearance: tuple[float, float] = (0.03, 0.05)  # piece bottom above the rim before descending
    entry_height: float = 0.008  # piece bottom above the rim where the oracle aligns before inserting
    insert_depth: float = -0.003  # piece bottom "above" the floor at the end of the insertion (presses lightly)
    aim_noise: float = 0.0012  # std of the xy aiming error (clipped at 2.5 std; clearance is 5 mm)
    yaw_noise: float = np.deg2rad(1.5)
    wobble: float = 0.002
    pause_prob: float = 0.35
    pause_steps: tuple[int, int] = (2, 6)
    converge_tol: float = 0.0015
    max_settle: int = 25
    release_steps: int = 10
    back_off: float = 0.06
    takeover_stall_steps: int = 200


class AssemblyOracle(OracleBase[AssemblyOracleConfig]):
    """Scripted stand-in for a human operator of 2-Piece Assembly.

    Args:
        adapter: a :class:`~sim.tasks.two_piece_assembly.TwoPieceAssemblyAdapter`.
        config: motion style.
        pose_source: ``"true"`` (oracle) or ``"observed"`` (acts on the corrupted receptacle pose; a baseline
            that cannot recover).
    """

    config_cls = AssemblyOracleConfig

    def _new_episode(self) -> None:
        self._recovering = False  # taking over: aim at the true receptacle even with pose_source="observed"

    def take_over(self) -> None:
        """Control from the current state: lift (or re-grasp), re-aim at the true receptacle, insert."""
        self._recovering = True
        super().take_over()

    def _task_mistake(self) -> str | None:
        """Piece below the rim beside the opening, or the hand opening with the piece misaligned."""
        a = self.adapter
        off = a.piece_offset()
        misaligned = a.misalignment() > a.clearance + 0.001
        if misaligned and a.env.piece_bottom_above_floor() < WALL_HEIGHT and np.all(np.abs(off[:2]) < 0.06):
            return "piece_below_rim_misaligned"
        if a.last_gripper_command < 0 and misaligned:  # opening the hand with the piece off the opening
            return "releasing_off_target"
        return None

    # ------------------------------------------------------------------ geometry
    def _receptacle(self) -> np.ndarray:
        a = self.adapter
        if self.pose_source == "observed" and not self._recovering:
            return a.observed_object_poses()["receptacle"]
        return a.object_poses()["receptacle"]

    def _tcp_for_piece(self, piece_target: np.ndarray, tcp_T_piece: np.ndarray) -> np.ndarray:
        """TCP pose that puts the piece at ``piece_target`` for the current hold."""
        return piece_target @ se3.pose_inv(tcp_T_piece)

    def _piece_target(self, rec: np.ndarray, bottom_above_floor: float, aim: np.ndarray, yaw: float) -> np.ndarray:
        """Upright piece pose ``(4,4)`` with yaw ``yaw`` [rad], centred over ``rec`` (+ ``aim``), bottom this high."""
        env = self.adapter.env
        rot = se3.axisangle_to_mat(np.array([0.0, 0.0, yaw]))
        z = rec[2, 3] + env.floor_above_origin + env.piece_half_height + bottom_above_floor
        return se3.make_pose(np.array([rec[0, 3] + aim[0], rec[1, 3] + aim[1], z]), rot)

    # ------------------------------------------------------------------ recovery
    def _lift_clear(self, gripper: float) -> Script:
        """Straight up until the piece bottom is well above the rim."""
        a = self.adapter
        here = a.eef_pose()
        self.carrot = here
        rec = a.object_poses()["receptacle"]
        rim = rec[2, 3] + a.env.rim_above_origin
        bottom = a.object_poses()["piece"][2, 3] - a.env.piece_half_height
        up = here.copy()
        up[2, 3] += max(0.02, rim + self._u(self.cfg.clearance) - bottom)
        yield from self._maybe_pause(here, gripper)
        yield from self._move(up, self._u(self.cfg.lift_speed), gripper, wobble=0.0)

    def _regrasp(self) -> Script:
        """Open, rise, come down over the handle of the (upright) piece, close on it."""
        a = self.adapter
        here = a.eef_pose()
        self.carrot = here
        up = here.copy()
        up[2, 3] += 0.03
        yield from self._hold(here, OPEN, 6, 9)
        yield from self._move(up, self._u(self.cfg.lift_speed), OPEN, wobble=0.0)
        piece = a.object_poses()["piece"]
        handle_z = piece[2, 3] - a.env.piece_half_height + PIECE_HEIGHT + HANDLE_HEIGHT / 2
        rot = se3.axisangle_to_mat(np.array([0.0, 0.0, _square_yaw_error(_yaw(piece), 0.0)])) @ frames.TOP_DOWN_ROT
        grasp = se3.make_pose(np.array([piece[0, 3], piece[1, 3], handle_z - TCP_BELOW_HANDLE]), rot)
        above = grasp.copy()
        above[2, 3] += 0.05
        yield from self._move(above, self._u(self.cfg.free_speed), OPEN)
        yield from self._move(grasp, self._u(self.cfg.descend_speed), OPEN, wobble=0.0)
        yield from self._settle(grasp, OPEN)
        yield from self._hold(grasp, CLOSE, 12, 14)

    def _recover(self) -> Script:
        self.phase = "recover"
        if not self.adapter.contacts().held:
            yield from self._regrasp()
        yield from self._lift_clear(CLOSE)

    # ------------------------------------------------------------------ script
    def _run(self, recover: bool) -> Script:
        cfg, a = self.cfg, self.adapter
        if recover:
            yield from self._recover()
        self.phase = "approach"
        tcp_T_piece = se3.pose_inv(a.eef_pose()) @ a.object_poses()["piece"]
        rec = self._receptacle()
        aim = self._noise(cfg.aim_noise, size=2)
        yaw = self._yaw_error()
        piece_yaw = _yaw(a.object_poses()["piece"])
        yaw += piece_yaw + _square_yaw_error(_yaw(rec), piece_yaw)  # nearest yaw that squares piece and opening
        rim = WALL_HEIGHT
        above = self._tcp_for_piece(self._piece_target(rec, rim + self._u(cfg.clearance), aim, yaw), tcp_T_piece)
        here = a.eef_pose()
        above[2, 3] = max(above[2, 3], here[2, 3]) if recover else above[2, 3]
        yield from self._move(above, self._u(cfg.free_speed), CLOSE)
        yield from self._maybe_pause(above, CLOSE)
        self.phase = "descend"
        entry = self._tcp_for_piece(self._piece_target(rec, rim + cfg.entry_height, aim, yaw), tcp_T_piece)
        yield from self._move(entry, self._u(cfg.descend_speed), CLOSE, wobble=cfg.wobble / 2)
        yield from self._settle(entry, CLOSE)
        yield from self._maybe_pause(entry, CLOSE)
        self.phase = "insert"
        seated = self._tcp_for_piece(self._piece_target(rec, cfg.insert_depth, aim, yaw), tcp_T_piece)
        yield from self._move(seated, self._u(cfg.insert_speed), CLOSE, wobble=0.0)
        yield from self._settle(seated, CLOSE)
        self.phase = "release"
        yield from self._hold(seated, OPEN, cfg.release_steps, cfg.release_steps + 3)
        yield from self._rise_and_hold(seated, cfg.back_off, self._u(cfg.lift_speed), OPEN, "back_off")


def _yaw(pose: np.ndarray) -> float:
    return float(np.arctan2(pose[1, 0], pose[0, 0]))


def _square_yaw_error(target_yaw: float, yaw: float) -> float:
    """``target_yaw - yaw`` modulo the square's 90° symmetry, in [-45°, 45°) [rad]."""
    return float((target_yaw - yaw + np.pi / 4) % (np.pi / 2) - np.pi / 4)
