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

import logging
import xml.etree.ElementTree as ET
from collections import OrderedDict
from typing import Any

import mujoco
import numpy as np
from robosuite.controllers import load_composite_controller_config
from robosuite.environments.manipulation.manipulation_env import ManipulationEnv
from robosuite.models.arenas import TableArena
from robosuite.models.objects import BoxObject, SquareNutObject
from robosuite.models.tasks import ManipulationTask
from robosuite.utils.observables import Observable, sensor
from robosuite.utils.transform_utils import convert_quat

from imgen_core import se3
from sim.robot import LINK7_BODY, LINK7_T_TCP

logging.getLogger("robosuite_logs").setLevel(logging.ERROR)  # robosuite chats at INFO on every env build

ENV_NAME = "ImgenNutInsertion"
NUT_HOLE_HALF = 0.02275  # [m] half side of the square nut's hole (inner faces of the ring walls)
NUT_HALF_THICKNESS = 0.01  # [m]
HANDLE_HALF_WIDTH = 0.015875  # [m] half width of the handle (across the fingers)
PEG_HALF_SIZE = 0.019  # [m] 3.75 mm clearance per side in the hole
PEG_HEIGHT = 0.05  # [m]
GRIP_OFFSET = 0.06  # [m] hole centre → grasp point along the handle (nut +x)
TCP_T_NUT_Z = 0.009  # [m] nut centre above the TCP in the grasp (finger pads centred on the handle)
GRIPPER_CLOSED_ACTION = np.array([-1.0, 1.0])  # PandaGripper.current_action when fully closed


def default_controller_config() -> dict[str, Any]:
    """robosuite 1.5's default Panda composite controller (BASIC + OSC_POSE, delta, base frame), as a dict."""
    return load_composite_controller_config(robot="Panda")


def tcp_T_nut(grip_offset: float = GRIP_OFFSET) -> np.ndarray:
    """Nominal nut pose in the TCP frame ``(4,4)`` at the start of an episode.

    TCP axes (top-down): x = base x, y = -base y, z = down. The nut's handle (+x of the nut) points back at the
    robot (base -x) and its z is up, so ``tcp_R_nut = diag(-1, 1, -1)``.
    """
    return se3.make_pose(np.array([grip_offset, 0.0, -TCP_T_NUT_Z]), np.diag([-1.0, 1.0, -1.0]))


