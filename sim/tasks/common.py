"""What every task adapter shares: construction, the control step, MuJoCo state and contact access, the corruption
sample, OSC action ↔ target.

A task adapter derives from :class:`AdapterCommon`, builds itself with :meth:`_setup` (which sets ``self.env``, the
robosuite env, and ``self.robot``, its :class:`sim.robot.PandaTwin`) and defines ``_bind_env`` (sets ``self._m``,
``self._d``, the model and its ``MjData``, and ``self._mask``: geom-group name → boolean mask over geoms, for
:meth:`_pair_mask`), ``_begin_episode`` (per-episode state, ``self._cache``: per-step memo cleared by
:meth:`_invalidate`, ``self._last_gripper_cmd``), ``_update_observability`` (after every step) and ``observation``.
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from imgen_core import corruption as corruption_lib
from imgen_core import keys as K
from imgen_core.errors import ConfigError, SafetyError, check_choice
from imgen_core.task import OBSERVABILITY_MODES
from sim import osc

DISPLAY_DEFAULTS = {"has_renderer": False, "has_offscreen_renderer": False}


def table_env_kwargs(task_kwargs: dict[str, Any], horizon: int, overrides: dict[str, Any]) -> dict[str, Any]:
    """JSON-able ``robosuite.make`` kwargs of a :class:`sim.tasks.table_env.TableTaskEnv` task env: robosuite's usual
    ones around the task's own ``task_kwargs`` (no rendering, no cameras), then ``overrides``."""
    from sim.tasks.table_env import default_controller_config

    kw: dict[str, Any] = {
        "robots": "Panda", "controller_configs": default_controller_config(), "gripper_types": "default",
        "initialization_noise": "default", "table_full_size": [0.8, 0.8, 0.05],
        "table_friction": [1.0, 5e-3, 1e-4], **task_kwargs, "use_camera_obs": False, "use_object_obs": True,
        "has_renderer": False, "has_offscreen_renderer": False, "control_freq": 20, "lite_physics": True,
        "horizon": horizon, "ignore_done": True, "hard_reset": False, "reward_scale": 1.0,
    }
    kw.update(overrides)
    return kw


