"""FrankaController against the franky-sim twin over loopback (libfranka protocol, no mocks): watchdog, workspace
clamp, reflex recovery, refused actions, stop/resume, and a scripted grasp-and-lift of the twin's cube."""

import time

import numpy as np
import pytest

from control.safety import ControlEvent
from imgen_core.control_model import WorkspaceLimits
from imgen_core.errors import RobotError, SafetyError
from tests.control.conftest import make_controller, reset_cell, stream, stream_until, tcp_speed

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def controller(twin):
    ctl = make_controller(twin)
    yield ctl
    ctl.close()


@pytest.fixture
def ctl(controller, twin):
    reset_cell(controller, twin)
    controller.set_workspace(WorkspaceLimits())
    controller.start()
    yield controller
    controller.shutdown()


def _events(ctl, kind) -> list[ControlEvent]:
    return [e for e in ctl.events.since(0) if e.kind == kind]


def _sample_until(ctl, wall_s):
    """(robot_time, wall_time, tcp_speed, z) samples every ~4 ms for ``wall_s`` seconds (arm state only: the
    sampler must not load the controller it measures)."""
    out = []
    end = time.monotonic() + wall_s
    while time.monotonic() < end:
        obs = ctl.refresh(gripper=False)
        out.append((obs.robot_time_s, time.monotonic(), tcp_speed(obs.q, obs.dq), obs.tcp_pos[2]))
        time.sleep(0.004)
    return np.array(out)


def _rest_time(samples, threshold=0.01):
    """First sample time (robot clock) after which the TCP speed stays below ``threshold`` [m/s]."""
    moving = np.flatnonzero(samples[:, 2] >= threshold)
    assert moving.size < len(samples), "the arm never came to rest"
    return samples[0, 0] if moving.size == 0 else samples[moving[-1] + 1, 0]


def test_watchdog_stops_the_arm_within_150ms_of_the_last_action(ctl):
    t_last_wall = stream(ctl, lambda k, o: [0.6, 0, 0, 0, 0, 0, -1], 16)
    samples = _sample_until(ctl, 0.8)
    assert samples[:5, 2].max() > 0.05, "the arm should be moving when the actions stop"
    stops = [e for e in _events(ctl, "watchdog_stop") if e.t > t_last_wall]
    assert len(stops) == 1  # (a stalled test thread may also trip it earlier: that is the watchdog's job)
    hold = _events(ctl, "hold")[-1]
    assert hold.data["reason"] == "watchdog"
    # time to stop = watchdog delay (wall clock, ~2 periods) + braking (robot clock; the twin is slower than real
    # time, on hardware both clocks agree)
    fire = stops[-1].t - t_last_wall
    brake = _rest_time(samples) - hold.data["robot_time"]
    assert fire >= 0.1  # not before 2 periods without actions
    # the watchdog commands the stop within 150 ms of the last action; the robot's own jerk-limited stop then
    # brings the TCP to rest (robot clock) — measured 40-55 ms from this speed, bounded here at 80 ms
    assert fire <= 0.150, f"watchdog fired {1e3 * fire:.0f} ms after the last action"
    assert brake <= 0.080, f"braking took {1e3 * brake:.0f} ms after the watchdog's stop"
    assert ctl.mode.value == "holding"
    # the next action resumes motion from the measured pose
    x0 = ctl.refresh().tcp_pos[0]
    assert stream_until(ctl, lambda k, o: [-0.6, 0, 0, 0, 0, 0, -1], lambda o: o.tcp_pos[0] < x0 - 0.01, 1.0)


def test_workspace_violation_is_clamped_and_reported(ctl):
    z_home = ctl.refresh().tcp_pos[2]
    z_min = z_home - 0.05
    ctl.set_workspace(WorkspaceLimits(pos_min=(0.25, -0.4, z_min), pos_max=(0.85, 0.4, 0.45)))
    n_before = len(_events(ctl, "workspace_clamp"))
    zs = []
    # push down for 1.5 s of robot time (the floor is 5 cm below: reached in well under a second)
    stream_until(ctl, lambda k, o: (zs.append(o.tcp_pos[2]), [0, 0, -1.0, 0, 0, 0, -1])[1], None, 1.5)
    zs += list(_sample_until(ctl, 0.4)[:, 3])
    clamps = _events(ctl, "workspace_clamp")[n_before:]
    assert clamps and all("z<min" in e.data["hits"] for e in clamps)
    assert min(zs) >= z_min - 0.003, f"TCP went {1e3 * (z_min - min(zs)):.1f} mm below the workspace floor"
    assert abs(zs[-1] - z_min) < 0.005  # it stopped at the floor, not before


