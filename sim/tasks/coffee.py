"""Coffee task adapter: :class:`imgen_core.task.TaskAdapter` over the robosuite env ``ImgenCoffee``.

Everything crossing this boundary is in the robot **base** frame; "EE pose" is the TCP (``imgen_core.frames``).
Objects: ``pod`` (the cylinder held in the gripper) and ``machine`` (frame on the table top below the holder
centre, axes parallel to the base frame). The pod holder floor centre is ``machine_pos + (0, 0, 0.08)``
(:meth:`CoffeeAdapter.holder_pose`). The episode's corruption (``coffee_radial``) shifts only the **machine**;
the pod pose is observed as it is.

Observation keys (float64): ``robot0_eef_pos (3)``, ``robot0_eef_quat (4, xyzw)``, ``robot0_gripper_width (1)``
[m, finger to finger], ``pod_pos (3)``, ``pod_quat (4, xyzw)``, ``machine_pos (3)``, ``machine_quat (4, xyzw)``
(as *observed*), and the contact-observability keys:

* ``holder_contact_flag (1,)``: 1.0 from the first contact between a pod geom and a pod-holder geom (floor or
  wall) on, else 0.0;
* ``holder_contact_pos (3,)``: after that contact — ``partial``: the mean position of the contact points of that
  first contact step (base frame, fixed from then on); ``full``: the true holder floor centre (base frame). Zeros
  before the contact.

With ``observability="none"`` both keys stay zero. With ``full`` the observed machine pose is the true pose from
the first contact on; with ``partial`` the observed machine pose stays corrupted (only the contact keys inform).
The first-contact latch is episode state, not MuJoCo state: ``reset_to(state)`` re-detects it only if the
restored state itself has a pod-holder contact.

Seeding: ``reset(seed)`` derives two independent streams from ``seed`` — scene (arm joint noise, machine
placement) and corruption — so a seed fixes both, and the same seed gives the same scene under any corruption.
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
from sim.tasks import coffee_env as E
from sim.tasks.coffee_env import ENV_NAME, POD_HEIGHT, POD_RADIUS
from sim.tasks.common import AdapterCommon, table_env_kwargs

TASK_NAME = "coffee"
OPEN_WIDTH = 0.08
CONTACT_SIGNAL = "pod_holder_contact"
OBS_CONTACT_FLAG = "holder_contact_flag"
OBS_CONTACT_POS = "holder_contact_pos"
HOLDER_SLACK = E.HOLDER_INNER_RADIUS - POD_RADIUS  # [m] the pod's free play inside the holder (5 mm)
ALIGN_TOL = HOLDER_SLACK + 0.002  # [m] pod-centre xy error beyond which a holder contact is a misaligned one

# mistake reasons (stable strings)
POD_ON_RIM = "pod_on_rim"
POD_MISALIGNED_CONTACT = "pod_misaligned_contact"
POD_DROPPED = "pod_dropped_outside"
ROBOT_MACHINE = "robot_machine_contact"
REASONS = (POD_ON_RIM, POD_MISALIGNED_CONTACT, POD_DROPPED, ROBOT_MACHINE)


def default_env_kwargs(**overrides: Any) -> dict[str, Any]:
    """JSON-able ``robosuite.make`` kwargs of the Coffee env (no rendering, no cameras by default)."""
    return table_env_kwargs({
        "pod_density": 500.0, "pod_friction": [1.0, 5e-3, 1e-4], "machine_x_range": [0.50, 0.60],
        "machine_y_range": [-0.05, 0.05],
    }, 300, overrides)


@dataclass(frozen=True)
class PodContacts:
    """What the pod and the gripper touch (one MuJoCo contact list)."""

    left_pod: bool = False
    right_pod: bool = False
    pod_holder: bool = False  # pod vs holder floor/walls
    pod_machine: bool = False  # pod vs any other machine geom (base, column, stem, arm)
    pod_table: bool = False
    robot_machine: bool = False  # any arm or gripper geom vs the machine

    @property
    def held(self) -> bool:
        """Both fingers touch the pod."""
        return self.left_pod and self.right_pod


class CoffeeAdapter(AdapterCommon):
    """The Coffee twin behind the small :class:`~imgen_core.task.TaskAdapter` interface.

    Args:
        corruption: name in :data:`imgen_core.corruption.registry` (``coffee_radial`` for the paper's setting);
            a new sample is drawn at every ``reset`` and applied to the machine pose.
        observability: ``none``, ``full`` or ``partial`` (module docstring).
        horizon: step budget of one episode (the env never terminates by itself); 300 = a ~130-step insertion
            plus room for one mistake and its recovery.
        **env_overrides: overrides of :func:`default_env_kwargs`.
    """

    name = TASK_NAME
    env_name = ENV_NAME
    object_names = ("pod", "machine")
    subtasks = (SubtaskSpec("machine", None),)

    def __init__(self, corruption: str = "none", observability: str = "none", horizon: int = 300,
                 **env_overrides: Any) -> None:
        import sim.tasks.coffee_env  # noqa: F401  (registers ENV_NAME)

        self._setup(default_env_kwargs(**env_overrides), corruption, observability, horizon)

    # ------------------------------------------------------------------ internals
    def _bind_env(self) -> None:
        env = self.env
        if self.robot.sim is not env.sim:
            self.robot.bind()
        self._m, self._d = self.robot.model, self.robot.data
        left, right = np.asarray(env.left_finger_geom_ids), np.asarray(env.right_finger_geom_ids)
        holder = np.asarray(env.holder_geom_ids)
        groups = {"left": left, "right": right, "robot": np.asarray(env.robot_geom_ids),
                  "pod": np.asarray(env.pod_geom_ids), "holder": holder,
                  "machine_other": np.setdiff1d(np.asarray(env.machine_geom_ids), holder),
                  "machine": np.asarray(env.machine_geom_ids), "table": np.asarray(env.table_geom_ids)}
        self._mask: dict[str, np.ndarray] = {}
        for key, ids in groups.items():
            mk = np.zeros(self._m.ngeom, dtype=bool)
            mk[ids] = True
            self._mask[key] = mk
        self._pod_id = int(env.pod_body_id)
        self._machine_id = int(env.machine_body_id)
        self._gripper_model = env.robots[0].gripper["right"]
        for name in list(env._observables):
            env.modify_observable(name, "enabled", False)

    def _begin_episode(self) -> None:
        self._cache: dict[str, Any] = {}
        self._contact_pos: np.ndarray | None = None  # mean first pod-holder contact position (base frame)
        self._last_gripper_cmd = 1.0

    def _update_observability(self) -> None:
        """Latch the first pod-holder contact (always tracked; exposed according to ``observability``)."""
        if self._contact_pos is not None:
            return
        self._contact_pos = self._contact_point("pod", "holder")

    # ------------------------------------------------------------------ TaskAdapter
    def reset_to(self, state: np.ndarray) -> dict[str, np.ndarray]:
        """Restore a flattened MuJoCo state ``[time, qpos, qvel]`` (the corruption sample is kept).

        The gripper's incremental command is not MuJoCo state: it is inferred from the fingers (closed when
        narrower than fully open and not opening — true of every episode start, where the pod is held).
        """
        state = np.asarray(state, dtype=np.float64).reshape(-1)
        expected = 1 + self._m.nq + self._m.nv
        if state.shape != (expected,):
            raise ConfigError(f"state has {state.shape[0]} entries, this model needs {expected} (time, qpos, qvel)")
        sim = self.env.sim
        sim.reset()
        sim.set_state_from_flattened(state)
        sim.forward()
        closed = self.robot.gripper_width() < OPEN_WIDTH - 0.005 and self.robot.gripper_width_rate() <= 1e-3
        self._gripper_model.current_action = (E.GRIPPER_CLOSED_ACTION if closed else E.GRIPPER_OPEN_ACTION).copy()
        composite = self.env.robots[0].composite_controller
        for part in composite.part_controllers.values():  # re-read the restored pose: reset_goal() uses the
            part.update(force=True)  # cached one, stale when no step ran since the last env.reset()
        composite.reset()
        self.env.timestep = int(round(state[0] / self.env.control_timestep))
        self.env.cur_time = float(state[0])
        self._begin_episode()
        self._last_gripper_cmd = 1.0 if closed else -1.0
        self._update_observability()
        return self.observation()

    def contact_revealed(self) -> bool:
        """The first pod-holder contact happened and ``observability`` exposes it."""
        return self.observability != "none" and self._contact_pos is not None

    def observation(self) -> dict[str, np.ndarray]:
        """Policy observation (see module docstring)."""
        obs = self._cache.get("obs")
        if obs is None:
            ee = self.eef_pose()
            seen = self.observed_object_poses()
            obs = {K.OBS_EEF_POS: ee[:3, 3],
                   K.OBS_EEF_QUAT: frames.eef_quat_for_policy(se3.mat_to_quat_xyzw(ee[:3, :3])),
                   K.OBS_GRIPPER_WIDTH: np.array([self.robot.gripper_width()])}
            for name in self.object_names:
                obs[K.obs_object_pos(name)] = seen[name][:3, 3]
                obs[K.obs_object_quat(name)] = frames.object_quat_for_policy(se3.mat_to_quat_xyzw(seen[name][:3, :3]))
            flag, pos = np.zeros(1), np.zeros(3)
            if self.contact_revealed():
                flag[0] = 1.0
                pos = self.holder_pose()[:3, 3] if self.observability == "full" else self._contact_pos.copy()
            obs[OBS_CONTACT_FLAG], obs[OBS_CONTACT_POS] = flag, pos
            self._cache["obs"] = obs
        return {k: v.copy() for k, v in obs.items()}

    def object_poses(self) -> dict[str, np.ndarray]:
        """True ``base_T_pod`` and ``base_T_machine``."""
        p = self._cache.get("poses")
        if p is None:
            p = self._cache["poses"] = {"pod": self.robot.base_T_body(self._pod_id),
                                        "machine": self.robot.base_T_body(self._machine_id)}
        return {k: v.copy() for k, v in p.items()}

    def observed_object_poses(self) -> dict[str, np.ndarray]:
        """Poses as the robot believes them: the machine corrupted (true after a revealing contact, ``full``)."""
        poses = self.object_poses()
        if not (self.observability == "full" and self.contact_revealed()):
            poses["machine"] = self._corruption.apply(poses["machine"])
        return poses

    def subtask_signals(self) -> dict[str, bool]:
        """``pod_holder_contact``: the pod touches the holder now (informative; Coffee is a single subtask)."""
        return {CONTACT_SIGNAL: self.contacts().pod_holder}

    def is_success(self) -> bool:
        """Pod inside the holder (xy within the inner radius, bottom near the floor, upright) and released."""
        return bool(self.env._check_success())

    def contacts(self) -> PodContacts:
        """Summary of the pod's and the gripper's contacts."""
        c = self._cache.get("contacts")
        if c is None:
            g1, g2, n = self._contact_arrays()
            if n == 0:
                c = PodContacts()
            else:
                def any_(a: str, b: str) -> bool:
                    return bool(self._pair_mask(g1, g2, a, b).any())

                c = PodContacts(left_pod=any_("left", "pod"), right_pod=any_("right", "pod"),
                                pod_holder=any_("pod", "holder"), pod_machine=any_("pod", "machine_other"),
                                pod_table=any_("pod", "table"), robot_machine=any_("robot", "machine"))
            self._cache["contacts"] = c
        return c

    def holder_pose(self, observed: bool = False) -> np.ndarray:
        """``base_T_holder`` ``(4,4)``: the holder floor centre (true, or as observed)."""
        machine = (self.observed_object_poses() if observed else self.object_poses())["machine"]
        return machine @ se3.make_pose(np.array([0.0, 0.0, E.HOLDER_FLOOR_Z]), np.eye(3))

    def pod_holder_offset(self) -> tuple[float, float]:
        """True pod-centre xy distance from the holder axis and pod-bottom height above the holder floor [m]."""
        pod, holder = self.object_poses()["pod"], self.holder_pose()
        bottom = pod[2, 3] - POD_HEIGHT / 2 * pod[2, 2]
        return float(np.linalg.norm(pod[:2, 3] - holder[:2, 3])), float(bottom - holder[2, 3])

    def mistake(self) -> str | None:
        """Mistake detector (true state): a short reason, or ``None``.

        * ``pod_on_rim``: the pod touches the holder while off its axis by more than the 5 mm play (+2 mm), with
          its bottom at the rim's height (it rests or presses on the wall tops);
        * ``pod_misaligned_contact``: the pod touches the holder off-axis below the rim (outside of a wall), or
          touches another part of the machine;
        * ``pod_dropped_outside``: no finger touches the pod and its bottom is below the holder floor (it fell
          beside the holder);
        * ``robot_machine_contact``: an arm or gripper geom touches the machine.
        """
        if self.is_success():
            return None
        c = self.contacts()
        err, bottom = self.pod_holder_offset()
        if c.pod_holder and err > ALIGN_TOL:
            return POD_ON_RIM if bottom > E.HOLDER_WALL_HEIGHT - 0.004 else POD_MISALIGNED_CONTACT
        if c.pod_machine:
            return POD_MISALIGNED_CONTACT
        if not (c.left_pod or c.right_pod) and bottom < -0.005:
            return POD_DROPPED
        if c.robot_machine:
            return ROBOT_MACHINE
        return None

    # ------------------------------------------------------------------ extras
    def set_object_pose(self, name: str, base_T_obj: np.ndarray) -> None:
        """Teleport an object to ``base_T_obj`` and recompute kinematics and contacts (test states, what-ifs).

        ``pod``: full pose (free joint). ``machine``: only x and y are used (slide joints; height and yaw fixed).
        """
        check_choice("object", name, self.object_names)
        world = self.robot.world_T_base @ np.asarray(base_T_obj, dtype=np.float64)
        if name == "pod":
            q = np.empty(4)
            mujoco.mju_mat2Quat(q, np.ascontiguousarray(world[:3, :3]).reshape(9))
            a = int(self.env.pod_joint_qpos_addr)
            self._d.qpos[a:a + 7] = np.concatenate([world[:3, 3], q])
        else:
            addr = np.asarray(self.env.machine_qpos_addr)
            now = self._d.xpos[self._machine_id][:2]
            self._d.qpos[addr] += world[:2, 3] - now
        mujoco.mj_forward(self._m, self._d)
        self._invalidate()
        self._update_observability()

    @property
    def holder_geometry(self) -> dict[str, float]:
        """Holder dimensions [m]: inner radius, wall thickness and height, floor height above the table."""
        return {"inner_radius": E.HOLDER_INNER_RADIUS, "wall_thickness": E.HOLDER_WALL_THICKNESS,
                "wall_height": E.HOLDER_WALL_HEIGHT, "floor_z": E.HOLDER_FLOOR_Z, "pod_radius": POD_RADIUS,
                "pod_height": POD_HEIGHT}

