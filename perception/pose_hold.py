"""Hold the last confident cube pose through occlusions and reject single-frame jumps (pure numpy).

The ICP estimator (:mod:`perception.cube_pose`) judges every frame on its own. Near the gripper that is not enough:
fingers hide the cube (no pose for seconds), and a partly hidden cube can yield a fit that passes the gates but
sits centimetres away. A policy that follows such an estimate drives away from the cube. :class:`PoseHold` sits
between the estimator and ``/cube_pose``:

* an estimate within ``max_jump_m`` of the held pose is **accepted** (it becomes the held pose);
* an estimate farther away is a **candidate**: it is accepted only when ``confirm_frames`` consecutive
  candidates agree with each other within ``agree_m`` (the cube really moved, e.g. it was pushed), otherwise
  the held pose is reported;
* a frame without an estimate reports the held pose while the last accepted estimate is at most ``max_hold_s``
  old, then nothing (the policy server then holds the arm still).

Every reported pose is for the frame just processed, so a camera that stops delivering frames still makes the
pose stale downstream: holding covers a hidden cube, never a dead camera. ``HoldResult.state`` tells which case
applied (``fresh``, ``held``, ``none``) and ``reason`` why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from imgen_core.errors import ConfigError, check_range

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class PoseHoldConfig:
    """Thresholds of :class:`PoseHold` (metres, seconds)."""

    max_jump_m: float = 0.02
    confirm_frames: int = 3
    agree_m: float = 0.02
    max_hold_s: float = 5.0

    def __post_init__(self) -> None:
        check_range("max_jump_m", self.max_jump_m, 1e-4, 1.0)
        check_range("confirm_frames", self.confirm_frames, 1, 100)
        check_range("agree_m", self.agree_m, 1e-4, 1.0)
        check_range("max_hold_s", self.max_hold_s, 0.0, 3600.0)


@dataclass(frozen=True)
class HoldResult:
    """What to publish for one frame: ``pose`` ``(4,4)`` or None, ``state`` fresh|held|none, and why."""

    pose: F64 | None
    state: str
    reason: str = ""
    held_age_s: float = 0.0


class PoseHold:
    """Per-frame filter over estimator output (see module docstring)."""

    def __init__(self, config: PoseHoldConfig | None = None) -> None:
        self.config = config or PoseHoldConfig()
        self.reset()

    def reset(self) -> None:
        """Forget the held pose (e.g. a new trial: the cube was placed anew)."""
        self._held: F64 | None = None
        self._held_t = 0.0
        self._candidates: list[F64] = []

    @property
    def held(self) -> F64 | None:
        return None if self._held is None else self._held.copy()

    def update(self, pose: F64 | None, t_s: float, why_none: str = "no estimate") -> HoldResult:
        """Feed one frame's estimate (``None`` if the estimator gave none) taken at time ``t_s``."""
        cfg = self.config
        if pose is not None:
            pose = np.asarray(pose, dtype=np.float64)
            if pose.shape != (4, 4) or not np.all(np.isfinite(pose)):
                raise ConfigError(f"pose must be a finite (4,4) matrix, got shape {pose.shape}")
        if pose is not None and self._held is None:
            return self._accept(pose, t_s, "first estimate")
        if pose is not None:
            assert self._held is not None
            jump = float(np.linalg.norm(pose[:3, 3] - self._held[:3, 3]))
            if jump <= cfg.max_jump_m:
                return self._accept(pose, t_s, "")
            if self._candidates and np.linalg.norm(pose[:3, 3] - self._candidates[-1][:3, 3]) > cfg.agree_m:
                self._candidates = []
            self._candidates.append(pose)
            if len(self._candidates) >= cfg.confirm_frames:
                return self._accept(pose, t_s, f"moved {jump * 100:.1f} cm (confirmed by "
                                                f"{len(self._candidates)} frames)")
            why = (f"estimate {jump * 100:.1f} cm from the held pose: candidate "
                   f"{len(self._candidates)}/{cfg.confirm_frames}")
        else:
            why = why_none
        if self._held is None:
            return HoldResult(None, "none", why)
        age = t_s - self._held_t
        if age > cfg.max_hold_s:
            return HoldResult(None, "none", f"{why}; held pose older than {cfg.max_hold_s} s", age)
        return HoldResult(self._held.copy(), "held", why, age)

    def _accept(self, pose: F64, t_s: float, reason: str) -> HoldResult:
        self._held, self._held_t, self._candidates = pose.copy(), float(t_s), []
        return HoldResult(pose.copy(), "fresh", reason)


__all__ = ["HoldResult", "PoseHold", "PoseHoldConfig"]
