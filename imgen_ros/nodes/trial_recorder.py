"""``trial_recorder``: one rosbag2 per trial, written with ``rosbags`` (MCAP or sqlite3).

Subscribes (raw CDR, no deserialisation) to every topic of DESIGN §5 — camera images only with
``record_images`` — and to ``/imgen/trial``. A JSON event ``{"event": "start", ...}`` opens a new bag
``<out_dir>/trial_<n>_<time>`` (any open one is closed as ``aborted``) and writes the newest message of every
topic seen before the start, so each bag begins with the current state; ``{"event": "end", "outcome": ...}``
closes it once every stamped topic that was streaming has delivered a message stamped after the end event
(messages published before the end may still be queued behind it: they belong to the trial), after at most
``end_drain_s``, or at once when the next trial starts. The events are recorded on ``/imgen/trial`` and
the merged start/end metadata (policy, seed, operator, outcome, ...) is stored in the bag's ``metadata.yaml``
custom data (``imgen.trial``) and in ``trial.json`` inside the bag directory. Bags left open at shutdown are
closed as ``interrupted``.
"""

from __future__ import annotations

import importlib
import json
import queue
import struct
import threading
import time
from pathlib import Path
from typing import Any

from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from imgen_ros import schemas as S
from imgen_ros.bagio import BagWriter, deserialize, make_typestore
from imgen_ros.node_base import ERROR, OK, WARN, ImgenNode, run

# message types whose CDR starts with a std_msgs/Header (its stamp is read from the raw bytes)
STAMPED_TYPES = frozenset({"geometry_msgs/msg/PoseStamped", "geometry_msgs/msg/TwistStamped",
                           "sensor_msgs/msg/JointState", "sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo",
                           "diagnostic_msgs/msg/DiagnosticArray"})


def header_stamp_ns(data: bytes) -> int | None:
    """The header stamp [ns] of a raw CDR message that starts with a ``std_msgs/Header`` (None if too short)."""
    if len(data) < 12:
        return None
    endian = "<" if data[1] == 1 else ">"  # CDR encapsulation: 0x0001 little endian, 0x0000 big endian
    sec, nsec = struct.unpack_from(endian + "iI", data, 4)
    return sec * 1_000_000_000 + nsec


def msg_class(msgtype: str) -> Any:
    """``geometry_msgs/msg/PoseStamped`` → the rclpy message class."""
    pkg, sub, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{pkg}.{sub}"), name)


class BagThread:
    """Owns the open bag: every bag operation runs on this one thread (sqlite3 objects are thread-bound)."""

    def __init__(self, storage: str, typestore: Any, on_closed: Any) -> None:
        self.storage, self.typestore, self.on_closed = storage, typestore, on_closed
        self._q: queue.Queue[tuple[Any, ...] | None] = queue.Queue()
        self._bag: BagWriter | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="bag-writer", daemon=True)
        self._thread.start()

    def open(self, path: Path, first: list[tuple[str, str, bytes, int]]) -> None:
        self._q.put(("open", path, first))

    def write(self, topic: str, msgtype: str, data: bytes, t_ns: int) -> None:
        self._q.put(("write", topic, msgtype, data, t_ns))

    def close(self, meta: dict[str, Any]) -> None:
        self._q.put(("close", meta))

    def stop(self) -> None:
        self._q.put(None)
        self._thread.join(30.0)

    def _run(self) -> None:
        while (op := self._q.get()) is not None:
            try:
                if op[0] == "open":
                    self._bag = BagWriter(op[1], self.storage, self.typestore)
                    for topic, msgtype, data, t in op[2]:
                        self._bag.write_raw(topic, msgtype, data, t)
                elif op[0] == "write" and self._bag is not None:
                    self._bag.write_raw(*op[1:])
                elif op[0] == "close" and self._bag is not None:
                    meta = dict(op[1], messages=self._bag.count)
                    self._bag.close(meta)
                    self.on_closed(self._bag.path, meta)
                    self._bag = None
            except Exception as exc:  # a full disk must not kill the node silently: report on /diagnostics
                self.error = f"{type(exc).__name__}: {exc}"


