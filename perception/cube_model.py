"""Geometry of the cube: surface model for ICP, exact point-to-surface distances, ray casting, 90° symmetry.

The cube frame sits at the cube's centre with axes along its edges. A cube has 24 rotational symmetries; the
*canonical* pose reported everywhere picks the cube axis closest to base +z as its z axis (pointing up) and, of
the four remaining choices, the x axis whose heading (yaw) lies in [-45°, 45°).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from imgen_core import se3

F64 = NDArray[np.float64]

# The 24 proper rotations that map the cube onto itself (signed permutation matrices with det +1).
CUBE_SYMMETRIES: F64 = np.array([
    m for perm in ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))
    for signs in np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).T.reshape(-1, 3)
    if np.isclose(np.linalg.det(m := np.eye(3)[list(perm)] * signs[:, None]), 1.0)
], dtype=np.float64)


@dataclass(frozen=True)
class CubeModel:
    """A cube of side ``size_m`` [m]; ``spacing_m`` is the grid spacing of the ICP surface samples."""

    size_m: float = 0.05
    spacing_m: float = 0.0025

    @property
    def half(self) -> float:
        return self.size_m / 2

    @property
    def diagonal(self) -> float:
        return float(np.sqrt(3.0) * self.size_m)

    def surface_samples(self) -> tuple[F64, F64]:
        """Points ``(M,3)`` and outward normals ``(M,3)`` on a regular grid on all six faces (cube frame)."""
        h, n = self.half, max(2, int(round(self.size_m / self.spacing_m)))
        g = -h + (np.arange(n) + 0.5) * self.size_m / n
        a, b = (x.ravel() for x in np.meshgrid(g, g))
        pts, nrm = [], []
        for axis in range(3):
            others = [k for k in range(3) if k != axis]
            for sign in (-1.0, 1.0):
                p = np.zeros((a.size, 3))
                p[:, axis] = sign * h
                p[:, others[0]], p[:, others[1]] = a, b
                nn = np.zeros_like(p)
                nn[:, axis] = sign
                pts.append(p)
                nrm.append(nn)
        return np.vstack(pts), np.vstack(nrm)

    def corners(self) -> F64:
        """The 8 corners ``(8,3)`` in the cube frame."""
        h = self.half
        return np.array([[x, y, z] for x in (-h, h) for y in (-h, h) for z in (-h, h)])

    def edges(self) -> list[tuple[int, int]]:
        """Index pairs into :meth:`corners` of the 12 edges."""
        c = self.corners()
        return [(i, j) for i in range(8) for j in range(i + 1, 8)
                if np.isclose(np.abs(c[i] - c[j]).sum(), self.size_m)]

    def surface_distance(self, points_cube: F64) -> tuple[F64, F64]:
        """Exact unsigned distance ``(N,)`` of cube-frame points to the cube surface, and each point's face normal
        ``(N,3)`` (the normal of the nearest face: the axis of largest ``|p|/h``)."""
        p = np.asarray(points_cube, dtype=np.float64)
        h = self.half
        q = np.abs(p) - h
        outside = np.linalg.norm(np.maximum(q, 0.0), axis=1)
        inside = np.minimum(q.max(axis=1), 0.0)
        dist = np.abs(outside + inside)
        axis = np.argmax(q, axis=1)
        normals = np.zeros_like(p)
        normals[np.arange(len(p)), axis] = np.sign(p[np.arange(len(p)), axis])
        return dist, normals

    def ray_cast(self, cube_T_cam: F64, rays_cam: F64) -> F64:
        """Planar depth (z in the camera frame) where camera rays ``(N,3)`` with z = 1 first hit the cube, or
        ``inf`` where they miss. ``cube_T_cam`` is the camera pose in the cube frame."""
        o = cube_T_cam[:3, 3]
        d = rays_cam @ cube_T_cam[:3, :3].T
        h = self.half
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / d
            t1 = (-h - o) * inv
            t2 = (h - o) * inv
        tmin = np.nanmax(np.minimum(t1, t2), axis=1)
        tmax = np.nanmin(np.maximum(t1, t2), axis=1)
        hit = (tmax >= tmin) & (tmin > 0)
        return np.where(hit, tmin, np.inf)


def twist_yaw(base_R_cube: F64) -> F64:
    """Yaw [rad] of rotations ``(...,3,3)`` about base z once the tilt is removed (swing-twist decomposition:
    ``R = R_tilt @ Rz(yaw)`` with ``R_tilt`` the smallest rotation taking base z to the cube's z axis)."""
    r = np.asarray(base_R_cube, dtype=np.float64)
    z = r[..., :, 2]
    # R_tilt^T applied to the cube's x axis, via Rodrigues with axis e_z x z and cos = z_z
    c = z[..., 2]
    ax = np.stack([-z[..., 1], z[..., 0], np.zeros_like(c)], axis=-1)  # e_z x z, |ax| = sin
    x = r[..., :, 0]
    k = 1.0 / (1.0 + c)[..., None]  # Rodrigues for R_tilt^T (rotation by -angle about ax/|ax|)
    xt = x * c[..., None] - np.cross(ax, x) + ax * (np.sum(ax * x, axis=-1, keepdims=True) * k)
    return np.arctan2(xt[..., 1], xt[..., 0])


def canonicalize_rotation(base_R_cube: F64) -> F64:
    """The symmetric equivalent of ``base_R_cube`` ``(3,3)`` with z closest to base +z and yaw in [-45°, 45°)
    (yaw measured about base z after removing the tilt, see :func:`twist_yaw`)."""
    r = np.asarray(base_R_cube, dtype=np.float64)
    cands = r[None] @ CUBE_SYMMETRIES  # (24,3,3): same cube, relabelled axes
    up = cands[:, 2, 2]
    best = cands[up >= up.max() - 1e-9]
    yaw = twist_yaw(best)
    ok = (yaw >= -np.pi / 4 - 1e-12) & (yaw < np.pi / 4 - 1e-12)
    return best[int(np.argmax(ok))] if ok.any() else best[int(np.argmin(np.abs(yaw)))]


def canonicalize_pose(base_T_cube: F64) -> F64:
    """:func:`canonicalize_rotation` applied to a ``(4,4)`` pose (position unchanged)."""
    out = np.array(base_T_cube, dtype=np.float64, copy=True)
    out[:3, :3] = canonicalize_rotation(out[:3, :3])
    return out


def cube_yaw(base_R_cube: F64) -> float:
    """Yaw [rad] of the canonical pose, in [-pi/4, pi/4) (accepts a ``(3,3)`` rotation or a ``(4,4)`` pose)."""
    return float(twist_yaw(canonicalize_rotation(np.asarray(base_R_cube)[:3, :3])))


def symmetric_rotation_error(base_R_a: F64, base_R_b: F64) -> float:
    """Smallest rotation angle [rad] between two cube orientations over the 24 symmetries."""
    rel = np.asarray(base_R_a).T @ np.asarray(base_R_b) @ CUBE_SYMMETRIES
    return float(se3.rotation_angle(rel).min())


def symmetric_yaw_error(base_R_a: F64, base_R_b: F64) -> float:
    """Difference [rad] of the two cubes' yaws, folded by the 90° symmetry into [0, pi/4]."""
    d = cube_yaw(base_R_a) - cube_yaw(base_R_b)
    return float(abs((d + np.pi / 4) % (np.pi / 2) - np.pi / 4))
