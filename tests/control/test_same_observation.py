"""Same observation in both worlds (DESIGN §6): for the same joint configuration the robosuite Panda and the FR3 in
franky-sim report the same TCP pose in the base frame, and for the same finger opening the same gripper width."""

import mujoco
import numpy as np
import pytest

from control import sim_reference as ref
from control.osc_emulator import ref_tcp_T_site
from imgen_core import se3
from imgen_core.control_model import PANDA_HOME_Q, fr3_base_T_tcp

pytestmark = pytest.mark.sim

# home, and configurations spread over the Block Grasp workspace (FR3 joint limits respected)
CONFIGS = [PANDA_HOME_Q,
           (0.35, 0.45, -0.2, -2.2, 0.15, 2.65, 1.1),
           (-0.4, 0.05, 0.3, -2.75, -0.2, 2.9, 0.2),
           (0.1, 0.6, 0.05, -1.9, 0.05, 2.5, 0.9)]


@pytest.fixture(scope="module")
def env():
    e = ref.make_reference_env()
    yield e
    e.close()


@pytest.fixture(scope="module")
def fsim():
    """franky-sim twin in this process (MuJoCo access for the finger geometry) and a controller on it."""
    from control.franka_controller import FrankaController
    from control.twin import FrankySimTwin, twin_controller_config

    with FrankySimTwin() as twin:
        ctl = FrankaController(twin_controller_config(twin.hostname, response_model="ideal"))
        ctl.connect()
        yield twin, ctl
        ctl.close()


def _angle_deg(a, b):
    return float(np.rad2deg(se3.rotation_angle(a[:3, :3].T @ b[:3, :3])))


def test_robosuite_tcp_is_the_fr3_kinematics_tcp(env):
    rng = np.random.default_rng(0)
    for _ in range(20):
        q = np.array(PANDA_HOME_Q) + rng.uniform(-0.5, 0.5, 7)
        ref.set_robosuite_configuration(env, q)
        np.testing.assert_allclose(ref.robosuite_base_T_tcp(env), fr3_base_T_tcp(q), atol=1e-9)
        np.testing.assert_allclose(ref.robosuite_tcp_T_site(env), ref_tcp_T_site(), atol=6e-4)  # 0.03 deg mount
    np.testing.assert_allclose(ref.robosuite_world_T_base(env)[:3, 3], [-0.56, 0.0, 0.912], atol=1e-9)


def test_same_joint_configuration_gives_the_same_tcp_in_both_worlds(env, fsim):
    twin, ctl = fsim
    for q in CONFIGS:
        ctl.move_to_joints(q, relative_dynamics_factor=0.5)
        ctl.wait_robot_until(ctl.robot_time() + 0.3)
        obs = ctl.refresh()  # the controller's observation (measured joint positions, TCP in base)
        robot_o_t_ee = np.array(ctl.robot.state.O_T_EE.matrix)  # what libfranka reports (franky-sim's kinematics)
        ref.set_robosuite_configuration(env, obs.q)  # the Panda in the very same configuration
        rs = ref.robosuite_base_T_tcp(env)
        for name, pose in (("controller", obs.base_T_tcp), ("O_T_EE", robot_o_t_ee)):
            err_mm = 1e3 * np.linalg.norm(pose[:3, 3] - rs[:3, 3])
            assert err_mm <= 1.0, f"{name}: {err_mm:.3f} mm from robosuite at q={np.round(obs.q, 3)}"
            assert _angle_deg(pose, rs) <= 0.5, f"{name}: {_angle_deg(pose, rs):.3f} deg"
        np.testing.assert_allclose(obs.q, q, atol=0.01)  # and it is the configuration asked for


def _pad_gap(model, data, body_ids, base_T_tcp, world_T_base):
    """Gap [m] between the inner faces of the finger pads, along the TCP y axis (the closing direction)."""
    tcp_T_world = se3.pose_inv(world_T_base @ base_T_tcp)
    faces = []
    for bodies in body_ids:
        ys = []
        for g in range(model.ngeom):
            if model.geom_bodyid[g] in bodies and model.geom_type[g] == mujoco.mjtGeom.mjGEOM_BOX \
                    and model.geom_contype[g] and model.geom_size[g][0] > 0.006:  # the pad boxes
                t = tcp_T_world @ se3.make_pose(data.geom_xpos[g], data.geom_xmat[g].reshape(3, 3))
                s = model.geom_size[g]
                corners = np.array([[x, y, z] for x in (-s[0], s[0]) for y in (-s[1], s[1]) for z in (-s[2], s[2])])
                ys.append((t[:3, :3] @ corners.T).T[:, 1] + t[1, 3])
        ys = np.concatenate(ys)
        faces.append(ys.min() if ys.mean() > 0 else ys.max())
    return float(faces[0] - faces[1])


def test_same_finger_opening_gives_the_same_gripper_width(env, fsim):
    twin, ctl = fsim
    ctl.move_to_joints(PANDA_HOME_Q, relative_dynamics_factor=0.5)
    m, d = twin.sim.model, twin.sim.data
    fs_fingers = [{mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "robot0_left_finger")},
                  {mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "robot0_right_finger")}]
    rm, rd = env.sim.model._model, env.sim.data._data
    pads = [mujoco.mj_name2id(rm, mujoco.mjtObj.mjOBJ_GEOM, f"gripper0_right_finger{i}_pad_collision") for i in (1, 2)]
    rs_fingers = [{rm.geom_bodyid[g]} for g in pads]
    for width in (0.07, 0.055, 0.04, 0.025):  # within both grippers' ranges (robosuite: at most 79 mm apart)
        ctl.gripper.move(width, 0.1)
        ctl.wait_robot_until(ctl.robot_time() + 0.2)
        obs = ctl.refresh()
        gap = _pad_gap(m, d, fs_fingers, fr3_base_T_tcp(twin.joint_positions()), np.eye(4))
        # robosuite with its fingers opened to the same physical gap
        lo, hi = 0.0, 0.08
        for _ in range(40):  # bisection on robosuite's finger joint width
            mid = (lo + hi) / 2
            ref.set_robosuite_configuration(env, obs.q, gripper_width=mid)
            g_rs = _pad_gap(rm, rd, rs_fingers, ref.robosuite_base_T_tcp(env), ref.robosuite_world_T_base(env))
            lo, hi = (mid, hi) if g_rs < gap else (lo, mid)
        assert abs(obs.gripper_width - ref.robosuite_gripper_width(env)) <= 1e-3, (
            f"pad gap {gap * 1e3:.1f} mm: controller reports {obs.gripper_width * 1e3:.2f} mm, robosuite "
            f"{ref.robosuite_gripper_width(env) * 1e3:.2f} mm")
