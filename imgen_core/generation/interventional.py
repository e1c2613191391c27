"""Interventional MimicGen (paper Algorithm 1, lines 10–19) and its "I-MG − Policy" ablation.

One attempt: sample a scene *and a new corruption* (``adapter.reset(seed)``), run the base policy closed
loop on the corrupted observation until the mistake detector fires (or the task succeeds, or the step
budget ends), then replay a source human recovery segment transformed with the **true** object pose
(interpolating from the current EE pose; a recovery that went on into later subtasks is replayed piece by piece,
each piece relative to its own subtask's object), and hand control back to the policy; repeat up to
``max_recoveries`` times. Keep the episode only if the task succeeds, and store only ``ξ[t:]`` — the rows
from the first recovery on — with the ``intervention`` mask marking generated recovery rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imgen_core.dataset import EpisodeRecorder
from imgen_core.generation.config import GenerationConfig
from imgen_core.generation.execute import StepTimer, settle
from imgen_core.generation.mimicgen import Attempt, replay_segment, select_segment
from imgen_core.generation.sources import InterventionSource, Segment


def _run_policy(adapter: Any, policy: Any, rec: EpisodeRecorder, steps: int, timer: StepTimer) -> str:
    """Closed-loop policy execution; returns ``success``, ``mistake:<reason>`` or ``budget``."""
    for _ in range(steps):
        action = np.asarray(policy.act(adapter.observation()), dtype=np.float64)
        rec.record(action, intervention=False)
        timer.step(adapter, action)
        if adapter.is_success():
            return "success"
        reason = adapter.mistake()
        if reason:
            return f"mistake:{reason}"
    return "budget"


def _replay_recovery(adapter: Any, rec: EpisodeRecorder, seg: Segment, cfg: GenerationConfig,
                     rng: np.random.Generator, timer: StepTimer) -> bool:
    """Replay a recovery and then the rest of the human run it came from, each piece in its own object's frame.

    The later pieces (e.g. placing the nut once the human had re-grasped it) are transformed with their own
    subtask's object pose at the moment they start, as MimicGen does subtask by subtask; the interpolation into
    each piece keeps the gripper command the previous piece ended with. Returns True once the task succeeds.
    """
    gripper: float | None = None  # the first piece interpolates with its own first command
    for piece in (seg, *seg.continuation):
        if replay_segment(adapter, rec, piece, cfg, rng, timer, intervention=True, interp_gripper=gripper,
                          stop_on_success=True):
            return True
        gripper = float(piece.gripper[-1])
    return False


def _recoveries_for(sources: list[InterventionSource], subtask: int) -> list[Segment]:
    segs = [r for s in sources for r in s.recoveries if r.subtask == subtask]
    return segs or [r for s in sources for r in s.recoveries]


def _current_subtask(adapter: Any) -> int:
    signals = adapter.subtask_signals()
    k = 0
    for i, spec in enumerate(adapter.subtasks[:-1]):
        if spec.term_signal and signals.get(spec.term_signal):
            k = i + 1
    return k


def generate_interventional(adapter: Any, policy: Any, sources: list[InterventionSource], seed: int,
                            cfg: GenerationConfig, timer: StepTimer, use_policy: bool = True) -> Attempt:
    """One I-MG attempt (``use_policy=False``: the ablation, mistakes replayed from source mistake segments)."""
    rng = np.random.default_rng(seed)
    adapter.reset(seed)
    if policy is not None and hasattr(policy, "reset"):
        policy.reset()
    rec = EpisodeRecorder(adapter)
    keep_from: int | None = None
    mistakes: list[str] = []
    used: list[list[int]] = []
    outcome = "budget"
    for round_ in range(cfg.max_recoveries + 1):
        if use_policy:
            outcome = _run_policy(adapter, policy, rec, cfg.policy_steps, timer)
        elif round_ == 0:
            mistake_segs = [m for s in sources for m in s.mistakes]
            if not mistake_segs:
                return Attempt(None, False, "no_source_mistakes", {"seed": seed})
            seg = select_segment(mistake_segs, adapter.object_poses()[mistake_segs[0].object_ref], cfg, rng,
                                 adapter.eef_pose())
            used.append([seg.source, seg.span.start, seg.span.stop])
            # the episode's starting gripper command (open for Block Grasp; closed where the object starts in hand)
            start_g = float(getattr(adapter, "last_gripper_command", -1.0))
            replay_segment(adapter, rec, seg, cfg, rng, timer, intervention=False, interp_gripper=start_g)
            outcome = "success" if adapter.is_success() else f"mistake:{adapter.mistake() or 'replayed'}"
        else:
            outcome = "success" if adapter.is_success() else "budget"
        if outcome == "success":
            break
        if round_ == cfg.max_recoveries:
            break
        mistakes.append(outcome)
        if keep_from is None:
            keep_from = len(rec)
        recoveries = _recoveries_for(sources, _current_subtask(adapter))
        seg = select_segment(recoveries, adapter.object_poses()[recoveries[0].object_ref], cfg, rng, adapter.eef_pose())
        used.append([seg.source, seg.span.start, seg.span.stop])
        if _replay_recovery(adapter, rec, seg, cfg, rng, timer):
            outcome = "success"
            break
        last = (seg, *seg.continuation)[-1]
        if settle(adapter, rec, rec.last_target, float(last.gripper[-1]), cfg.settle_steps, timer, intervention=True):
            outcome = "success"
            break
        if not use_policy:
            break
    info = {"seed": seed, "method": "imgen" if use_policy else "imgen_no_policy", "mistakes": mistakes,
            "sources": used, "corruption": getattr(adapter, "corruption_info", lambda: None)(),
            "keep_from": keep_from, "outcome": outcome}
    if outcome != "success":
        return Attempt(None, False, "task_failed" if mistakes else f"no_mistake_{outcome}", info)
    if keep_from is None:
        return Attempt(None, False, "policy_succeeded_without_mistake", info)
    ep = rec.finish(success=True, seed=seed, info=info, with_intervention=True)
    return Attempt(ep.slice(keep_from), True, "ok", info)
