"""policy_server as a real node: acts on fresh observations, holds still on missing / stale / NaN ones."""

from __future__ import annotations

import math
import threading
import time

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseStamped, TwistStamped
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64, String

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def is_zero(m: TwistStamped) -> bool:
    t = m.twist
    return all(v == 0.0 for v in (t.linear.x, t.linear.y, t.linear.z, t.angular.x, t.angular.y, t.angular.z))


class Feeder:
    """Publishes EE pose, gripper width and cube pose at 20 Hz; ``cube`` selects fresh / stale / nan / none."""

    def __init__(self, probe) -> None:
        self.probe = probe
        self.ee = probe.publisher("/franka/ee_pose", PoseStamped)
        self.grip = probe.publisher("/franka/gripper_width", JointState)
        self.cube_pub = probe.publisher("/cube_pose", PoseStamped)
        self.cube = "none"
        self.stamps: list[tuple[int, int]] = []
        self._run = True
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def _loop(self) -> None:
        while self._run:
            now = self.probe.now_stamp()
            ee = PoseStamped()
            ee.header.stamp, ee.header.frame_id = now, "base"
            ee.pose.position.x, ee.pose.position.z, ee.pose.orientation.x = 0.45, 0.3, 1.0
            self.ee.publish(ee)
            g = JointState(name=["gripper_width"], position=[0.08])
            g.header.stamp = now
            self.grip.publish(g)
            self.stamps.append((now.sec, now.nanosec))
            if self.cube != "none":
                c = PoseStamped()
                c.header.stamp = self.probe.now_stamp(-0.6) if self.cube == "stale" else now
                c.header.frame_id = "base"
                c.pose.position.x, c.pose.position.z, c.pose.orientation.w = 0.5, 0.025, 1.0
                if self.cube == "nan":
                    c.pose.position.y = math.nan
                self.cube_pub.publish(c)
            time.sleep(0.05)

    def stop(self) -> None:
        self._run = False
        self._t.join(1.0)


def collect(probe, n: int, moving: bool, settle: float = 0.8,
            timeout: float = 15.0) -> tuple[list[TwistStamped], float]:
    """After ``settle`` seconds (stale_timeout 0.5 s + one tick + transport), every action until ``n`` of them are
    moving (``moving``) or any (not ``moving``), and the start time.

    Counting messages instead of a fixed window keeps a stall of the node or of this process (a loaded machine can
    stall either for a second or two) from leaving the window nearly empty. During such a stall the feeder's
    observations arrive late, and the node then rightly holds still, so a few zero twists may sit among moving ones.
    """
    time.sleep(settle)
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        got = probe.messages("/imgen/action", t0)
        if sum(not is_zero(a) for a in got) >= n if moving else len(got) >= n:
            break
        time.sleep(0.05)
    return probe.messages("/imgen/action", t0), t0


def assert_acting(acts: list[TwistStamped], n: int) -> list[TwistStamped]:
    """At least ``n`` moving actions, and holds (stalls) in the minority; returns the moving ones."""
    moving = [a for a in acts if not is_zero(a)]
    assert len(moving) >= n and len(acts) - len(moving) <= len(moving), [is_zero(a) for a in acts]
    return moving


def diag_message(probe, since: float) -> str:
    m = probe.wait_for("/diagnostics", lambda m: any(s.name.endswith("policy_server") for s in m.status),
                       timeout=5.0, since=since)
    return next(s.message for s in m.status if s.name.endswith("policy_server"))


def diag_messages(probe, since: float) -> list[str]:
    """Every policy_server health message on /diagnostics since ``since``."""
    return [s.message for m in probe.messages("/diagnostics", since) for s in m.status
            if s.name.endswith("policy_server")]


def test_policy_server_acts_and_holds_still(probe, start_node, tiny_checkpoint):
    probe.subscribe("/imgen/action", TwistStamped)
    probe.subscribe("/imgen/gripper_command", Float64)
    probe.subscribe("/diagnostics", DiagnosticArray)
    node = start_node("policy_server", params={"checkpoint": tiny_checkpoint, "diagnostics_period": 0.2,
                                                # a stale cube is 0.6 s old; 0.5 s tolerates a late feeder tick
                                                "stale_timeout": 0.5})
    probe.wait_for("/imgen/action", timeout=60.0)
    feeder = Feeder(probe)
    try:
        # missing cube pose: zero twist at ~20 Hz, no gripper command yet
        acts, t0 = collect(probe, 10, moving=False)
        assert len(acts) >= 10 and all(is_zero(a) for a in acts)
        assert "missing /cube_pose" in diag_message(probe, t0)
        assert not probe.messages("/imgen/gripper_command")

        # fresh observations: the policy acts; stamp = the newest observation used
        feeder.cube = "fresh"
        # the first inference warms torch up (can take a second on a loaded machine): wait until acting starts
        probe.wait_for("/imgen/action", lambda m: not is_zero(m), timeout=30.0, since=time.monotonic())
        acts, t0 = collect(probe, 10, moving=True)
        moving = assert_acting(acts, 10)
        sent = set(feeder.stamps)
        assert all((a.header.stamp.sec, a.header.stamp.nanosec) in sent for a in moving)
        assert all(a.header.frame_id == "base" for a in acts)
        diag_message(probe, time.monotonic())  # one more report after the window
        assert "acting" in diag_messages(probe, t0)
        grip = probe.messages("/imgen/gripper_command", t0)
        assert grip and all(-1.0 <= g.data <= 1.0 for g in grip)

        for mode, expected in (("stale", "stale /cube_pose"), ("nan", "non-finite observation cube_pos"),
                               ("none", "stale /cube_pose")):
            feeder.cube = mode
            acts, t0 = collect(probe, 10, moving=False)
            assert len(acts) >= 10 and all(is_zero(a) for a in acts), mode
            # the reason is reported (a late feeder tick may add an occasional "stale /franka/ee_pose" beside it)
            msgs = diag_messages(probe, t0)
            assert any(expected in m for m in msgs) and "acting" not in msgs, (mode, msgs)
            # holding still keeps the last gripper command (does not drop a grasped cube)
            assert probe.messages("/imgen/gripper_command", t0)

        feeder.cube = "fresh"  # recovers
        assert_acting(collect(probe, 5, moving=True)[0], 5)

        # between a trial's end and the next start the cell is reset: hold still, and no gripper command (the
        # ended trial's last "close" must not reach the reset cell)
        trial = probe.publisher("/imgen/trial", String)
        probe.wait_subscribers("/imgen/trial", timeout=10.0)
        trial.publish(String(data='{"event": "end", "outcome": "success"}'))
        acts, t0 = collect(probe, 10, moving=False)
        assert len(acts) >= 10 and all(is_zero(a) for a in acts)
        assert not probe.messages("/imgen/gripper_command", t0)
        assert any("waiting for the next trial start" in m for m in diag_messages(probe, t0))
        trial.publish(String(data='{"event": "start", "trial": 1}'))
        probe.wait_for("/imgen/action", lambda m: not is_zero(m), timeout=10.0, since=time.monotonic())
        acts, t0 = collect(probe, 5, moving=True, settle=0.0)
        assert_acting(acts, 5)
        assert probe.messages("/imgen/gripper_command", t0)
    finally:
        feeder.stop()
    assert node.stop() == 0, node.output