def test_pressed_on_the_workspace_floor_the_arm_still_moves_sideways(ctl):
    """A grasp at the floor: the policy pushes down a little while it drags the cube sideways. The clamp must stop
    only the downward part, not the motion along the free axes (the sim arm slides along its table)."""

    def slide() -> float:
        stream(ctl, lambda k, o: [0, 0, -0.02, 0, 0, 0, -1], 10)
        x0 = ctl.refresh().tcp_pos[0]
        stream(ctl, lambda k, o: [-0.1, 0, -0.02, 0, 0, 0, -1], 30)
        time.sleep(0.2)
        return x0 - ctl.refresh().tcp_pos[0]

    free = slide()  # the reference: the same actions in free space
    z_min = ctl.refresh().tcp_pos[2] - 0.03
    ctl.set_workspace(WorkspaceLimits(pos_min=(0.25, -0.4, z_min), pos_max=(0.85, 0.4, 0.45)))
    stream_until(ctl, lambda k, o: [0, 0, -0.5, 0, 0, 0, -1], lambda o: o.tcp_pos[2] < z_min + 0.003, 3.0)
    n_before = len(_events(ctl, "workspace_clamp"))
    at_floor = slide()
    assert len(_events(ctl, "workspace_clamp")) > n_before  # it was pressed on the floor all along
    assert ctl.refresh().tcp_pos[2] > z_min - 0.003
    assert free > 0.01, f"free motion only {free * 1e3:.1f} mm"
    assert at_floor > 0.7 * free, f"slid {at_floor * 1e3:.1f} mm at the floor, {free * 1e3:.1f} mm in free space"


def test_injected_reflex_is_recovered_and_motion_resumes(ctl, twin):
    n_err, n_rec = len(_events(ctl, "robot_error")), len(_events(ctl, "recovered"))
    stream(ctl, lambda k, o: [0.0, 0.5, 0, 0, 0, 0, -1], 6)
    twin.inject_reflex()  # what a real FR3 does on a collision: motion aborted, robot in Reflex mode
    stream(ctl, lambda k, o: [0.0, 0.5, 0, 0, 0, 0, -1], 6)
    assert len(_events(ctl, "robot_error")) > n_err
    assert len(_events(ctl, "recovered")) > n_rec
    assert "reflex" in _events(ctl, "robot_error")[-1].message.lower()
    assert twin.status()["reflex_count"] >= 1 and not twin.status()["reflex_active"]
    y0 = ctl.refresh().tcp_pos[1]
    assert stream_until(ctl, lambda k, o: [0.0, -0.6, 0, 0, 0, 0, -1], lambda o: o.tcp_pos[1] < y0 - 0.02, 1.5), \
        "motion must resume after the recovery"
    assert ctl.mode.value in ("running", "holding")


def test_nan_action_is_refused_and_the_arm_holds(ctl):
    stream(ctl, lambda k, o: [0.0, 0.0, 0.6, 0, 0, 0, -1], 10)
    with pytest.raises(SafetyError, match="NaN/inf"):
        ctl.submit_action([0.0, 0.0, np.nan, 0, 0, 0, -1])
    samples = _sample_until(ctl, 0.6)
    hold = _events(ctl, "hold")[-1]
    assert _events(ctl, "action_refused") and hold.data["reason"] == "action_refused"
    assert _rest_time(samples) - hold.data["robot_time"] <= 0.150  # braking after the refusal (robot clock)
    with pytest.raises(SafetyError):
        ctl.submit_action([0.0, 0.0, 0.0, np.inf, 0, 0, -1])
    z0 = ctl.refresh().tcp_pos[2]
    assert stream_until(ctl, lambda k, o: [0.0, 0.0, -0.6, 0, 0, 0, -1], lambda o: o.tcp_pos[2] < z0 - 0.01, 1.0)


def test_stop_refuses_actions_until_resume(ctl):
    stream(ctl, lambda k, o: [0.3, 0, 0, 0, 0, 0, -1], 4)
    ctl.stop()
    with pytest.raises(RobotError, match="resume"):
        ctl.submit_action(np.zeros(7))
    samples = _sample_until(ctl, 0.4)
    assert samples[-10:, 2].max() < 0.01
    ctl.resume()
    x0 = ctl.refresh().tcp_pos[0]
    assert stream_until(ctl, lambda k, o: [-0.6, 0, 0, 0, 0, 0, -1], lambda o: o.tcp_pos[0] < x0 - 0.01, 1.0)


def _goto(ctl, target, grip, robot_s, tol=0.003):
    """A P-policy: the action whose OSC goal is the target (as a scripted operator in the sim would send), until
    the TCP is within ``tol`` and at rest, or ``robot_s`` of robot time passed."""
    def act(k, obs):
        return np.r_[np.clip((np.asarray(target) - obs.tcp_pos) / 0.05, -1, 1), 0, 0, 0, grip]

    def arrived(obs):
        return np.linalg.norm(np.asarray(target) - obs.tcp_pos) < tol and tcp_speed(obs.q, obs.dq) < 0.01

    return stream_until(ctl, act, arrived, robot_s)


