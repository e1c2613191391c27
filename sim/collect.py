"""Recording sessions: one demonstration or one human-gated intervention, as an :class:`Episode`.

* :func:`record_demo`: the operator controls from the first step; the truth is observed (no corruption
  unless the adapter was built with one).
* :func:`record_intervention`: a policy acts on the corrupted observation; each step the operator may take
  over (``judge``), and a teleoperator may hand control back. Row ``t`` carries ``intervention[t] = True``
  when the human produced action ``t``.

Both stop at the first success (the last row is the action that achieved it), after ``max_steps``, or when a
teleoperator aborts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imgen_core.dataset import Episode, EpisodeRecorder


class _Pacer:
    """Keeps a human-operated session at the control rate (20 Hz); a no-op for scripted operators."""

    def __init__(self, operator: Any, dt: float = 0.05) -> None:
        self.on = bool(getattr(operator, "realtime", False))
        self.dt = dt
        self.next = time.monotonic()

    def wait(self) -> None:
        if self.on:
            self.next += self.dt
            time.sleep(max(0.0, self.next - time.monotonic()))


@dataclass
class SessionResult:
    """Outcome of one recorded episode."""

    episode: Episode
    success: bool
    steps: int
    reason: str
    takeovers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_both_segments(self) -> bool:
        m = self.episode.intervention
        return m is not None and bool(m.any()) and bool((~m).any())


def record_demo(adapter: Any, operator: Any, seed: int, max_steps: int | None = None) -> SessionResult:
    """One demonstration in the scene of ``seed``."""
    adapter.reset(seed)
    operator.reset(seed)
    rec = EpisodeRecorder(adapter)
    steps = max_steps or adapter.horizon
    reason = "timeout"
    pacer = _Pacer(operator)
    for _ in range(steps):
        if operator.aborted():
            reason = "aborted"
            break
        action, target = operator.act()
        rec.record(action, intervention=False, target_pose=target)
        adapter.step(action)
        pacer.wait()
        if adapter.is_success():
            reason = "success"
            break
    success = reason == "success"
    info = {"corruption": adapter.corruption_info(), "kind": "demo", "outcome": reason}
    ep = rec.finish(success=success, seed=seed, operator=operator.label, info=info, with_intervention=False)
    return SessionResult(ep, success, len(ep), reason)


def record_intervention(adapter: Any, policy: Any, operator: Any, seed: int,
                        max_steps: int | None = None) -> SessionResult:
    """One human-gated intervention: ``policy`` acts until ``operator`` takes over (possibly several times)."""
    obs = adapter.reset(seed)
    operator.reset(seed)
    if hasattr(policy, "reset"):
        policy.reset()
    rec = EpisodeRecorder(adapter)
    steps = max_steps or adapter.horizon
    pacer = _Pacer(operator)
    human = False
    policy_steps = 0
    takeovers: list[dict[str, Any]] = []
    reason = "timeout"
    for t in range(steps):
        if operator.aborted():
            reason = "aborted"
            break
        if not human:
            why = operator.judge(policy_steps)
            if why:
                human = True
                operator.take_over()
                takeovers.append({"step": t, "reason": why, "mistake": adapter.mistake()})
        elif operator.wants_hand_back():
            human = False
            takeovers[-1]["hand_back"] = t
        if human:
            action, target = operator.act()
        else:
            action, target = np.asarray(policy.act(obs), dtype=np.float64), None
            policy_steps += 1
        rec.record(action, intervention=human, target_pose=target)
        obs = adapter.step(action)
        pacer.wait()
        if adapter.is_success():
            reason = "success"
            break
    success = reason == "success"
    info = {"corruption": adapter.corruption_info(), "kind": "intervention", "outcome": reason,
            "takeovers": takeovers}
    ep = rec.finish(success=success, seed=seed, operator=operator.label, info=info, with_intervention=True)
    return SessionResult(ep, success, len(ep), reason, takeovers)
