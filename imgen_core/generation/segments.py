"""Splitting source trajectories: object-centric subtasks (MimicGen) and robot/human spans (interventions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from imgen_core.errors import DatasetError
from imgen_core.task import SubtaskSpec


@dataclass(frozen=True)
class Span:
    """Half-open row range ``[start, stop)`` of an episode."""

    start: int
    stop: int

    def __len__(self) -> int:
        return self.stop - self.start


def first_rise(signal: np.ndarray) -> int | None:
    """Index of the first 0→1 transition of a ``(T,)`` 0/1 signal (a signal that starts at 1 rises at 0)."""
    s = np.asarray(signal) > 0.5
    if not s.any():
        return None
    if s[0]:
        return 0
    return int(np.argmax(np.diff(s.astype(np.int8)) > 0) + 1)


def subtask_spans(signals: dict[str, np.ndarray], subtasks: Sequence[SubtaskSpec], T: int,
                  offsets: Sequence[int] | None = None) -> list[Span]:
    """Cut ``T`` rows into one span per subtask at the rise of each subtask's termination signal.

    ``offsets[i]`` extra rows are added to subtask ``i``'s end (MimicGen's termination offsets). The last
    subtask ends at ``T``. Raises :class:`DatasetError` when a signal is missing or never rises.
    """
    spans: list[Span] = []
    start = 0
    for i, spec in enumerate(subtasks):
        if spec.term_signal is None or i == len(subtasks) - 1:
            stop = T
        else:
            if spec.term_signal not in signals:
                raise DatasetError(f"subtask signal {spec.term_signal!r} missing; have {sorted(signals)}")
            rise = first_rise(signals[spec.term_signal][start:])
            if rise is None:
                raise DatasetError(f"subtask signal {spec.term_signal!r} never rises after row {start}")
            stop = min(T, start + rise + 1 + (offsets[i] if offsets else 0))
        if stop <= start:
            raise DatasetError(f"subtask {i} ({spec.object_ref}) is empty: rows [{start}, {stop})")
        spans.append(Span(start, stop))
        start = stop
    return spans


def intervention_spans(mask: np.ndarray) -> list[tuple[Span, bool]]:
    """Runs of equal value in a ``(T,)`` bool mask: ``[(span, is_human), ...]`` in order."""
    m = np.asarray(mask, dtype=bool)
    if m.size == 0:
        return []
    edges = np.flatnonzero(np.diff(m.astype(np.int8))) + 1
    bounds = [0, *edges.tolist(), m.size]
    return [(Span(a, b), bool(m[a])) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def human_spans(mask: np.ndarray, min_len: int = 2) -> list[Span]:
    """Human-controlled (recovery) spans of at least ``min_len`` rows."""
    return [s for s, human in intervention_spans(mask) if human and len(s) >= min_len]


def subtask_of_row(spans: Sequence[Span], row: int) -> int:
    """Index of the subtask span containing ``row``."""
    for i, s in enumerate(spans):
        if s.start <= row < s.stop:
            return i
    return len(spans) - 1
