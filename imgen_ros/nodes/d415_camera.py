"""``d415_camera``: a RealSense D415 — live, a recording, or the sim twin's camera — with realsense-ros topics.

Run as node ``camera`` in namespace ``camera`` (as realsense-ros does), it publishes ``~/color/image_raw`` (rgb8),
``~/aligned_depth_to_color/image_raw`` (16UC1, mm), both ``camera_info`` s (depth is aligned to colour: same
intrinsics) in ``camera_color_optical_frame``, and the latched extrinsics ``~/extrinsics`` (PoseStamped
``base_T_camera_color_optical_frame``; ROS's tf2 is not on PyPI).

* ``realsense`` / ``recording``: :class:`perception.capture.D415Capture` in a reader thread; stamp = arrival time.
* ``sim``: the twin's camera. A MuJoCo test scene (:class:`sim.d415.CubeScene`, table top at ``table_z``) is posed
  from ``/sim/cube_pose_true``, ``/franka/ee_pose`` and ``/franka/gripper_width`` and rendered at ``fps`` with the
  D415 noise model (:class:`sim.d415.SimD415`, noise fields drawn once and reused at random shifts), by default
  through librealsense's software device and the same capture code as the real camera. Stamp = stamp of the
  world state rendered, so latencies downstream include rendering. The extrinsics are exact.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.qos import DurabilityPolicy, QoSProfile
from sensor_msgs.msg import CameraInfo, Image, JointState

from imgen_core import se3
from imgen_core.errors import ConfigError
from imgen_ros import messages as M
from imgen_ros import schemas as S
from imgen_ros.convert import gripper_width_of, parse_extrinsics, pose_msg_to_mat, stamp_to_ns
from imgen_ros.node_base import ERROR, OK, WARN, ImgenNode, run


def shift_z(dz: float) -> np.ndarray:
    return se3.make_pose(np.array([0.0, 0.0, dz]), np.eye(3))


class D415Camera(ImgenNode):
    INFO = S.D415_CAMERA
    THREADS = 3

    def __init__(self) -> None:
        super().__init__()
        p = self.p
        qos = QoSProfile(depth=2)  # reliable, like realsense-ros' default; a lost fragment of a big image is resent
        self.color_pub = self.create_publisher(Image, "~/color/image_raw", qos)
        self.depth_pub = self.create_publisher(Image, "~/aligned_depth_to_color/image_raw", qos)
        self.color_info_pub = self.create_publisher(CameraInfo, "~/color/camera_info", qos)
        self.depth_info_pub = self.create_publisher(CameraInfo, "~/aligned_depth_to_color/camera_info", qos)
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.extrinsics_pub = self.create_publisher(PoseStamped, "~/extrinsics", latched)
        self.frames = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.scene: Any = None
        self.capture: Any = None
        if p.source == "sim":
            self._init_sim()
        else:
            self._init_device()
        if p.extrinsics:
            self._publish_extrinsics(parse_extrinsics(p.extrinsics))

    # --- sources ---------------------------------------------------------------------------------------------
    def _size(self, default_w: int, default_h: int) -> tuple[int, int]:
        """``(width, height)`` from the parameters: both set, or both 0 for the source's default."""
        w, h = int(self.p.width), int(self.p.height)
        if (w == 0) != (h == 0):
            raise ConfigError(f"camera size: set both width and height (got width={w}, height={h}), or neither "
                              f"for the default {default_w}x{default_h}")
        return (w, h) if w else (default_w, default_h)

    def _init_device(self) -> None:
        from perception.capture import CaptureConfig, D415Capture, StreamProfile

        p = self.p
        src = "live" if p.source == "realsense" else p.recording
        prof = StreamProfile(*self._size(1280, 720), p.fps)
        self.capture = D415Capture(CaptureConfig(source=src, depth=prof, color=prof, serial=p.serial or None)).start()
        self._thread = threading.Thread(target=self._read_device, name="d415-reader", daemon=True)
        self._thread.start()
        self.get_logger().info(f"capturing from {self.capture.device_name}")

    def _read_device(self) -> None:
        from perception.capture import CaptureStatus

        while not self._stop.is_set():
            got = self.capture.read()
            if got.status is CaptureStatus.OK and got.frame is not None:
                self._publish_frame(got.frame, self.get_clock().now().nanoseconds)
            elif got.status is CaptureStatus.END_OF_STREAM:
                self.set_health(WARN, "recording finished", frames=self.frames)
                self.finish(0)
                return
            else:
                self.set_health(ERROR, f"{got.status.value}: {got.message}", frames=self.frames)

    def _init_sim(self) -> None:
        from perception.capture import CaptureConfig, D415Capture
        from sim.d415 import CubeScene, CubeSceneConfig, D415Spec, SimD415

        p = self.p
        self.scene = CubeScene(CubeSceneConfig(distractor=None, fingers=True))
        # reused noise fields: a fresh 640x480 draw per frame cost more than the render and starved the graph
        w, h = self._size(640, 480)
        self.sim_cam = SimD415(self.scene.model, self.scene.CAMERA, spec=D415Spec(width=w, height=h, noise_bank=8),
                               seed=p.seed)
        self.scene_T_base = shift_z(-p.table_z)  # the scene's table top is at z = 0
        if p.via_librealsense:
            self.capture = D415Capture(CaptureConfig(timeout_ms=2000), software=self.sim_cam.software_device())
            self.capture.start()
        if not p.extrinsics:
            self._publish_extrinsics(shift_z(p.table_z) @ self.sim_cam.base_T_camera(self.scene.data))
        self._lock = threading.Lock()
        self._world: dict[str, Any] = {}
        for topic, typ in ((S.CUBE_POSE_TRUE, PoseStamped), (S.EE_POSE, PoseStamped), (S.GRIPPER_WIDTH, JointState)):
            self.create_subscription(typ, topic, lambda m, t=topic: self._store(t, m), 10,
                                     callback_group=self.io_group)
        self._last_rendered = -1
        self.create_loop(float(p.fps), self._render)
        self.set_health(WARN, "waiting for /sim/cube_pose_true")
        self.get_logger().info(f"sim D415 ({self.sim_cam.intrinsics.width}x{self.sim_cam.intrinsics.height}) at "
                               f"{p.fps} Hz, table top at base z = {p.table_z} m")

    def _store(self, topic: str, msg: Any) -> None:
        with self._lock:
            self._world[topic] = msg

    def _render(self) -> None:
        with self._lock:
            world = dict(self._world)
        cube = world.get(S.CUBE_POSE_TRUE)
        if cube is None:
            return
        stamp = stamp_to_ns(cube.header.stamp)
        if stamp == self._last_rendered:
            return  # the world has not moved on
        self._last_rendered = stamp
        self.scene.set_cube_pose(self.scene_T_base @ pose_msg_to_mat(cube.pose))
        ee, width = world.get(S.EE_POSE), world.get(S.GRIPPER_WIDTH)
        if ee is not None and width is not None:
            tcp = self.scene_T_base @ pose_msg_to_mat(ee.pose)
            y = tcp[:3, 1]  # fingers close along the TCP y axis
            self.scene.set_fingers(tuple(tcp[:3, 3]), float(np.arctan2(-y[0], y[1])),
                                   opening_m=max(0.0, gripper_width_of(width)))
        if self.capture is not None:
            self.sim_cam.push(self.scene.data, timestamp_ms=stamp * 1e-6)
            got = self.capture.read()
            if got.frame is None:
                self.set_health(ERROR, f"software device: {got.status.value}: {got.message}")
                return
            frame = got.frame
        else:
            frame = self.sim_cam.render_frame(self.scene.data, stamp * 1e-6)
        self._publish_frame(frame, stamp)

    # --- output ----------------------------------------------------------------------------------------------
    def _publish_extrinsics(self, base_T_camera: np.ndarray) -> None:
        self.extrinsics_pub.publish(M.pose_stamped(base_T_camera, self.get_clock().now().nanoseconds))

    def _publish_frame(self, frame: Any, stamp_ns: int) -> None:
        depth = frame.depth
        if not np.isclose(frame.depth_scale, 0.001):  # the contract is 16UC1 in mm
            depth = np.clip(np.round(depth.astype(np.float64) * frame.depth_scale * 1e3), 0, 65535).astype(np.uint16)
        i = frame.intrinsics
        info = M.camera_info_msg(i.width, i.height, i.fx, i.fy, i.ppx, i.ppy, stamp_ns, coeffs=i.coeffs)
        self.color_pub.publish(M.image_msg(frame.color, "rgb8", stamp_ns))
        self.depth_pub.publish(M.image_msg(depth, "16UC1", stamp_ns))
        self.color_info_pub.publish(info)
        self.depth_info_pub.publish(info)
        self.frames += 1
        self.set_health(OK, "streaming", frames=self.frames, source=self.p.source)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3.0)
        if self.capture is not None:
            self.capture.stop()
        if self.scene is not None:
            self.sim_cam.close()


def main() -> None:
    run(D415Camera)


if __name__ == "__main__":
    main()
