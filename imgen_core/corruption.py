"""Object-pose corruption models of the paper (§4.4.1, "Sources of Observation Error"), pure numpy.

A :class:`CorruptionModel` is sampled **once per episode** from a seed or ``np.random.Generator``; the
resulting :class:`CorruptionSample` is a small frozen, JSON-able value (stored in datasets) that maps a
true object pose to the pose the robot *believes* (``apply``): a translation offset expressed in the
robot **base** frame (orientation untouched), or, for ``geometry_swap``, a flag the task twin reads.

Models (offsets in metres; "uniform" means uniform over the allowed set, by rejection sampling):

==================  ==============================================================================
``none``            no corruption
``block``           x ~ U(±1 cm); y ~ U(±7 cm) with |y| ≥ 2.5 cm; z = 0            (Block Grasp)
``peg``             x, y, z ~ U(±4 cm), at least one axis with |.| ≥ 2 cm           (Nut Insertion)
``receptacle``      x, y, z ~ U(±4 cm), at least one axis with |.| ≥ 1 cm           (2-Piece Assembly)
``coffee_radial``   horizontal offset, radius ~ U(2, 4) cm, direction ~ U(0, 2π)    (Coffee)
``geometry_swap``   no offset; ``geometry_swap`` ~ Bernoulli(0.5): the nut handle is on the other side
``geometry_2``      no offset; the nut handle is always on the other side (Table 2's "Geometry 2")
==================  ==============================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from imgen_core.errors import ConfigError, check_choice

_MAX_REJECTIONS = 10_000


@dataclass(frozen=True)
class CorruptionSample:
    """One episode's corruption: ``offset`` (3,) [m] in the base frame, and the geometry-swap flag."""

    name: str = "none"
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    geometry_swap: bool = False

    def __post_init__(self) -> None:
        if len(self.offset) != 3 or not all(np.isfinite(self.offset)):
            raise ConfigError(f"corruption offset must be 3 finite numbers, got {self.offset!r}")

    @property
    def offset_array(self) -> np.ndarray:
        """The offset as a ``(3,)`` float64 array [m]."""
        return np.asarray(self.offset, dtype=np.float64)

    def apply(self, base_T_obj: np.ndarray) -> np.ndarray:
        """Observed pose ``(4,4)`` (or ``(...,4,4)``) of an object whose true pose is ``base_T_obj``."""
        out = np.array(base_T_obj, dtype=np.float64, copy=True)
        out[..., :3, 3] += self.offset_array
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (stored in every episode's info)."""
        return {"name": self.name, "offset": [float(v) for v in self.offset], "geometry_swap": bool(self.geometry_swap)}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> CorruptionSample:
        """Inverse of :meth:`to_dict` (``None`` → no corruption)."""
        if d is None:
            return NO_CORRUPTION
        off = tuple(float(v) for v in d.get("offset", (0.0, 0.0, 0.0)))
        if len(off) != 3:
            raise ConfigError(f"corruption offset must have 3 entries, got {off!r}")
        return cls(name=str(d.get("name", "none")), offset=(off[0], off[1], off[2]),
                   geometry_swap=bool(d.get("geometry_swap", False)))


NO_CORRUPTION = CorruptionSample()


def _rng(seed_or_rng: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    return np.random.default_rng(seed_or_rng)


class CorruptionModel(Protocol):
    """A named distribution over :class:`CorruptionSample`."""

    @property
    def name(self) -> str:
        """Registry name."""

    @property
    def description(self) -> str:
        """One line for ``--help``."""

    def sample(self, seed_or_rng: int | np.random.Generator | None) -> CorruptionSample:
        """Draw one episode's corruption."""


@dataclass(frozen=True)
class NoCorruption:
    """Truth: observed poses equal true poses."""

    name: str = "none"
    description: str = "no corruption (observed = true pose)"

    def sample(self, seed_or_rng: int | np.random.Generator | None = None) -> CorruptionSample:
        return CorruptionSample(name=self.name)


@dataclass(frozen=True)
class BoxCorruption:
    """Offset uniform in the box ``±half_range`` with ``|offset[i]| >= min_abs`` for at least one ``i`` in ``axes``.

    Sampled by rejection, so it is uniform over the allowed set.
    """

    name: str
    description: str
    half_range: tuple[float, float, float]
    min_abs: float
    axes: tuple[int, ...]

    def __post_init__(self) -> None:
        half = np.asarray(self.half_range)
        if half.shape != (3,) or np.any(half < 0):
            raise ConfigError(f"{self.name}: half_range must be 3 non-negative numbers, got {self.half_range}")
        if not self.axes or any(a not in (0, 1, 2) for a in self.axes):
            raise ConfigError(f"{self.name}: axes must be a non-empty subset of (0, 1, 2), got {self.axes}")
        if self.min_abs > max(half[list(self.axes)]):
            raise ConfigError(f"{self.name}: min_abs={self.min_abs} exceeds the range of axes {self.axes}")

    def sample(self, seed_or_rng: int | np.random.Generator | None) -> CorruptionSample:
        rng = _rng(seed_or_rng)
        half = np.asarray(self.half_range, dtype=np.float64)
        axes = list(self.axes)
        for _ in range(_MAX_REJECTIONS):
            off = rng.uniform(-half, half)
            if np.max(np.abs(off[axes])) >= self.min_abs:
                return CorruptionSample(name=self.name, offset=(float(off[0]), float(off[1]), float(off[2])))
        raise RuntimeError(f"{self.name}: rejection sampling did not terminate")  # pragma: no cover


@dataclass(frozen=True)
class RadialCorruption:
    """Horizontal offset of radius ``U(r_min, r_max)`` in a uniformly random direction (z = 0)."""

    name: str
    description: str
    r_min: float
    r_max: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.r_min <= self.r_max:
            raise ConfigError(f"{self.name}: need 0 <= r_min <= r_max, got {self.r_min}, {self.r_max}")

    def sample(self, seed_or_rng: int | np.random.Generator | None) -> CorruptionSample:
        rng = _rng(seed_or_rng)
        r = rng.uniform(self.r_min, self.r_max)
        phi = rng.uniform(0.0, 2.0 * np.pi)
        return CorruptionSample(name=self.name, offset=(float(r * np.cos(phi)), float(r * np.sin(phi)), 0.0))


@dataclass(frozen=True)
class GeometrySwap:
    """Object-model misspecification: same observed pose, but the geometry is swapped with probability ``p``."""

    name: str = "geometry_swap"
    description: str = "nut handle on the other side with probability 0.5 (observed pose unchanged)"
    p: float = 0.5

    def sample(self, seed_or_rng: int | np.random.Generator | None) -> CorruptionSample:
        rng = _rng(seed_or_rng)
        return CorruptionSample(name=self.name, geometry_swap=bool(rng.random() < self.p))


registry: dict[str, CorruptionModel] = {
    "none": NoCorruption(),
    "block": BoxCorruption("block", "x ±1 cm, y ±7 cm with |y| >= 2.5 cm (Block Grasp)",
                           half_range=(0.01, 0.07, 0.0), min_abs=0.025, axes=(1,)),
    "peg": BoxCorruption("peg", "±4 cm on each axis, >= 2 cm on at least one (Nut Insertion)",
                         half_range=(0.04, 0.04, 0.04), min_abs=0.02, axes=(0, 1, 2)),
    "receptacle": BoxCorruption("receptacle", "±4 cm on each axis, >= 1 cm on at least one (2-Piece Assembly)",
                                half_range=(0.04, 0.04, 0.04), min_abs=0.01, axes=(0, 1, 2)),
    "coffee_radial": RadialCorruption("coffee_radial", "horizontal radial offset of 2-4 cm (Coffee)",
                                      r_min=0.02, r_max=0.04),
    "geometry_swap": GeometrySwap(),
    "geometry_2": GeometrySwap("geometry_2", "nut handle always on the other side (observed pose unchanged)", p=1.0),
}


def get(name: str) -> CorruptionModel:
    """The corruption model called ``name``; :class:`ConfigError` names the valid choices otherwise."""
    check_choice("corruption", name, tuple(registry))
    return registry[name]


def sample(name: str, seed_or_rng: int | np.random.Generator | None) -> CorruptionSample:
    """Shortcut: ``get(name).sample(seed_or_rng)``."""
    return get(name).sample(seed_or_rng)
