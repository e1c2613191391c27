"""D415 capture through pyrealsense2: a live camera, a recording, or a software device.

Stream profiles (documented choice). realsense-ros 4.x leaves ``depth_module.depth_profile`` and
``rgb_camera.color_profile`` at ``0,0,0``, i.e. the librealsense device default, which for a D415 on USB3 is
**1280x720 @ 30 fps for both Z16 depth and RGB8 colour** (``rs415_device::get_profiles_tags``; 848x480 is the
default of the D435 family, not the D415). :class:`CaptureConfig` defaults to exactly that. Depth is always aligned
to colour (``rs.align(rs.stream.color)``, realsense-ros ``align_depth.enable:=true`` → topic
``aligned_depth_to_color``; skipped only when depth already has the colour geometry), after the optional
post-processing filters in librealsense's recommended order: decimation → depth-to-disparity → spatial → temporal
→ disparity-to-depth → hole-filling.

Recordings are played through librealsense's playback device (``rs.context().load_device``, the same object
``rs.config.enable_device_from_file`` gives a pipeline) at sensor level: frames are held until both sensors run,
non real-time by default with a *blocking* frame callback (back-pressure: every recorded frame is delivered, however
slow the reader), and depth/colour paired by timestamp. The pipeline route dropped 1-94 of the first frames
nondeterministically at start-up here (librealsense 2.59, measured), which a test replaying a recording cannot use.

Intrinsics and the depth scale are read from the frames (aligned depth profile / ``depth_frame.get_units()``),
never hard-coded. A source that stops delivering frames yields ``CaptureStatus.NO_FRAMES`` (with the time since the
last frame), a finished recording ``END_OF_STREAM`` and a device error ``DEVICE_ERROR``: none of them raise.
"""

from __future__ import annotations

import collections
import contextlib
import enum
import logging
import queue
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyrealsense2 as rs

from imgen_core.errors import ConfigError, ImgenError, check_range
from perception.camera_model import CameraIntrinsics, RGBDFrame
from perception.software_device import FramesetComposer, SoftwareD415

log = logging.getLogger(__name__)

RECORDING_SUFFIXES = (".bag", ".db3")


class CaptureError(ImgenError):
    """The capture source could not be opened (no camera, unreadable recording, unsupported profile)."""


class CaptureStatus(enum.Enum):
    OK = "ok"
    NO_FRAMES = "no_frames"  # nothing arrived within the timeout: camera dropped / cable / stalled feeder
    END_OF_STREAM = "end_of_stream"  # a recording played to its end
    DEVICE_ERROR = "device_error"  # librealsense raised while waiting (device unplugged, ...)


@dataclass(frozen=True)
class StreamProfile:
    """One stream's ``width x height @ fps``."""

    width: int
    height: int
    fps: int

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0 or self.fps <= 0:
            raise ConfigError(f"stream profile {self.width}x{self.height}@{self.fps} must be positive")


@dataclass(frozen=True)
class FilterConfig:
    """librealsense post-processing filters (all off by default, as in realsense-ros).

    ``decimation`` is the magnitude (1 = off, 2..8); the others are on/off with librealsense's default settings.
    """

    decimation: int = 1
    spatial: bool = False
    temporal: bool = False
    hole_filling: bool = False

    def __post_init__(self) -> None:
        check_range("decimation", self.decimation, 1, 8)


@dataclass(frozen=True)
class CaptureConfig:
    """What to open and how.

    Attributes:
        source: ``"live"`` or the path of a ``.bag`` / ``.db3`` recording.
        depth: requested depth profile (live only; a recording plays what it contains).
        color: requested colour profile (live only).
        filters: post-processing filters applied before alignment.
        timeout_ms: no frame for this long → ``CaptureStatus.NO_FRAMES``.
        serial: pick a specific camera (live only).
        record_to: also record the live stream to this ``.db3`` file.
        realtime_playback: play recordings at recorded speed (False: as fast as they are read, no frame drops).
    """

    source: str = "live"
    depth: StreamProfile = StreamProfile(1280, 720, 30)
    color: StreamProfile = StreamProfile(1280, 720, 30)
    filters: FilterConfig = field(default_factory=FilterConfig)
    timeout_ms: int = 1000
    serial: str | None = None
    record_to: str | None = None
    realtime_playback: bool = False

    def __post_init__(self) -> None:
        check_range("timeout_ms", self.timeout_ms, 1, 600_000)
        if self.source != "live" and Path(self.source).suffix not in RECORDING_SUFFIXES:
            raise ConfigError(f"source={self.source!r} must be 'live' or a recording ending in "
                              f"{' / '.join(RECORDING_SUFFIXES)}")
        if self.record_to is not None and Path(self.record_to).suffix != ".db3":
            raise ConfigError(f"record_to={self.record_to!r} must end in .db3 (librealsense 2.59 records "
                              "rosbag2/sqlite; .bag recordings can be played back but not written)")


