"""Nut Insertion task adapter: :class:`imgen_core.task.TaskAdapter` over the robosuite env ``ImgenNutInsertion``.

Everything crossing this boundary is in the robot **base** frame; "EE pose" is the TCP (``imgen_core.frames``).
Objects: ``nut`` (starts in the hand; its true in-hand pose is observed uncorrupted) and ``peg`` (the observed,
corrupted object: the episode's corruption sample is applied to the peg only).

Observation keys (float64): ``robot0_eef_pos (3)``, ``robot0_eef_quat (4, xyzw)``, ``robot0_gripper_width (1)``
[m, finger to finger], ``nut_pos (3)``, ``nut_quat (4, xyzw)`` (true), ``peg_pos (3)``, ``peg_quat (4, xyzw)``
(as *observed*: corrupted; the peg position is its body centre, half its 5 cm height above the table), and the
contact-observability keys (paper §4.4.2 and §4.5), present in every observation:

* ``peg_contact_flag (1)``: 0 before the first nut–peg contact of the episode, 1 from that step on.
* ``peg_contact_pos (3)`` [m, base frame]: zeros before that contact; afterwards, with ``observability="partial"``
  the mean position of the contact points of the first step with a nut–peg contact (fixed for the rest of the
  episode), with ``"full"`` the true peg position (body centre, as ``peg_pos``).

With ``"full"`` the observed peg pose (``peg_pos``/``peg_quat``, :meth:`observed_object_poses`) also becomes the
true pose from the first contact on; with ``"partial"`` it stays corrupted (only ``peg_contact_pos`` informs);
with ``"none"`` both keys exist but stay zero. Quaternion signs: the EE quaternion is taken in the hemisphere of
the top-down grasp orientation (``frames.eef_quat_for_policy``); the nut quaternion the hemisphere of its
nominal in-hand orientation (yaw pi, xyzw (0, 0, 1, 0): ``w >= 0`` would flip there); the peg's uses ``w >= 0``.

Seeding: ``reset(seed)`` derives two independent streams from ``seed`` — scene (arm joint noise, peg position) and
corruption — so a seed fixes both, and the same seed gives the same scene under any corruption model.
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from imgen_core import frames, se3
from imgen_core import keys as K
from imgen_core.errors import ConfigError, check_choice
from imgen_core.task import SubtaskSpec
from sim.tasks.common import AdapterCommon, table_env_kwargs
from sim.tasks.nut_insertion_env import (
    ENV_NAME,
    GRIPPER_CLOSED_ACTION,
    HANDLE_HALF_WIDTH,
    NUT_HALF_THICKNESS,
    NUT_HOLE_HALF,
    PEG_HALF_SIZE,
    PEG_HEIGHT,
)

TASK_NAME = "nut_insertion"
OBS_CONTACT_FLAG = "peg_contact_flag"
OBS_CONTACT_POS = "peg_contact_pos"
CONTACT_SIGNAL = "nut_on_peg_contact"
NUT_QUAT_HEMISPHERE = np.array([0.0, 0.0, 1.0, 0.0])  # xyzw of the in-hand nut (yaw pi: handle toward the robot)

# mistake reasons (stable strings: counted in generation/eval statistics)
NUT_ON_PEG_MISALIGNED = "nut_on_peg_misaligned"
NUT_TABLE_BESIDE_PEG = "nut_table_beside_peg"
GRIPPER_PEG = "gripper_peg_contact"
GRIPPER_TABLE = "gripper_table_contact"
NUT_DROPPED = "nut_dropped"
MISTAKES = (NUT_ON_PEG_MISALIGNED, NUT_TABLE_BESIDE_PEG, GRIPPER_PEG, GRIPPER_TABLE, NUT_DROPPED)


def default_env_kwargs(**overrides: Any) -> dict[str, Any]:
    """JSON-able ``robosuite.make`` kwargs of the Nut Insertion env (no rendering, no cameras by default)."""
    return table_env_kwargs({
        "peg_half_size": PEG_HALF_SIZE, "peg_height": PEG_HEIGHT, "peg_x_range": [0.50, 0.60],
        "peg_y_range": [-0.05, 0.05], "peg_yaw": 0.0, "grip_offset": 0.06, "success_height": 0.025,
    }, 300, overrides)


class NutInsertionAdapter(AdapterCommon):
    """The Nut Insertion twin behind the small :class:`~imgen_core.task.TaskAdapter` interface.

    Args:
        corruption: name in :data:`imgen_core.corruption.registry` (the paper's is ``peg``); a new sample is drawn
            at every ``reset`` and applied to the peg.
        observability: contact-revealed information (module docstring): ``none``, ``full`` or ``partial``.
        horizon: step budget of one episode (the env never terminates); 300 = a ~90-step insertion plus room for
            a mistake (~60-90 steps in) and its ~70-step recovery (a re-grasp of a dropped nut takes ~200).
        **env_overrides: overrides of :func:`default_env_kwargs` (e.g. ``has_offscreen_renderer=True``).
    """

    name = TASK_NAME
    env_name = ENV_NAME
    object_names = ("nut", "peg")
    subtasks = (SubtaskSpec("peg", None),)

    def __init__(self, corruption: str = "none", observability: str = "none", horizon: int = 300,
                 **env_overrides: Any) -> None:
        import sim.tasks.nut_insertion_env  # noqa: F401  (registers ENV_NAME)

        self._setup(default_env_kwargs(**env_overrides), corruption, observability, horizon)

    # ------------------------------------------------------------------ internals
    def _bind_env(self) -> None:
        env = self.env
        if self.robot.sim is not env.sim:
            self.robot.bind()
        self._m, self._d = self.robot.model, self.robot.data
        self._nut_id, self._peg_id = int(env.nut_body_id), int(env.peg_body_id)
        self._gripper_model = env.robots[0].gripper["right"]
        fingers = np.concatenate([env.left_finger_geom_ids, env.right_finger_geom_ids])
        self._mask: dict[str, np.ndarray] = {}
        for key, ids in (("gripper", env.gripper_geom_ids), ("fingers", fingers), ("nut", env.nut_geom_ids),
                         ("peg", env.peg_geom_ids), ("table", env.table_geom_ids)):
            mk = np.zeros(self._m.ngeom, dtype=bool)
            mk[np.asarray(ids)] = True
            self._mask[key] = mk
        # the adapter computes its own observation: switch robosuite's per-substep observables off
        for name in list(env._observables):
            env.modify_observable(name, "enabled", False)

    def _begin_episode(self) -> None:
        self._cache: dict[str, Any] = {}
        self._contact_flag = False
        self._contact_pos = np.zeros(3)  # mean first nut–peg contact position, base frame
        self._last_gripper_cmd = 1.0  # the nut starts in the closed hand

    def _update_observability(self) -> None:
        """Latch the first nut–peg contact (flag and mean contact position; for every observability mode)."""
        if self._contact_flag:
            return
        point = self._contact_point("nut", "peg")
        if point is not None:
            self._contact_flag = True
            self._contact_pos = point

    @property
    def _revealed(self) -> bool:
        return self._contact_flag and self.observability != "none"

    # ------------------------------------------------------------------ TaskAdapter
    def reset_to(self, state: np.ndarray) -> dict[str, np.ndarray]:
        """Restore a flattened MuJoCo state ``[time, qpos, qvel]`` (the corruption sample is kept).

        The gripper's incremental command state is not part of a MuJoCo state: it is taken as closed (the nut
        starts in the hand) unless the fingers are opening or open wider than the nut's handle. A nut–peg
        contact in the restored state latches the contact information; an earlier one cannot be recovered.
        """
        state = np.asarray(state, dtype=np.float64).reshape(-1)
        expected = 1 + self._m.nq + self._m.nv
        if state.shape != (expected,):
            raise ConfigError(f"state has {state.shape[0]} entries, this model needs {expected} (time, qpos, qvel)")
        sim = self.env.sim
        sim.reset()
        sim.set_state_from_flattened(state)
        sim.forward()
        grip = GRIPPER_CLOSED_ACTION.copy()
        width = self.robot.gripper_width()
        if state[0] > 0 and (self.robot.gripper_width_rate() > 1e-3 or width > 2 * HANDLE_HALF_WIDTH + 0.01):
            grip = -grip
        self._gripper_model.current_action = grip
        composite = self.env.robots[0].composite_controller
        for part in composite.part_controllers.values():  # refresh cached robot state before the goal reset
            part.update(force=True)
        composite.reset()
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
            seen = self.observed_object_poses()
            quat = se3.mat_to_quat_xyzw
            obs = {K.OBS_EEF_POS: ee[:3, 3], K.OBS_EEF_QUAT: frames.eef_quat_for_policy(quat(ee[:3, :3])),
                   K.OBS_GRIPPER_WIDTH: np.array([self.robot.gripper_width()])}
            for name in self.object_names:
                obs[K.obs_object_pos(name)] = seen[name][:3, 3]
            obs[K.obs_object_quat("nut")] = se3.quat_hemisphere(quat(seen["nut"][:3, :3]), NUT_QUAT_HEMISPHERE)
            obs[K.obs_object_quat("peg")] = frames.object_quat_for_policy(quat(seen["peg"][:3, :3]))
            obs[OBS_CONTACT_FLAG] = np.array([1.0 if self._revealed else 0.0])
            if not self._revealed:
                obs[OBS_CONTACT_POS] = np.zeros(3)
            elif self.observability == "full":
                obs[OBS_CONTACT_POS] = self.object_poses()["peg"][:3, 3]
            else:
                obs[OBS_CONTACT_POS] = self._contact_pos.copy()
            self._cache["obs"] = obs
        return {k: v.copy() for k, v in obs.items()}

    def object_poses(self) -> dict[str, np.ndarray]:
        """True ``base_T_nut`` (hole centre, mid-thickness) and ``base_T_peg`` (body centre)."""
        p = self._cache.get("poses")
        if p is None:
            p = self._cache["poses"] = {"nut": self.robot.base_T_body(self._nut_id),
                                        "peg": self.robot.base_T_body(self._peg_id)}
        return {k: v.copy() for k, v in p.items()}

    def observed_object_poses(self) -> dict[str, np.ndarray]:
        """Poses as the robot believes them: the true nut, the corrupted peg (true after contact if ``full``)."""
        poses = self.object_poses()
        if not (self._revealed and self.observability == "full"):
            poses["peg"] = self._corruption.apply(poses["peg"])
        return poses

    def subtask_signals(self) -> dict[str, bool]:
        """``nut_on_peg_contact`` (informative; a single subtask): the nut touches the peg or is threaded on it.

        Threaded = its bottom below the peg's top with the hole around the peg (xy error within the clearance +
        1 mm): a well-aimed insertion can slide down without touching the peg at all.
        """
        off = self.nut_peg_offset()
        threaded = (off[2] - NUT_HALF_THICKNESS < self.env.peg_height
                    and float(np.max(np.abs(off[:2]))) <= self.clearance + 0.001)
        return {CONTACT_SIGNAL: bool(self.contacts()["nut_peg"] or threaded)}

    def is_success(self) -> bool:
        """Nut centre inside the peg's footprint, at most 2.5 cm above the table (held or released)."""
        return bool(self.env._check_success())

    def contacts(self) -> dict[str, bool]:
        """Which contacts exist now: ``nut_peg``, ``nut_table``, ``gripper_peg``, ``gripper_table``, ``finger_nut``."""
        c = self._cache.get("contacts")
        if c is None:
            g1, g2, _ = self._contact_arrays()
            c = {key: bool(self._pair_mask(g1, g2, a, b).any()) for key, a, b in (
                ("nut_peg", "nut", "peg"), ("nut_table", "nut", "table"), ("gripper_peg", "gripper", "peg"),
                ("gripper_table", "gripper", "table"), ("finger_nut", "fingers", "nut"))}
            self._cache["contacts"] = c
        return dict(c)

    def nut_peg_offset(self) -> np.ndarray:
        """``(3,)`` true nut centre minus the peg's base centre (on the table), base frame [m]."""
        poses = self.object_poses()
        off = poses["nut"][:3, 3] - poses["peg"][:3, 3]
        off[2] += self.env.peg_height / 2
        return off

    @property
    def clearance(self) -> float:
        """Per-side clearance of the peg in the nut's hole [m]."""
        return NUT_HOLE_HALF - float(self.env.peg_half_size)

    def nut_in_hand(self) -> bool:
        """The fingers touch the nut (it is held)."""
        return self.contacts()["finger_nut"]

    def mistake(self) -> str | None:
        """Contact-based mistake detector: a short reason (:data:`MISTAKES`) or ``None``.

        Rules, in order: the nut touches the peg while its hole is misaligned (xy error beyond the clearance +
        1.5 mm: it rests on the peg's top or edge); the nut touches the table beside the peg (not around it); the
        gripper touches the peg or the table; the nut has left the hand away from the peg.
        """
        if self.is_success():
            return None
        c = self.contacts()
        off = self.nut_peg_offset()
        misaligned = float(np.max(np.abs(off[:2]))) > self.clearance + 0.0015
        if c["nut_peg"] and misaligned:
            return NUT_ON_PEG_MISALIGNED
        if c["nut_table"] and misaligned:
            return NUT_TABLE_BESIDE_PEG
        if c["gripper_peg"]:
            return GRIPPER_PEG
        if c["gripper_table"]:
            return GRIPPER_TABLE
        if not c["finger_nut"] and misaligned and self.robot.gripper_width() > 2 * HANDLE_HALF_WIDTH + 0.005:
            return NUT_DROPPED
        return None

    # ------------------------------------------------------------------ extras
    def set_object_pose(self, name: str, base_T_obj: np.ndarray) -> None:
        """Teleport an object to ``base_T_obj`` and recompute kinematics and contacts.

        The nut (free joint) takes the full pose; the peg (slide joints on the table) only its xy.
        For constructing test states and what-if analyses.
        """
        check_choice("object", name, self.object_names)
        env = self.env
        world = self.robot.world_T_base @ np.asarray(base_T_obj, dtype=np.float64)
        if name == "nut":
            q = np.empty(4)
            mujoco.mju_mat2Quat(q, np.ascontiguousarray(world[:3, :3]).reshape(9))
            a = int(env.nut_joint_qpos_addr)
            self._d.qpos[a:a + 7] = np.concatenate([world[:3, 3], q])
        else:
            addr = np.asarray(env.peg_qpos_addr)
            here = np.asarray(self._d.xpos[self._peg_id])[:2]
            self._d.qpos[addr] += world[:2, 3] - here
        mujoco.mj_forward(self._m, self._d)
        self._invalidate()
        self._update_observability()

    @property
    def table_height(self) -> float:
        """Base-frame z of the table top [m]."""
        return float(self.env.table_top_z - self.robot.world_T_base[2, 3])

    @property
    def nut_half_thickness(self) -> float:
        """Half thickness of the nut [m]."""
        return NUT_HALF_THICKNESS

