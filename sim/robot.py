"""The Panda inside a robosuite env, seen through the project's frames (DESIGN §6, ``imgen_core.frames``).

* **base** = body ``robot0_base`` (== ``robot0_link0``). It is fixed, so ``base_T_world`` is computed once per
  MuJoCo model (for the default table: the base sits at world (-0.56, 0, 0.912), identity orientation).
* **flange** = ``robot0_link7`` translated 0.107 m along its z axis (Franka ``link8``).
* **tcp** = ``flange @ FLANGE_T_TCP`` (0.1034 m further, -45° yaw): between the fingertips, z pointing out of the
  hand, fingers closing along y. Verified against the finger geoms in ``tests/sim/test_frames.py``.
* the OSC acts on robosuite's site ``gripper0_right_grip_site`` relative to the origin site ``robot0_right_center``;
  both constant offsets are measured here from the model.
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from imgen_core import frames, se3

LINK7_T_FLANGE = se3.make_pose(np.array([0.0, 0.0, 0.107]), np.eye(3))  # Franka DH: link8 = link7 + 0.107 z
LINK7_T_TCP = LINK7_T_FLANGE @ frames.FLANGE_T_TCP
EEF_SITE = "gripper0_right_grip_site"
ORIGIN_SITE = "robot0_right_center"
BASE_BODY = "robot0_base"
LINK7_BODY = "robot0_link7"


def _pose(xpos: np.ndarray, xmat: np.ndarray) -> np.ndarray:
    return se3.make_pose(xpos, np.asarray(xmat).reshape(3, 3))


class PandaTwin:
    """Cached MuJoCo ids and constant transforms of the Panda; fast pose reads in the base frame.

    Re-``bind()`` whenever the env creates a new ``MjSim`` (robosuite hard resets).
    """

    def __init__(self, env: Any) -> None:
        self.env = env
        self.bind()

    def bind(self) -> None:
        """(Re)read ids and the constant transforms from the env's current model."""
        self.sim = self.env.sim
        self.model: mujoco.MjModel = self.sim.model._model
        self.data: mujoco.MjData = self.sim.data._data
        m, d = self.model, self.data
        self.base_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, BASE_BODY)
        self.link7_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, LINK7_BODY)
        self.site_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, EEF_SITE)
        self.origin_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, ORIGIN_SITE)
        mujoco.mj_kinematics(m, d)
        self.world_T_base = _pose(d.xpos[self.base_id], d.xmat[self.base_id])
        self.base_T_world = se3.pose_inv(self.world_T_base)
        world_T_link7 = _pose(d.xpos[self.link7_id], d.xmat[self.link7_id])
        world_T_site = _pose(d.site_xpos[self.site_id], d.site_xmat[self.site_id])
        self.tcp_T_site = se3.pose_inv(world_T_link7 @ LINK7_T_TCP) @ world_T_site
        world_R_origin = d.site_xmat[self.origin_id].reshape(3, 3)
        self.origin_R_base = world_R_origin.T @ self.world_T_base[:3, :3]
        self.base_T_origin = self.base_T_world @ _pose(d.site_xpos[self.origin_id], world_R_origin)
        self.finger_qpos = np.asarray(self.env.finger_qpos_addr)
        self.finger_qvel = self._finger_dofs()

    def _finger_dofs(self) -> np.ndarray:
        m = self.model
        joints = [int(np.flatnonzero(m.jnt_qposadr == a)[0]) for a in self.finger_qpos]
        return np.array([m.jnt_dofadr[j] for j in joints])

    def base_T_body(self, body_id: int) -> np.ndarray:
        """Pose ``(4,4)`` of a body in the base frame (from the current kinematics)."""
        d = self.data
        return self.base_T_world @ _pose(d.xpos[body_id], d.xmat[body_id])

    def base_T_tcp(self) -> np.ndarray:
        """TCP pose ``(4,4)`` in the base frame."""
        return self.base_T_body(self.link7_id) @ LINK7_T_TCP

    def base_T_site(self) -> np.ndarray:
        """robosuite eef site pose ``(4,4)`` in the base frame."""
        d = self.data
        return self.base_T_world @ _pose(d.site_xpos[self.site_id], d.site_xmat[self.site_id])

    def gripper_width(self) -> float:
        """Finger-to-finger distance [m] (sum of the two finger joint openings; 0.08 fully open)."""
        q = self.data.qpos[self.finger_qpos]
        return float(q[0] - q[1])

    def gripper_width_rate(self) -> float:
        """d(width)/dt [m/s] (> 0 opening)."""
        v = self.data.qvel[self.finger_qvel]
        return float(v[0] - v[1])
