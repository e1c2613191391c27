"""``ImgenNutInsertion``: the robosuite environment of the Nut Insertion task (paper §4.4.1).

A Panda with its default gripper and robosuite 1.5's default Panda composite controller (``BASIC``: right arm
``OSC_POSE``, delta input in the base frame, output limits 0.05 m / 0.5 rad; gripper ``GRIP``) runs at 20 Hz.

Scene: robosuite's ``SquareNutObject`` (4.55 cm square hole, 8.75 cm square ring, 2 cm thick, a handle on its
+x side) starts **in the hand**: at reset it is placed with its handle between the closed fingers (grasped
``grip_offset`` = 6 cm from the hole centre, handle pointing back at the robot, so the hole sits 6 cm in front
of the TCP along base x) and the gripper's command state is set to fully closed, so a held close command (+1)
keeps it. A square peg (a MuJoCo box, ``peg_half_size`` 1.9 cm: 3.75 mm clearance per side in the hole, 5 cm
tall) stands on the table; its xy is uniform in a 10 cm x 10 cm region (base-frame x in [0.50, 0.60] m,
y in [-0.05, 0.05] m), no yaw. The peg is "fixed to the table" through two slide joints (x, y) with large
damping and friction loss: its position is part of the MuJoCo state (so ``get_state``/``reset_to`` restore it),
yet contacts cannot move it measurably (< 0.1 mm per episode). Peg–table contacts are excluded.

Success: the nut centre is within the peg's footprint in xy (so the peg passes through the hole) and at most
``success_height`` (2.5 cm) above the table top, i.e. its bottom within 1.5 cm of the peg base. Whether the nut is
released or still held does not matter.

Defining the class registers it with robosuite (``robosuite.make("ImgenNutInsertion", **env_kwargs)``).
Randomness comes only from ``self.rng`` at reset time (robot joint noise, then the peg placement).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import OrderedDict
from typing import Any

import mujoco
import numpy as np
from robosuite.models.arenas import TableArena
from robosuite.models.objects import BoxObject, SquareNutObject
from robosuite.models.tasks import ManipulationTask

from imgen_core import se3
from sim.robot import LINK7_T_TCP
from sim.tasks.table_env import TableTaskEnv, default_controller_config  # noqa: F401  (re-exported)

ENV_NAME = "ImgenNutInsertion"
NUT_HOLE_HALF = 0.02275  # [m] half side of the square nut's hole (inner faces of the ring walls)
NUT_HALF_THICKNESS = 0.01  # [m]
HANDLE_HALF_WIDTH = 0.015875  # [m] half width of the handle (across the fingers)
PEG_HALF_SIZE = 0.019  # [m] 3.75 mm clearance per side in the hole
PEG_HEIGHT = 0.05  # [m]
GRIP_OFFSET = 0.06  # [m] hole centre → grasp point along the handle (nut +x)
TCP_T_NUT_Z = 0.009  # [m] nut centre above the TCP in the grasp (finger pads centred on the handle)
GRIPPER_CLOSED_ACTION = np.array([-1.0, 1.0])  # PandaGripper.current_action when fully closed


def tcp_T_nut(grip_offset: float = GRIP_OFFSET) -> np.ndarray:
    """Nominal nut pose in the TCP frame ``(4,4)`` at the start of an episode.

    TCP axes (top-down): x = base x, y = -base y, z = down. The nut's handle (+x of the nut) points back at the
    robot (base -x) and its z is up, so ``tcp_R_nut = diag(-1, 1, -1)``.
    """
    return se3.make_pose(np.array([grip_offset, 0.0, -TCP_T_NUT_Z]), np.diag([-1.0, 1.0, -1.0]))


class ImgenNutInsertion(TableTaskEnv):
    """Nut Insertion: lower the square nut held in the hand onto a square peg.

    Args beyond robosuite's usual ones (all JSON-able, so ``env_args`` can rebuild the env):
        peg_half_size: half side of the peg's square section [m].
        peg_height: peg height above the table [m].
        peg_x_range, peg_y_range: peg placement region in the robot **base** frame [m].
        peg_yaw: fixed peg yaw [rad] (0: sides along the base axes).
        grip_offset: distance from the hole centre to the grasp point on the handle [m].
        success_height: nut centre at most this high above the table top for success [m].
    """

    def __init__(
        self,
        peg_half_size: float = PEG_HALF_SIZE,
        peg_height: float = PEG_HEIGHT,
        peg_x_range: tuple[float, float] = (0.50, 0.60),
        peg_y_range: tuple[float, float] = (-0.05, 0.05),
        peg_yaw: float = 0.0,
        grip_offset: float = GRIP_OFFSET,
        success_height: float = 0.025,
        **kwargs: Any,
    ) -> None:
        self.peg_half_size = float(peg_half_size)
        self.peg_height = float(peg_height)
        self.peg_x_range = tuple(peg_x_range)
        self.peg_y_range = tuple(peg_y_range)
        self.peg_yaw = float(peg_yaw)
        self.grip_offset = float(grip_offset)
        self.success_height = float(success_height)
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ model
    def _load_model(self) -> None:
        super()._load_model()
        robot = self.robots[0]
        xpos = robot.robot_model.base_xpos_offset["table"](self.table_full_size[0])
        robot.robot_model.set_base_xpos(xpos)
        self._base_world = np.array(xpos, dtype=np.float64)
        arena = TableArena(table_full_size=self.table_full_size, table_friction=self.table_friction,
                           table_offset=self.table_offset)
        arena.set_origin([0, 0, 0])
        self.nut = SquareNutObject(name="nut")
        h = self.peg_half_size
        slide = {"damping": "1e5", "frictionloss": "500", "armature": "10", "limited": "false"}
        self.peg = BoxObject(name="peg", size=[h, h, self.peg_height / 2], density=1000.0,
                             friction=[1.0, 5e-3, 1e-4], rgba=[0.35, 0.35, 0.4, 1.0], rng=self.rng,
                             joints=[dict(type="slide", axis="1 0 0", **slide),
                                     dict(type="slide", axis="0 1 0", **slide)])
        self.model = ManipulationTask(mujoco_arena=arena, mujoco_robots=[r.robot_model for r in self.robots],
                                      mujoco_objects=[self.nut, self.peg])
        # the peg's slide joints move it relative to this nominal pose (region centre, on the table, fixed yaw)
        peg_body = self.model.worldbody.find(f"./body[@name='{self.peg.root_body}']")
        cx, cy = np.mean(self.peg_x_range), np.mean(self.peg_y_range)
        pos = self._base_world + np.array([cx, cy, 0.0])
        pos[2] = self.table_top_z + self.peg_height / 2
        peg_body.set("pos", " ".join(f"{v:.6f}" for v in pos))
        peg_body.set("quat", f"{np.cos(self.peg_yaw / 2):.9f} 0 0 {np.sin(self.peg_yaw / 2):.9f}")
        self.model.contact.append(ET.Element("exclude", body1="table", body2=self.peg.root_body))

    def _setup_references(self) -> None:
        super()._setup_references()
        sim = self.sim
        self.nut_body_id = sim.model.body_name2id(self.nut.root_body)
        self.nut_joint_qpos_addr = sim.model.get_joint_qpos_addr(self.nut.joints[0])[0]
        self.nut_joint_qvel_addr = sim.model.get_joint_qvel_addr(self.nut.joints[0])[0]
        self.nut_geom_ids = self.geom_ids(self.nut.contact_geoms)
        self.peg_body_id = sim.model.body_name2id(self.peg.root_body)
        self.peg_qpos_addr = np.array([sim.model.get_joint_qpos_addr(j) for j in self.peg.joints])
        self.peg_geom_ids = self.geom_ids(self.peg.contact_geoms)

    def _setup_observables(self) -> OrderedDict:
        observables = super()._setup_observables()
        if self.use_object_obs:
            for name in ("nut", "peg"):
                self.add_pose_observables(observables, name, f"{name}_body_id")
        return observables

    # ------------------------------------------------------------------ reset
    def _place_nut_in_hand(self) -> None:
        """Put the nut's handle between the fingers (from the current arm pose) and close the fingers on it."""
        m, d = self.sim.model._model, self.sim.data._data
        robot = self.robots[0]
        d.qpos[self.finger_qpos_addr] = (HANDLE_HALF_WIDTH, -HANDLE_HALF_WIDTH)
        robot.gripper["right"].current_action = GRIPPER_CLOSED_ACTION.copy()
        mujoco.mj_kinematics(m, d)
        world_T_tcp = se3.make_pose(d.xpos[self.link7_body_id], d.xmat[self.link7_body_id].reshape(3, 3)) @ LINK7_T_TCP
        world_T_nut = world_T_tcp @ tcp_T_nut(self.grip_offset)
        q = np.empty(4)
        mujoco.mju_mat2Quat(q, np.ascontiguousarray(world_T_nut[:3, :3]).reshape(9))
        a, v = self.nut_joint_qpos_addr, self.nut_joint_qvel_addr
        d.qpos[a:a + 7] = np.concatenate([world_T_nut[:3, 3], q])
        d.qvel[v:v + 6] = 0.0

    def _reset_internal(self) -> None:
        super()._reset_internal()
        robot = self.robots[0]
        self._place_nut_in_hand()
        # Nullspace posture target = the nominal home configuration (robosuite uses the noisy start): the OSC's
        # response then depends only on the MuJoCo state and the action, so reset_to(state) replays exactly. This
        # also refreshes the controller's cached dynamics after the fingers closed on the nut.
        robot.composite_controller.get_controller("right").update_initial_joints(np.array(robot.init_qpos))
        if self.deterministic_reset:
            return
        x = self.rng.uniform(*self.peg_x_range)
        y = self.rng.uniform(*self.peg_y_range)
        self.sim.data.qpos[self.peg_qpos_addr] = (x - np.mean(self.peg_x_range), y - np.mean(self.peg_y_range))
        self.sim.forward()

    # ------------------------------------------------------------------ task
    def nut_offset_from_peg(self) -> np.ndarray:
        """``(3,)`` nut centre minus the peg's base centre (on the table top), world axes [m]."""
        d = self.sim.data
        peg = np.array(d.body_xpos[self.peg_body_id])
        peg[2] = self.table_top_z
        return np.array(d.body_xpos[self.nut_body_id]) - peg

    def nut_on_peg(self) -> bool:
        """The nut centre is inside the peg's footprint and low enough (see the module docstring)."""
        off = self.nut_offset_from_peg()
        c, s = np.cos(self.peg_yaw), np.sin(self.peg_yaw)
        lx, ly = c * off[0] + s * off[1], -s * off[0] + c * off[1]
        inside = max(abs(lx), abs(ly)) <= self.peg_half_size
        return bool(inside and off[2] <= self.success_height)

    def _check_success(self) -> bool:
        return self.nut_on_peg()

    def reward(self, action: Any = None) -> float:
        """Sparse: ``reward_scale`` on success, else 0."""
        return float(self.reward_scale or 1.0) if self._check_success() else 0.0
