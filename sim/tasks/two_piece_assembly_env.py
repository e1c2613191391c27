"""``ImgenTwoPieceAssembly``: the robosuite environment of the 2-Piece Assembly task (paper §4.4.1).

A Panda with its default gripper and robosuite 1.5's default Panda composite controller (``BASIC``: right
arm ``OSC_POSE``, delta input in the base frame; gripper ``GRIP``) runs at 20 Hz with lite physics.

Both pieces are built from MuJoCo box primitives (robosuite ``CompositeObject``, one free body each):

* **receptacle**: a square frame, a 7 cm x 7 cm x 5 mm base plate carrying four 1 cm thick walls 2 cm high
  around a 5 cm x 5 cm opening (``opening``). Heavy (its density makes it ~0.5 kg) so a bump hardly moves it.
  Its body origin is the centre of its bounding box (1.25 cm above the table); its yaw is 0 (walls along the
  base axes). Its xy is uniform in a 10 cm x 10 cm region in front of the robot (base-frame x in
  [0.50, 0.60] m, y in [-0.05, 0.05] m).
* **piece**: a 4 cm x 4 cm x 2.5 cm square block with a 2 cm x 2 cm x 3 cm handle on top (body origin at
  the centre of the 5.5 cm tall bounding box). It leaves 5 mm of clearance per side in the opening.

The episode starts with the piece already grasped: at reset the handle is placed between the fingertips of
the (noisy) home pose, the fingers are set closed on it and the gripper command is "closed".

Success: the piece sits in the receptacle: its centre is within the opening in xy (receptacle frame,
``|dx|, |dy| <= opening / 2``), its bottom is within ``floor_tolerance`` (1 cm) of the receptacle floor (the
walls are 2 cm high, so the piece is then inside the frame), it is tilted by at most ``max_tilt`` (10°: seated,
not jammed in askew) and it touches the receptacle (resting on the floor or against a wall). The piece need not
be released.

Defining the class registers it with robosuite (``robosuite.make("ImgenTwoPieceAssembly", **env_kwargs)``).
Randomness comes only from ``self.rng`` at reset time (robot joint noise, then the receptacle placement).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import mujoco
import numpy as np
from robosuite.models.arenas import TableArena
from robosuite.models.objects import CompositeObject
from robosuite.models.tasks import ManipulationTask

from sim.robot import LINK7_BODY, LINK7_T_TCP
from sim.tasks.table_env import TableTaskEnv, default_controller_config  # noqa: F401  (re-exported)

ENV_NAME = "ImgenTwoPieceAssembly"
PIECE_SIZE = 0.04  # [m] side of the square block
PIECE_HEIGHT = 0.025  # [m] block height
HANDLE_SIZE = 0.02  # [m] side of the square handle
HANDLE_HEIGHT = 0.03  # [m]
OPENING = 0.05  # [m] side of the receptacle's square opening
WALL_THICKNESS = 0.01  # [m]
WALL_HEIGHT = 0.02  # [m] above the floor
FLOOR_THICKNESS = 0.005  # [m]
GRIPPER_CLOSED_ACTION = np.array([-1.0, 1.0])  # PandaGripper.current_action when fully closed
GRIP_SQUEEZE = 0.0015  # [m] each finger starts this far inside the handle face (a firm grasp at t = 0)
TCP_BELOW_HANDLE = 0.01  # [m] TCP (between the fingertips) below the handle's centre in the start grasp


def build_receptacle(opening: float, name: str = "receptacle", density: float = 7000.0) -> CompositeObject:
    """Square frame: base plate + four walls (body origin at the bounding-box centre)."""
    t, h, f = WALL_THICKNESS, WALL_HEIGHT, FLOOR_THICKNESS
    half_out = opening / 2 + t
    half_z = (f + h) / 2
    wall_z = -half_z + f + h / 2
    side = opening / 2 + t / 2
    sizes = [[half_out, half_out, f / 2],
             [t / 2, half_out, h / 2], [t / 2, half_out, h / 2],
             [opening / 2, t / 2, h / 2], [opening / 2, t / 2, h / 2]]
    locs = [[0, 0, -half_z + f / 2], [side, 0, wall_z], [-side, 0, wall_z], [0, side, wall_z], [0, -side, wall_z]]
    return CompositeObject(
        name=name, total_size=[half_out, half_out, half_z], geom_types=["box"] * 5, geom_sizes=sizes,
        geom_locations=locs, geom_names=["floor", "wall_xp", "wall_xn", "wall_yp", "wall_yn"],
        rgba=[0.2, 0.35, 0.8, 1.0], density=density, geom_frictions=[[1.0, 5e-3, 1e-4]] * 5,
        locations_relative_to_center=True)


def build_piece(name: str = "piece", density: float = 500.0) -> CompositeObject:
    """Square block with a square handle on top (body origin at the bounding-box centre)."""
    half_z = (PIECE_HEIGHT + HANDLE_HEIGHT) / 2
    sizes = [[PIECE_SIZE / 2, PIECE_SIZE / 2, PIECE_HEIGHT / 2], [HANDLE_SIZE / 2, HANDLE_SIZE / 2, HANDLE_HEIGHT / 2]]
    locs = [[0, 0, -half_z + PIECE_HEIGHT / 2], [0, 0, -half_z + PIECE_HEIGHT + HANDLE_HEIGHT / 2]]
    return CompositeObject(
        name=name, total_size=[PIECE_SIZE / 2, PIECE_SIZE / 2, half_z], geom_types=["box"] * 2, geom_sizes=sizes,
        geom_locations=locs, geom_names=["block", "handle"], rgba=[0.85, 0.55, 0.1, 1.0], density=density,
        geom_frictions=[[1.2, 5e-3, 1e-4]] * 2, locations_relative_to_center=True)


class ImgenTwoPieceAssembly(TableTaskEnv):
    """2-Piece Assembly: insert the grasped piece into the square receptacle.

    Args beyond robosuite's usual ones (all JSON-able, so ``env_args`` can rebuild the env):
        opening: side of the receptacle's opening [m] (piece side + 1 cm by default).
        receptacle_x_range, receptacle_y_range: placement region of the receptacle centre, **base** frame [m].
        floor_tolerance: success threshold of the piece bottom above the receptacle floor [m].
        max_tilt: success threshold of the piece's tilt from upright [rad] (a seated piece sits flat).
    """

    def __init__(
        self,
        opening: float = OPENING,
        receptacle_x_range: tuple[float, float] = (0.50, 0.60),
        receptacle_y_range: tuple[float, float] = (-0.05, 0.05),
        floor_tolerance: float = 0.01,
        max_tilt: float = float(np.deg2rad(10.0)),
        **kwargs: Any,
    ) -> None:
        self.opening = float(opening)
        self.receptacle_x_range = tuple(receptacle_x_range)
        self.receptacle_y_range = tuple(receptacle_y_range)
        self.floor_tolerance = float(floor_tolerance)
        self.max_tilt = float(max_tilt)
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ geometry
    @property
    def receptacle_half_height(self) -> float:
        """Receptacle body origin above the table [m]."""
        return (FLOOR_THICKNESS + WALL_HEIGHT) / 2

    @property
    def piece_half_height(self) -> float:
        """Piece body origin above the piece's bottom face [m]."""
        return (PIECE_HEIGHT + HANDLE_HEIGHT) / 2

    @property
    def floor_above_origin(self) -> float:
        """Receptacle floor top relative to the receptacle body origin (z) [m]."""
        return FLOOR_THICKNESS - self.receptacle_half_height

    @property
    def rim_above_origin(self) -> float:
        """Receptacle wall tops relative to the receptacle body origin (z) [m]."""
        return self.receptacle_half_height

    # ------------------------------------------------------------------ model
    def _load_model(self) -> None:
        super()._load_model()
        robot = self.robots[0]
        robot.robot_model.set_base_xpos(robot.robot_model.base_xpos_offset["table"](self.table_full_size[0]))
        arena = TableArena(table_full_size=self.table_full_size, table_friction=self.table_friction,
                           table_offset=self.table_offset)
        arena.set_origin([0, 0, 0])
        self.receptacle = build_receptacle(self.opening)
        self.piece = build_piece()
        self.model = ManipulationTask(mujoco_arena=arena, mujoco_robots=[r.robot_model for r in self.robots],
                                      mujoco_objects=[self.receptacle, self.piece])

    def _setup_references(self) -> None:
        super()._setup_references()
        sim = self.sim
        ids = self.geom_ids
        self.piece_body_id = sim.model.body_name2id(self.piece.root_body)
        self.receptacle_body_id = sim.model.body_name2id(self.receptacle.root_body)
        self.piece_joint_qpos_addr = sim.model.get_joint_qpos_addr(self.piece.joints[0])[0]
        self.receptacle_joint_qpos_addr = sim.model.get_joint_qpos_addr(self.receptacle.joints[0])[0]
        self.piece_geom_ids = ids(self.piece.contact_geoms)
        self.receptacle_geom_ids = ids(self.receptacle.contact_geoms)
        self.receptacle_wall_geom_ids = ids([g for g in self.receptacle.contact_geoms if "wall" in g])

    def _setup_observables(self) -> OrderedDict:
        observables = super()._setup_observables()
        if self.use_object_obs:
            for obj in ("piece", "receptacle"):
                self.add_pose_observables(observables, obj, f"{obj}_body_id")
        return observables

    # ------------------------------------------------------------------ reset
    def _reset_internal(self) -> None:
        super()._reset_internal()
        robot = self.robots[0]
        data = self.sim.data
        q = HANDLE_SIZE / 2 - GRIP_SQUEEZE
        data.qpos[self.finger_qpos_addr] = (q, -q)
        robot.gripper["right"].current_action = GRIPPER_CLOSED_ACTION.copy()
        robot.composite_controller.get_controller("right").update_initial_joints(np.array(robot.init_qpos))
        base_pos = np.array(self.sim.data.xpos[self.robot_base_body_id])
        if not self.deterministic_reset:
            x = self.rng.uniform(*self.receptacle_x_range)
            y = self.rng.uniform(*self.receptacle_y_range)
        else:
            x, y = np.mean(self.receptacle_x_range), np.mean(self.receptacle_y_range)
        a = self.receptacle_joint_qpos_addr
        rec = np.array([base_pos[0] + x, base_pos[1] + y, self.table_top_z + self.receptacle_half_height])
        data.qpos[a:a + 7] = np.concatenate([rec, [1.0, 0.0, 0.0, 0.0]])
        self._place_piece_in_hand()

    def _place_piece_in_hand(self) -> None:
        """Put the handle between the fingertips of the current arm pose (piece axes along the base axes)."""
        m, d = self.sim.model._model, self.sim.data._data
        mujoco.mj_kinematics(m, d)
        link7 = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, LINK7_BODY)
        world_T_link7 = np.eye(4)
        world_T_link7[:3, :3] = d.xmat[link7].reshape(3, 3)
        world_T_link7[:3, 3] = d.xpos[link7]
        tcp = (world_T_link7 @ LINK7_T_TCP)[:3, 3]
        handle_centre_z = tcp[2] + TCP_BELOW_HANDLE
        origin_z = handle_centre_z - (PIECE_HEIGHT + HANDLE_HEIGHT / 2 - self.piece_half_height)
        a = self.piece_joint_qpos_addr
        d.qpos[a:a + 7] = np.concatenate([[tcp[0], tcp[1], origin_z], [1.0, 0.0, 0.0, 0.0]])
        d.qvel[:] = 0.0
        mujoco.mj_forward(m, d)

    # ------------------------------------------------------------------ task
    def piece_in_receptacle(self) -> np.ndarray:
        """Piece origin in the receptacle frame ``(3,)`` [m] (world poses; both bodies are rigid)."""
        d = self.sim.data
        r = np.array(d.body_xmat[self.receptacle_body_id]).reshape(3, 3)
        return r.T @ (np.array(d.body_xpos[self.piece_body_id]) - np.array(d.body_xpos[self.receptacle_body_id]))

    def piece_bottom_above_floor(self) -> float:
        """Height of the piece's bottom face above the receptacle floor [m] (upright pieces)."""
        rel = self.piece_in_receptacle()
        return float(rel[2] - self.piece_half_height - self.floor_above_origin)

    def piece_tilt(self) -> float:
        """Angle between the piece's z axis and the receptacle's [rad]."""
        d = self.sim.data
        zp = np.array(d.body_xmat[self.piece_body_id]).reshape(3, 3)[:, 2]
        zr = np.array(d.body_xmat[self.receptacle_body_id]).reshape(3, 3)[:, 2]
        return float(np.arccos(np.clip(zp @ zr, -1.0, 1.0)))

    def piece_touches_receptacle(self) -> bool:
        """Some piece geom is in contact with some receptacle geom."""
        d = self.sim.data._data
        n = int(d.ncon)
        if n == 0:
            return False
        g1, g2 = np.asarray(d.contact.geom1[:n]), np.asarray(d.contact.geom2[:n])
        p1, p2 = np.isin(g1, self.piece_geom_ids), np.isin(g2, self.piece_geom_ids)
        r1, r2 = np.isin(g1, self.receptacle_geom_ids), np.isin(g2, self.receptacle_geom_ids)
        return bool(np.any((p1 & r2) | (p2 & r1)))

    def _check_success(self) -> bool:
        rel = self.piece_in_receptacle()
        inside = bool(np.all(np.abs(rel[:2]) <= self.opening / 2))
        low = -0.005 <= self.piece_bottom_above_floor() <= self.floor_tolerance
        return inside and low and self.piece_tilt() <= self.max_tilt and self.piece_touches_receptacle()

    def reward(self, action: Any = None) -> float:
        """Sparse: ``reward_scale`` on success, else 0."""
        return float(self.reward_scale or 1.0) if self._check_success() else 0.0
