"""Human-like target motion: a carrot pose that moves toward a goal at bounded speed with smooth ramps."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from imgen_core import se3

DT = 0.05  # [s] one 20 Hz control step
MAX_ROT_SPEED = 0.6  # [rad/s]


RAMP = 0.25  # fraction of a segment spent accelerating (and as much decelerating)


def smooth_profile(n: int) -> np.ndarray:
    """``n`` samples of a time scaling on (0, 1] (ends at exactly 1): sin^2 speed ramps around a plateau.

    Mean speed / peak speed = 1 - RAMP.
    """
    r = max(1, int(round(RAMP * n)))
    v = np.ones(n)
    ramp = np.sin(0.5 * np.pi * (np.arange(r) + 0.5) / r) ** 2
    v[:r] = np.minimum(v[:r], ramp)
    v[n - r:] = np.minimum(v[n - r:], ramp[::-1])
    s = np.cumsum(v) / np.sum(v)
    s[-1] = 1.0
    return np.clip(s, 0.0, 1.0)


def segment(start: np.ndarray, goal: np.ndarray, speed: float, min_steps: int = 2,
            noise: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """Carrot poses ``(n,4,4)`` from ``start`` (exclusive) to ``goal`` (inclusive), base frame.

    ``speed`` [m/s] bounds the peak translational speed (the mean is ``1 - RAMP`` of it); rotations stay under
    0.6 rad/s. ``noise`` [m] adds a smooth lateral wobble that vanishes at both ends.
    """
    p0, r0 = se3.unmake_pose(start)
    p1, r1 = se3.unmake_pose(goal)
    dist = float(np.linalg.norm(p1 - p0))
    ang = float(se3.rotation_angle(r1 @ r0.T))
    n = max(min_steps, int(np.ceil(max(dist / max((1 - RAMP) * speed, 1e-3), ang / MAX_ROT_SPEED) / DT)))
    s = smooth_profile(n)
    pos = p0[None] + s[:, None] * (p1 - p0)[None]
    if noise > 0 and rng is not None and n > 2:
        wobble = np.cumsum(rng.normal(0.0, noise / np.sqrt(n), size=(n, 3)), axis=0)
        pos = pos + np.sin(np.pi * s)[:, None] * wobble
    rots = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([r0, r1])))(s).as_matrix()
    out = se3.make_pose(pos, rots)
    out[-1] = goal
    return out
