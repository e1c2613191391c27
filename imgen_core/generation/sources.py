"""Source material for generation, extracted once from source files (demos or interventions)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from imgen_core import se3
from imgen_core.dataset import Episode
from imgen_core.errors import DatasetError
from imgen_core.generation.segments import Span, human_spans, intervention_spans, subtask_of_row, subtask_spans
from imgen_core.task import SubtaskSpec


@dataclass(frozen=True)
class Segment:
    """An EE target trajectory attached to one object: what MimicGen transforms and replays.

    ``targets (L,4,4)`` base-frame target poses, ``gripper (L,)`` gripper commands, ``world_T_obj (4,4)``
    the reference object's **true** pose at the segment start, ``subtask`` its subtask index, ``eef_start
    (4,4)`` the EE pose at the segment start (what nearest-neighbour selection compares, in the object frame).
    ``continuation``: for a human recovery that went on into later subtasks, the pieces of that same recovery
    after this one, in order, each attached to its own subtask's object (replayed after this one).
    """

    targets: np.ndarray
    gripper: np.ndarray
    world_T_obj: np.ndarray
    object_ref: str
    subtask: int
    source: int  # index of the source episode
    span: Span
    eef_start: np.ndarray | None = None
    continuation: tuple[Segment, ...] = ()

    @property
    def obj_T_eef(self) -> np.ndarray:
        """EE pose at the segment start in the object's frame (the first target when no EE pose was stored)."""
        eef = self.targets[0] if self.eef_start is None else self.eef_start
        return se3.pose_inv(self.world_T_obj) @ eef

    def transformed(self, new_world_T_obj: np.ndarray) -> np.ndarray:
        """Targets re-expressed for the object's new pose (``obj_T_target`` preserved), ``(L,4,4)``."""
        return se3.transform_source_segment(self.targets, self.world_T_obj, new_world_T_obj)


def _segment(ep: Episode, span: Span, object_ref: str, subtask: int, source: int) -> Segment:
    if object_ref not in ep.object_poses:
        raise DatasetError(f"source {source} has no pose for object {object_ref!r}; has {sorted(ep.object_poses)}")
    return Segment(targets=ep.target_pose[span.start:span.stop], gripper=ep.gripper_action[span.start:span.stop, 0],
                   world_T_obj=ep.object_poses[object_ref][span.start], object_ref=object_ref, subtask=subtask,
                   source=source, span=span, eef_start=ep.eef_pose[span.start])


def demo_segments(episodes: list[Episode], subtasks: tuple[SubtaskSpec, ...]) -> list[list[Segment]]:
    """Per subtask, the list of segments cut from every source demo (MimicGen input)."""
    per_subtask: list[list[Segment]] = [[] for _ in subtasks]
    for i, ep in enumerate(episodes):
        for k, span in enumerate(subtask_spans(ep.subtask_term_signals, subtasks, len(ep))):
            per_subtask[k].append(_segment(ep, span, subtasks[k].object_ref, k, i))
    return per_subtask


@dataclass(frozen=True)
class InterventionSource:
    """One source intervention: its human recovery segments and the robot (mistake) segments before them."""

    recoveries: list[Segment]
    mistakes: list[Segment]


def _recovery_pieces(ep: Episode, span: Span, spans: list[Span], subtasks: tuple[SubtaskSpec, ...],
                     source: int) -> Segment:
    """A human run cut at the subtask boundaries it crosses, as its first piece with the rest as continuation.

    A recovery that goes on from grasping a nut to placing it on a peg must be replayed relative to the nut
    and then relative to the peg (MimicGen's object-centric subtasks); replaying all of it in the nut's
    frame would put the placing part wherever the nut happened to start.
    """
    cuts = [span.start, *[s.stop for s in spans if span.start < s.stop < span.stop], span.stop]
    pieces: list[Segment] = []
    for a, b in reversed(list(zip(cuts[:-1], cuts[1:], strict=True))):
        k = subtask_of_row(spans, a)
        seg = _segment(ep, Span(a, b), subtasks[k].object_ref, k, source)
        pieces.insert(0, replace(seg, continuation=tuple(pieces)))
    return pieces[0]


def intervention_sources(episodes: list[Episode], subtasks: tuple[SubtaskSpec, ...],
                         min_len: int = 2) -> list[InterventionSource]:
    """Cut every intervention into robot (mistake) and human (recovery) segments, each tied to its subtask.

    A human run that crosses subtask boundaries becomes pieces, one per subtask (see ``_recovery_pieces``);
    every piece that is at least ``min_len`` rows long is a candidate recovery for its subtask, with the
    later pieces of its run as its continuation.
    """
    out = []
    for i, ep in enumerate(episodes):
        if ep.intervention is None:
            raise DatasetError(f"source {i} has no intervention mask; I-MG needs interventions, not demos")
        try:
            spans = subtask_spans(ep.subtask_term_signals, subtasks, len(ep))
        except DatasetError:
            spans = [Span(0, len(ep))] * 1
        recs: list[Segment] = []
        mistakes: list[Segment] = []
        runs = intervention_spans(ep.intervention)
        for j, (span, human) in enumerate(runs):
            k = subtask_of_row(spans, span.start)
            if human and len(span) >= min_len:
                first = _recovery_pieces(ep, span, spans, subtasks, i)
                recs.extend(p for p in (first, *first.continuation) if len(p.span) >= min_len)
                if j > 0 and not runs[j - 1][1]:
                    prev = runs[j - 1][0]
                    mistakes.append(_segment(ep, prev, subtasks[k].object_ref, k, i))
        if recs:
            out.append(InterventionSource(recs, mistakes))
    if not out:
        raise DatasetError("no source intervention contains a human recovery segment (mask never True)")
    return out


__all__ = ["InterventionSource", "Segment", "demo_segments", "human_spans", "intervention_sources"]
