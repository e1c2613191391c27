"""Message ↔ core-type conversions (duck-typed readers work on rclpy *and* rosbags messages).

Poses are ``(4,4)`` ``base_T_x`` matrices in the core; ROS quaternions are xyzw, as at the policy boundary.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imgen_core import se3


def pose_msg_to_pos_quat(pose: Any) -> tuple[np.ndarray, np.ndarray]:
    """``geometry_msgs/Pose`` → position ``(3,)`` [m], quaternion xyzw ``(4,)``."""
    p, q = pose.position, pose.orientation
    return np.array([p.x, p.y, p.z], dtype=np.float64), np.array([q.x, q.y, q.z, q.w], dtype=np.float64)


def pose_msg_to_mat(pose: Any) -> np.ndarray:
    """``geometry_msgs/Pose`` → ``(4,4)``."""
    pos, quat = pose_msg_to_pos_quat(pose)
    n = np.linalg.norm(quat)
    return se3.pos_quat_to_pose(pos, quat / n if n > 0 else np.array([0.0, 0.0, 0.0, 1.0]))


def fill_pose(pose: Any, base_T_x: np.ndarray) -> Any:
    """Write a ``(4,4)`` into a ``geometry_msgs/Pose`` (in place); returns it."""
    pos, quat = se3.pose_to_pos_quat(np.asarray(base_T_x, dtype=np.float64))
    pose.position.x, pose.position.y, pose.position.z = (float(v) for v in pos)
    pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w = (float(v) for v in quat)
    return pose


def gripper_width_of(msg: Any, joint: str = "gripper_width") -> float:
    """Finger width [m] from a ``sensor_msgs/JointState`` (the joint named ``joint``, else the only one)."""
    names = list(msg.name)
    pos = list(msg.position)
    if joint in names:
        return float(pos[names.index(joint)])
    if len(pos) == 1:
        return float(pos[0])
    return float("nan")


def stamp_to_ns(stamp: Any) -> int:
    """``builtin_interfaces/Time`` → integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int, stamp: Any) -> Any:
    """Fill a ``builtin_interfaces/Time`` from integer nanoseconds (in place); returns it."""
    stamp.sec, stamp.nanosec = divmod(int(ns), 1_000_000_000)
    return stamp


def parse_extrinsics(text: str) -> np.ndarray:
    """``base_T_camera_color_optical_frame`` ``(4,4)`` from ``'x y z qx qy qz qw'`` or a calibration JSON path."""
    from imgen_core.errors import ConfigError

    parts = text.replace(",", " ").split()
    if len(parts) == 7:
        try:
            vals = np.array([float(p) for p in parts])
        except ValueError:
            vals = None
        if vals is not None:
            q = vals[3:]
            if not np.isclose(np.linalg.norm(q), 1.0, atol=1e-3):
                raise ConfigError(f"extrinsics quaternion {q.tolist()} is not unit length (xyzw expected)")
            return se3.pos_quat_to_pose(vals[:3], q / np.linalg.norm(q))
    from perception.extrinsics import CameraExtrinsics

    return CameraExtrinsics.load(text).base_T_camera


def trial_event_kind(data: str) -> str | None:
    """The ``event`` of an ``/imgen/trial`` payload (JSON text): ``"start"``, ``"end"``, ...; None if malformed."""
    import json

    try:
        event = json.loads(data)
    except json.JSONDecodeError:
        return None
    kind = event.get("event") if isinstance(event, dict) else None
    return kind if isinstance(kind, str) else None


def is_trial_start(data: str) -> bool:
    """Whether an ``/imgen/trial`` payload (JSON text) is a ``start`` event; malformed payloads are not."""
    return trial_event_kind(data) == "start"
