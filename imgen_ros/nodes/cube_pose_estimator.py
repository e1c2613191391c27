"""``cube_pose_estimator``: the cube's pose in the base frame from aligned depth + colour (ICP, with tracking).

In: ``/camera/camera/color/image_raw``, ``/camera/camera/aligned_depth_to_color/image_raw`` (paired by header
stamp), ``.../color/camera_info`` (intrinsics), and the extrinsics (parameter, else the latched
``/camera/camera/extrinsics``). Out: ``/cube_pose`` (PoseStamped in ``base``, header.stamp = the camera frame's
stamp), ``/cube_pose/status`` (DiagnosticStatus: tracking / lost / no_cube, whether the pose is fresh or held,
fitness, RMSE, time), the segmented points (``/cube_pose_estimator/points``, base frame) and an
``estimated cube`` marker.

Each frame's estimate passes through :class:`perception.pose_hold.PoseHold`: while the cube is hidden (no
estimate) the last confident pose is published for up to ``hold_max_s``, and an estimate that jumps more than
``max_jump_m`` is held back until ``confirm_frames`` frames agree. A held pose carries the stamp of the frame
just processed, so a camera that stops delivering frames still makes ``/cube_pose`` stale. A ``start`` event on
``/imgen/trial`` forgets the track (the cube was placed anew).

ICP runs on its own worker thread on the newest complete frame pair; frames arriving meanwhile are dropped (never
queued), so the published pose is always from the freshest frame the estimator could take.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import String
from visualization_msgs.msg import MarkerArray

from imgen_ros import messages as M
from imgen_ros import schemas as S
from imgen_ros.convert import is_trial_start, parse_extrinsics, pose_msg_to_mat, stamp_to_ns
from imgen_ros.node_base import OK, WARN, ImgenNode, run

LEVEL = {"tracking": DiagnosticStatus.OK, "lost": DiagnosticStatus.WARN, "no_cube": DiagnosticStatus.WARN}


class CubePoseEstimatorNode(ImgenNode):
    INFO = S.CUBE_POSE_ESTIMATOR

    def __init__(self) -> None:
        super().__init__()
        from perception.cube_pose import CubePoseConfig

        p = self.p
        dz = p.table_z
        base = CubePoseConfig()
        lo, hi = base.workspace_min, base.workspace_max
        self.config = CubePoseConfig(workspace_min=(lo[0], lo[1], lo[2] + dz), workspace_max=(hi[0], hi[1], hi[2] + dz),
                                     table_z_m=base.table_z_m + dz)
        from perception.pose_hold import PoseHold, PoseHoldConfig

        self.estimator: Any = None
        self.hold = PoseHold(PoseHoldConfig(max_jump_m=p.max_jump_m, confirm_frames=p.confirm_frames,
                                            max_hold_s=p.hold_max_s))
        self._reset_track = False
        self.held = 0
        self._lock = threading.Lock()
        self._color: dict[int, Image] = {}
        self._depth: dict[int, Image] = {}
        self._info: CameraInfo | None = None
        self._pending: tuple[Image, Image] | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.estimates = 0
        self.poses = 0
        self.images = 0  # image messages received (colour + depth)
        self.pairs = 0  # colour/depth pairs formed (the newest waits; older unprocessed pairs are dropped)
        self.pose_pub = self.create_publisher(PoseStamped, S.CUBE_POSE, 10)
        self.status_pub = self.create_publisher(DiagnosticStatus, S.CUBE_POSE_STATUS, 10)
        self.points_pub = self.create_publisher(PointCloud2, S.POINTS, qos_profile_sensor_data)
        self.marker_pub = self.create_publisher(MarkerArray, S.MARKERS, 10)
        sensor = QoSProfile(depth=6)  # reliable (realsense-ros' default): big images are not dropped by fragments
        self.create_subscription(Image, S.COLOR_IMAGE, lambda m: self._on_image(m, self._color), sensor,
                                 callback_group=self.io_group)
        self.create_subscription(Image, S.DEPTH_IMAGE, lambda m: self._on_image(m, self._depth), sensor,
                                 callback_group=self.io_group)
        self.create_subscription(CameraInfo, S.COLOR_INFO, self._on_info, sensor, callback_group=self.io_group)
        self.create_subscription(String, S.TRIAL, self._on_trial, 10, callback_group=self.io_group)
        if p.extrinsics:
            self._make_estimator(parse_extrinsics(p.extrinsics))
        else:
            latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
            self.create_subscription(PoseStamped, S.EXTRINSICS, self._on_extrinsics, latched,
                                     callback_group=self.io_group)
            self.set_health(WARN, f"waiting for extrinsics on {S.EXTRINSICS}")
        self._thread = threading.Thread(target=self._work, name="icp", daemon=True)
        self._thread.start()

    def _make_estimator(self, base_T_camera: np.ndarray) -> None:
        from perception.cube_pose import CubePoseEstimator

        with self._lock:
            self.estimator = CubePoseEstimator(base_T_camera, self.config)
        self.set_health(OK, "ready: waiting for frames")
        self.get_logger().info(f"extrinsics: camera at {np.round(base_T_camera[:3, 3], 4).tolist()} m in base")

    def _on_extrinsics(self, msg: PoseStamped) -> None:
        if self.estimator is None:
            self._make_estimator(pose_msg_to_mat(msg.pose))

    def _on_trial(self, msg: String) -> None:
        if is_trial_start(msg.data):
            with self._lock:
                self._reset_track = True

    def _on_info(self, msg: CameraInfo) -> None:
        self._info = msg

    def _on_image(self, msg: Image, store: dict[int, Image]) -> None:
        stamp = stamp_to_ns(msg.header.stamp)
        with self._lock:
            self.images += 1
            store[stamp] = msg
            for d in (self._color, self._depth):  # keep only recent stamps
                while len(d) > 4:
                    d.pop(min(d))
            if stamp in self._color and stamp in self._depth:
                self._pending = (self._color.pop(stamp), self._depth.pop(stamp))
                self.pairs += 1
                self._wake.set()

    def _frame(self, color: Image, depth: Image) -> Any:
        from perception.camera_model import CameraIntrinsics, RGBDFrame

        info = self._info
        if info is None:
            return None
        k = info.k
        intr = CameraIntrinsics(int(info.width), int(info.height), float(k[0]), float(k[4]), float(k[2]),
                                float(k[5]), coeffs=tuple(float(c) for c in info.d) or (0.0,) * 5)
        return RGBDFrame(M.image_to_array(color), M.image_to_array(depth), 0.001, intr,
                         timestamp_ms=stamp_to_ns(color.header.stamp) * 1e-6)

    def _work(self) -> None:
        while not self._stop.is_set():
            if not self._wake.wait(0.2):
                continue
            with self._lock:
                pair, self._pending = self._pending, None
                self._wake.clear()
                est = self.estimator
                reset, self._reset_track = self._reset_track, False
            if reset:
                self.hold.reset()
                if est is not None:
                    est.reset()
            if pair is None or est is None:
                continue
            frame = self._frame(*pair)
            if frame is None:
                continue
            stamp = stamp_to_ns(pair[0].header.stamp)
            try:
                res = est.estimate(frame)
            except Exception as exc:  # a malformed frame must not kill tracking: report, take the next one
                self.set_health(WARN, f"estimation failed: {type(exc).__name__}: {exc}")
                continue
            self._publish(res, stamp)

    def _publish(self, res: Any, stamp: int) -> None:
        st = res.status
        self.estimates += 1
        why = st.state.value + (f": {st.reason}" if st.reason else "")
        hold = self.hold.update(res.base_T_cube, stamp * 1e-9, why_none=why)
        if hold.pose is not None:
            self.poses += 1
            self.held += hold.state == "held"
            self.pose_pub.publish(M.pose_stamped(hold.pose, stamp))
            self.marker_pub.publish(MarkerArray(markers=[
                M.cube_marker(hold.pose, self.config.cube_size_m, "cube_estimated", 0,
                              (0.2, 0.4, 1.0, 0.5) if hold.state == "fresh" else (0.6, 0.6, 0.6, 0.5), stamp)]))
        if self.p.publish_points and res.points_base is not None and len(res.points_base):
            self.points_pub.publish(M.point_cloud_msg(res.points_base, stamp))
        values = {"fitness": f"{st.fitness:.3f}", "rmse_mm": f"{st.rmse_m * 1e3:.2f}", "points": str(st.n_points),
                  "mode": st.mode, "time_ms": f"{st.time_ms:.1f}", "pose": hold.state,
                  "held_age_s": f"{hold.held_age_s:.2f}"}
        message = why if hold.state != "held" else f"holding the last confident pose: {hold.reason}"
        level = LEVEL.get(st.state.value, DiagnosticStatus.WARN)
        if hold.state == "held":
            level = DiagnosticStatus.WARN
        self.status_pub.publish(DiagnosticStatus(
            level=level, name=S.CUBE_POSE, hardware_id="d415", message=message,
            values=[KeyValue(key=k, value=v) for k, v in values.items()]))
        self.set_health(OK if hold.state == "fresh" else WARN, message, images=self.images, pairs=self.pairs,
                        estimates=self.estimates, poses=self.poses, held=self.held, time_ms=f"{st.time_ms:.1f}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)


def main() -> None:
    run(CubePoseEstimatorNode)


if __name__ == "__main__":
    main()
