"""SE(3) helpers on batched homogeneous matrices.

Conventions (fixed here, used everywhere):
  * A pose is a ``(..., 4, 4)`` float64 homogeneous matrix. ``A_T_B`` maps points in frame B to frame A
    (the pose of frame B expressed in frame A).
  * Quaternions at every public boundary are **xyzw** (scalar last). MuJoCo's wxyz is converted only in
    the simulator adapters via :func:`quat_wxyz_to_xyzw` / :func:`quat_xyzw_to_wxyz`.
  * Axis-angle vectors are ``(..., 3)``: unit axis times angle in radians.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.transform import Rotation, Slerp

F64 = NDArray[np.float64]
QUAT_ORDER = "xyzw"


def _arr(x: ArrayLike) -> F64:
    return np.asarray(x, dtype=np.float64)


def make_pose(pos: ArrayLike, rot: ArrayLike) -> F64:
    """Build poses from positions ``(...,3)`` [m] and rotation matrices ``(...,3,3)``; returns ``(...,4,4)``."""
    pos, rot = _arr(pos), _arr(rot)
    out = np.zeros(pos.shape[:-1] + (4, 4))
    out[..., :3, :3] = rot
    out[..., :3, 3] = pos
    out[..., 3, 3] = 1.0
    return out


def unmake_pose(pose: ArrayLike) -> tuple[F64, F64]:
    """Split ``(...,4,4)`` poses into positions ``(...,3)`` and rotations ``(...,3,3)``."""
    pose = _arr(pose)
    return pose[..., :3, 3].copy(), pose[..., :3, :3].copy()


def identity(n: int | None = None) -> F64:
    """One identity pose ``(4,4)`` or a batch ``(n,4,4)``."""
    return np.eye(4) if n is None else np.tile(np.eye(4), (n, 1, 1))


def pose_inv(pose: ArrayLike) -> F64:
    """Inverse of rigid transforms ``(...,4,4)`` (uses R^T, exact for proper rotations)."""
    pose = _arr(pose)
    rot_t = np.swapaxes(pose[..., :3, :3], -1, -2)
    out = np.zeros_like(pose)
    out[..., :3, :3] = rot_t
    out[..., :3, 3] = -np.einsum("...ij,...j->...i", rot_t, pose[..., :3, 3])
    out[..., 3, 3] = 1.0
    return out


def compose(*poses: ArrayLike) -> F64:
    """Chain transforms left to right: ``compose(A_T_B, B_T_C) == A_T_C`` (broadcasts over batches)."""
    out = _arr(poses[0])
    for p in poses[1:]:
        out = out @ _arr(p)
    return out


def pose_in_A_to_pose_in_B(pose_in_A: ArrayLike, B_T_A: ArrayLike) -> F64:
    """Re-express a pose given in frame A in frame B, with ``B_T_A`` the pose of frame A in frame B."""
    return _arr(B_T_A) @ _arr(pose_in_A)


def relative_pose(world_T_a: ArrayLike, world_T_b: ArrayLike) -> F64:
    """``a_T_b = inv(world_T_a) @ world_T_b``: pose of b expressed in frame a."""
    return pose_inv(world_T_a) @ _arr(world_T_b)


def quat_xyzw_to_mat(quat: ArrayLike) -> F64:
    """Unit quaternions ``(...,4)`` xyzw → rotation matrices ``(...,3,3)`` (normalises its input)."""
    q = _arr(quat)
    flat = q.reshape(-1, 4)
    return Rotation.from_quat(flat).as_matrix().reshape(q.shape[:-1] + (3, 3))


def mat_to_quat_xyzw(rot: ArrayLike) -> F64:
    """Rotation matrices ``(...,3,3)`` → unit quaternions ``(...,4)`` xyzw with w >= 0 (canonical sign)."""
    r = _arr(rot)
    q = Rotation.from_matrix(r.reshape(-1, 3, 3)).as_quat()
    q = np.where(q[:, 3:4] < 0, -q, q)
    return q.reshape(r.shape[:-2] + (4,))


def quat_hemisphere(quat: ArrayLike, ref: ArrayLike) -> F64:
    """Flip quaternions ``(...,4)`` so that ``dot(q, ref) >= 0`` (same order for both).

    The canonical ``w >= 0`` sign of :func:`mat_to_quat_xyzw` jumps when the rotation angle crosses pi, which
    is exactly the top-down grasp orientation (180 deg about x); choosing the hemisphere of a reference
    quaternion near the working orientations keeps observations continuous there.
    """
    q, r = _arr(quat), _arr(ref)
    return np.where(np.sum(q * r, axis=-1, keepdims=True) < 0, -q, q)


def quat_wxyz_to_xyzw(q: ArrayLike) -> F64:
    """Reorder MuJoCo-style wxyz quaternions to xyzw."""
    q = _arr(q)
    return np.concatenate([q[..., 1:], q[..., :1]], axis=-1)


def quat_xyzw_to_wxyz(q: ArrayLike) -> F64:
    """Reorder xyzw quaternions to MuJoCo-style wxyz."""
    q = _arr(q)
    return np.concatenate([q[..., 3:], q[..., :3]], axis=-1)


def pos_quat_to_pose(pos: ArrayLike, quat_xyzw: ArrayLike) -> F64:
    """Positions ``(...,3)`` and xyzw quaternions ``(...,4)`` → poses ``(...,4,4)``."""
    return make_pose(pos, quat_xyzw_to_mat(quat_xyzw))


def pose_to_pos_quat(pose: ArrayLike) -> tuple[F64, F64]:
    """Poses ``(...,4,4)`` → positions ``(...,3)`` and xyzw quaternions ``(...,4)``."""
    pos, rot = unmake_pose(pose)
    return pos, mat_to_quat_xyzw(rot)


def axisangle_to_mat(axis_angle: ArrayLike) -> F64:
    """Axis-angle vectors ``(...,3)`` [rad] → rotation matrices ``(...,3,3)``."""
    a = _arr(axis_angle)
    return Rotation.from_rotvec(a.reshape(-1, 3)).as_matrix().reshape(a.shape[:-1] + (3, 3))


def mat_to_axisangle(rot: ArrayLike) -> F64:
    """Rotation matrices ``(...,3,3)`` → axis-angle vectors ``(...,3)`` with angle in [0, pi]."""
    r = _arr(rot)
    return Rotation.from_matrix(r.reshape(-1, 3, 3)).as_rotvec().reshape(r.shape[:-2] + (3,))


def rotation_angle(rot: ArrayLike) -> F64:
    """Geodesic angle [rad] of rotations ``(...,3,3)``."""
    r = _arr(rot)
    cos = (np.trace(r, axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.arccos(np.clip(cos, -1.0, 1.0))


def delta_pose(world_T_from: ArrayLike, world_T_to: ArrayLike) -> tuple[F64, F64]:
    """World-frame delta between poses, as robosuite's OSC_POSE expects it.

    Returns ``dpos = p_to - p_from`` ``(...,3)`` [m] and ``drot`` ``(...,3)`` axis-angle of
    ``R_to @ R_from^T`` (rotation applied on the left, in the world/base frame).
    """
    p0, r0 = unmake_pose(world_T_from)
    p1, r1 = unmake_pose(world_T_to)
    return p1 - p0, mat_to_axisangle(r1 @ np.swapaxes(r0, -1, -2))


def apply_delta(world_T_from: ArrayLike, dpos: ArrayLike, drot: ArrayLike) -> F64:
    """Inverse of :func:`delta_pose`: ``p + dpos``, ``exp(drot) @ R``."""
    p0, r0 = unmake_pose(world_T_from)
    return make_pose(p0 + _arr(dpos), axisangle_to_mat(drot) @ r0)


def interpolate_poses(pose_a: ArrayLike, pose_b: ArrayLike, num_steps: int) -> F64:
    """Interpolate ``num_steps`` poses from ``pose_a`` to ``pose_b`` inclusive (both ``(4,4)``).

    Position is linear, rotation is slerp (as MimicGen's interpolation segment). ``num_steps >= 2``
    returns ``(num_steps,4,4)`` whose first/last entries equal ``pose_a``/``pose_b``.
    """
    if num_steps < 2:
        raise ValueError(f"num_steps={num_steps} must be >= 2")
    pa, ra = unmake_pose(pose_a)
    pb, rb = unmake_pose(pose_b)
    t = np.linspace(0.0, 1.0, num_steps)
    pos = pa[None] + t[:, None] * (pb - pa)[None]
    slerp = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([ra, rb])))
    rot = slerp(t).as_matrix()
    out = make_pose(pos, rot)
    out[0], out[-1] = _arr(pose_a), _arr(pose_b)
    return out


def transform_source_segment(src_world_T_eef: ArrayLike, src_world_T_obj: ArrayLike,
                             new_world_T_obj: ArrayLike) -> F64:
    """MimicGen's object-centric transform of an EE trajectory.

    Keeps ``obj_T_eef`` fixed: ``new_world_T_eef[t] = new_world_T_obj @ inv(src_world_T_obj) @ src_world_T_eef[t]``.
    ``src_world_T_eef`` is ``(T,4,4)``; the object poses are ``(4,4)`` (at the segment's start).
    """
    new_T_src = _arr(new_world_T_obj) @ pose_inv(src_world_T_obj)
    return new_T_src[None] @ _arr(src_world_T_eef)


def is_pose(pose: ArrayLike, atol: float = 1e-6) -> bool:
    """True when every ``(...,4,4)`` entry is a finite proper rigid transform."""
    p = _arr(pose)
    if p.shape[-2:] != (4, 4) or not np.all(np.isfinite(p)):
        return False
    r = p[..., :3, :3]
    ok_rot = np.allclose(r @ np.swapaxes(r, -1, -2), np.eye(3), atol=atol) and np.allclose(
        np.linalg.det(r), 1.0, atol=atol)
    ok_row = np.allclose(p[..., 3, :], [0, 0, 0, 1], atol=atol)
    return bool(ok_rot and ok_row)
