"""Helpers for constructing simulator states in tests."""

import mujoco
import numpy as np


def constructed_state(adapter, *, fingers=None, cube_base=None, time=1.0):
    """Current state with edited finger joints / cube pose (base frame (4,4)), for ``reset_to``."""
    s = adapter.get_state().copy()
    qpos = s[1:1 + adapter.robot.model.nq]
    if fingers is not None:
        qpos[adapter.robot.finger_qpos] = fingers
    if cube_base is not None:
        world = adapter.robot.world_T_base @ cube_base
        q = np.empty(4)
        mujoco.mju_mat2Quat(q, np.ascontiguousarray(world[:3, :3]).reshape(9))
        a = int(adapter.env.cube_joint_qpos_addr)
        qpos[a:a + 7] = np.concatenate([world[:3, 3], q])
    s[1 + adapter.robot.model.nq:] = 0.0
    s[0] = time
    return s