def horizontal_direction(point: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Horizontal unit vector (z = 0) from ``point`` toward ``centre``; zeros if they lie within 1 mm."""
    v = np.array([centre[0] - point[0], centre[1] - point[1], 0.0])
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 1e-3 else np.zeros(3)


class AdapterCommon:
    """The task-independent part of a :class:`~imgen_core.task.TaskAdapter` (see the module docstring)."""

    name: str  # the task's name (``imgen_core.task``)
    env_name: str  # its registered robosuite env
    forward_after_reset = False  # recompute contacts after ``env.reset`` (tasks whose reset places objects in contact)
    env: Any
    robot: Any
    _m: Any
    _d: Any
    _mask: dict[str, np.ndarray]
    _cache: dict[str, Any]
    _corruption: corruption_lib.CorruptionSample
    _last_gripper_cmd: float

    def _setup(self, env_kwargs: dict[str, Any], corruption: str, observability: str, horizon: int) -> None:
        """Build the registered robosuite env ``self.env_name`` with ``env_kwargs``, episodes of ``horizon`` steps."""
        import robosuite

        from sim.robot import PandaTwin

        check_choice("observability", observability, OBSERVABILITY_MODES)
        if horizon < 1:
            raise ConfigError(f"horizon={horizon} must be >= 1")
        self.corruption_model = corruption_lib.get(corruption)
        self.observability = observability
        self.horizon = int(horizon)
        self._env_kwargs = dict(env_kwargs, horizon=self.horizon)
        self.env = robosuite.make(self.env_name, **self._env_kwargs)
        self.robot = PandaTwin(self.env)
        self._corruption = corruption_lib.NO_CORRUPTION
        self._bind_env()
        self._begin_episode()

    def _bind_env(self) -> None:
        raise NotImplementedError

    def _begin_episode(self) -> None:
        raise NotImplementedError

    def _update_observability(self) -> None:
        raise NotImplementedError

    def observation(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def reset(self, seed: int) -> dict[str, np.ndarray]:
        """New scene and new corruption sample, from two independent streams of ``seed``."""
        scene_ss, corr_ss = np.random.SeedSequence(int(seed)).spawn(2)
        self.env.rng = np.random.default_rng(scene_ss)
        self.env.reset()
        if self.robot.sim is not self.env.sim:  # only a robosuite hard reset builds a new MjSim
            self._bind_env()
        if self.forward_after_reset:
            mujoco.mj_forward(self._m, self._d)
        self._corruption = self.corruption_model.sample(np.random.default_rng(corr_ss))
        self._begin_episode()
        return self.observation()

    def env_args(self) -> dict[str, Any]:
        """robomimic ``env_args``: ``robosuite.make(env_name, **env_kwargs)`` rebuilds the env.

        The extra ``imgen`` entry (task, corruption model, observability, horizon) rebuilds the adapter
        (:func:`sim.tasks.make_task_from_env_args`); robomimic ignores it.
        """
        kwargs = dict(self._env_kwargs)
        kwargs.update(DISPLAY_DEFAULTS)  # a file must rebuild headless, whatever the recording session used
        return {"env_name": self.env_name, "type": 1, "env_kwargs": kwargs,
                "imgen": {"task": self.name, "corruption": self.corruption_model.name,
                          "observability": self.observability, "horizon": self.horizon}}

    def step(self, action: np.ndarray) -> dict[str, np.ndarray]:
        """One 20 Hz control step with a normalised 7-D action (NaN/inf or a wrong shape is refused)."""
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != (K.ACTION_DIM,):
            raise SafetyError(f"action has shape {a.shape}, expected ({K.ACTION_DIM},)")
        if not np.all(np.isfinite(a)):
            raise SafetyError(f"action contains NaN/inf: {a.tolist()}")
        self.env.step(a)
        # lite physics leaves body/site poses one substep behind qpos; refresh them (contacts stay from step1)
        mujoco.mj_kinematics(self._m, self._d)
        self._invalidate()
        self._last_gripper_cmd = float(a[6])
        self._update_observability()
        return self.observation()

    def _invalidate(self) -> None:
        self._cache.clear()

    def _contact_arrays(self) -> tuple[np.ndarray, np.ndarray, int]:
        """``geom1 (n,)``, ``geom2 (n,)`` of the current contacts, and ``n``."""
        d = self._d
        n = int(d.ncon)
        if n == 0:
            empty = np.zeros(0, dtype=np.int32)
            return empty, empty, 0
        return np.asarray(d.contact.geom1[:n]), np.asarray(d.contact.geom2[:n]), n

    def _pair_mask(self, g1: np.ndarray, g2: np.ndarray, a: str, b: str) -> np.ndarray:
        """Contacts between geom group ``a`` and geom group ``b`` (names of ``self._mask``)."""
        ma, mb = self._mask[a], self._mask[b]
        return (ma[g1] & mb[g2]) | (mb[g1] & ma[g2])

    def _contact_point(self, a: str, b: str) -> np.ndarray | None:
        """Base-frame mean of the current contact points between geom groups ``a`` and ``b``; None without one."""
        g1, g2, n = self._contact_arrays()
        if n == 0:
            return None
        hit = self._pair_mask(g1, g2, a, b)
        if not hit.any():
            return None
        world_p = np.asarray(self._d.contact.pos[:n])[hit].mean(axis=0)
        return (self.robot.base_T_world @ np.append(world_p, 1.0))[:3]

    def get_state(self) -> np.ndarray:
        """Flattened MuJoCo state ``(1 + nq + nv,)``: time, qpos, qvel (robosuite ``get_state().flatten()``)."""
        d = self._d
        return np.concatenate([[d.time], d.qpos, d.qvel])

    def eef_pose(self) -> np.ndarray:
        """``base_T_tcp`` ``(4,4)``."""
        p = self._cache.get("eef")
        if p is None:
            p = self._cache["eef"] = self.robot.base_T_tcp()
        return p.copy()

    def set_corruption(self, corruption: Any) -> None:
        """Use ``corruption`` (a :class:`~imgen_core.corruption.CorruptionSample`, its dict, or None) from now on."""
        if corruption is None:
            corruption = corruption_lib.NO_CORRUPTION
        elif isinstance(corruption, dict):
            corruption = corruption_lib.CorruptionSample.from_dict(corruption)
        elif not isinstance(corruption, corruption_lib.CorruptionSample):
            raise ConfigError(f"set_corruption expects a CorruptionSample, dict or None, got {type(corruption)}")
        self._corruption = corruption
        self._invalidate()

    @property
    def last_gripper_command(self) -> float:
        """The gripper command of the last step (+1 close, -1 open; inferred after ``reset_to``)."""
        return self._last_gripper_cmd

    @property
    def corruption(self) -> corruption_lib.CorruptionSample:
        """The current corruption sample."""
        return self._corruption

    def corruption_info(self) -> dict[str, Any]:
        """JSON-able current corruption sample (stored in episode info)."""
        return self._corruption.to_dict()

    def target_pose_to_action(self, target_pose: np.ndarray, gripper: float) -> np.ndarray:
        """Action ``(7,)`` whose OSC goal is ``target_pose`` (TCP, base frame), scaled down if out of range."""
        r = self.robot
        return osc.target_to_action(self.eef_pose(), np.asarray(target_pose, dtype=np.float64), r.tcp_T_site,
                                    gripper, r.origin_R_base)

    def action_to_target_pose(self, action: np.ndarray) -> np.ndarray:
        """TCP target ``(4,4)`` the OSC aims at for ``action`` from the current state."""
        r = self.robot
        return osc.action_to_target(self.eef_pose(), action, r.tcp_T_site, r.origin_R_base)

    def close(self) -> None:
        """Release the simulator (and any renderer)."""
        self.env.close()
