"""Frames of the twin: base = robot0_base, controller origin = base, TCP between the fingertips (DESIGN §6)."""

import mujoco
import numpy as np
import pytest

from imgen_core import frames, se3
from sim.robot import LINK7_T_TCP

pytestmark = pytest.mark.sim


def _geom_in_tcp(adapter, name):
    m, d = adapter.robot.model, adapter.robot.data
    g = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, name)
    world_T_geom = se3.make_pose(d.geom_xpos[g], d.geom_xmat[g].reshape(3, 3))
    tcp_T_geom = se3.pose_inv(adapter.robot.world_T_base @ adapter.eef_pose()) @ world_T_geom
    if m.geom_type[g] == mujoco.mjtGeom.mjGEOM_MESH:
        mid = m.geom_dataid[g]
        v = m.mesh_vert[m.mesh_vertadr[mid]:m.mesh_vertadr[mid] + m.mesh_vertnum[mid]]
    else:
        s = m.geom_size[g]
        v = np.array([[x, y, z] for x in (-s[0], s[0]) for y in (-s[1], s[1]) for z in (-s[2], s[2])])
    pts = (tcp_T_geom[:3, :3] @ v.T).T + tcp_T_geom[:3, 3]
    return pts.min(axis=0), pts.max(axis=0)


def test_base_frame_is_robot0_base_and_controller_origin(fresh):
    m, d = fresh.robot.model, fresh.robot.data
    b = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "robot0_base")
    np.testing.assert_allclose(fresh.robot.world_T_base[:3, 3], d.xpos[b])
    np.testing.assert_allclose(fresh.robot.world_T_base[:3, 3], [-0.56, 0.0, 0.912], atol=1e-9)
    np.testing.assert_allclose(fresh.robot.world_T_base[:3, :3], np.eye(3), atol=1e-12)
    # robosuite's OSC interprets deltas in site robot0_right_center: it coincides with the base
    np.testing.assert_allclose(fresh.robot.base_T_origin, np.eye(4), atol=1e-12)


def test_tcp_lies_between_the_fingertips(fresh):
    lo_l, hi_l = _geom_in_tcp(fresh, "gripper0_right_finger1_collision")
    lo_r, hi_r = _geom_in_tcp(fresh, "gripper0_right_finger2_collision")
    pad_l = _geom_in_tcp(fresh, "gripper0_right_finger1_pad_collision")
    pad_r = _geom_in_tcp(fresh, "gripper0_right_finger2_pad_collision")
    # fingers on either side along TCP y, symmetric, the TCP on the centre line
    assert lo_l[1] > 0.035 and hi_r[1] < -0.035
    assert abs((lo_l[1] + hi_r[1]) / 2) < 1e-3
    assert lo_l[0] < 0 < hi_l[0] and lo_r[0] < 0 < hi_r[0]
    # along the approach axis (TCP z, out of the hand) the TCP sits within 3 mm of the fingertip ends
    tip = max(hi_l[2], hi_r[2])
    assert 0.0 <= tip < 0.003, tip
    assert max(lo_l[2], lo_r[2]) < -0.04  # the fingers extend back toward the hand
    # pads just above the TCP; their inner faces are the joint width apart (0.08 open) minus 1 mm of pad overlap
    assert pad_l[1][2] < 0 and pad_l[0][2] > -0.02
    assert abs((pad_l[0][1] - pad_r[1][1]) - (fresh.robot.gripper_width() - 0.001)) < 2e-4


def test_tcp_matches_flange_convention_and_points_down(fresh):
    m, d = fresh.robot.model, fresh.robot.data
    l7 = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "robot0_link7")
    base_T_link7 = fresh.robot.base_T_world @ se3.make_pose(d.xpos[l7], d.xmat[l7].reshape(3, 3))
    flange = base_T_link7 @ se3.make_pose([0, 0, 0.107], np.eye(3))
    np.testing.assert_allclose(fresh.eef_pose(), flange @ frames.FLANGE_T_TCP, atol=1e-12)
    np.testing.assert_allclose(LINK7_T_TCP[:3, 3], [0, 0, 0.107 + frames.TCP_OFFSET_Z], atol=1e-12)
    # the home pose is top-down: TCP z points down, the robosuite hand frame agrees with the TCP (< 0.1 deg)
    assert fresh.eef_pose()[2, 2] < -0.95
    h = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "robot0_right_hand")
    hand = fresh.robot.base_T_world @ se3.make_pose(d.xpos[h], d.xmat[h].reshape(3, 3))
    assert se3.rotation_angle(hand[:3, :3].T @ fresh.eef_pose()[:3, :3]) < np.deg2rad(0.1)


def test_tcp_to_site_offset_is_rigid(fresh):
    before = fresh.robot.tcp_T_site.copy()
    tgt = fresh.eef_pose()
    tgt[:3, 3] += [0.05, -0.08, -0.06]
    for _ in range(15):
        fresh.step(fresh.target_pose_to_action(tgt, 1.0))
    now = se3.pose_inv(fresh.eef_pose()) @ fresh.robot.base_T_site()
    np.testing.assert_allclose(now, before, atol=1e-9)
    np.testing.assert_allclose(before[:3, 3], [0, 0, -0.0069], atol=2e-4)  # grip site 7 mm up the hand
