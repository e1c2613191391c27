"""A D415-shaped librealsense *software device*: numpy frames in, real ``rs.frameset`` s out.

librealsense's own ``rs.software_device`` gets a "Stereo Module" (Z16 depth) and an "RGB Camera" (RGB8 colour)
sensor with the given intrinsics, the depth→colour extrinsics and a read-only ``depth_units`` option, exactly the
objects a real D415 exposes. :meth:`SoftwareD415.push` injects one depth + colour pair; the two frames come back
from the sensors, are combined into a frameset by a librealsense processing block, and are queued for
:class:`perception.capture.D415Capture` (which then runs the same filters / align / conversion as for a camera).

Optionally the device is wrapped by ``rs.recorder`` so that every pushed frame is written to a ``.db3`` (rosbag2 /
sqlite, the only format librealsense 2.59 records) that ``rs.config.enable_device_from_file`` plays back.

(librealsense's syncer always emits the very first frame of each stream unpaired, and ``software_device.add_to``
does not make the device visible to a ``rs.pipeline`` in 2.59, hence the explicit pairing here.)
"""

from __future__ import annotations

import collections
import logging
import threading
from pathlib import Path

import numpy as np
import pyrealsense2 as rs
from numpy.typing import NDArray

from imgen_core.errors import ConfigError
from perception.camera_model import CameraIntrinsics

log = logging.getLogger(__name__)

DEVICE_NAME = "Intel RealSense D415 (software)"


