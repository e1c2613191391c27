"""Fixtures of the controller tests: the franky-sim twin over loopback (a child process), a connected controller.

Actions are streamed at 20 Hz on the wall clock, as a policy sends them. The twin runs slower than real time on a
loaded machine, so durations of the arm's own motion are measured on the *robot* clock (franky-sim's), which on
hardware is the wall clock.
"""

import os
import time

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")


@pytest.fixture(scope="module")
def twin():
    from control.twin import TwinProcess

    with TwinProcess() as t:
        yield t


def make_controller(twin, **overrides):
    from control.franka_controller import FrankaController
    from control.twin import twin_controller_config

    ctl = FrankaController(twin_controller_config(twin.hostname, **overrides))
    ctl.connect()
    return ctl


def reset_cell(ctl, twin):
    """Home the arm, open the gripper, put the cube back, accept actions again."""
    from imgen_core.control_model import PANDA_HOME_Q

    ctl.shutdown()
    if ctl.mode.value in ("stopped", "error"):
        ctl.resume()
    ctl.move_to_joints(PANDA_HOME_Q)
    ctl.open_gripper(0.08)
    twin.set_cube_pose(twin.config.base_T_cube_rest())
    ctl.wait_robot_until(ctl.robot_time() + 0.2)
    ctl.refresh()


def tcp_speed(q, dq):
    """TCP linear speed [m/s] from joint positions and velocities (finite difference of the FR3 kinematics)."""
    from imgen_core.control_model import fr3_base_T_tcp

    h = 1e-4
    return float(np.linalg.norm(fr3_base_T_tcp(np.asarray(q) + h * np.asarray(dq))[:3, 3]
                                - fr3_base_T_tcp(q)[:3, 3]) / h)


def stream(ctl, action_fn, n, period=0.05):
    """Submit ``n`` actions at ``period`` on the wall clock (as a policy does); ``action_fn(k, obs)`` gives action k
    from the controller's latest observation (no robot I/O here, so the stream is not slowed by the controller).

    Returns the wall time (``time.monotonic()``) at which the last action was submitted.
    """
    t0 = time.monotonic()
    t_wall = t0
    for k in range(n):
        time.sleep(max(0.0, t0 + k * period - time.monotonic()))
        a = action_fn(k, ctl.observation())
        t_wall = time.monotonic()
        ctl.submit_action(a)
    return t_wall


def stream_until(ctl, action_fn, until, robot_s, period=0.05, wall_cap_s=60.0):
    """Submit actions at ``period`` (wall clock) until ``until(obs)`` holds or the *robot* clock advanced
    ``robot_s`` seconds (the twin may run slower than real time: budgets are robot time, so the outcome does not
    depend on how loaded the machine is). Returns whether ``until`` was met.
    """
    t0_robot = ctl.observation().robot_time_s
    t0 = time.monotonic()
    k = 0
    while True:
        obs = ctl.observation()
        if until is not None and until(obs):
            return True
        if obs.robot_time_s - t0_robot >= robot_s:
            return False
        if time.monotonic() - t0 > wall_cap_s:
            raise AssertionError(f"the twin advanced only {obs.robot_time_s - t0_robot:.2f} s of robot time in "
                                 f"{wall_cap_s:.0f} s")
        time.sleep(max(0.0, t0 + k * period - time.monotonic()))
        ctl.submit_action(action_fn(k, ctl.observation()))
        k += 1
