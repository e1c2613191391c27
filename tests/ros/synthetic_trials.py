"""Synthetic lift trials (pure data) for recorder / bag-eval tests: what a run of the real graph would publish.

A trial is a list of ``(t [s], topic, fields)`` samples; ``kind`` is ``success`` (grasp + 10 cm lift),
``miss`` (the gripper closes on nothing, the cube stays) or ``regrasp`` (close, re-open, close again, lift).
Camera frames every 0.1 s at ``tc``; the estimate (stamp ``tc``) arrives at ``tc + 0.03``; actions at 20 Hz at
``0.05 k + 0.04`` — so the camera → action latency is exactly 40 ms. The estimate is offset by 3 mm in x and
rotated by 90° about z (a symmetry of the cube: 0° rotation error).
"""

from __future__ import annotations

import math
from typing import Any

CUBE_Z = 0.025


def lift_trial(kind: str, duration: float = 3.0) -> list[tuple[float, str, dict[str, Any]]]:
    out: list[tuple[float, str, dict[str, Any]]] = []
    n = int(duration / 0.05)
    close_at = {"success": 1.0, "miss": 1.0, "regrasp": 0.6}[kind]
    for k in range(n):
        t = 0.05 * k
        closed = t >= close_at and not (kind == "regrasp" and 1.0 <= t < 1.3)
        closing = (0.6 <= t < 1.0 or t >= 1.3) if kind == "regrasp" else t >= close_at
        grip = 1.0 if closing else -1.0
        holding = closed and kind != "miss" and (kind != "regrasp" or t >= 1.3)
        width = 0.08 if not closed else (0.049 if kind != "miss" else 0.0)
        lift_start = 1.3 if kind == "success" else 1.6
        lift = min(0.10, max(0.0, (t - lift_start) * 0.1)) if holding else 0.0
        cube = (0.5, 0.0, CUBE_Z + lift)
        out.append((t, "/franka/ee_pose", {"pos": (0.5, 0.0, CUBE_Z + 0.01 + lift), "quat": (1.0, 0.0, 0.0, 0.0),
                                            "stamp": t}))
        out.append((t, "/franka/gripper_width", {"width": width, "stamp": t}))
        out.append((t, "/sim/cube_pose_true", {"pos": cube, "quat": (0.0, 0.0, 0.0, 1.0), "stamp": t}))
        out.append((t + 0.04, "/imgen/action", {"stamp": t}))
        out.append((t + 0.04, "/imgen/gripper_command", {"data": grip}))
        if k % 2 == 0:
            s = math.sqrt(0.5)
            out.append((t + 0.03, "/cube_pose", {"pos": (cube[0] + 0.003, cube[1], cube[2]),
                                                 "quat": (0.0, 0.0, s, s), "stamp": t}))
    return sorted(out, key=lambda r: r[0])


def expected(kind: str) -> dict[str, Any]:
    """success, time of success [s] (first sample lifted >= 5 cm with the grasp held), recoveries."""
    return {"success": {"success": True, "t": 1.8, "recoveries": 0},
            "miss": {"success": False, "t": None, "recoveries": 0},
            "regrasp": {"success": True, "t": 2.1, "recoveries": 1}}[kind]


def to_ros(topic: str, f: dict[str, Any], stamp_ns: int, module: Any) -> Any:
    """Fields → a message built from ``module`` (an object with PoseStamped, JointState, ... attributes)."""
    def header(h: Any) -> None:
        h.stamp.sec, h.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
        h.frame_id = "base"

    if topic in ("/franka/ee_pose", "/sim/cube_pose_true", "/cube_pose"):
        m = module.PoseStamped()
        header(m.header)
        m.pose.position.x, m.pose.position.y, m.pose.position.z = f["pos"]
        m.pose.orientation.x, m.pose.orientation.y, m.pose.orientation.z, m.pose.orientation.w = f["quat"]
        return m
    if topic == "/franka/gripper_width":
        m = module.JointState()
        header(m.header)
        m.name, m.position = ["gripper_width"], [f["width"]]
        return m
    if topic == "/imgen/action":
        m = module.TwistStamped()
        header(m.header)
        m.twist.linear.x = 0.1
        return m
    if topic == "/imgen/gripper_command":
        return module.Float64(data=f["data"])
    raise KeyError(topic)
