"""Frame definitions shared by the sim twin and the real robot (DESIGN §6).

* **base**: the robot base frame (Franka ``link0`` / robosuite ``robot0_base``): x forward, z up.
  Every pose at the policy boundary is in this frame, in both worlds.
* **flange**: Franka ``link8`` (the flange frame of the Franka kinematics, ``O_T_F`` in libfranka).
* **tcp**: the "EE pose" of the whole project: the point between the fingertips of the Franka Hand,
  with the Franka Hand's standard end-effector orientation (libfranka's default ``F_T_EE``: 0.1034 m
  along flange z, rotated -45° about z, so that at the usual top-down home the TCP z axis points down).
  ``base_T_tcp = base_T_flange @ FLANGE_T_TCP``.
"""

from __future__ import annotations

import numpy as np

from imgen_core import se3

TCP_OFFSET_Z = 0.1034  # [m] flange → fingertip centre, Franka Hand (libfranka default F_T_EE)
TCP_YAW = -np.pi / 4  # [rad] about flange z


def _flange_T_tcp() -> np.ndarray:
    c, s = np.cos(TCP_YAW), np.sin(TCP_YAW)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return se3.make_pose(np.array([0.0, 0.0, TCP_OFFSET_Z]), rot)


FLANGE_T_TCP = _flange_T_tcp()

# A top-down grasp orientation in the base frame (TCP z pointing down, fingers closing along base y).
TOP_DOWN_ROT = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])

# Quaternion sign convention at the policy boundary (sim observation, ROS policy server, real robot):
# the EE quaternion takes the hemisphere of the top-down orientation (w >= 0 would flip sign exactly at
# top-down, a rotation of pi), object quaternions take w >= 0 (objects sit near identity rotation).
TOP_DOWN_QUAT_XYZW = se3.mat_to_quat_xyzw(TOP_DOWN_ROT)


def eef_quat_for_policy(quat_xyzw: np.ndarray) -> np.ndarray:
    """EE quaternion ``(4,)`` xyzw in the policy-boundary sign convention (hemisphere of top-down)."""
    return se3.quat_hemisphere(quat_xyzw, TOP_DOWN_QUAT_XYZW)


def object_quat_for_policy(quat_xyzw: np.ndarray) -> np.ndarray:
    """Object quaternion ``(4,)`` xyzw in the policy-boundary sign convention (w >= 0)."""
    q = np.asarray(quat_xyzw, dtype=np.float64)
    return -q if q[3] < 0 else q.copy()