class SoftwareD415:
    """Software D415 fed with numpy images.

    Args:
        color_intrinsics: intrinsics of the RGB8 colour stream.
        depth_intrinsics: intrinsics of the Z16 depth stream (default: same as colour).
        color_T_depth: ``(4,4)`` pose of the depth optical frame in the colour optical frame (default identity:
            depth rendered from the colour viewpoint).
        depth_scale: metres per depth unit (the D415 default is 0.001).
        fps: nominal frame rate of both streams; also the timestamp step when ``push`` gets no timestamp.
        record_to: optional ``.db3`` path; every pushed frame is recorded there by ``rs.recorder``.
        serial: serial number reported by the device.
    """

    def __init__(self, color_intrinsics: CameraIntrinsics, depth_intrinsics: CameraIntrinsics | None = None,
                 color_T_depth: NDArray[np.float64] | None = None, depth_scale: float = 0.001, fps: int = 30,
                 record_to: str | Path | None = None, serial: str = "SIM-D415") -> None:
        if not 0 < depth_scale < 1:
            raise ConfigError(f"depth_scale={depth_scale} must be in (0, 1) m/unit")
        if fps <= 0:
            raise ConfigError(f"fps={fps} must be > 0")
        self.color_intrinsics = color_intrinsics
        self.depth_intrinsics = depth_intrinsics or color_intrinsics
        self.depth_scale = float(depth_scale)
        self.fps = int(fps)
        self.record_to = Path(record_to) if record_to is not None else None
        if self.record_to is not None and self.record_to.suffix != ".db3":
            raise ConfigError(f"record_to={self.record_to} must end in .db3 (librealsense 2.59 records rosbag2/sqlite "
                              "only; .bag files can still be played back)")
        self._dev = rs.software_device()
        self._dev.register_info(rs.camera_info.name, DEVICE_NAME)
        self._dev.register_info(rs.camera_info.serial_number, serial)
        self._dev.register_info(rs.camera_info.product_line, "D400")
        self._depth_sensor = self._dev.add_sensor("Stereo Module")
        self._color_sensor = self._dev.add_sensor("RGB Camera")
        self._depth_profile = self._depth_sensor.add_video_stream(
            _video_stream(rs.stream.depth, rs.format.z16, 2, self.depth_intrinsics, self.fps, uid=1), True)
        self._color_profile = self._color_sensor.add_video_stream(
            _video_stream(rs.stream.color, rs.format.rgb8, 3, self.color_intrinsics, self.fps, uid=2), True)
        self._depth_sensor.add_read_only_option(rs.option.depth_units, self.depth_scale)
        ext = rs.extrinsics()
        t = np.eye(4) if color_T_depth is None else np.asarray(color_T_depth, dtype=np.float64)
        ext.rotation = [float(x) for x in t[:3, :3].flatten(order="F")]  # librealsense: column-major
        ext.translation = [float(x) for x in t[:3, 3]]
        self._depth_profile.register_extrinsics_to(self._color_profile, ext)
        self._queues = (rs.frame_queue(4, True), rs.frame_queue(4, True))
        self._out = rs.frame_queue(2, True)  # like a live camera: a slow reader loses the oldest frames
        self._composer = FramesetComposer()
        self._keep: collections.deque = collections.deque(maxlen=8)  # pixel buffers stay alive while queued
        self._recorder = None
        self._sensors: list = []
        self._frame_number = 0
        self._lock = threading.Lock()
        self.started = False

    # ------------------------------------------------------------------ life cycle
    def start(self) -> SoftwareD415:
        """Open and start both sensors (through the recorder when recording). Returns self."""
        if self.started:
            return self
        if self.record_to is not None:
            self.record_to.parent.mkdir(parents=True, exist_ok=True)
            recorder = rs.recorder(str(self.record_to), self._dev)
            self._recorder = recorder
            sensors = {s.get_info(rs.camera_info.name): s for s in recorder.query_sensors()}
            self._sensors = [sensors["Stereo Module"], sensors["RGB Camera"]]
        else:
            self._sensors = [self._depth_sensor, self._color_sensor]
        for sensor, queue in zip(self._sensors, self._queues, strict=True):
            sensor.open(sensor.get_stream_profiles()[0])
            sensor.start(queue)
        self.started = True
        return self

    def stop(self) -> None:
        """Stop the sensors; when recording, this also closes (finalises) the file."""
        if not self.started:
            return
        for sensor in self._sensors:
            sensor.stop()
            sensor.close()
        self._sensors = []
        self._recorder = None  # releasing the recorder flushes and closes the file
        self.started = False

    def __enter__(self) -> SoftwareD415:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ frames
    def push(self, color: NDArray[np.uint8], depth: NDArray[np.uint16], timestamp_ms: float | None = None) -> int:
        """Inject one colour ``(H,W,3)`` uint8 RGB + depth ``(H,W)`` uint16 pair; returns its frame number."""
        if not self.started:
            raise ConfigError("SoftwareD415.push() before start()")
        ci, di = self.color_intrinsics, self.depth_intrinsics
        if color.shape != (ci.height, ci.width, 3) or color.dtype != np.uint8:
            raise ConfigError(f"colour must be uint8 ({ci.height},{ci.width},3); got {color.dtype} {color.shape}")
        if depth.shape != (di.height, di.width) or depth.dtype != np.uint16:
            raise ConfigError(f"depth must be uint16 ({di.height},{di.width}); got {depth.dtype} {depth.shape}")
        with self._lock:
            n = self._frame_number
            self._frame_number += 1
            ts = n * 1000.0 / self.fps if timestamp_ms is None else float(timestamp_ms)
            depth_c, color_c = np.ascontiguousarray(depth), np.ascontiguousarray(color)
            self._keep.append((depth_c, color_c))
            for sensor, profile, img, bpp in ((self._depth_sensor, self._depth_profile, depth_c, 2),
                                              (self._color_sensor, self._color_profile, color_c, 3)):
                f = rs.software_video_frame()
                f.pixels = img
                f.bpp = bpp
                f.stride = img.shape[1] * bpp
                f.timestamp = ts
                f.domain = rs.timestamp_domain.system_time
                f.frame_number = n
                f.profile = profile.as_video_stream_profile()
                if bpp == 2:
                    f.depth_units = self.depth_scale
                sensor.on_video_frame(f)
            depth_frame = self._queues[0].wait_for_frame(2000)
            color_frame = self._queues[1].wait_for_frame(2000)
            self._out.enqueue(self._composer.compose(depth_frame, color_frame))
        return n

    def wait_for_frames(self, timeout_ms: int) -> tuple[bool, rs.composite_frame | None]:
        """Like ``rs.pipeline.try_wait_for_frames``: ``(True, frameset)`` or ``(False, None)`` after the timeout."""
        ok, frame = self._out.try_wait_for_frame(int(timeout_ms))
        return (True, frame.as_frameset()) if ok else (False, None)


class FramesetComposer:
    """Builds a real ``rs.composite_frame`` (frameset) from a depth and a colour frame with a librealsense
    processing block (``frame_source.allocate_composite_frame``), so ``rs.align`` and the filters accept it."""

    def __init__(self) -> None:
        self._pair: list = []
        self._out = rs.frame_queue(1, True)
        self._block = rs.processing_block(self._compose)
        self._block.start(self._out)
        self._lock = threading.Lock()

    def _compose(self, frame: rs.frame, source: rs.frame_source) -> None:
        source.frame_ready(source.allocate_composite_frame(self._pair))

    def compose(self, depth: rs.frame, color: rs.frame) -> rs.composite_frame:
        with self._lock:
            self._pair = [depth, color]
            self._block.invoke(depth)
            self._pair = []
            return self._out.wait_for_frame(2000).as_frameset()


def _video_stream(kind: rs.stream, fmt: rs.format, bpp: int, intr: CameraIntrinsics, fps: int,
                  uid: int) -> rs.video_stream:
    vs = rs.video_stream()
    vs.type = kind
    vs.fmt = fmt
    vs.bpp = bpp
    vs.width, vs.height = intr.width, intr.height
    vs.fps = fps
    vs.intrinsics = intr.to_rs()
    vs.index = 0
    vs.uid = uid
    return vs