@dataclass
class CaptureResult:
    """Outcome of one :meth:`D415Capture.read`; ``frame`` is set only when ``status`` is OK."""

    status: CaptureStatus
    frame: RGBDFrame | None = None
    message: str = ""
    ms_since_last_frame: float = 0.0


class D415Capture:
    """Colour + aligned depth from a D415, a recording, or a :class:`SoftwareD415`.

    Use as a context manager; :meth:`read` returns a :class:`CaptureResult` and never raises for a missing frame.

    Args:
        config: stream / filter / timeout settings (``config.source`` is ignored when ``software`` is given).
        software: a software device to read from instead of a pipeline (frames pushed by the caller).
    """

    def __init__(self, config: CaptureConfig | None = None, software: SoftwareD415 | None = None) -> None:
        self.config = config or CaptureConfig()
        self.software = software
        self._pipe: rs.pipeline | None = None
        self._recording: _RecordingReader | None = None
        self._align = rs.align(rs.stream.color)
        self._filters = self._make_filters(self.config.filters)
        self._last_frame_t = time.monotonic()
        self.frames_read = 0
        self.device_name = ""

    @staticmethod
    def _make_filters(cfg: FilterConfig) -> list:
        chain: list = []
        if cfg.decimation > 1:
            dec = rs.decimation_filter()
            dec.set_option(rs.option.filter_magnitude, float(cfg.decimation))
            chain.append(dec)
        if cfg.spatial or cfg.temporal:
            chain.append(rs.disparity_transform(True))
            if cfg.spatial:
                chain.append(rs.spatial_filter())
            if cfg.temporal:
                chain.append(rs.temporal_filter())
            chain.append(rs.disparity_transform(False))
        if cfg.hole_filling:
            chain.append(rs.hole_filling_filter())
        return chain

    # ------------------------------------------------------------------ life cycle
    def start(self) -> D415Capture:
        """Open the source. Raises :class:`CaptureError` when it cannot be opened."""
        self._last_frame_t = time.monotonic()
        if self.software is not None:
            self.software.start()
            self.device_name = "software:" + type(self.software).__name__
            return self
        src = self.config.source
        if src != "live":
            self._recording = _RecordingReader(Path(src), self.config.realtime_playback)
            self.device_name = self._recording.device_name
            log.info("playing %s (%s)", src, self.device_name)
            return self
        cfg = rs.config()
        if self.config.serial:
            cfg.enable_device(self.config.serial)
        d, c = self.config.depth, self.config.color
        cfg.enable_stream(rs.stream.depth, d.width, d.height, rs.format.z16, d.fps)
        cfg.enable_stream(rs.stream.color, c.width, c.height, rs.format.rgb8, c.fps)
        if self.config.record_to:
            Path(self.config.record_to).parent.mkdir(parents=True, exist_ok=True)
            cfg.enable_record_to_file(str(self.config.record_to))
        try:
            self._pipe = rs.pipeline()
            profile = self._pipe.start(cfg)
        except RuntimeError as exc:
            self._pipe = None
            raise CaptureError(f"no RealSense camera found / profile {d} + {c} unsupported: {exc}") from exc
        self.device_name = profile.get_device().get_info(rs.camera_info.name)
        log.info("capture started: %s", self.device_name)
        return self

    def stop(self) -> None:
        if self._recording is not None:
            self._recording.stop()
            self._recording = None
        if self._pipe is not None:
            try:
                self._pipe.stop()
            except RuntimeError as exc:  # already stopped by an end of file / unplug
                log.debug("pipeline stop: %s", exc)
            self._pipe = None
        if self.software is not None:
            self.software.stop()

    def __enter__(self) -> D415Capture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ frames
    def read(self, timeout_ms: int | None = None) -> CaptureResult:
        """Wait for the next frameset (at most ``timeout_ms``, default ``config.timeout_ms``) and convert it."""
        timeout = int(self.config.timeout_ms if timeout_ms is None else timeout_ms)
        deadline = time.monotonic() + timeout / 1000.0
        while True:
            remaining = max(1, int((deadline - time.monotonic()) * 1000))
            try:
                ok, fs = self._wait(remaining)
            except RuntimeError as exc:
                return CaptureResult(CaptureStatus.DEVICE_ERROR, message=f"librealsense: {exc}",
                                     ms_since_last_frame=self._since_last())
            if not ok:
                if self._recording is not None and self._recording.finished():
                    return CaptureResult(CaptureStatus.END_OF_STREAM, message="recording finished",
                                         ms_since_last_frame=self._since_last())
                if time.monotonic() < deadline:
                    continue
                return CaptureResult(CaptureStatus.NO_FRAMES, ms_since_last_frame=self._since_last(),
                                     message=f"no frames for {self._since_last():.0f} ms (timeout {timeout} ms): "
                                             "camera disconnected or stalled")
            frame = self._convert(fs)
            if frame is None:  # an incomplete frameset (one stream only): wait for a complete one
                if time.monotonic() < deadline:
                    continue
                return CaptureResult(CaptureStatus.NO_FRAMES, ms_since_last_frame=self._since_last(),
                                     message="only incomplete framesets (depth or colour missing)")
            self._last_frame_t = time.monotonic()
            self.frames_read += 1
            return CaptureResult(CaptureStatus.OK, frame=frame)

    def _since_last(self) -> float:
        return (time.monotonic() - self._last_frame_t) * 1000.0

    def _wait(self, timeout_ms: int) -> tuple[bool, rs.composite_frame | None]:
        if self.software is not None:
            return self.software.wait_for_frames(timeout_ms)
        if self._recording is not None:
            return self._recording.wait_for_frames(timeout_ms)
        if self._pipe is None:
            raise CaptureError("D415Capture.read() before start()")
        ok, fs = self._pipe.try_wait_for_frames(timeout_ms)
        return ok, (fs if ok else None)

    @staticmethod
    def _already_aligned(fs: rs.composite_frame) -> bool:
        """Depth with the colour stream's intrinsics and identity extrinsics (e.g. the sim D415, which renders
        depth from the colour viewpoint) is aligned already; ``rs.align`` would only punch ~5 % rounding holes."""
        dp = fs.get_depth_frame().profile.as_video_stream_profile()
        cp = fs.get_color_frame().profile.as_video_stream_profile()
        di, ci = dp.get_intrinsics(), cp.get_intrinsics()
        if (di.width, di.height, di.fx, di.fy, di.ppx, di.ppy) != (ci.width, ci.height, ci.fx, ci.fy, ci.ppx, ci.ppy):
            return False
        ext = dp.get_extrinsics_to(cp)
        return bool(np.allclose(ext.rotation, np.eye(3).ravel(), atol=1e-9) and np.allclose(ext.translation, 0.0))

    def _convert(self, fs: rs.composite_frame) -> RGBDFrame | None:
        if not fs.get_depth_frame() or not fs.get_color_frame():
            return None
        frame: rs.frame = fs
        for f in self._filters:
            frame = f.process(frame)
        frameset = frame.as_frameset()
        aligned = frameset if self._already_aligned(frameset) else self._align.process(frameset)
        depth = aligned.get_depth_frame()
        color = aligned.get_color_frame()
        if not depth or not color:
            return None
        intr = CameraIntrinsics.from_rs(depth.profile.as_video_stream_profile().get_intrinsics())
        fmt = color.profile.format()
        rgb = np.asanyarray(color.get_data())
        if fmt == rs.format.bgr8:
            rgb = rgb[..., ::-1]
        elif fmt != rs.format.rgb8:
            raise CaptureError(f"colour format {fmt} is not supported; use rgb8 or bgr8")
        return RGBDFrame(color=np.array(rgb, dtype=np.uint8, copy=True),
                         depth=np.array(np.asanyarray(depth.get_data()), dtype=np.uint16, copy=True),
                         depth_scale=float(depth.get_units()), intrinsics=intr,
                         timestamp_ms=float(depth.get_timestamp()), frame_number=int(depth.get_frame_number()),
                         meta={"device": self.device_name})


