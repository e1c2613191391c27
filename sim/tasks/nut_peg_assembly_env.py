"""``ImgenNutPegAssembly``: the robosuite environment of the Nut-and-Peg Assembly task (paper §4.4.1, Table 2).

A Panda with its default gripper and robosuite 1.5's default Panda composite controller (``BASIC``: right arm
``OSC_POSE``, delta input in the base frame; gripper ``GRIP``) runs at 20 Hz. robosuite's square nut
(:class:`~robosuite.models.objects.SquareNutObject`: a 8.75 cm square ring with a 4.55 cm square hole, 2 cm thick,
and a 5 cm x 3.2 cm handle sticking out along the nut's +x axis, body origin at the ring centre) lies flat on the
table. Its centre is uniform in a 0.5 cm (x) x 11.5 cm (y) region of the robot **base** frame (x in
[0.495, 0.50] m, y in [0.04, 0.155] m, the layout of robosuite's NutAssembly on the left of the robot) and its
yaw uniform in [-pi, pi). A square peg (3.2 cm side, 10 cm tall, a MuJoCo box fixed to the table, axes aligned
with the base frame) stands at base (0.55, -0.10) m.

Success: the nut is down around the peg: its centre within 2.5 cm (horizontally) of the peg axis and less than
3 cm above the table top (the peg is 10 cm tall, so the nut can only be that low around it or far from it).

Defining the class registers it with robosuite (``robosuite.make("ImgenNutPegAssembly", **env_kwargs)``).
Randomness comes only from ``self.rng`` at reset time (robot joint noise, then the nut placement).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
from robosuite.models.arenas import TableArena
from robosuite.models.objects import BoxObject, SquareNutObject
from robosuite.models.tasks import ManipulationTask

from sim.tasks.block_grasp_env import GRIPPER_OPEN_ACTION, OPEN_FINGER_QPOS
from sim.tasks.table_env import TableTaskEnv, default_controller_config  # noqa: F401  (re-exported)

ENV_NAME = "ImgenNutPegAssembly"
NUT_HALF_THICKNESS = 0.01  # [m] half height of every nut geom
NUT_HOLE_HALF = 0.02275  # [m] half side of the nut's square hole
NUT_OUTER_HALF = 0.04375  # [m] half side of the nut's square ring
HANDLE_CENTER_X = 0.0615  # [m] centre of the handle part outside the ring, along nut x
HANDLE_HALF_WIDTH = 0.015875  # [m] half width of the handle (along nut y)
PEG_HALF_SIDE = 0.016  # [m]
PEG_HEIGHT = 0.10  # [m] above the table top


class ImgenNutPegAssembly(TableTaskEnv):
    """Nut-and-Peg Assembly: grasp the square nut by its handle and lower it around a fixed square peg.

    Args beyond robosuite's usual ones (all JSON-able, so ``env_args`` can rebuild the env):
        nut_x_range, nut_y_range: placement region of the nut centre in the robot **base** frame [m].
        nut_yaw_range: placement yaw range [rad].
        peg_xy: peg axis position in the base frame [m].
        peg_half_side, peg_height: peg size [m].
        success_radius: max horizontal distance nut centre - peg axis at success [m].
        success_height: max height of the nut centre above the table top at success [m].
    """

    def __init__(
        self,
        nut_x_range: tuple[float, float] = (0.495, 0.50),
        nut_y_range: tuple[float, float] = (0.04, 0.155),
        nut_yaw_range: tuple[float, float] = (-np.pi, np.pi),
        peg_xy: tuple[float, float] = (0.55, -0.10),
        peg_half_side: float = PEG_HALF_SIDE,
        peg_height: float = PEG_HEIGHT,
        success_radius: float = 0.025,
        success_height: float = 0.03,
        horizon: int = 400,
        **kwargs: Any,
    ) -> None:
        self.nut_x_range = tuple(nut_x_range)
        self.nut_y_range = tuple(nut_y_range)
        self.nut_yaw_range = tuple(nut_yaw_range)
        self.peg_xy = tuple(peg_xy)
        self.peg_half_side = float(peg_half_side)
        self.peg_height = float(peg_height)
        self.success_radius = float(success_radius)
        self.success_height = float(success_height)
        super().__init__(horizon=horizon, **kwargs)

    # ------------------------------------------------------------------ model
    @property
    def nut_rest_z(self) -> float:
        """World z of the nut centre when it lies flat on the table [m]."""
        return self.table_top_z + NUT_HALF_THICKNESS

    def _load_model(self) -> None:
        super()._load_model()
        robot = self.robots[0]
        xpos = robot.robot_model.base_xpos_offset["table"](self.table_full_size[0])
        robot.robot_model.set_base_xpos(xpos)
        arena = TableArena(table_full_size=self.table_full_size, table_friction=self.table_friction,
                           table_offset=self.table_offset)
        arena.set_origin([0, 0, 0])
        self.nut = SquareNutObject(name="nut")
        half = self.peg_height / 2
        self.peg = BoxObject(name="peg", size=[self.peg_half_side, self.peg_half_side, half], joints=None,
                             friction=[1.0, 5e-3, 1e-4], rgba=[0.45, 0.45, 0.5, 1.0], rng=self.rng)
        # fixed body: place it once in the model (base frame -> world: the base sits at x = xpos[0], y = xpos[1])
        peg_world = (xpos[0] + self.peg_xy[0], xpos[1] + self.peg_xy[1], self.table_top_z + half)
        self.peg.get_obj().set("pos", " ".join(f"{v:.6f}" for v in peg_world))
        self.model = ManipulationTask(mujoco_arena=arena, mujoco_robots=[r.robot_model for r in self.robots],
                                      mujoco_objects=[self.nut, self.peg])

    def _setup_references(self) -> None:
        super()._setup_references()
        sim = self.sim
        self.nut_body_id = sim.model.body_name2id(self.nut.root_body)
        self.nut_joint_qpos_addr = sim.model.get_joint_qpos_addr(self.nut.joints[0])[0]
        self.nut_geom_ids = self.geom_ids(self.nut.contact_geoms)
        self.peg_body_id = sim.model.body_name2id(self.peg.root_body)
        self.peg_geom_ids = self.geom_ids(self.peg.contact_geoms)

    def _setup_observables(self) -> OrderedDict:
        observables = super()._setup_observables()
        if self.use_object_obs:
            self.add_pose_observables(observables, "nut", "nut_body_id")
        return observables

    # ------------------------------------------------------------------ reset
    def _reset_internal(self) -> None:
        super()._reset_internal()
        robot = self.robots[0]
        data = self.sim.data
        data.qpos[self.finger_qpos_addr] = OPEN_FINGER_QPOS
        robot.gripper["right"].current_action = GRIPPER_OPEN_ACTION.copy()
        # nominal nullspace posture (as in Block Grasp): reset_to(state) then replays exactly
        robot.composite_controller.get_controller("right").update_initial_joints(np.array(robot.init_qpos))
        if self.deterministic_reset:
            return
        x = self.rng.uniform(*self.nut_x_range)
        y = self.rng.uniform(*self.nut_y_range)
        yaw = self.rng.uniform(*self.nut_yaw_range)
        base_pos = self.sim.data.xpos[self.robot_base_body_id]
        pos = np.array([base_pos[0] + x, base_pos[1] + y, self.nut_rest_z])
        quat_wxyz = np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])
        a = self.nut_joint_qpos_addr
        data.qpos[a:a + 7] = np.concatenate([pos, quat_wxyz])

    # ------------------------------------------------------------------ task
    def nut_peg_offset(self) -> tuple[float, float]:
        """(horizontal distance nut centre - peg axis, height of the nut centre above the table top) [m]."""
        d = self.sim.data
        nut = d.body_xpos[self.nut_body_id]
        peg = d.body_xpos[self.peg_body_id]
        return float(np.linalg.norm(nut[:2] - peg[:2])), float(nut[2] - self.table_top_z)

    def _check_success(self) -> bool:
        radial, height = self.nut_peg_offset()
        return radial <= self.success_radius and height <= self.success_height

    def reward(self, action: Any = None) -> float:
        """Sparse: ``reward_scale`` on success, else 0."""
        return float(self.reward_scale or 1.0) if self._check_success() else 0.0