class ImgenNutInsertion(ManipulationEnv):
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
        robots: Any = "Panda",
        env_configuration: str = "default",
        controller_configs: Any = None,
        gripper_types: Any = "default",
        initialization_noise: Any = "default",
        table_full_size: tuple[float, float, float] = (0.8, 0.8, 0.05),
        table_friction: tuple[float, float, float] = (1.0, 5e-3, 1e-4),
        peg_half_size: float = PEG_HALF_SIZE,
        peg_height: float = PEG_HEIGHT,
        peg_x_range: tuple[float, float] = (0.50, 0.60),
        peg_y_range: tuple[float, float] = (-0.05, 0.05),
        peg_yaw: float = 0.0,
        grip_offset: float = GRIP_OFFSET,
        success_height: float = 0.025,
        use_camera_obs: bool = False,
        use_object_obs: bool = True,
        reward_scale: float | None = 1.0,
        has_renderer: bool = False,
        has_offscreen_renderer: bool = False,
        render_camera: str | None = "frontview",
        render_collision_mesh: bool = False,
        render_visual_mesh: bool = True,
        render_gpu_device_id: int = -1,
        control_freq: float = 20,
        lite_physics: bool = True,
        horizon: int = 300,
        ignore_done: bool = True,
        hard_reset: bool = False,
        camera_names: Any = "agentview",
        camera_heights: Any = 256,
        camera_widths: Any = 256,
        camera_depths: Any = False,
        camera_segmentations: Any = None,
        renderer: str = "mjviewer",
        renderer_config: Any = None,
        seed: int | None = None,
    ) -> None:
        self.table_full_size = tuple(table_full_size)
        self.table_friction = tuple(table_friction)
        self.table_offset = np.array((0.0, 0.0, 0.8))
        self.peg_half_size = float(peg_half_size)
        self.peg_height = float(peg_height)
        self.peg_x_range = tuple(peg_x_range)
        self.peg_y_range = tuple(peg_y_range)
        self.peg_yaw = float(peg_yaw)
        self.grip_offset = float(grip_offset)
        self.success_height = float(success_height)
        self.reward_scale = reward_scale
        self.use_object_obs = use_object_obs
        if controller_configs is None:
            controller_configs = default_controller_config()
        super().__init__(
            robots=robots, env_configuration=env_configuration, controller_configs=controller_configs,
            base_types="default", gripper_types=gripper_types, initialization_noise=initialization_noise,
            use_camera_obs=use_camera_obs, has_renderer=has_renderer, has_offscreen_renderer=has_offscreen_renderer,
            render_camera=render_camera, render_collision_mesh=render_collision_mesh,
            render_visual_mesh=render_visual_mesh, render_gpu_device_id=render_gpu_device_id,
            control_freq=control_freq, lite_physics=lite_physics, horizon=horizon, ignore_done=ignore_done,
            hard_reset=hard_reset, camera_names=camera_names, camera_heights=camera_heights,
            camera_widths=camera_widths, camera_depths=camera_depths, camera_segmentations=camera_segmentations,
            renderer=renderer, renderer_config=renderer_config, seed=seed,
        )

    # ------------------------------------------------------------------ model
    @property
    def table_top_z(self) -> float:
        """World z of the table surface [m]."""
        return float(self.table_offset[2])

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
        self.nut_geom_ids = np.array([sim.model.geom_name2id(g) for g in self.nut.contact_geoms])
        self.peg_body_id = sim.model.body_name2id(self.peg.root_body)
        self.peg_qpos_addr = np.array([sim.model.get_joint_qpos_addr(j) for j in self.peg.joints])
        self.peg_geom_ids = np.array([sim.model.geom_name2id(g) for g in self.peg.contact_geoms])
        self.robot_base_body_id = sim.model.body_name2id(self.robots[0].robot_model.root_body)
        self.link7_body_id = sim.model.body_name2id(LINK7_BODY)
        gripper = self.robots[0].gripper["right"]

        def ids(names: list[str]) -> np.ndarray:
            return np.array([sim.model.geom_name2id(g) for g in names])

        self.left_finger_geom_ids = ids(gripper.important_geoms["left_finger"])
        self.right_finger_geom_ids = ids(gripper.important_geoms["right_finger"])
        self.gripper_geom_ids = ids(gripper.contact_geoms)
        self.table_geom_ids = np.array([sim.model.geom_name2id("table_collision")])
        self.finger_qpos_addr = np.array(self.robots[0]._ref_gripper_joint_pos_indexes["right"])

    def _setup_observables(self) -> OrderedDict:
        observables = super()._setup_observables()
        if self.use_object_obs:
            for name, body in (("nut", lambda: self.nut_body_id), ("peg", lambda: self.peg_body_id)):
                @sensor(modality="object")
                def pos(obs_cache: dict, body=body) -> np.ndarray:
                    return np.array(self.sim.data.body_xpos[body()])

                @sensor(modality="object")
                def quat(obs_cache: dict, body=body) -> np.ndarray:
                    return convert_quat(np.array(self.sim.data.body_xquat[body()]), to="xyzw")

                observables[f"{name}_pos"] = Observable(name=f"{name}_pos", sensor=pos,
                                                        sampling_rate=self.control_freq)
                observables[f"{name}_quat"] = Observable(name=f"{name}_quat", sensor=quat,
                                                         sampling_rate=self.control_freq)
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
