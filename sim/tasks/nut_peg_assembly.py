"""Nut-and-Peg Assembly adapter: :class:`imgen_core.task.TaskAdapter` over the robosuite env ``ImgenNutPegAssembly``.

Everything crossing this boundary is in the robot **base** frame; "EE pose" is the TCP (``imgen_core.frames``).

Observation keys (float64): ``robot0_eef_pos (3)``, ``robot0_eef_quat (4, xyzw)``, ``robot0_gripper_width (1)``
[m, finger to finger], ``nut_pos (3)``, ``nut_quat (4, xyzw, w >= 0)``, ``peg_pos (3)``, ``peg_quat (4)`` — object
poses as *observed* — and ``nut_contact_flag (1)``: 0 before the first gripper-nut contact of the episode, 1 from
then on (always 0 with observability ``none``).

Source of observation error (paper §4.4.1): object **geometry**, not pose noise. With the corruption sample's
``geometry_swap`` flag set, the robot believes the nut is rotated by pi about its own z axis relative to the real
nut (``observed = true @ Rz(pi)``): same centre, the handle on the other side. The scene (true nut pose) is a
function of the seed only; the corruption only decides the belief. So, for Table 2:

* geometry 1 (original): ``make_task("nut_peg_assembly")`` (corruption ``none``), or ``set_geometry(False)``;
* geometry 2 (alternate): ``make_task("nut_peg_assembly", corruption="geometry_2")`` (the flag is always set),
  or after any ``a.reset(seed)`` call ``a.set_geometry(True)`` (the same as
  ``a.set_corruption(CorruptionSample(name="geometry_swap", geometry_swap=True))``);
* the mixture: corruption ``geometry_swap`` — ``reset(seed)`` draws the flag from ``Bernoulli(0.5)`` of the seed's
  corruption stream.

Observability upon contact (paper §4.4.2; the paper adds none for this task, so ``none`` is the default):
``full``: after the first gripper-nut contact the observed nut pose is the true pose; ``partial``: after that
contact only the observed nut *position* becomes the true one (the believed orientation stays) — under
``geometry_swap`` the swapped belief already has the true position, so ``partial`` only adds the flag.

Subtask signal ``grasp`` (end of MimicGen subtask 1, object ``nut``): both fingers touch the nut and the nut centre
is at least 1 cm above its rest height. Subtask 2 (object ``peg``) ends with the episode.
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from imgen_core import corruption as corruption_lib
from imgen_core import frames, se3
from imgen_core import keys as K
from imgen_core.errors import ConfigError, check_choice
from imgen_core.mistakes import CLOSED_ON_AIR
from imgen_core.task import SubtaskSpec
from sim.tasks.block_grasp import OPEN_WIDTH
from sim.tasks.block_grasp_env import GRIPPER_OPEN_ACTION
from sim.tasks.common import AdapterCommon, table_env_kwargs
from sim.tasks.nut_peg_assembly_env import ENV_NAME, HANDLE_HALF_WIDTH, NUT_OUTER_HALF

TASK_NAME = "nut_peg_assembly"
GRASP_SIGNAL = "grasp"
CONTACT_FLAG_KEY = "nut_contact_flag"
GRASP_LIFT = 0.01  # [m] nut lift that completes the grasp subtask
NUT_KNOCKED = "nut_knocked"
NUT_ON_PEG_MISALIGNED = "nut_on_peg_misaligned"
REASONS = (CLOSED_ON_AIR, NUT_KNOCKED, NUT_ON_PEG_MISALIGNED)
SWAP_T = se3.make_pose(np.zeros(3), np.diag([-1.0, -1.0, 1.0]))  # Rz(pi): nut frame -> swapped nut frame


def default_env_kwargs(**overrides: Any) -> dict[str, Any]:
    """JSON-able ``robosuite.make`` kwargs of the Nut-and-Peg Assembly env (no rendering, no cameras by default)."""
    return table_env_kwargs({
        "nut_x_range": [0.495, 0.50], "nut_y_range": [0.04, 0.155], "nut_yaw_range": [-np.pi, np.pi],
        "peg_xy": [0.55, -0.10], "peg_half_side": 0.016, "peg_height": 0.10, "success_radius": 0.025,
        "success_height": 0.03,
    }, 400, overrides)


class NutPegAssemblyAdapter(AdapterCommon):
    """The Nut-and-Peg Assembly twin behind the :class:`~imgen_core.task.TaskAdapter` interface.

    Args:
        corruption: name in :data:`imgen_core.corruption.registry` (``geometry_swap`` for the paper's setting);
            a new sample is drawn at every ``reset``.
        observability: ``none``, ``full`` or ``partial`` (module docstring).
        horizon: step budget of one episode; 400 = a ~280-step assembly plus a missed grasp and its recovery.
        **env_overrides: overrides of :func:`default_env_kwargs`.
    """

    name = TASK_NAME
    env_name = ENV_NAME
    object_names = ("nut", "peg")
    subtasks = (SubtaskSpec("nut", GRASP_SIGNAL), SubtaskSpec("peg", None))

    def __init__(self, corruption: str = "none", observability: str = "none", horizon: int = 400,
                 **env_overrides: Any) -> None:
        import sim.tasks.nut_peg_assembly_env  # noqa: F401  (registers ENV_NAME)

        self._setup(default_env_kwargs(**env_overrides), corruption, observability, horizon)

    # ------------------------------------------------------------------ internals
    def _bind_env(self) -> None:
        env = self.env
        if self.robot.sim is not env.sim:
            self.robot.bind()
        self._m, self._d = self.robot.model, self.robot.data
        self._nut_id = int(env.nut_body_id)
        self._peg_id = int(env.peg_body_id)
        self._gripper_model = env.robots[0].gripper["right"]
        groups = {"left": env.left_finger_geom_ids, "right": env.right_finger_geom_ids,
                  "gripper": env.gripper_geom_ids, "nut": env.nut_geom_ids, "table": env.table_geom_ids}
        self._mask: dict[str, np.ndarray] = {}
        for key, ids in groups.items():
            mk = np.zeros(self._m.ngeom, dtype=bool)
            mk[np.asarray(ids)] = True
            self._mask[key] = mk
        for name in list(env._observables):  # the adapter computes its own observation
            env.modify_observable(name, "enabled", False)

    def _begin_episode(self) -> None:
        self._cache: dict[str, Any] = {}
        self._touched = False  # a gripper-nut contact happened this episode (observability != none)
        self._last_gripper_cmd = -1.0
        self._nut_start = self.object_poses()["nut"][:3, 3].copy()

    def _pairs(self, a: str, b: str) -> bool:
        """Any current contact between geom groups ``a`` and ``b``."""
        d = self._d
        n = int(d.ncon)
        if n == 0:
            return False
        g1, g2 = np.asarray(d.contact.geom1[:n]), np.asarray(d.contact.geom2[:n])
        ma, mb = self._mask[a], self._mask[b]
        return bool(((ma[g1] & mb[g2]) | (mb[g1] & ma[g2])).any())

    def _update_observability(self) -> None:
        if self.observability != "none" and not self._touched and self._pairs("gripper", "nut"):
            self._touched = True

    # ------------------------------------------------------------------ TaskAdapter
    def reset_to(self, state: np.ndarray) -> dict[str, np.ndarray]:
        """Restore a flattened MuJoCo state ``[time, qpos, qvel]`` (the corruption sample is kept).

        As in Block Grasp: the gripper command state is open at time 0, else inferred from the fingers. The
        contact flag restarts from the restored contacts (an earlier contact is not part of a MuJoCo state).
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
        self.env.robots[0].composite_controller.reset()
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
            obs = {K.OBS_EEF_POS: ee[:3, 3],
                   K.OBS_EEF_QUAT: frames.eef_quat_for_policy(se3.mat_to_quat_xyzw(ee[:3, :3])),
                   K.OBS_GRIPPER_WIDTH: np.array([self.robot.gripper_width()])}
            for name, pose in self.observed_object_poses().items():
                obs[K.obs_object_pos(name)] = pose[:3, 3]
                obs[K.obs_object_quat(name)] = frames.object_quat_for_policy(se3.mat_to_quat_xyzw(pose[:3, :3]))
            obs[CONTACT_FLAG_KEY] = np.array([1.0 if self._touched else 0.0])
            self._cache["obs"] = obs
        return {k: v.copy() for k, v in obs.items()}

    def object_poses(self) -> dict[str, np.ndarray]:
        """True ``base_T_nut`` (ring centre, handle along +x) and ``base_T_peg`` (peg centre)."""
        p = self._cache.get("poses")
        if p is None:
            p = self._cache["poses"] = {"nut": self.robot.base_T_body(self._nut_id),
                                        "peg": self.robot.base_T_body(self._peg_id)}
        return {k: v.copy() for k, v in p.items()}

    def observed_object_poses(self) -> dict[str, np.ndarray]:
        """Poses as the robot believes them: the nut rotated by pi about its z under a geometry swap.

        ``full`` observability replaces the belief with the truth after the first gripper-nut contact; ``partial``
        replaces only the position. A sample's translation offset (other corruption models) applies to the nut.
        """
        poses = self.object_poses()
        true = poses["nut"]
        seen = self._corruption.apply(true)
        if self._corruption.geometry_swap:
            seen = seen @ SWAP_T
        if self._touched and self.observability == "full":
            seen = true
        elif self._touched and self.observability == "partial":
            seen[:3, 3] = true[:3, 3]
        return {"nut": seen, "peg": poses["peg"]}

    def set_geometry(self, swap: bool) -> None:
        """Force Table 2's geometry for the current episode: ``False`` = original (1), ``True`` = alternate (2)."""
        self.set_corruption(corruption_lib.CorruptionSample(name="geometry_swap", geometry_swap=bool(swap)))

    def nut_held(self) -> bool:
        """Both fingers touch the nut."""
        h = self._cache.get("held")
        if h is None:
            h = self._cache["held"] = self._pairs("left", "nut") and self._pairs("right", "nut")
        return h

    def subtask_signals(self) -> dict[str, bool]:
        """``grasp``: both fingers on the nut and the nut lifted >= 1 cm."""
        lifted = self.object_poses()["nut"][2, 3] - self.nut_rest_height >= GRASP_LIFT
        return {GRASP_SIGNAL: bool(self.nut_held() and lifted)}

    def is_success(self) -> bool:
        """Nut centre within 2.5 cm of the peg axis and < 3 cm above the table (down around the peg)."""
        return bool(self.env._check_success())

    def mistake(self) -> str | None:
        """First matching rule, or ``None``.

        ``closed_on_air``: gripper commanded closed and narrower than the handle minus 1 cm without both fingers
        on the nut (the handle was missed); ``nut_on_peg_misaligned``: nut released (no gripper contact) near the
        peg (centre within 8 cm of its axis) but higher than a seated nut (on the peg top or tilted on it);
        ``nut_knocked``: not held by both fingers, and moved > 3 cm from its start or tilted > 25 deg.
        """
        if self.is_success():
            return None
        held = self.nut_held()
        if self._last_gripper_cmd > 0 and self.robot.gripper_width() < 2 * HANDLE_HALF_WIDTH - 0.01 and not held:
            return CLOSED_ON_AIR
        if held:
            return None
        nut = self.object_poses()["nut"]
        radial, height = self.env.nut_peg_offset()
        if radial < NUT_OUTER_HALF + 0.036 and height > self.env.success_height and not self._pairs("gripper", "nut"):
            return NUT_ON_PEG_MISALIGNED
        moved = float(np.linalg.norm(nut[:2, 3] - self._nut_start[:2]))
        if moved > 0.03 or float(np.arccos(np.clip(nut[2, 2], -1.0, 1.0))) > np.deg2rad(25.0):
            return NUT_KNOCKED
        return None

    # ------------------------------------------------------------------ extras
    def set_object_pose(self, name: str, base_T_obj: np.ndarray) -> None:
        """Teleport the nut (free joint) to ``base_T_obj`` and recompute kinematics and contacts (the peg is fixed)."""
        check_choice("movable object", name, ("nut",))
        world = self.robot.world_T_base @ np.asarray(base_T_obj, dtype=np.float64)
        q = np.empty(4)
        mujoco.mju_mat2Quat(q, np.ascontiguousarray(world[:3, :3]).reshape(9))
        a = int(self.env.nut_joint_qpos_addr)
        self._d.qpos[a:a + 7] = np.concatenate([world[:3, 3], q])
        mujoco.mj_forward(self._m, self._d)
        self._invalidate()
        self._update_observability()

    @property
    def nut_rest_height(self) -> float:
        """Base-frame z of the nut centre lying flat on the table [m]."""
        return float(self.env.nut_rest_z - self.robot.world_T_base[2, 3])

    @property
    def table_height(self) -> float:
        """Base-frame z of the table top [m]."""
        return float(self.env.table_top_z - self.robot.world_T_base[2, 3])

