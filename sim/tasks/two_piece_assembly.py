"""2-Piece Assembly task adapter: :class:`imgen_core.task.TaskAdapter` over the robosuite env ``ImgenTwoPieceAssembly``.

Everything crossing this boundary is in the robot **base** frame; "EE pose" is the TCP (``imgen_core.frames``).
The episode starts with the piece grasped by its handle; the receptacle rests on the table (see
:mod:`sim.tasks.two_piece_assembly_env`).

Observation keys (float64):

* ``robot0_eef_pos (3)``, ``robot0_eef_quat (4, xyzw)`` (hemisphere of the top-down orientation),
  ``robot0_gripper_width (1)`` [m, finger to finger];
* ``piece_pos (3)``, ``piece_quat (4, xyzw, w >= 0)``: the piece pose (never corrupted: it is in the hand);
* ``receptacle_pos (3)``, ``receptacle_quat (4, xyzw, w >= 0)``: the receptacle pose as *observed* (the
  episode's ``receptacle`` corruption offset added to the true position; with ``full`` observability the true
  pose once contact happened);
* ``receptacle_contact_flag (1)``: 0 before the first piece-receptacle contact of the episode, 1 from that
  step on (stays 0 with observability ``none``);
* ``receptacle_contact_dir (3)``: zeros before the first contact (and always with ``none``); from the first
  contact on, the horizontal unit vector (base frame, z = 0) from the first contact point (mean of the
  piece-receptacle contact points of that step) toward the true receptacle centre (its body origin). If the
  contact point lies within 1 mm of the centre horizontally, the vector stays zero while the flag is 1.

Observability upon contact (paper §4.4.2, §4.5): ``none`` (nothing revealed); ``full`` (the observed
receptacle pose becomes the true pose from the first contact on, and the direction key is filled as above);
``partial`` (the observed receptacle pose stays corrupted; only the direction key carries information).

Seeding: ``reset(seed)`` derives two independent streams from ``seed`` — scene (arm joint noise, receptacle
position) and corruption — so a seed fixes both, and the same seed gives the same scene under any corruption.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np

from imgen_core import frames, se3
from imgen_core import keys as K
from imgen_core.errors import ConfigError, check_choice
from imgen_core.task import SubtaskSpec
from sim.tasks import two_piece_assembly_env as tpa_env
from sim.tasks.common import AdapterCommon, horizontal_direction, table_env_kwargs
from sim.tasks.two_piece_assembly_env import ENV_NAME, GRIPPER_CLOSED_ACTION

TASK_NAME = "two_piece_assembly"
OPEN_WIDTH = 0.08
CONTACT_SIGNAL = "piece_receptacle_contact"
OBS_CONTACT_FLAG = "receptacle_contact_flag"
OBS_CONTACT_DIR = "receptacle_contact_dir"

# mistake reasons (stable strings)
PIECE_TABLE = "piece_table_contact"
PIECE_ON_RIM = "piece_on_rim"
MISALIGNED = "piece_misaligned_contact"
GRIPPER_HIT = "gripper_receptacle_contact"
PIECE_TILTED = "piece_tilted"
GRIPPER_TABLE = "gripper_table_contact"
REASONS = (PIECE_TABLE, PIECE_ON_RIM, MISALIGNED, PIECE_TILTED, GRIPPER_HIT, GRIPPER_TABLE)


def default_env_kwargs(**overrides: Any) -> dict[str, Any]:
    """JSON-able ``robosuite.make`` kwargs of the 2-Piece Assembly env (no rendering, no cameras by default)."""
    return table_env_kwargs({
        "opening": tpa_env.OPENING, "receptacle_x_range": [0.50, 0.60], "receptacle_y_range": [-0.05, 0.05],
        "floor_tolerance": 0.01, "max_tilt": float(np.deg2rad(10.0)),
    }, 300, overrides)


@dataclass(frozen=True)
class AssemblyContacts:
    """Which task geoms touch: piece with receptacle (any geom / a wall), table, fingers; gripper with others."""

    piece_receptacle: bool = False
    piece_wall: bool = False
    piece_table: bool = False
    left_piece: bool = False
    right_piece: bool = False
    gripper_receptacle: bool = False
    gripper_table: bool = False

    @property
    def held(self) -> bool:
        """Both fingers touch the piece."""
        return self.left_piece and self.right_piece


class TwoPieceAssemblyAdapter(AdapterCommon):
    """The 2-Piece Assembly twin behind the small :class:`~imgen_core.task.TaskAdapter` interface.

    Args:
        corruption: name in :data:`imgen_core.corruption.registry` (``receptacle`` for this task); applied to the
            receptacle's observed position, a new sample at every ``reset``.
        observability: ``none``, ``full`` or ``partial`` (module docstring).
        horizon: step budget of one episode; 300 = a ~110-step insertion plus one mistake and its recovery.
        **env_overrides: overrides of :func:`default_env_kwargs`.
    """

    name = TASK_NAME
    env_name = ENV_NAME
    forward_after_reset = True
    object_names = ("piece", "receptacle")
    subtasks = (SubtaskSpec("receptacle", None),)

    def __init__(self, corruption: str = "none", observability: str = "none", horizon: int = 300,
                 **env_overrides: Any) -> None:
        import sim.tasks.two_piece_assembly_env  # noqa: F401  (registers ENV_NAME)

        self._setup(default_env_kwargs(**env_overrides), corruption, observability, horizon)

    # ------------------------------------------------------------------ internals
    def _bind_env(self) -> None:
        env = self.env
        if self.robot.sim is not env.sim:
            self.robot.bind()
        self._m, self._d = self.robot.model, self.robot.data
        self._body = {"piece": int(env.piece_body_id), "receptacle": int(env.receptacle_body_id)}
        self._qpos_addr = {"piece": int(env.piece_joint_qpos_addr),
                           "receptacle": int(env.receptacle_joint_qpos_addr)}
        self._gripper_model = env.robots[0].gripper["right"]
        self._mask: dict[str, np.ndarray] = {}
        groups = {"left": env.left_finger_geom_ids, "right": env.right_finger_geom_ids,
                  "gripper": env.gripper_geom_ids, "piece": env.piece_geom_ids,
                  "receptacle": env.receptacle_geom_ids, "wall": env.receptacle_wall_geom_ids,
                  "table": env.table_geom_ids}
        for key, ids in groups.items():
            mk = np.zeros(self._m.ngeom, dtype=bool)
            mk[np.asarray(ids)] = True
            self._mask[key] = mk
        for name in list(env._observables):  # the adapter computes its own observation
            env.modify_observable(name, "enabled", False)

    def _begin_episode(self) -> None:
        self._cache: dict[str, Any] = {}
        self._contact_flag = False  # first piece-receptacle contact has happened (observability != none)
        self._contact_dir = np.zeros(3)
        self._last_gripper_cmd = 1.0

    def _update_observability(self) -> None:
        if self.observability == "none" or self._contact_flag:
            return
        point = self._contact_point("piece", "receptacle")
        if point is None:
            return
        self._contact_dir = horizontal_direction(point, self.object_poses()["receptacle"][:3, 3])
        self._contact_flag = True
        self._invalidate()

    # ------------------------------------------------------------------ TaskAdapter
    def reset_to(self, state: np.ndarray) -> dict[str, np.ndarray]:
        """Restore a flattened MuJoCo state ``[time, qpos, qvel]`` (the corruption sample is kept).

        The gripper's incremental command state is not part of a MuJoCo state: it is inferred from the fingers
        (closed if narrower than open and not opening, else open). The contact-observability memory restarts
        from the restored contacts.
        """
        state = np.asarray(state, dtype=np.float64).reshape(-1)
        expected = 1 + self._m.nq + self._m.nv
        if state.shape != (expected,):
            raise ConfigError(f"state has {state.shape[0]} entries, this model needs {expected} (time, qpos, qvel)")
        sim = self.env.sim
        sim.reset()
        sim.set_state_from_flattened(state)
        sim.forward()
        grip = -GRIPPER_CLOSED_ACTION
        if self.robot.gripper_width() < OPEN_WIDTH - 0.005 and self.robot.gripper_width_rate() <= 1e-3:
            grip = GRIPPER_CLOSED_ACTION.copy()
        self._gripper_model.current_action = grip
        self.env.robots[0].composite_controller.reset()
        self.env.timestep = int(round(state[0] / self.env.control_timestep))
        self.env.cur_time = float(state[0])
        self._begin_episode()
        self._last_gripper_cmd = float(grip[1])
        self._update_observability()
        return self.observation()

    def observation(self) -> dict[str, np.ndarray]:
        """Policy observation (see module docstring)."""
        obs = self._cache.get("obs")
        if obs is None:
            ee = self.eef_pose()
            obs = {K.OBS_EEF_POS: ee[:3, 3],
                   K.OBS_EEF_QUAT: frames.eef_quat_for_policy(se3.mat_to_quat_xyzw(ee[:3, :3])),
                   K.OBS_GRIPPER_WIDTH: np.array([self.robot.gripper_width()])}
            for name, pose in self.observed_object_poses().items():
                obs[K.obs_object_pos(name)] = pose[:3, 3]
                obs[K.obs_object_quat(name)] = frames.object_quat_for_policy(se3.mat_to_quat_xyzw(pose[:3, :3]))
            obs[OBS_CONTACT_FLAG] = np.array([1.0 if self._contact_flag else 0.0])
            obs[OBS_CONTACT_DIR] = self._contact_dir.copy()
            self._cache["obs"] = obs
        return {k: v.copy() for k, v in obs.items()}

    def object_poses(self) -> dict[str, np.ndarray]:
        """True ``base_T_piece`` and ``base_T_receptacle``."""
        p = self._cache.get("objects")
        if p is None:
            p = self._cache["objects"] = {n: self.robot.base_T_body(b) for n, b in self._body.items()}
        return {k: v.copy() for k, v in p.items()}

    def observed_object_poses(self) -> dict[str, np.ndarray]:
        """Poses as the robot believes them: the receptacle corrupted (true after contact with ``full``)."""
        poses = self.object_poses()
        if not (self.observability == "full" and self._contact_flag):
            poses["receptacle"] = self._corruption.apply(poses["receptacle"])
        return poses

    def subtask_signals(self) -> dict[str, bool]:
        """``piece_receptacle_contact``: the piece touches the receptacle now (informative; single subtask)."""
        return {CONTACT_SIGNAL: self.contacts().piece_receptacle}

    def is_success(self) -> bool:
        """Piece centre within the opening, bottom within 1 cm of the floor, tilt <= 10°, touching the receptacle."""
        return bool(self.env._check_success())

    def contacts(self) -> AssemblyContacts:
        """Summary of the task's contacts at the current state."""
        c = self._cache.get("contacts")
        if c is not None:
            return c
        g1, g2, n = self._contact_arrays()
        if n == 0:
            c = AssemblyContacts()
        else:
            def pair(a: str, b: str) -> bool:
                return bool(self._pair_mask(g1, g2, a, b).any())

            c = AssemblyContacts(
                piece_receptacle=pair("piece", "receptacle"), piece_wall=pair("piece", "wall"),
                piece_table=pair("piece", "table"), left_piece=pair("left", "piece"),
                right_piece=pair("right", "piece"),
                gripper_receptacle=pair("gripper", "receptacle"), gripper_table=pair("gripper", "table"))
        self._cache["contacts"] = c
        return c

    def piece_offset(self) -> np.ndarray:
        """True piece origin in the receptacle frame ``(3,)`` [m]."""
        return np.asarray(self.env.piece_in_receptacle(), dtype=np.float64)

    def misalignment(self) -> float:
        """Largest horizontal offset of the piece from the opening's centre along the walls' normals [m]."""
        return float(np.max(np.abs(self.piece_offset()[:2])))

    @property
    def clearance(self) -> float:
        """Free play of the piece in the opening, per side [m] (5 mm)."""
        return (float(self.env.opening) - tpa_env.PIECE_SIZE) / 2

    def mistake(self) -> str | None:
        """Contact-based mistake detector: a reason string, or ``None``.

        Rules, in order: the piece touches the table (set down outside the receptacle); the piece rests on a
        wall's top (touches a wall with its bottom less than 3 mm below the rim); the piece touches the receptacle
        while misaligned (its centre more than the clearance + 1 mm off the opening's centre, so it cannot go in);
        the piece is tilted by more than the success threshold (forced against the receptacle, it turned in the
        grasp or jammed askew); a gripper geom touches the receptacle; a gripper geom touches the table.
        """
        if self.is_success():
            return None
        c = self.contacts()
        if c.piece_table:
            return PIECE_TABLE
        if c.piece_wall and self.env.piece_bottom_above_floor() > tpa_env.WALL_HEIGHT - 0.003:
            return PIECE_ON_RIM
        if c.piece_receptacle and self.misalignment() > self.clearance + 0.001:
            return MISALIGNED
        if self.env.piece_tilt() > self.env.max_tilt:
            return PIECE_TILTED
        if c.gripper_receptacle:
            return GRIPPER_HIT
        if c.gripper_table:
            return GRIPPER_TABLE
        return None

    # ------------------------------------------------------------------ extras
    def set_object_pose(self, name: str, base_T_obj: np.ndarray) -> None:
        """Teleport an object (free joint) to ``base_T_obj`` and recompute kinematics and contacts.

        For constructing test states; contact observability updates as after a step.
        """
        check_choice("object", name, self.object_names)
        world = self.robot.world_T_base @ np.asarray(base_T_obj, dtype=np.float64)
        q = np.empty(4)
        mujoco.mju_mat2Quat(q, np.ascontiguousarray(world[:3, :3]).reshape(9))
        a = self._qpos_addr[name]
        self._d.qpos[a:a + 7] = np.concatenate([world[:3, 3], q])
        mujoco.mj_forward(self._m, self._d)
        self._invalidate()
        self._update_observability()

