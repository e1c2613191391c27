"""Safety layer of the FR3 controller: action watchdog, target limits, and the event log that reports both.

The pure geometry (workspace box + orientation limits, per-step limits) lives in :mod:`imgen_core.control_model`;
this module keeps the time-dependent and stateful parts:

* :class:`Watchdog` — has an action arrived within ``timeout_s``? (monotonic clock)
* :class:`TargetFilter` — clamps a TCP target into the workspace and limits the change per control period,
  returning what it did so the controller can report it;
* :class:`EventLog` — thread-safe, bounded record of what happened (``watchdog_stop``, ``workspace_clamp``,
  ``step_limit``, ``action_refused``, ``robot_error``, ``recovered``, ``stopped``, ``resumed``, ...), with counters.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from imgen_core.control_model import WorkspaceLimits, brake_to_workspace, clamp_to_workspace, limit_step

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class ControlEvent:
    """Something the controller did or saw. ``t`` is ``time.monotonic()`` [s]; ``seq`` increases by one per event."""

    seq: int
    t: float
    kind: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)


class EventLog:
    """Bounded, thread-safe event record with per-kind counters (counters never drop)."""

    def __init__(self, maxlen: int = 1000) -> None:
        self._events: deque[ControlEvent] = deque(maxlen=maxlen)
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._seq = 0

    def add(self, kind: str, message: str, **data: Any) -> ControlEvent:
        with self._lock:
            self._seq += 1
            ev = ControlEvent(self._seq, time.monotonic(), kind, message, data)
            self._events.append(ev)
            self._counts[kind] += 1
            return ev

    def since(self, seq: int = 0) -> list[ControlEvent]:
        """Events with ``seq`` greater than the given one (oldest first)."""
        with self._lock:
            return [e for e in self._events if e.seq > seq]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def last(self, kind: str | None = None) -> ControlEvent | None:
        with self._lock:
            for e in reversed(self._events):
                if kind is None or e.kind == kind:
                    return e
        return None


class Watchdog:
    """Expires when :meth:`feed` was not called for more than ``timeout_s`` (monotonic clock)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = float(timeout_s)
        self._last: float | None = None
        self._lock = threading.Lock()

    def feed(self, t: float | None = None) -> None:
        with self._lock:
            self._last = time.monotonic() if t is None else t

    def disarm(self) -> None:
        with self._lock:
            self._last = None

    @property
    def last_feed(self) -> float | None:
        with self._lock:
            return self._last

    def expired(self, now: float | None = None) -> bool:
        """True when armed and the last feed is older than the timeout."""
        with self._lock:
            if self._last is None:
                return False
            return (time.monotonic() if now is None else now) - self._last > self.timeout_s


@dataclass
class FilterResult:
    """A filtered TCP target, the base-frame twist that reaches it in one period, and what the filter did."""

    target: F64  # (4,4)
    twist: F64  # (6,) [m/s, rad/s]
    workspace_hits: list[str]
    step_limited: bool
    braked: bool


class TargetFilter:
    """Workspace clamp, per-period step limit (relative to the measured TCP), then braking before the walls.

    Args:
        workspace: the limits.
        max_step_translation_m / max_step_rotation_rad: largest change per period.
        period_s: control period (target → twist).
        brake_decel_mps2: the speed toward a wall is limited so the arm can stop at this deceleration.
        horizon_s: how long one velocity command stays in force on the robot; the speed toward a wall is also
            limited so that a command executed that long (the next one late or missing) stays inside.
    """

    def __init__(self, workspace: WorkspaceLimits, max_step_translation_m: float, max_step_rotation_rad: float,
                 period_s: float = 0.05, brake_decel_mps2: float = 2.0, horizon_s: float = 0.0) -> None:
        self.workspace = workspace
        self.max_trans = max_step_translation_m
        self.max_rot = max_step_rotation_rad
        self.period_s = period_s
        self.brake_decel = brake_decel_mps2
        self.horizon_s = horizon_s

    def __call__(self, measured_base_T_tcp: F64, target_base_T_tcp: F64) -> FilterResult:
        from imgen_core import se3

        clamped, hits = clamp_to_workspace(target_base_T_tcp, self.workspace)
        limited, was_limited = limit_step(measured_base_T_tcp, clamped, self.max_trans, self.max_rot)
        dpos, drot = se3.delta_pose(measured_base_T_tcp, limited)
        v, braked = brake_to_workspace(measured_base_T_tcp[:3, 3], dpos / self.period_s, self.workspace,
                                       self.brake_decel, self.horizon_s)
        return FilterResult(limited, np.concatenate([v, drot / self.period_s]), hits, was_limited, braked)
