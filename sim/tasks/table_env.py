"""``TableTaskEnv``: what every task's robosuite environment shares.

A Panda with its default gripper and robosuite 1.5's default Panda composite controller (``BASIC``: right arm
``OSC_POSE``, delta input in the base frame; gripper ``GRIP``) at a table whose top is 0.8 m above the world
origin. The constructor takes robosuite's usual arguments (all JSON-able, so a task's ``env_args`` rebuild its
env); a task env adds its own arguments, sets them, and passes the rest on with ``**kwargs``:

    class ImgenMyTask(TableTaskEnv):
        def __init__(self, my_size: float = 0.05, horizon: int = 400, **kwargs: Any) -> None:
            self.my_size = float(my_size)
            super().__init__(horizon=horizon, **kwargs)

Task attributes must be set before ``super().__init__``: robosuite builds the model (``_load_model``) there.

References every task uses are set here (``_setup_references``): the robot base and link-7 body ids, the gripper's
geom ids (``left_finger``/``right_finger``/``left_pad``/``right_pad``/``gripper_geom_ids``), the table's collision
geom and the finger joints' qpos addresses. :meth:`add_pose_observables` adds an object's ``<name>_pos`` and
``<name>_quat`` (xyzw) robosuite observables.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

import numpy as np
from robosuite.controllers import load_composite_controller_config
from robosuite.environments.manipulation.manipulation_env import ManipulationEnv
from robosuite.utils.observables import Observable, sensor
from robosuite.utils.transform_utils import convert_quat

from sim.robot import LINK7_BODY

logging.getLogger("robosuite_logs").setLevel(logging.ERROR)  # robosuite chats at INFO on every env build

TABLE_TOP_Z = 0.8  # [m] world z of the table surface


def default_controller_config() -> dict[str, Any]:
    """robosuite 1.5's default Panda composite controller (BASIC + OSC_POSE, delta, base frame), as a dict."""
    return load_composite_controller_config(robot="Panda")


class TableTaskEnv(ManipulationEnv):
    """A robosuite manipulation env on a table (see the module docstring); not a task by itself."""

    def __init__(
        self,
        robots: Any = "Panda",
        env_configuration: str = "default",
        controller_configs: Any = None,
        gripper_types: Any = "default",
        initialization_noise: Any = "default",
        table_full_size: tuple[float, float, float] = (0.8, 0.8, 0.05),
        table_friction: tuple[float, float, float] = (1.0, 5e-3, 1e-4),
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
        self.table_offset = np.array((0.0, 0.0, TABLE_TOP_Z))
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

    def geom_ids(self, names: list[str]) -> np.ndarray:
        """MuJoCo ids of the named geoms."""
        return np.array([self.sim.model.geom_name2id(g) for g in names], dtype=int)

    def _setup_references(self) -> None:
        super()._setup_references()
        m = self.sim.model
        robot = self.robots[0]
        gripper = robot.gripper["right"]
        self.robot_base_body_id = m.body_name2id(robot.robot_model.root_body)
        self.link7_body_id = m.body_name2id(LINK7_BODY)
        self.left_pad_geom_ids = self.geom_ids(gripper.important_geoms["left_fingerpad"])
        self.right_pad_geom_ids = self.geom_ids(gripper.important_geoms["right_fingerpad"])
        self.left_finger_geom_ids = self.geom_ids(gripper.important_geoms["left_finger"])
        self.right_finger_geom_ids = self.geom_ids(gripper.important_geoms["right_finger"])
        self.gripper_geom_ids = self.geom_ids(gripper.contact_geoms)
        self.table_geom_ids = self.geom_ids(["table_collision"])
        self.finger_qpos_addr = np.array(robot._ref_gripper_joint_pos_indexes["right"])

    def add_pose_observables(self, observables: OrderedDict, name: str, body_attr: str, quat: bool = True) -> None:
        """Add ``<name>_pos`` (and ``<name>_quat``, xyzw) of the body whose id is ``self.<body_attr>``."""

        def pos_fn(obs_cache: dict) -> np.ndarray:
            return np.array(self.sim.data.body_xpos[getattr(self, body_attr)])

        def quat_fn(obs_cache: dict) -> np.ndarray:
            return convert_quat(np.array(self.sim.data.body_xquat[getattr(self, body_attr)]), to="xyzw")

        for suffix, fn in (("pos", pos_fn), ("quat", quat_fn))[: 2 if quat else 1]:
            fn.__name__ = f"{name}_{suffix}"
            s = sensor(modality="object")(fn)
            observables[s.__name__] = Observable(name=s.__name__, sensor=s, sampling_rate=self.control_freq)

    @property
    def table_top_z(self) -> float:
        """World z of the table surface [m]."""
        return float(self.table_offset[2])