class _RecordingReader:
    """Lossless playback of a ``.bag``/``.db3`` recording's depth + colour streams as framesets."""

    def __init__(self, path: Path, realtime: bool) -> None:
        if not path.is_file():
            raise CaptureError(f"recording {path} does not exist")
        self._ctx = rs.context()
        self._path = str(path)
        self._tmpdir: tempfile.TemporaryDirectory | None = None
        try:
            self._dev = self._ctx.load_device(self._path)
        except RuntimeError as exc:
            if path.suffix != ".bag":
                raise CaptureError(f"cannot play {path}: {exc}") from exc
            # librealsense 2.59 reads rosbag2 (.db3); a legacy ROS1 .bag is converted first (its own converter)
            self._tmpdir = tempfile.TemporaryDirectory(prefix="imgen_bag_")
            self._path = str(Path(self._tmpdir.name) / (path.stem + ".db3"))
            try:
                self._ctx.convert_bag_to_db3(str(path), self._path)
                self._dev = self._ctx.load_device(self._path)
            except RuntimeError as exc2:
                raise CaptureError(f"cannot play {path} (nor its .db3 conversion): {exc2}") from exc2
        self.device_name = self._dev.get_info(rs.camera_info.name)
        self._pb = self._dev.as_playback()
        self._pb.set_real_time(bool(realtime))
        self._q: queue.Queue = queue.Queue(maxsize=8)
        self._stopping = False
        self._pending: dict[rs.stream, collections.deque] = {rs.stream.depth: collections.deque(),
                                                             rs.stream.color: collections.deque()}
        self._composer = FramesetComposer()
        self._sensors = []
        fps = 30
        for sensor in self._dev.query_sensors():
            for prof in sensor.get_stream_profiles():
                if prof.stream_type() in (rs.stream.depth, rs.stream.color) and prof.format() in (
                        rs.format.z16, rs.format.rgb8, rs.format.bgr8):
                    sensor.open(prof)
                    self._sensors.append(sensor)
                    fps = prof.fps() or fps
                    break
        kinds = {p.stream_type() for s in self._sensors for p in s.get_active_streams()}
        if kinds != {rs.stream.depth, rs.stream.color}:
            self.stop()
            raise CaptureError(f"{path} must contain a Z16 depth and an RGB8/BGR8 colour stream; found {kinds}")
        self._max_dt_ms = 500.0 / fps
        # The playback starts reading with the first started sensor; holding its callback until the second sensor
        # is started loses no frame (playback.pause()/resume() here stalled resume() for 10 s now and then).
        self._ready = threading.Event()
        for sensor in self._sensors:
            sensor.start(self._on_frame)
        self._ready.set()

    def _on_frame(self, frame: rs.frame) -> None:
        while not self._ready.wait(0.05):
            if self._stopping:
                return
        while not self._stopping:  # blocking put = back-pressure on the (non real-time) playback
            try:
                self._q.put(frame, timeout=0.05)
                return
            except queue.Full:
                continue

    def finished(self) -> bool:
        return self._q.empty() and self._pb.current_status() == rs.playback_status.stopped

    def wait_for_frames(self, timeout_ms: int) -> tuple[bool, rs.composite_frame | None]:
        deadline = time.monotonic() + timeout_ms / 1000.0
        while True:
            pair = self._pair()
            if pair is not None:
                return True, self._composer.compose(*pair)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False, None
            try:
                f = self._q.get(timeout=min(remaining, 0.05))
            except queue.Empty:
                if self._pb.current_status() == rs.playback_status.stopped:
                    return False, None
                continue
            kind = f.get_profile().stream_type()
            if kind in self._pending:
                self._pending[kind].append(f)

    def _pair(self) -> tuple[rs.frame, rs.frame] | None:
        """Oldest depth frame with the colour frame nearest in time (within half a frame period)."""
        dq, cq = self._pending[rs.stream.depth], self._pending[rs.stream.color]
        while dq and cq:
            td = dq[0].get_timestamp()
            while len(cq) > 1 and abs(cq[1].get_timestamp() - td) <= abs(cq[0].get_timestamp() - td):
                cq.popleft()
            dt = cq[0].get_timestamp() - td
            if abs(dt) <= self._max_dt_ms:
                return dq.popleft(), cq.popleft()
            if dt > 0:
                dq.popleft()  # this depth frame has no colour partner
            else:
                cq.popleft()
        return None

    def stop(self) -> None:
        self._stopping = True
        while not self._q.empty():
            self._q.get_nowait()
        for sensor in self._sensors:
            with contextlib.suppress(RuntimeError):  # already stopped at the end of the file
                sensor.stop()
            sensor.close()
        self._sensors = []
        self._pending = {k: collections.deque() for k in self._pending}
        with contextlib.suppress(RuntimeError):
            self._ctx.unload_device(self._path)
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None
