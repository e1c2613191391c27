"""robosuite 1.5 ``OSC_POSE`` action convention as pure numpy (no simulator import).

How robosuite's ``OperationalSpaceController`` (``controllers/parts/arm/osc.py``) reads a delta action with our
controller config (``input_type="delta"``, ``input_ref_frame="base"``, goal update mode ``"achieved"``):

* the arm part ``a[:6]`` is clipped to [-1, 1] **per component**, then scaled by ``output_max``:
  ``dpos = 0.05 * a[:3]`` [m], ``drot = 0.5 * a[3:6]`` [rad, axis-angle];
* both are expressed in the controller's origin frame (site ``robot0_right_center``, which coincides with the
  ``robot0_base`` body for the Panda; the adapter verifies it);
* the goal is set from the **current** pose of robosuite's eef site ``gripper0_right_grip_site``
  (not from the previous goal): ``p_goal = p_site + dpos``, ``R_goal = exp(drot) @ R_site`` (left-multiplied,
  i.e. a rotation about base-frame axes).

Our EE is the TCP (``imgen_core.frames``), rigidly attached to the site: ``base_T_site = base_T_tcp @ tcp_T_site``.
A TCP target therefore maps to a site target ``base_T_tcp_target @ tcp_T_site``; the rotation delta is the same
for both frames, the position delta differs by the lever arm. The OSC only gets ~25 % of the way to the goal in
one 20 Hz step (DESIGN §6); callers that track a target re-issue ``target_to_action`` every step.

``target_to_action`` scales the position and the rotation part uniformly (direction-preserving) when a
component would exceed 1, so for reachable targets ``action_to_target(target_to_action(T)) == T``.
"""

from __future__ import annotations

import numpy as np

from imgen_core import se3

POS_SCALE = 0.05  # [m] output_max of the position part
ROT_SCALE = 0.5  # [rad] output_max of the rotation part


def _limit(v: np.ndarray) -> np.ndarray:
    m = float(np.max(np.abs(v)))
    return v / m if m > 1.0 else v


def target_to_action(base_T_tcp: np.ndarray, base_T_tcp_target: np.ndarray, tcp_T_site: np.ndarray,
                     gripper: float, origin_R_base: np.ndarray | None = None) -> np.ndarray:
    """Normalised 7-D action driving the TCP from ``base_T_tcp`` toward ``base_T_tcp_target`` (both ``(4,4)``).

    Args:
        base_T_tcp: current TCP pose in the base frame.
        base_T_tcp_target: desired TCP pose in the base frame.
        tcp_T_site: the controller's eef site in the TCP frame (constant).
        gripper: gripper command, -1 open, +1 close (passed through, clipped to [-1, 1]).
        origin_R_base: rotation from the base frame to the controller origin frame (identity if None).

    Returns:
        ``(7,)`` action in [-1, 1].
    """
    dpos, drot = se3.delta_pose(base_T_tcp @ tcp_T_site, base_T_tcp_target @ tcp_T_site)
    if origin_R_base is not None:
        dpos, drot = origin_R_base @ dpos, origin_R_base @ drot
    out = np.empty(7)
    out[:3] = _limit(dpos / POS_SCALE)
    out[3:6] = _limit(drot / ROT_SCALE)
    out[6] = float(np.clip(gripper, -1.0, 1.0))
    return out


def action_to_target(base_T_tcp: np.ndarray, action: np.ndarray, tcp_T_site: np.ndarray,
                     origin_R_base: np.ndarray | None = None) -> np.ndarray:
    """TCP target ``(4,4)`` (base frame) the OSC aims at when ``action`` is applied at ``base_T_tcp``."""
    a = np.clip(np.asarray(action, dtype=np.float64)[:6], -1.0, 1.0)
    dpos, drot = a[:3] * POS_SCALE, a[3:6] * ROT_SCALE
    if origin_R_base is not None:
        dpos, drot = origin_R_base.T @ dpos, origin_R_base.T @ drot
    site_target = se3.apply_delta(base_T_tcp @ tcp_T_site, dpos, drot)
    return site_target @ se3.pose_inv(tcp_T_site)
