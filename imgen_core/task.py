"""The small interface every simulated task implements (the generation engine and tools only use this).

Frames: every pose is a ``(4,4)`` matrix in the robot **base** frame. Actions are 7-D OSC_POSE deltas
normalised to [-1, 1] (see ``imgen_core.keys``), the last entry the gripper (-1 open, +1 close).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

# What the robot observes of the true object pose once contact is made (paper §4.4.2, §4.5): nothing, all of it, or
# the task's partial cue (e.g. the contact position). One list for the sim twin, the CLI, the runner and ROS.
OBSERVABILITY_MODES = ("none", "full", "partial")


@dataclass(frozen=True)
class SubtaskSpec:
    """One object-centric subtask: its reference object and the signal that ends it (MimicGen style)."""

    object_ref: str
    term_signal: str | None  # None for the last subtask (ends with the episode)
    term_offset: tuple[int, int] = (0, 0)  # random extra steps after the 0→1 transition, inclusive range


@runtime_checkable
class TaskAdapter(Protocol):
    """What a task twin offers. Implemented in ``sim/`` over robosuite + MuJoCo."""

    name: str
    object_names: tuple[str, ...]
    subtasks: tuple[SubtaskSpec, ...]
    horizon: int

    def reset(self, seed: int) -> dict[str, np.ndarray]:
        """New scene from ``seed`` (object placement and, if set, a new corruption sample); returns obs."""

    def reset_to(self, state: np.ndarray) -> dict[str, np.ndarray]:
        """Restore a flattened MuJoCo state (``get_state()``); returns obs."""

    def get_state(self) -> np.ndarray:
        """Flattened MuJoCo state ``(S,)``."""

    def step(self, action: np.ndarray) -> dict[str, np.ndarray]:
        """Apply one 20 Hz action ``(7,)``; returns the new observation."""

    def observation(self) -> dict[str, np.ndarray]:
        """Policy observation (robot proprioception + *observed* object poses + contact keys)."""

    def eef_pose(self) -> np.ndarray:
        """``base_T_tcp`` ``(4,4)``."""

    def object_poses(self) -> dict[str, np.ndarray]:
        """True ``base_T_obj`` per object."""

    def observed_object_poses(self) -> dict[str, np.ndarray]:
        """``base_T_obj`` as the robot believes them (after the episode's corruption)."""

    def set_corruption(self, corruption: Any) -> None:
        """Set the corruption sample used for observed poses from now on (``None`` = truth)."""

    def target_pose_to_action(self, target_pose: np.ndarray, gripper: float) -> np.ndarray:
        """Action ``(7,)`` that drives the EE from its current pose toward ``target_pose``."""

    def action_to_target_pose(self, action: np.ndarray) -> np.ndarray:
        """Target pose ``(4,4)`` the OSC aims at for ``action`` from the current EE pose."""

    def subtask_signals(self) -> dict[str, bool]:
        """Current value of every subtask termination signal."""

    def is_success(self) -> bool:
        """Task goal satisfied."""

    def mistake(self) -> str | None:
        """Mistake detector: a short reason when the state is a policy mistake, else ``None``."""

    def env_args(self) -> dict[str, Any]:
        """robomimic ``env_args`` (type 1) that rebuild this env with ``robosuite.make``."""
