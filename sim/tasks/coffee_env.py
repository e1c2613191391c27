"""``ImgenCoffee``: the robosuite environment of the Coffee task (paper §4.4.1).

A Panda (default gripper, robosuite 1.5's default Panda composite controller: ``OSC_POSE`` delta in the base
frame, 20 Hz, lite physics) holds a coffee pod and must drop it into the pod holder of a coffee machine.

Geometry (all MuJoCo primitives, built here). The **machine frame** has its origin on the table top right below
the holder centre, z up, x pointing away from the robot (fixed yaw 0, axes parallel to the base frame):

* base plate (box), a column behind the holder (box, its front face 7.5 cm behind the holder axis, its top
  14 cm above the table), a stem and an arm (boxes) carrying the holder;
* the **pod holder**: a cup open at the top — a floor disk (cylinder) whose top face is ``HOLDER_FLOOR_Z`` above
  the table, and a ring of ``HOLDER_SEGMENTS`` box walls ``HOLDER_WALL_HEIGHT`` tall around an inner radius
  ``HOLDER_INNER_RADIUS`` (inner diameter 1 cm larger than the pod). Holder centre = machine origin +
  (0, 0, ``HOLDER_FLOOR_Z``): the holder floor centre in the base frame is ``machine_pos + (0, 0, 0.08)``.

The **pod** is a cylinder (radius 2 cm, height 3 cm, free joint). At reset it is placed upright between the
closed fingers (pod centre ``POD_IN_TCP_Z`` = 4 mm beyond the TCP along the TCP z axis, i.e. its bottom 1.9 cm
below the fingertips) and the gripper command is fully closed.

The machine sits on two slide joints (x, y; 200 N dry friction and damping make it hard to push), so its position is
part of the MuJoCo state (``reset_to(state)`` restores it). At reset the holder centre is uniform in a
10 cm x 10 cm region of the robot **base** frame: x in [0.50, 0.60] m, y in [-0.05, 0.05] m.

Success (:meth:`ImgenCoffee._check_success`): the pod centre is within the holder's inner radius in xy, the pod
bottom is less than 1 cm above the holder floor, the pod is upright (tilt < 20°), and the gripper has released
it (no finger touches the pod and the fingers are > 4 mm wider than the pod).

Defining the class registers it with robosuite (``robosuite.make("ImgenCoffee", **env_kwargs)``). Randomness
comes only from ``self.rng`` at reset (robot joint noise, then the machine placement).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import mujoco
import numpy as np
from robosuite.models.arenas import TableArena
from robosuite.models.objects import CompositeObject, CylinderObject
from robosuite.models.tasks import ManipulationTask
from robosuite.utils.mjcf_utils import array_to_string

from sim.robot import LINK7_T_TCP
from sim.tasks.table_env import TableTaskEnv, default_controller_config  # noqa: F401  (re-exported)

ENV_NAME = "ImgenCoffee"
POD_RADIUS = 0.02  # [m]
POD_HEIGHT = 0.03  # [m]
POD_IN_TCP_Z = 0.004  # [m] pod centre along the TCP z axis (pointing out of the hand) when grasped
HOLDER_INNER_RADIUS = 0.025  # [m] inscribed radius of the wall ring (pod radius + 5 mm)
HOLDER_WALL_THICKNESS = 0.004  # [m]
HOLDER_WALL_HEIGHT = 0.013  # [m] above the holder floor
HOLDER_FLOOR_Z = 0.08  # [m] holder floor top above the table (machine frame z)
HOLDER_SEGMENTS = 16
COLUMN_HALF_HEIGHT = 0.062  # [m] the column top is 14 cm above the table (clear of the arm's wrist)
MACHINE_GAP = 0.001  # [m] the machine floats this much above the table (it is held by its slide joints)
NOMINAL_MACHINE_X = 0.55  # [m] base frame x of the slide joints' zero
GRIPPER_OPEN_ACTION = np.array([1.0, -1.0])  # PandaGripper.current_action fully opened
GRIPPER_CLOSED_ACTION = np.array([-1.0, 1.0])  # ... fully closed
SUCCESS_BOTTOM_TOL = 0.01  # [m] pod bottom above the holder floor
SUCCESS_TILT = np.deg2rad(20.0)
RELEASE_MARGIN = 0.004  # [m] finger width beyond the pod diameter that counts as released


def machine_geoms() -> list[tuple[str, str, list[float], list[float], list[float] | None]]:
    """``(name, type, size, pos, quat_wxyz)`` of every machine geom in the machine frame (metres)."""
    g = MACHINE_GAP
    floor_half = 0.003
    geoms: list[tuple[str, str, list[float], list[float], list[float] | None]] = [
        ("base", "box", [0.10, 0.09, 0.008], [0.05, 0.0, g + 0.008], None),
        ("column", "box", [0.04, 0.08, COLUMN_HALF_HEIGHT], [0.115, 0.0, g + 0.016 + COLUMN_HALF_HEIGHT], None),
        ("stem", "box", [0.015, 0.015, 0.0285], [0.0, 0.0, g + 0.016 + 0.0285], None),
        ("arm", "box", [0.035, 0.012, 0.006], [0.035, 0.0, HOLDER_FLOOR_Z - 2 * floor_half - 0.006], None),
        ("floor", "cylinder", [HOLDER_INNER_RADIUS + HOLDER_WALL_THICKNESS, floor_half],
         [0.0, 0.0, HOLDER_FLOOR_Z - floor_half], None),
    ]
    r = HOLDER_INNER_RADIUS + HOLDER_WALL_THICKNESS / 2
    half_tan = (HOLDER_INNER_RADIUS + HOLDER_WALL_THICKNESS) * np.tan(np.pi / HOLDER_SEGMENTS) + 0.0005
    for k in range(HOLDER_SEGMENTS):
        th = 2 * np.pi * k / HOLDER_SEGMENTS
        geoms.append((f"wall{k}", "box", [HOLDER_WALL_THICKNESS / 2, float(half_tan), HOLDER_WALL_HEIGHT / 2],
                      [float(r * np.cos(th)), float(r * np.sin(th)), HOLDER_FLOOR_Z + HOLDER_WALL_HEIGHT / 2],
                      [float(np.cos(th / 2)), 0.0, 0.0, float(np.sin(th / 2))]))
    return geoms


def is_holder_geom(name: str) -> bool:
    """Whether a machine geom name (as in :func:`machine_geoms`) belongs to the pod holder (floor or wall)."""
    return name == "floor" or name.startswith("wall")


class CoffeeMachineObject(CompositeObject):
    """The coffee machine from box/cylinder primitives, on x/y slide joints (yaw and height fixed)."""

    def __init__(self, name: str = "machine", joint_damping: float = 500.0, joint_frictionloss: float = 200.0) -> None:
        geoms = machine_geoms()
        joints = [{"name": f"slide_{ax}", "type": "slide", "axis": axis, "damping": str(joint_damping),
                   "frictionloss": str(joint_frictionloss), "armature": "1.0", "limited": "false"}
                  for ax, axis in (("x", "1 0 0"), ("y", "0 1 0"))]
        body = [0.8, 0.8, 0.82, 1.0]
        holder = [0.15, 0.15, 0.17, 1.0]
        super().__init__(
            name=name, total_size=[0.15, 0.09, 0.12], geom_types=[g[1] for g in geoms],
            geom_sizes=[g[2] for g in geoms], geom_locations=[g[3] for g in geoms],
            geom_quats=[g[4] for g in geoms], geom_names=[g[0] for g in geoms],
            geom_rgbas=[holder if is_holder_geom(g[0]) else body for g in geoms],
            geom_frictions=[[1.0, 5e-3, 1e-4]] * len(geoms), density=1000.0,
            locations_relative_to_center=True, joints=joints)


class ImgenCoffee(TableTaskEnv):
    """Coffee: put the grasped pod into the machine's pod holder and release it.

    Args beyond robosuite's usual ones (all JSON-able, so ``env_args`` can rebuild the env):
        pod_density: [kg/m^3] (500: a 19 g pod).
        pod_friction: MuJoCo (slide, spin, roll) friction of the pod.
        machine_x_range, machine_y_range: region of the holder centre in the robot **base** frame [m].
    """

    def __init__(
        self,
        pod_density: float = 500.0,
        pod_friction: tuple[float, float, float] = (1.0, 5e-3, 1e-4),
        machine_x_range: tuple[float, float] = (0.50, 0.60),
        machine_y_range: tuple[float, float] = (-0.05, 0.05),
        **kwargs: Any,
    ) -> None:
        self.pod_density = float(pod_density)
        self.pod_friction = tuple(pod_friction)
        self.machine_x_range = tuple(machine_x_range)
        self.machine_y_range = tuple(machine_y_range)
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ model
    def _load_model(self) -> None:
        super()._load_model()
        robot = self.robots[0]
        xpos = robot.robot_model.base_xpos_offset["table"](self.table_full_size[0])
        robot.robot_model.set_base_xpos(xpos)
        arena = TableArena(table_full_size=self.table_full_size, table_friction=self.table_friction,
                           table_offset=self.table_offset)
        arena.set_origin([0, 0, 0])
        self.pod = CylinderObject(name="pod", size=[POD_RADIUS, POD_HEIGHT / 2], density=self.pod_density,
                                  friction=list(self.pod_friction), rgba=[0.45, 0.25, 0.1, 1.0], rng=self.rng)
        self.machine = CoffeeMachineObject(name="machine")
        # slide-joint zero: base-frame (NOMINAL_MACHINE_X, 0), machine frame origin on the table top
        nominal = np.array([xpos[0] + NOMINAL_MACHINE_X, xpos[1], self.table_top_z])
        self.machine.get_obj().set("pos", array_to_string(nominal))
        self.model = ManipulationTask(mujoco_arena=arena, mujoco_robots=[r.robot_model for r in self.robots],
                                      mujoco_objects=[self.pod, self.machine])

    def _setup_references(self) -> None:
        super()._setup_references()
        sim = self.sim
        m = sim.model
        ids = self.geom_ids
        self.pod_body_id = m.body_name2id(self.pod.root_body)
        self.pod_joint_qpos_addr = m.get_joint_qpos_addr(self.pod.joints[0])[0]
        self.pod_geom_ids = ids(self.pod.contact_geoms)
        self.machine_body_id = m.body_name2id(self.machine.root_body)
        self.machine_qpos_addr = np.array([m.get_joint_qpos_addr(j) for j in self.machine.joints], dtype=int)
        prefix = self.machine.naming_prefix
        self.machine_geom_ids = ids(self.machine.contact_geoms)
        self.holder_geom_ids = ids([g for g in self.machine.contact_geoms
                                    if is_holder_geom(g[len(prefix):].removesuffix("_col"))])
        self.robot_geom_ids = np.concatenate([ids(self.robots[0].robot_model.contact_geoms), self.gripper_geom_ids])

    def _setup_observables(self) -> OrderedDict:
        observables = super()._setup_observables()
        if self.use_object_obs:
            self.add_pose_observables(observables, "pod", "pod_body_id")
            self.add_pose_observables(observables, "machine", "machine_body_id", quat=False)
        return observables

    # ------------------------------------------------------------------ reset
    def _reset_internal(self) -> None:
        super()._reset_internal()
        robot = self.robots[0]
        data = self.sim.data
        # Nullspace posture target = nominal home (see block_grasp_env): reset_to(state) then replays exactly.
        robot.composite_controller.get_controller("right").update_initial_joints(np.array(robot.init_qpos))
        if self.deterministic_reset:
            return
        x = self.rng.uniform(*self.machine_x_range)
        y = self.rng.uniform(*self.machine_y_range)
        data.qpos[self.machine_qpos_addr] = (x - NOMINAL_MACHINE_X, y)
        self.place_pod_in_gripper()

    def place_pod_in_gripper(self) -> None:
        """Close the fingers on the pod: pod upright between the pads, gripper command fully closed."""
        data = self.sim.data
        m, d = self.sim.model._model, data._data
        half = POD_RADIUS - 0.0002  # 0.2 mm squeeze per finger
        d.qpos[self.finger_qpos_addr] = (half, -half)
        d.qvel[:] = 0.0
        self.robots[0].gripper["right"].current_action = GRIPPER_CLOSED_ACTION.copy()
        mujoco.mj_kinematics(m, d)
        world_T_link7 = np.eye(4)
        world_T_link7[:3, :3] = d.xmat[self.link7_body_id].reshape(3, 3)
        world_T_link7[:3, 3] = d.xpos[self.link7_body_id]
        world_T_tcp = world_T_link7 @ LINK7_T_TCP
        pos = world_T_tcp[:3, 3] + POD_IN_TCP_Z * world_T_tcp[:3, 2]
        rot = world_T_tcp[:3, :3] @ np.diag([1.0, -1.0, -1.0])  # pod axis = -TCP z (upright)
        q = np.empty(4)
        mujoco.mju_mat2Quat(q, np.ascontiguousarray(rot).reshape(9))
        a = self.pod_joint_qpos_addr
        d.qpos[a:a + 7] = np.concatenate([pos, q])
        mujoco.mj_forward(m, d)

    # ------------------------------------------------------------------ task
    def _mask(self, ids: np.ndarray) -> np.ndarray:
        mask = np.zeros(self.sim.model.ngeom, dtype=bool)
        mask[ids] = True
        return mask

    def _masks(self) -> dict[str, np.ndarray]:
        if getattr(self, "_masks_model", None) is not self.sim.model:
            self._masks_model = self.sim.model
            self._mask_cache = {"pod": self._mask(self.pod_geom_ids),
                                "fingers": self._mask(np.concatenate([self.left_finger_geom_ids,
                                                                      self.right_finger_geom_ids]))}
        return self._mask_cache

    def fingers_touch_pod(self) -> bool:
        """Any finger (or pad) touches the pod."""
        d = self.sim.data
        n = d.ncon
        if n == 0:
            return False
        mk = self._masks()
        g1, g2 = d.contact.geom1[:n], d.contact.geom2[:n]
        return bool(np.any((mk["pod"][g1] & mk["fingers"][g2]) | (mk["fingers"][g1] & mk["pod"][g2])))

    def holder_world_pos(self) -> np.ndarray:
        """World position ``(3,)`` of the holder floor centre [m]."""
        return np.array(self.sim.data.body_xpos[self.machine_body_id]) + np.array([0.0, 0.0, HOLDER_FLOOR_Z])

    def pod_in_holder(self) -> bool:
        """Pod centre within the inner radius (xy), bottom < 1 cm above the floor, upright (< 20° tilt)."""
        d = self.sim.data
        p = np.array(d.body_xpos[self.pod_body_id])
        axis_z = float(np.asarray(d.body_xmat[self.pod_body_id]).reshape(3, 3)[2, 2])
        h = self.holder_world_pos()
        bottom = p[2] - POD_HEIGHT / 2
        return bool(np.linalg.norm(p[:2] - h[:2]) < HOLDER_INNER_RADIUS and bottom - h[2] < SUCCESS_BOTTOM_TOL
                    and axis_z > np.cos(SUCCESS_TILT))

    def gripper_released(self) -> bool:
        """No finger touches the pod and the fingers are open wider than the pod by ``RELEASE_MARGIN``."""
        q = self.sim.data.qpos[self.finger_qpos_addr]
        return bool(q[0] - q[1] > 2 * POD_RADIUS + RELEASE_MARGIN and not self.fingers_touch_pod())

    def _check_success(self) -> bool:
        return self.pod_in_holder() and self.gripper_released()

    def reward(self, action: Any = None) -> float:
        """Sparse: ``reward_scale`` on success, else 0."""
        return float(self.reward_scale or 1.0) if self._check_success() else 0.0
