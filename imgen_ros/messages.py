"""Builders of the ROS messages of DESIGN §5 from core types (poses ``(4,4)`` in ``base``, stamps in ns)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from geometry_msgs.msg import Point, PoseStamped
from sensor_msgs.msg import JointState
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker

from imgen_ros import schemas as S
from imgen_ros.convert import fill_pose, ns_to_stamp


def pose_stamped(base_T_x: np.ndarray, stamp_ns: int, frame_id: str = S.BASE_FRAME) -> PoseStamped:
    msg = PoseStamped()
    ns_to_stamp(stamp_ns, msg.header.stamp)
    msg.header.frame_id = frame_id
    fill_pose(msg.pose, base_T_x)
    return msg


def joint_state(names: Sequence[str], positions: Sequence[float], stamp_ns: int) -> JointState:
    msg = JointState(name=list(names), position=[float(p) for p in positions])
    ns_to_stamp(stamp_ns, msg.header.stamp)
    return msg


def gripper_width_msg(width: float, stamp_ns: int) -> JointState:
    """``/franka/gripper_width``: one joint ``gripper_width`` [m]."""
    return joint_state([S.GRIPPER_JOINT], [width], stamp_ns)


def color(r: float, g: float, b: float, a: float = 1.0) -> ColorRGBA:
    return ColorRGBA(r=float(r), g=float(g), b=float(b), a=float(a))


def cube_marker(base_T_cube: np.ndarray, size: float, ns: str, marker_id: int, rgba: tuple[float, ...],
                stamp_ns: int) -> Marker:
    """A CUBE marker of edge ``size`` at ``base_T_cube``."""
    m = Marker(ns=ns, id=marker_id, type=Marker.CUBE, action=Marker.ADD)
    m.header.frame_id = S.BASE_FRAME
    ns_to_stamp(stamp_ns, m.header.stamp)
    fill_pose(m.pose, base_T_cube)
    m.scale.x = m.scale.y = m.scale.z = float(size)
    m.color = color(*rgba)
    return m


def line_strip(points_base: np.ndarray, ns: str, marker_id: int, rgba: tuple[float, ...], stamp_ns: int,
               width: float = 0.003) -> Marker:
    """A LINE_STRIP through ``points_base`` ``(N,3)`` [m] in ``base``."""
    m = Marker(ns=ns, id=marker_id, type=Marker.LINE_STRIP, action=Marker.ADD)
    m.header.frame_id = S.BASE_FRAME
    ns_to_stamp(stamp_ns, m.header.stamp)
    m.pose.orientation.w = 1.0
    m.scale.x = float(width)
    m.color = color(*rgba)
    m.points = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in np.asarray(points_base).reshape(-1, 3)]
    return m


def image_msg(array: np.ndarray, encoding: str, stamp_ns: int, frame_id: str = S.OPTICAL_FRAME) -> Any:
    """``sensor_msgs/Image`` from ``(H,W,3)`` uint8 (``rgb8``) or ``(H,W)`` uint16 (``16UC1``)."""
    from sensor_msgs.msg import Image

    a = np.ascontiguousarray(array)
    msg = Image(height=int(a.shape[0]), width=int(a.shape[1]), encoding=encoding, is_bigendian=0,
                step=int(a.strides[0]))
    ns_to_stamp(stamp_ns, msg.header.stamp)
    msg.header.frame_id = frame_id
    msg.data = a.tobytes()
    return msg


def camera_info_msg(width: int, height: int, fx: float, fy: float, cx: float, cy: float, stamp_ns: int,
                    coeffs: Sequence[float] = (0.0,) * 5, frame_id: str = S.OPTICAL_FRAME) -> Any:
    """``sensor_msgs/CameraInfo`` of a pinhole camera (plumb_bob = librealsense's Brown-Conrady)."""
    from sensor_msgs.msg import CameraInfo

    msg = CameraInfo(width=int(width), height=int(height), distortion_model="plumb_bob",
                     d=[float(c) for c in coeffs], k=[fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0],
                     r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
                     p=[fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0])
    ns_to_stamp(stamp_ns, msg.header.stamp)
    msg.header.frame_id = frame_id
    return msg


def image_to_array(msg: Any) -> np.ndarray:
    """``sensor_msgs/Image`` (rgb8, bgr8, 16UC1, mono16) → numpy (RGB for colour)."""
    h, w = int(msg.height), int(msg.width)
    if msg.encoding in ("rgb8", "bgr8"):
        a = np.frombuffer(bytes(msg.data), dtype=np.uint8).reshape(h, msg.step)[:, : w * 3].reshape(h, w, 3)
        return a[..., ::-1].copy() if msg.encoding == "bgr8" else a.copy()
    if msg.encoding in ("16UC1", "mono16"):
        dt = np.dtype(">u2" if msg.is_bigendian else "<u2")
        return np.frombuffer(bytes(msg.data), dtype=dt).reshape(h, msg.step // 2)[:, :w].astype(np.uint16)
    raise ValueError(f"image encoding {msg.encoding!r} not supported (rgb8, bgr8, 16UC1, mono16)")


def point_cloud_msg(points: np.ndarray, stamp_ns: int, frame_id: str = S.BASE_FRAME) -> Any:
    """``sensor_msgs/PointCloud2`` (x, y, z float32) from ``(N,3)`` points [m]."""
    from sensor_msgs.msg import PointCloud2, PointField

    p = np.ascontiguousarray(np.asarray(points, dtype=np.float32).reshape(-1, 3))
    msg = PointCloud2(height=1, width=int(p.shape[0]), is_bigendian=False, point_step=12, row_step=12 * p.shape[0],
                      is_dense=True, fields=[PointField(name=n, offset=4 * i, datatype=PointField.FLOAT32, count=1)
                                             for i, n in enumerate("xyz")])
    ns_to_stamp(stamp_ns, msg.header.stamp)
    msg.header.frame_id = frame_id
    msg.data = p.tobytes()
    return msg