class TrialRecorder(ImgenNode):
    INFO = S.TRIAL_RECORDER
    THREADS = 1  # every callback is short (bag I/O runs on the BagThread): one thread keeps up best

    def __init__(self) -> None:
        super().__init__()
        self.out_dir = Path(self.p.out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.topics = {t: ty for t, ty in S.TOPIC_TYPES.items()
                       if self.p.record_images or t not in S.IMAGE_TOPICS}
        self.typestore = make_typestore(self.topics.values())
        self._lock = threading.Lock()
        self._writer = BagThread(self.p.storage, self.typestore, self._closed)
        self._recording: Path | None = None
        self._meta: dict[str, Any] = {}
        self._opened = 0.0
        self._pending_end: tuple[dict[str, Any], float] | None = None  # (end event, close deadline, monotonic)
        self._end_ns = 0  # receipt time of the pending end event [ns]
        self._draining: set[str] = set()  # stamped topics still to deliver a message stamped after it
        self._started = 0
        self._last: dict[str, tuple[bytes, int]] = {}  # newest raw message per topic (written at a bag's start)
        self.finished: list[str] = []
        reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        for topic, typ in self.topics.items():
            # camera streams: best effort matches any publisher (a recorder must never slow the camera down)
            qos = (qos_profile_sensor_data if topic.startswith(S.CAMERA_NS) or topic in S.IMAGE_TOPICS
                   else latched if topic == S.EXTRINSICS else reliable)
            cb = self._on_trial if topic == S.TRIAL else (lambda data, t=topic: self._on_msg(t, data))
            self.create_subscription(msg_class(typ), topic, cb, qos, raw=True, callback_group=self.io_group)
        self.create_timer(0.2, self._watchdog, callback_group=self.loop_group)
        if self.p.record_without_trials:
            with self._lock:
                self._open({"event": "start", "operator": "unknown", "note": "recorded without trial events"})
        self.set_health(OK, "idle: waiting for a trial start on /imgen/trial", out_dir=str(self.out_dir))
        self.get_logger().info(f"recording {len(self.topics)} topics to {self.out_dir} ({self.p.storage})")

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _on_msg(self, topic: str, data: bytes) -> None:
        t = self._now_ns()
        with self._lock:
            self._last[topic] = (data, t)
            if self._recording is not None:
                self._writer.write(topic, self.topics[topic], data, t)
                if self._pending_end is not None and topic in self._draining:
                    stamp = header_stamp_ns(data)
                    if stamp is None or stamp >= self._end_ns:
                        self._draining.discard(topic)
                self._close_if_drained()

    def _close_if_drained(self, now: float | None = None) -> None:
        if self._pending_end is not None and (
                not self._draining or (time.monotonic() if now is None else now) >= self._pending_end[1]):
            self._close(self._pending_end[0])

    def _on_trial(self, data: bytes) -> None:
        t = self._now_ns()
        try:
            msg = deserialize(self.typestore, bytes(data), S.TOPIC_TYPES[S.TRIAL])
            event = json.loads(msg.data)
            if not isinstance(event, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            self.get_logger().warning(f"ignoring malformed /imgen/trial event: {exc}")
            return
        kind = event.get("event")
        with self._lock:
            if kind == "start":
                if self._pending_end is not None:  # the previous trial ended: its bag is complete now
                    self._close(self._pending_end[0])
                if self._recording is not None:
                    self._close({"event": "end", "outcome": "aborted", "reason": "a new trial started"})
                self._open(event)
            if self._recording is not None:
                self._writer.write(S.TRIAL, S.TOPIC_TYPES[S.TRIAL], data, t)
            if kind == "end" and self._recording is not None and self._pending_end is None:
                self._pending_end = (event, time.monotonic() + self.p.end_drain_s)
                self._end_ns = t
                # topics that were streaming (a message in the last second) and carry a header stamp
                self._draining = {tp for tp, (_, t_last) in self._last.items()
                                  if self.topics.get(tp) in STAMPED_TYPES and t - t_last < 1_000_000_000}
                self._close_if_drained()

    def _open(self, start: dict[str, Any]) -> None:
        trial = start.get("trial", self._started)
        self._started += 1
        name = f"trial_{trial:04d}" if isinstance(trial, int) else f"trial_{trial}"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.out_dir / f"{name}_{stamp}"
        k = 1
        while path.exists():
            path = self.out_dir / f"{name}_{stamp}_{k}"
            k += 1
        path.mkdir(parents=True)  # reserve the name now; the writer thread fills it
        path.rmdir()
        first = [(topic, self.topics[topic], data, t)
                 for topic, (data, t) in sorted(self._last.items(), key=lambda kv: kv[1][1]) if topic != S.TRIAL]
        self._writer.open(path, first)
        self._recording = path
        self._meta = {k: v for k, v in start.items() if k != "event"}
        self._meta["start_ns"] = self._now_ns()
        self._opened = time.monotonic()
        self.set_health(OK, f"recording {path.name}", bag=str(path))
        self.get_logger().info(f"trial {trial}: recording {path}")

    def _close(self, end: dict[str, Any]) -> None:
        meta = dict(self._meta)
        meta.update({k: v for k, v in end.items() if k != "event"})
        meta["end_ns"] = self._now_ns()
        self._writer.close(meta)
        self._recording = None
        self._pending_end = None
        self.set_health(OK, "idle: waiting for a trial start on /imgen/trial", bags=len(self.finished))

    def _closed(self, path: Path, meta: dict[str, Any]) -> None:
        self.finished.append(str(path))
        self.get_logger().info(f"closed {path} ({meta['messages']} messages, outcome {meta.get('outcome', '?')})")

    def _watchdog(self) -> None:
        with self._lock:
            if self._writer.error:
                self.set_health(ERROR, f"bag writing failed: {self._writer.error}", bags=len(self.finished))
                return
            self._close_if_drained()
            if self._recording is not None:
                self.set_health(OK, f"recording {self._recording.name}", bags=len(self.finished))
                overdue = time.monotonic() - self._opened > self.p.max_trial_seconds
                if self._pending_end is None and not self.p.record_without_trials and overdue:
                    self._close({"event": "end", "outcome": "timeout", "reason": "no end event"})
                    self.set_health(WARN, "trial exceeded max_trial_seconds; bag closed", bags=len(self.finished))

    def close(self) -> None:
        with self._lock:
            if self._pending_end is not None:
                self._close(self._pending_end[0])
            if self._recording is not None:
                self._close({"event": "end", "outcome": "interrupted", "reason": "recorder shut down"})
        self._writer.stop()


def main() -> None:
    run(TrialRecorder)


if __name__ == "__main__":
    main()
