"""Block Grasp task adapter: :class:`imgen_core.task.TaskAdapter` over the robosuite env ``ImgenBlockGrasp``.

Everything crossing this boundary is in the robot **base** frame; "EE pose" is the TCP (``imgen_core.frames``).
Observation keys (float64): ``robot0_eef_pos (3)``, ``robot0_eef_quat (4, xyzw)``, ``robot0_gripper_width (1)``
[m, finger to finger], ``cube_pos (3)``, ``cube_quat (4, xyzw)`` — the cube pose as *observed* (corrupted).
With ``partial`` observability three more, after the paper's two partial cues (§4.5: the position of contact, and
the unit vector toward the true pose at the first contact): ``cube_contact_flag (1)`` (0 before the first
gripper-cube contact of the episode, 1 from that step on), ``cube_contact_pos (3)`` (zeros before that contact; from
it on, the mean of that step's gripper-cube contact points, base frame) and ``cube_contact_dir (3)`` (zeros before
it; from it on, the horizontal unit vector, z = 0, from that point toward the true cube centre; zero if they lie
within 1 mm). They stand in for wrist force-torque sensing, which locates the load on a finger: the twin's
proprioception does not (its stiff OSC keeps the EE level when a finger lands on the cube top, so nothing observed
says which side the cube is on). The observed cube pose stays corrupted with ``partial``; ``full`` makes it the true
pose from the first contact on and adds no keys.
Quaternion signs: the EE quaternion is taken in the hemisphere of the top-down grasp orientation
(``frames.TOP_DOWN_ROT``, xyzw (1, 0, 0, 0)) because the canonical ``w >= 0`` sign jumps exactly there; the
cube quaternion uses ``w >= 0`` (it stays near identity).

Seeding: ``reset(seed)`` derives two independent streams from ``seed`` — scene (arm joint noise, cube pose) and
corruption — so a seed fixes both, and the same seed gives the same scene under any corruption model.
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from imgen_core import frames, se3
from imgen_core import keys as K
from imgen_core.errors import ConfigError, check_choice
from imgen_core.mistakes import GraspState, GripperContacts, block_grasp_mistake
from imgen_core.task import SubtaskSpec
from sim.tasks.block_grasp_env import CUBE_SIZE, ENV_NAME, GRIPPER_OPEN_ACTION, HORIZON
from sim.tasks.common import AdapterCommon, horizontal_direction, table_env_kwargs

TASK_NAME = "block_grasp"
OPEN_WIDTH = 0.08
GRASP_SIGNAL = "grasp"
OBS_CONTACT_FLAG = "cube_contact_flag"
OBS_CONTACT_POS = "cube_contact_pos"
OBS_CONTACT_DIR = "cube_contact_dir"


def default_env_kwargs(**overrides: Any) -> dict[str, Any]:
    """JSON-able ``robosuite.make`` kwargs of the Block Grasp env (no rendering, no cameras by default)."""
    return table_env_kwargs({
        "cube_size": CUBE_SIZE, "cube_density": 500.0, "cube_friction": [1.0, 5e-3, 1e-4],
        "cube_x_range": [0.46, 0.66], "cube_y_range": [-0.15, 0.15], "cube_yaw_range": [-np.pi / 18, np.pi / 18],
        "lift_height": 0.05,
    }, HORIZON, overrides)


class BlockGraspAdapter(AdapterCommon):
    """The Block Grasp twin behind the small :class:`~imgen_core.task.TaskAdapter` interface.

    Args:
        corruption: name in :data:`imgen_core.corruption.registry`; a new sample is drawn at every ``reset``.
        observability: contact-revealed information: ``none``; ``full`` (after the first gripper-cube contact
            the observed cube pose is the true pose); ``partial`` (after that contact, ``cube_contact_pos`` holds the
            contact point and ``cube_contact_dir`` points from it toward the true cube centre; the observed pose
            stays corrupted).
        horizon: step budget of one episode (the env itself never terminates); 400 (robomimic's Lift rollout
            horizon) = a 130-200-step grasp at a person's pace plus a mistake and its ~110-step recovery, with room
            for one more try (250 cut trained policies off mid-recovery).
        **env_overrides: overrides of :func:`default_env_kwargs` (e.g. ``has_offscreen_renderer=True``).
    """

    name = TASK_NAME
    env_name = ENV_NAME
    object_names = ("cube",)
    subtasks = (SubtaskSpec("cube", None),)

    def __init__(self, corruption: str = "none", observability: str = "none", horizon: int = HORIZON,
                 **env_overrides: Any) -> None:
        import sim.tasks.block_grasp_env  # noqa: F401  (registers ENV_NAME)

        self._setup(default_env_kwargs(**env_overrides), corruption, observability, horizon)

    # ------------------------------------------------------------------ internals
    def _bind_env(self) -> None:
        env = self.env
        if self.robot.sim is not env.sim:
            self.robot.bind()
        self._m, self._d = self.robot.model, self.robot.data
        self._left = np.asarray(env.left_finger_geom_ids)
        self._right = np.asarray(env.right_finger_geom_ids)
        self._fingers = np.concatenate([self._left, self._right])
        self._gripper = np.asarray(env.gripper_geom_ids)
        self._palm = np.setdiff1d(self._gripper, self._fingers)
        self._cube_geoms = np.asarray(env.cube_geom_ids)
        self._table = np.asarray(env.table_geom_ids)
        self._cube_id = int(env.cube_body_id)
        self._gripper_model = env.robots[0].gripper["right"]
        ngeom = self._m.ngeom
        self._mask: dict[str, np.ndarray] = {}
        for key, ids in (("left", self._left), ("right", self._right), ("gripper", self._gripper),
                         ("palm", self._palm), ("cube", self._cube_geoms), ("table", self._table)):
            mk = np.zeros(ngeom, dtype=bool)
            mk[ids] = True
            self._mask[key] = mk
        # the adapter computes its own observation: switch robosuite's per-substep observables off
        for name in list(env._observables):
            env.modify_observable(name, "enabled", False)

    def _begin_episode(self) -> None:
        self._cache: dict[str, Any] = {}
        self._revealed = False  # the first gripper-cube contact happened (observability != none)
        self._contact_pos = np.zeros(3)  # partial: the first contact point (base frame)
        self._contact_dir = np.zeros(3)  # partial: from that point toward the true cube centre
        self._last_gripper_cmd = -1.0
        self._cube_start = self.object_poses()["cube"][:3, 3].copy()

    def _update_observability(self) -> None:
        if self.observability == "none" or self._revealed:
            return
        point = self._contact_point("gripper", "cube")
        if point is None:
            return
        self._revealed = True
        if self.observability == "partial":
            self._contact_pos = point
            self._contact_dir = horizontal_direction(point, self.object_poses()["cube"][:3, 3])
        self._cache.pop("obs", None)

    # ------------------------------------------------------------------ TaskAdapter
    def reset_to(self, state: np.ndarray) -> dict[str, np.ndarray]:
        """Restore a flattened MuJoCo state ``[time, qpos, qvel]`` (the corruption sample is kept).

        The MuJoCo data is reset first (as ``env.reset`` does), so an episode-start state replays exactly. The
        gripper's incremental command state is not part of a MuJoCo state: it is open for episode-start states
        (time 0) and otherwise inferred from the fingers (closed if narrower than open and not opening).
        """
        state = np.asarray(state, dtype=np.float64).reshape(-1)
        expected = 1 + self._m.nq + self._m.nv
        if state.shape != (expected,):
            raise ConfigError(f"state has {state.shape[0]} entries, this model needs {expected} (time, qpos, qvel)")
        sim = self.env.sim
        sim.reset()
        sim.set_state_from_flattened(state)
        sim.forward()
        grip = GRIPPER_OPEN_ACTION.copy()
        if state[0] > 0 and self.robot.gripper_width() < OPEN_WIDTH - 0.005 and self.robot.gripper_width_rate() <= 1e-3:
            grip = -grip
        self._gripper_model.current_action = grip
        composite = self.env.robots[0].composite_controller
        for part in composite.part_controllers.values():  # re-read the restored pose: reset_goal() uses the
            part.update(force=True)  # cached one, stale when no step ran since the last env.reset()
        composite.reset()
        self.env.timestep = int(round(state[0] / self.env.control_timestep))
        self.env.cur_time = float(state[0])
        self._begin_episode()
        self._last_gripper_cmd = float(-grip[0])
        self._update_observability()
        return self.observation()

    def observation(self) -> dict[str, np.ndarray]:
        """Policy observation (see module docstring)."""
        obs = self._cache.get("obs")
        if obs is None:
            ee = self.eef_pose()
            cube = self.observed_object_poses()["cube"]
            pos, quat = ee[:3, 3], se3.mat_to_quat_xyzw(ee[:3, :3])
            cpos, cquat = cube[:3, 3], frames.object_quat_for_policy(se3.mat_to_quat_xyzw(cube[:3, :3]))
            obs = {
                K.OBS_EEF_POS: pos, K.OBS_EEF_QUAT: frames.eef_quat_for_policy(quat),
                K.OBS_GRIPPER_WIDTH: np.array([self.robot.gripper_width()]),
                K.obs_object_pos("cube"): cpos, K.obs_object_quat("cube"): cquat,
            }
            if self.observability == "partial":
                obs[OBS_CONTACT_FLAG] = np.array([1.0 if self._revealed else 0.0])
                obs[OBS_CONTACT_POS] = self._contact_pos.copy()
                obs[OBS_CONTACT_DIR] = self._contact_dir.copy()
            self._cache["obs"] = obs
        return {k: v.copy() for k, v in obs.items()}

    def object_poses(self) -> dict[str, np.ndarray]:
        """True ``base_T_cube``."""
        p = self._cache.get("cube")
        if p is None:
            p = self._cache["cube"] = self.robot.base_T_body(self._cube_id)
        return {"cube": p.copy()}

    def observed_object_poses(self) -> dict[str, np.ndarray]:
        """``base_T_cube`` as the robot believes it: corrupted (the true pose after contact with ``full``)."""
        true = self.object_poses()["cube"]
        if self._revealed and self.observability == "full":
            return {"cube": true}
        return {"cube": self._corruption.apply(true)}

    def subtask_signals(self) -> dict[str, bool]:
        """``grasp``: both fingers on the cube (informative; Block Grasp is a single subtask)."""
        return {GRASP_SIGNAL: self.contacts().both_fingers}

    def is_success(self) -> bool:
        """Cube >= 5 cm above its rest height in a two-finger grasp."""
        return bool(self.env._check_success())

    def contacts(self) -> GripperContacts:
        """Summary of the gripper's contacts with the cube and the table."""
        c = self._cache.get("contacts")
        if c is not None:
            return c
        g1, g2, n = self._contact_arrays()
        if n == 0:
            c = GripperContacts()
        else:
            left = self._pair_mask(g1, g2, "left", "cube")
            right = self._pair_mask(g1, g2, "right", "cube")
            on_top = False
            fingers = left | right
            if fingers.any():
                d = self._d
                normal_z = np.abs(np.asarray(d.contact.frame[:n])[fingers, 2])
                pz = np.asarray(d.contact.pos[:n])[fingers, 2]
                top_z = d.xpos[self._cube_id][2] + 0.35 * self.env.cube_size
                on_top = bool(np.any((normal_z > 0.7) & (pz > top_z)))
            c = GripperContacts(
                left_cube=bool(left.any()), right_cube=bool(right.any()), finger_on_top=on_top,
                palm_cube=bool(self._pair_mask(g1, g2, "palm", "cube").any()),
                gripper_table=bool(self._pair_mask(g1, g2, "gripper", "table").any()))
        self._cache["contacts"] = c
        return c

    def grasp_state(self) -> GraspState:
        """Inputs of the mistake rules for the current state."""
        cube = self.object_poses()["cube"]
        cube_in_tcp = (se3.pose_inv(self.eef_pose()) @ cube[:, 3])[:3]
        return GraspState(
            contacts=self.contacts(), gripper_width=self.robot.gripper_width(), gripper_cmd=self._last_gripper_cmd,
            cube_in_tcp=cube_in_tcp, cube_size=float(self.env.cube_size),
            cube_displacement=float(np.linalg.norm(cube[:2, 3] - self._cube_start[:2])),
            cube_tilt=float(np.arccos(np.clip(cube[2, 2], -1.0, 1.0))), open_width=OPEN_WIDTH)

    def mistake(self) -> str | None:
        """Contact-based mistake detector (:func:`imgen_core.mistakes.block_grasp_mistake`)."""
        if self.is_success():
            return None
        return block_grasp_mistake(self.grasp_state())

    # ------------------------------------------------------------------ extras
    def set_object_pose(self, name: str, base_T_obj: np.ndarray) -> None:
        """Teleport an object (free joint) to ``base_T_obj`` and recompute kinematics and contacts.

        For constructing test states and what-if analyses; the episode's start pose is kept.
        """
        check_choice("object", name, self.object_names)
        world = self.robot.world_T_base @ np.asarray(base_T_obj, dtype=np.float64)
        q = np.empty(4)
        mujoco.mju_mat2Quat(q, np.ascontiguousarray(world[:3, :3]).reshape(9))
        a = int(self.env.cube_joint_qpos_addr)
        self._d.qpos[a:a + 7] = np.concatenate([world[:3, 3], q])
        mujoco.mj_forward(self._m, self._d)
        self._invalidate()

    @property
    def cube_rest_height(self) -> float:
        """Base-frame z of the cube centre at rest [m]."""
        return float(self.env.cube_rest_z - self.robot.world_T_base[2, 3])

