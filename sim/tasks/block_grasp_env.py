"""``ImgenBlockGrasp``: the robosuite environment of the Block Grasp task (paper §4.4.1).

A Panda with its default gripper and robosuite 1.5's default Panda composite controller (``BASIC``: right
arm ``OSC_POSE``, delta input in the base frame, output limits 0.05 m / 0.5 rad; gripper ``GRIP``) runs at
20 Hz. A red 5 cm cube (the real-world cube) rests on the table; its xy is uniform in a 20 cm (x) x 30 cm (y)
region in front of the robot (base-frame x in [0.46, 0.66] m, y in [-0.15, 0.15] m) and its yaw uniform in
±10° (the gripper stays top-down; a parallel grasp squares the cube). The gripper starts fully open.

Success: the cube is at least ``lift_height`` (5 cm) above its rest height while both finger pads touch it.

Defining the class registers it with robosuite (``robosuite.make("ImgenBlockGrasp", **env_kwargs)``).
Randomness comes only from ``self.rng`` at reset time (robot joint noise, then the cube placement), so
setting ``env.rng = np.random.default_rng(seed)`` before ``reset()`` makes the scene a function of the seed.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
from robosuite.models.arenas import TableArena
from robosuite.models.objects import BoxObject
from robosuite.models.tasks import ManipulationTask

from sim.tasks.table_env import TableTaskEnv, default_controller_config  # noqa: F401  (re-exported)

ENV_NAME = "ImgenBlockGrasp"
CUBE_SIZE = 0.05  # [m] side of the real cube
HORIZON = 400  # control steps of one episode (see BlockGraspAdapter)
OPEN_FINGER_QPOS = (0.04, -0.04)  # Panda finger joints fully open: 8 cm finger-to-finger
GRIPPER_OPEN_ACTION = np.array([1.0, -1.0])  # PandaGripper.current_action when fully opened


class ImgenBlockGrasp(TableTaskEnv):
    """Block Grasp: reach a 5 cm cube and lift it in a firm two-finger grasp.

    Args beyond robosuite's usual ones (all JSON-able, so ``env_args`` can rebuild the env):
        cube_size: side of the cube [m].
        cube_density: [kg/m^3] (500: a 62 g wooden cube).
        cube_friction: MuJoCo (slide, spin, roll) friction of the cube.
        cube_x_range, cube_y_range: placement region in the robot **base** frame [m].
        cube_yaw_range: placement yaw range [rad].
        lift_height: success threshold above the rest height [m].
    """

    def __init__(
        self,
        cube_size: float = CUBE_SIZE,
        cube_density: float = 500.0,
        cube_friction: tuple[float, float, float] = (1.0, 5e-3, 1e-4),
        cube_x_range: tuple[float, float] = (0.46, 0.66),
        cube_y_range: tuple[float, float] = (-0.15, 0.15),
        cube_yaw_range: tuple[float, float] = (-np.pi / 18, np.pi / 18),
        lift_height: float = 0.05,
        horizon: int = HORIZON,
        **kwargs: Any,
    ) -> None:
        self.cube_size = float(cube_size)
        self.cube_density = float(cube_density)
        self.cube_friction = tuple(cube_friction)
        self.cube_x_range = tuple(cube_x_range)
        self.cube_y_range = tuple(cube_y_range)
        self.cube_yaw_range = tuple(cube_yaw_range)
        self.lift_height = float(lift_height)
        super().__init__(horizon=horizon, **kwargs)

    # ------------------------------------------------------------------ model
    @property
    def cube_rest_z(self) -> float:
        """World z of the cube centre when it rests on the table [m]."""
        return self.table_top_z + self.cube_size / 2

    def _load_model(self) -> None:
        super()._load_model()
        robot = self.robots[0]
        xpos = robot.robot_model.base_xpos_offset["table"](self.table_full_size[0])
        robot.robot_model.set_base_xpos(xpos)
        arena = TableArena(table_full_size=self.table_full_size, table_friction=self.table_friction,
                           table_offset=self.table_offset)
        arena.set_origin([0, 0, 0])
        half = self.cube_size / 2
        self.cube = BoxObject(name="cube", size=[half, half, half], density=self.cube_density,
                              friction=list(self.cube_friction), rgba=[0.85, 0.05, 0.05, 1.0], rng=self.rng)
        self.model = ManipulationTask(mujoco_arena=arena, mujoco_robots=[r.robot_model for r in self.robots],
                                      mujoco_objects=self.cube)

    def _setup_references(self) -> None:
        super()._setup_references()
        sim = self.sim
        self.cube_body_id = sim.model.body_name2id(self.cube.root_body)
        self.cube_joint_qpos_addr = sim.model.get_joint_qpos_addr(self.cube.joints[0])[0]
        self.cube_geom_ids = self.geom_ids(self.cube.contact_geoms)

    def _setup_observables(self) -> OrderedDict:
        observables = super()._setup_observables()
        if self.use_object_obs:
            self.add_pose_observables(observables, "cube", "cube_body_id")
        return observables

    # ------------------------------------------------------------------ reset
    def _reset_internal(self) -> None:
        super()._reset_internal()
        robot = self.robots[0]
        data = self.sim.data
        data.qpos[self.finger_qpos_addr] = OPEN_FINGER_QPOS
        robot.gripper["right"].current_action = GRIPPER_OPEN_ACTION.copy()
        # Nullspace posture target = the nominal home configuration (robosuite uses the noisy start): the OSC's
        # response then depends only on the MuJoCo state and the action, so reset_to(state) replays exactly.
        robot.composite_controller.get_controller("right").update_initial_joints(np.array(robot.init_qpos))
        if self.deterministic_reset:
            return
        x = self.rng.uniform(*self.cube_x_range)
        y = self.rng.uniform(*self.cube_y_range)
        yaw = self.rng.uniform(*self.cube_yaw_range)
        base_pos = self.sim.data.xpos[self.robot_base_body_id]  # fixed base: valid since the first forward()
        pos = np.array([base_pos[0] + x, base_pos[1] + y, self.cube_rest_z])
        quat_wxyz = np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])
        a = self.cube_joint_qpos_addr
        data.qpos[a:a + 7] = np.concatenate([pos, quat_wxyz])

    # ------------------------------------------------------------------ task
    def _geom_mask(self, ids: np.ndarray) -> np.ndarray:
        mask = np.zeros(self.sim.model.ngeom, dtype=bool)
        mask[ids] = True
        return mask

    def firm_grasp(self) -> bool:
        """Both fingers (pads or finger bodies) touch the cube."""
        d = self.sim.data
        n = d.ncon
        if n == 0:
            return False
        if getattr(self, "_masks_model", None) is not self.sim.model:
            self._masks_model = self.sim.model
            self._is_left = self._geom_mask(self.left_finger_geom_ids)
            self._is_right = self._geom_mask(self.right_finger_geom_ids)
            self._is_cube = self._geom_mask(self.cube_geom_ids)
        g1, g2 = d.contact.geom1[:n], d.contact.geom2[:n]
        cube1, cube2 = self._is_cube[g1], self._is_cube[g2]
        left = (self._is_left[g1] & cube2) | (self._is_left[g2] & cube1)
        right = (self._is_right[g1] & cube2) | (self._is_right[g2] & cube1)
        return bool(left.any() and right.any())

    def cube_height(self) -> float:
        """Height of the cube centre above its rest height [m]."""
        return float(self.sim.data.body_xpos[self.cube_body_id][2]) - self.cube_rest_z

    def _check_success(self) -> bool:
        return self.cube_height() >= self.lift_height and self.firm_grasp()

    def reward(self, action: Any = None) -> float:
        """Sparse: ``reward_scale`` on success, else 0."""
        return float(self.reward_scale or 1.0) if self._check_success() else 0.0
