"""``franka_controller`` on the franky-sim twin (no mocks: the node drives franky-sim over the libfranka protocol).

* The node alone: actions move the arm (EE pose on ``/franka/ee_pose``); a NaN action is refused and reported while
  the arm holds; actions that stop arriving trip the watchdog; pushing into the table raises the twin's collision
  reflex, which is recovered and reported on ``/franka/status``, and motion resumes.
* The dress rehearsal graph (``imgen launch real_deploy --twin --sim-poses``): seeded trials on franky-sim, one bag
  per trial, scored by ``imgen bag-eval`` from the bags alone.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import PoseStamped, TwistStamped

from imgen_ros.bag_eval import evaluate_dir
from tests.ros.test_sim_graphs import finish, imgen

pytestmark = [pytest.mark.ros, pytest.mark.slow, pytest.mark.sim]


def _counts(msg: DiagnosticStatus) -> dict[str, str]:
    return {kv.key: kv.value for kv in msg.values}


def _twist(probe, v: list[float]) -> TwistStamped:
    m = TwistStamped()
    m.header.stamp = probe.now_stamp()
    m.header.frame_id = "base"
    (m.twist.linear.x, m.twist.linear.y, m.twist.linear.z) = v[:3]
    (m.twist.angular.x, m.twist.angular.y, m.twist.angular.z) = v[3:6]
    return m


def _stream_until(probe, action, pred, timeout: float) -> bool:
    """Publish ``action`` at 20 Hz until ``pred()`` holds (True) or ``timeout`` wall seconds pass (False)."""
    pub = probe.publisher("/imgen/action", TwistStamped)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        pub.publish(_twist(probe, action))
        time.sleep(0.05)
    return pred()


def _ee_z(probe) -> float:
    return float(probe.messages("/franka/ee_pose")[-1].pose.position.z)


def test_node_moves_refuses_nan_stops_on_silence_and_recovers_a_reflex(probe, start_node):
    for topic, typ in (("/franka/ee_pose", PoseStamped), ("/franka/status", DiagnosticStatus),
                       ("/sim/cube_pose_true", PoseStamped)):
        probe.subscribe(topic, typ)
    # floor below the table: the arm can be driven into it (the twin raises libfranka's cartesian reflex)
    node = start_node("franka_controller", params={
        "backend": "franky_sim", "robot_ip": "127.0.0.1", "response_model": "ideal",
        "workspace": "0.25 -0.4 -0.2 0.85 0.4 0.45", "diagnostics_period": 0.5})
    probe.wait_for("/franka/ee_pose", timeout=120)
    cube = probe.wait_for("/sim/cube_pose_true", timeout=10)
    assert abs(cube.pose.position.z - (-0.087)) < 2e-3  # the twin's cube rests on its table
    probe.wait_subscribers("/imgen/action", timeout=20)

    # 1) actions move the arm: up 3 cm
    z0 = _ee_z(probe)
    assert _stream_until(probe, [0, 0, 0.5, 0, 0, 0], lambda: _ee_z(probe) > z0 + 0.03, 20), node.output[-3000:]

    # 2) silence -> the watchdog stops the arm and says so
    t0 = time.monotonic()
    probe.wait_for("/franka/status", lambda m: int(_counts(m).get("n_watchdog_stop", 0)) >= 1, timeout=10, since=t0)

    # 3) a NaN action in the middle of a motion is refused and reported, and the arm comes to rest
    z0 = _ee_z(probe)
    assert _stream_until(probe, [0, 0, -0.5, 0, 0, 0], lambda: _ee_z(probe) < z0 - 0.01, 20)
    t0 = time.monotonic()
    probe.publisher("/imgen/action", TwistStamped).publish(_twist(probe, [0, 0, math.nan, 0, 0, 0]))
    st = probe.wait_for("/franka/status", lambda m: "NaN" in m.message, timeout=10, since=t0)
    assert st.level == DiagnosticStatus.WARN and int(_counts(st)["refused_actions"]) >= 1
    assert int(_counts(st)["n_action_refused"]) >= 1
    end, rest = time.monotonic() + 10, False
    while time.monotonic() < end and not rest:
        z_a = _ee_z(probe)
        time.sleep(0.3)
        rest = abs(_ee_z(probe) - z_a) < 5e-4
    assert rest, "the arm did not come to rest after the refused action"

    # 4) over clear table (away from the cube), then down into it -> reflex -> recover_from_errors, reported
    clear = np.array([0.40, -0.15])
    t0 = time.monotonic()

    def recovered() -> bool:
        return any(int(_counts(m).get("n_recovered", 0)) >= 1 for m in probe.messages("/franka/status", t0))

    pub = probe.publisher("/imgen/action", TwistStamped)
    end = time.monotonic() + 60
    while time.monotonic() < end and not recovered():
        ee = probe.messages("/franka/ee_pose")[-1].pose.position
        v = np.clip((clear - [ee.x, ee.y]) / 0.05, -1, 1)
        down = -1.0 if np.linalg.norm(clear - [ee.x, ee.y]) < 0.02 else 0.0
        pub.publish(_twist(probe, [float(v[0]), float(v[1]), down, 0, 0, 0]))
        time.sleep(0.05)
    assert recovered(), node.output[-3000:]
    errs = [m for m in probe.messages("/franka/status", t0) if int(_counts(m).get("n_robot_error", 0)) >= 1]
    assert errs, "the reflex was not reported"
    # and motion resumes
    z1 = _ee_z(probe)
    assert z1 > -0.112 - 0.005, "the fingertips went through the table"
    assert _stream_until(probe, [0, 0, 0.8, 0, 0, 0], lambda: _ee_z(probe) > z1 + 0.03, 20), node.output[-3000:]
    assert node.stop() == 0, node.output[-3000:]


def test_rehearsal_on_franky_sim_records_scored_trials(tmp_path):
    bags = tmp_path / "bags"
    p = imgen("launch", "real_deploy", "--twin", "--sim-poses", "--set", "checkpoint=scripted:observed_grasp",
              "--set", "trials=2", "--set", "seed=0", "--set", f"out_dir={bags}")
    code, log = finish(p, 600)
    assert code == 0, log[-4000:]
    report = evaluate_dir(bags)
    assert len(report.trials) == 2, log[-3000:]
    for t in report.trials:
        assert t.meta["world"] == "franky_sim_twin" and t.meta["policy"] == "scripted:observed_grasp"
        assert t.success == (t.recorded_outcome == "success"), (t.bag, t.max_lift)
    # no corruption and a scripted grasp on the true pose: the franky-sim arm picks the cube up
    assert report.successes == 2, [(t.recorded_outcome, t.meta.get("reason")) for t in report.trials]


def test_rehearsal_through_the_camera_and_icp_picks_the_cube(tmp_path):
    """The whole real-deploy graph on the twin: rendered D415 -> capture -> ICP -> policy server -> controller on
    franky-sim, one bag per trial. The scripted grasp acts on the estimated pose only, so a lift shows that the
    camera path delivers poses accurate and fresh enough to act on; the bags hold the error against the truth."""
    bags = tmp_path / "bags"
    p = imgen("launch", "real_deploy", "--twin", "--set", "checkpoint=scripted:observed_grasp",
              "--set", "trials=2", "--set", "seed=0", "--set", f"out_dir={bags}")
    code, log = finish(p, 600)
    assert code == 0, log[-4000:]
    report = evaluate_dir(bags)
    assert len(report.trials) == 2, log[-3000:]
    summary = report.summary()
    assert summary["pose_error_mm_p50"] is not None and summary["pose_error_mm_p50"] < 2.0, summary
    assert summary["latency_samples"] > 50, summary
    assert report.successes >= 1, [(t.recorded_outcome, t.meta.get("reason"), t.max_lift) for t in report.trials]
