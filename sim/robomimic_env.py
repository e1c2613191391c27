"""robomimic 0.3.0 ``EnvBase`` over our task adapters, so ``RolloutPolicy`` / ``TrainUtils.run_rollout`` work.

robomimic's own ``EnvRobosuite`` imports ``mujoco_py`` and cannot be used (DESIGN §7). Observations are the
adapter's (corrupted object poses, TCP in the base frame); states are flattened MuJoCo states. Each ``reset()``
draws the next scene seed (``seed``, ``seed + 1``, ...) so rollouts are reproducible.
"""

from __future__ import annotations

import builtins
from copy import deepcopy
from typing import Any

import numpy as np
from robomimic.envs.env_base import EnvBase, EnvType

from imgen_core.errors import ImgenError


class ImgenRobomimicEnv(EnvBase):
    """A task adapter seen as a robomimic environment.

    Args:
        env_name: robosuite env name (kept for robomimic's metadata; the task decides the env).
        render, render_offscreen, use_image_obs, postprocess_visual_obs: robomimic flags (images unsupported).
        task, corruption, observability, horizon: the imgen task adapter to build.
        seed: first scene seed.
        adapter: use this adapter instead of building one.
        **env_kwargs: robosuite kwargs overriding the task's defaults.
    """

    def __init__(self, env_name: str = "ImgenBlockGrasp", render: bool = False, render_offscreen: bool = False,
                 use_image_obs: bool = False, postprocess_visual_obs: bool = True, task: str = "block_grasp",
                 corruption: str = "none", observability: str = "none", horizon: int | None = None, seed: int = 0,
                 adapter: Any = None, **env_kwargs: Any) -> None:
        if use_image_obs:
            raise ImgenError("ImgenRobomimicEnv provides low-dim observations only (use_image_obs=False)")
        if adapter is None:
            from sim.tasks import make_task

            extra = {"horizon": horizon} if horizon else {}
            adapter = make_task(task, corruption=corruption, observability=observability, **extra, **env_kwargs)
        self.adapter = adapter
        self._env_name = env_name
        self._render_offscreen = render or render_offscreen
        self._renderer: Any = None
        self._renderer_size: tuple[int | None, int | None] = (None, None)
        self._next_seed = int(seed)
        self._init_kwargs = {"task": task, "corruption": corruption, "observability": observability,
                             "horizon": adapter.horizon, "seed": int(seed), **env_kwargs}

    # robomimic API -----------------------------------------------------------
    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, dict[str, Any]]:
        obs = self.adapter.step(np.asarray(action, dtype=np.float64))
        return obs, self.get_reward(), self.is_done(), {}

    def reset(self) -> dict[str, np.ndarray]:
        obs = self.adapter.reset(self._next_seed)
        self._next_seed += 1
        return obs

    def reset_to(self, state: dict[str, Any]) -> dict[str, np.ndarray] | None:
        if "states" in state:
            return self.adapter.reset_to(np.asarray(state["states"]))
        return None

    def render(self, mode: str = "human", height: int | None = None, width: int | None = None,
               camera_name: str | None = None) -> np.ndarray:
        if mode != "rgb_array":
            raise ImgenError(f"render mode {mode!r} is not supported headless; use 'rgb_array'")
        from sim.render import EpisodeRenderer

        if self._renderer is None or (height, width) != self._renderer_size:
            self._renderer = EpisodeRenderer(self.adapter, width or 512, height or 512, camera_name)
            self._renderer_size = (height, width)
        true = self.adapter.object_poses()
        return self._renderer.frame([seen for name, seen in self.adapter.observed_object_poses().items()
                                     if name in true and not np.allclose(seen, true[name])])

    def get_observation(self) -> dict[str, np.ndarray]:
        return self.adapter.observation()

    def get_state(self) -> dict[str, np.ndarray]:
        return {"states": self.adapter.get_state()}

    def get_reward(self) -> float:
        return float(self.adapter.is_success())

    def get_goal(self) -> None:
        raise NotImplementedError("imgen tasks are not goal-conditioned")

    def set_goal(self, **kwargs: Any) -> None:
        raise NotImplementedError("imgen tasks are not goal-conditioned")

    def is_done(self) -> bool:
        return False  # fixed-horizon rollouts, as robomimic does for robosuite

    def is_success(self) -> dict[str, bool]:
        return {"task": bool(self.adapter.is_success())}

    @property
    def action_dimension(self) -> int:
        return 7

    @property
    def name(self) -> str:
        return self._env_name

    @property
    def type(self) -> int:
        return EnvType.ROBOSUITE_TYPE

    def serialize(self) -> dict[str, Any]:
        return {"env_name": self.name, "type": self.type, "env_kwargs": deepcopy(self._init_kwargs)}

    @classmethod
    def create_for_data_processing(cls, camera_names: Any = None, camera_height: int = 84, camera_width: int = 84,
                                   reward_shaping: bool = False, **kwargs: Any) -> ImgenRobomimicEnv:
        return cls(**kwargs)

    @property
    def rollout_exceptions(self) -> tuple[builtins.type[BaseException], ...]:
        import mujoco

        return (mujoco.FatalError, FloatingPointError)

    def __repr__(self) -> str:
        return f"ImgenRobomimicEnv({self._init_kwargs})"
