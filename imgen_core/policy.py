"""Policy runtime: load a safe checkpoint and act step by step (used by eval, generation and the ROS node)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from imgen_core import keys as K
from imgen_core.errors import CheckpointError, ConfigError
from imgen_core.obs import complete as complete_obs
from imgen_core.obs import input_keys


class PolicyRuntime:
    """A trained BC-RNN policy. ``reset()`` at episode start; ``act(obs) -> (7,)`` every 20 Hz step.

    The RNN state is carried across steps exactly as robomimic's rollout does (re-initialised every
    ``seq_length`` steps, the horizon it was trained with). Derived keys the policy was trained on
    (:mod:`imgen_core.obs`) are computed from the observation when it lacks them, and observations are standardised
    with the training set's statistics stored in the checkpoint (as robomimic's ``RolloutPolicy`` does).
    """

    def __init__(self, model: Any, meta: dict[str, Any]) -> None:
        import torch

        self._torch = torch
        self.model = model
        self.meta = meta
        self.obs_key_shapes: dict[str, list[int]] = meta["obs_key_shapes"]
        self.obs_keys = list(self.obs_key_shapes)
        self.input_keys = input_keys(self.obs_keys)  # what an observation must carry (derived keys are computed)
        stats = meta.get("obs_normalization_stats") or {}
        self._norm = {k: (np.asarray(v["mean"], dtype=np.float32), np.asarray(v["std"], dtype=np.float32))
                      for k, v in stats.items()}
        self.model.set_eval()
        self.model.reset()

    def reset(self) -> None:
        self.model.reset()

    def _tensors(self, obs: dict[str, Any]) -> dict[str, Any]:
        out = {}
        lacking = [k for k in self.input_keys if k not in obs]
        if lacking:
            raise ConfigError(f"observation lacks {lacking}; the policy needs {self.input_keys}")
        obs = complete_obs(obs, self.obs_keys)
        for k in self.obs_keys:
            if k not in obs:
                raise ConfigError(f"observation lacks key {k!r}; the policy needs {self.obs_keys}")
            v = np.asarray(obs[k], dtype=np.float32).reshape(-1)
            if v.shape[0] != self.obs_key_shapes[k][0]:
                raise ConfigError(f"observation {k!r} has {v.shape[0]} values, expected {self.obs_key_shapes[k][0]}")
            if not np.all(np.isfinite(v)):
                raise ConfigError(f"observation {k!r} contains NaN/inf: {v.tolist()}")
            if k in self._norm:
                mean, std = self._norm[k]
                v = (v - mean) / std
            out[k] = self._torch.from_numpy(v)[None]
        return out

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        """Action ``(7,)`` in [-1, 1] for one observation (keys as in the training data)."""
        t = self._tensors(obs)
        with self._torch.inference_mode():
            a = self.model.get_action(t)[0].numpy().astype(np.float64)
        return np.clip(a, -1.0, 1.0)


def load_policy(path: str | os.PathLike[str]) -> PolicyRuntime:
    """Load a checkpoint written by ``imgen train`` (never unpickles arbitrary objects)."""
    from robomimic.config import config_factory

    from imgen_core.learning.checkpoint import load_checkpoint
    from imgen_core.learning.train import build_model

    state, meta = load_checkpoint(path)
    config = config_factory("bc", dic=meta["robomimic_config"])
    model = build_model(config, meta["obs_key_shapes"], int(meta.get("ac_dim", K.ACTION_DIM)))
    try:
        model.nets.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not match the stored config: {str(exc)[:200]}") from exc
    return PolicyRuntime(model, meta)
