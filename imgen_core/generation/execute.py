"""Executing target-pose trajectories open loop on a task adapter (shared by MimicGen and I-MG)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imgen_core import se3
from imgen_core.dataset import EpisodeRecorder


@dataclass
class StepTimer:
    """Wall time spent inside ``adapter.step`` (the env) vs. everything else, for the benchmark."""

    env_seconds: float = 0.0
    env_steps: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    def step(self, adapter: Any, action: np.ndarray) -> None:
        t0 = time.perf_counter()
        adapter.step(action)
        self.env_seconds += time.perf_counter() - t0
        self.env_steps += 1


def execute_targets(adapter: Any, rec: EpisodeRecorder, targets: np.ndarray, gripper: np.ndarray,
                    rng: np.random.Generator, noise: float, timer: StepTimer, intervention: bool,
                    stop_on_success: bool = False) -> bool:
    """Drive the EE through ``targets (L,4,4)`` with ``gripper (L,)`` commands, one 20 Hz step each.

    Gaussian noise (std ``noise``) is added to the 6 arm dimensions and the action clipped to [-1, 1].
    Returns True when ``stop_on_success`` and the task succeeded early.
    """
    for target, g in zip(targets, gripper, strict=True):
        action = np.asarray(adapter.target_pose_to_action(target, float(g)), dtype=np.float64).copy()
        if noise > 0:
            action[:6] += rng.normal(0.0, noise, size=6)
        action = np.clip(action, -1.0, 1.0)
        rec.record(action, intervention=intervention, target_pose=target)
        timer.step(adapter, action)
        if stop_on_success and adapter.is_success():
            return True
    return False


def interpolation(adapter: Any, first_target: np.ndarray, steps: int) -> np.ndarray:
    """Targets from the current EE pose to ``first_target`` (exclusive of the start), ``(steps,4,4)``."""
    return se3.interpolate_poses(adapter.eef_pose(), first_target, steps + 1)[1:]


def settle(adapter: Any, rec: EpisodeRecorder, target: np.ndarray, gripper: float, steps: int,
           timer: StepTimer, intervention: bool) -> bool:
    """Hold ``target`` for up to ``steps`` steps, stopping as soon as the task succeeds."""
    if adapter.is_success():
        return True
    for _ in range(steps):
        action = np.asarray(adapter.target_pose_to_action(target, gripper), dtype=np.float64)
        rec.record(action, intervention=intervention, target_pose=target)
        timer.step(adapter, action)
        if adapter.is_success():
            return True
    return False