def test_scripted_actions_grasp_and_lift_the_cube(ctl, twin):
    cube0 = twin.cube_pose()
    c = cube0[:3, 3]
    _goto(ctl, c + [0, 0, 0.10], -1.0, 3.0)
    _goto(ctl, c + [0, 0, 0.0], -1.0, 3.0)
    tcp = ctl.refresh().tcp_pos
    assert np.linalg.norm(tcp[:2] - c[:2]) < 0.006 and abs(tcp[2] - c[2]) < 0.006
    # close (grasp(0, ...) squeezes the cube) for 1.2 s of robot time
    stream_until(ctl, lambda k, o: [0, 0, 0, 0, 0, 0, 1.0], None, 1.2)
    width = ctl.refresh().gripper_width
    assert 0.045 < width < 0.056, f"fingers at {width:.4f} m: not on a 5 cm cube"
    _goto(ctl, c + [0, 0, 0.12], 1.0, 3.0)
    cube1 = twin.cube_pose()
    assert cube1[2, 3] - cube0[2, 3] > 0.08, f"cube lifted only {1e3 * (cube1[2, 3] - cube0[2, 3]):.0f} mm"
    assert np.linalg.norm(cube1[:3, 3] - ctl.refresh().tcp_pos) < 0.015  # held between the fingertips
    assert any(e.data.get("command") == "close" for e in _events(ctl, "gripper"))


def test_robot_io_leaves_the_callers_scheduling_policy_alone(ctl):
    """libfranka raises the thread that connects or runs a synchronous motion to SCHED_FIFO 99; every process
    started afterwards would inherit it (and starve the machine). The controller puts its callers back."""
    import os
    import subprocess
    import sys

    from imgen_core.control_model import PANDA_HOME_Q

    ctl.shutdown()
    ctl.move_to_joints(PANDA_HOME_Q)  # a synchronous motion: libfranka's control loop runs in this thread
    ctl.start()
    stream(ctl, lambda k, o: [0.3, 0, 0, 0, 0, 0, -1], 10)
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
    for th in (ctl._thread, ctl._exec_thread):
        assert th is not None and os.sched_getscheduler(th.native_id) == os.SCHED_OTHER, th.name
    child = subprocess.run([sys.executable, "-c", "import os; print(os.sched_getscheduler(0))"],
                           capture_output=True, text=True, check=True)
    assert int(child.stdout) == os.SCHED_OTHER


def test_one_step_gripper_flicker_does_not_abort_a_grasp(ctl):
    """Policies flicker the gripper for single steps; the sim's fingers barely notice, a franky grasp would be
    stopped and re-sent. A change is sent once two consecutive actions ask for it."""
    n0 = len(_events(ctl, "gripper"))
    grip = [1, 1, -1, 1, 1, -1, 1, 1, 1, -1, 1, 1]  # closing, with one-step opens
    stream(ctl, lambda k, o: [0, 0, 0, 0, 0, 0, grip[k]], len(grip))
    time.sleep(0.3)
    sent = [e.data["command"] for e in _events(ctl, "gripper")[n0:]]
    assert sent == ["close"], sent
    stream(ctl, lambda k, o: [0, 0, 0, 0, 0, 0, -1], 3)  # a real change (sent once the running grasp let go)
    end = time.monotonic() + 10.0
    while time.monotonic() < end and len(_events(ctl, "gripper")) - n0 < 2:
        ctl.submit_action([0, 0, 0, 0, 0, 0, -1])
        time.sleep(0.05)
    sent = [e.data["command"] for e in _events(ctl, "gripper")[n0:]]
    assert sent == ["close", "open"], sent


def test_opening_between_trials_never_overlaps_a_running_gripper_command(ctl):
    """A blocking open (between trials) issued while the worker's grasp runs must wait for it: on franky-sim an
    overlapped command leaves the first one's future pending for good, and no later grasp was ever sent (the
    rehearsal's 'cube not lifted' with the gripper command at +1 and the fingers open)."""
    n_done, n_sent = len(_events(ctl, "gripper_done")), len(_events(ctl, "gripper"))
    stream(ctl, lambda k, o: [0, 0, 0, 0, 0, 0, 1.0], 3)  # the worker starts a grasp (closing on nothing: ~1 s)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.0 and not any(e.data.get("command") == "close"
                                                  for e in _events(ctl, "gripper")[n_sent:]):
        time.sleep(0.01)
    assert any(e.data.get("command") == "close" for e in _events(ctl, "gripper")[n_sent:]), "no grasp was sent"
    ctl.open_gripper()  # at once, while that grasp runs
    assert len(_events(ctl, "gripper_done")) > n_done, "open_gripper ran beside the running grasp"
    assert ctl.refresh().gripper_width > 0.07
    # the next close is still executed: the worker is not stuck
    stream(ctl, lambda k, o: [0, 0, 0, 0, 0, 0, 1.0], 3)
    end = time.monotonic() + 8.0
    while time.monotonic() < end and ctl.refresh().gripper_width > 0.03:
        ctl.submit_action([0, 0, 0, 0, 0, 0, 1.0])
        time.sleep(0.05)
    assert ctl.refresh().gripper_width < 0.03, [e.message for e in ctl.events.since(0)][-8:]
    assert not _events(ctl, "gripper_error")
