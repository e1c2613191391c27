"""``generator``: one MimicGen / I-MG generation job as a ROS node (``imgen_core.generation.run_job``).

The job runs in a worker thread (the sim workers are the same local processes / Ray actors as ``imgen generate``);
the node only reports: ``/imgen/generation/progress`` (std_msgs/String JSON after every attempt: kept, attempts,
success rate, failure reasons, rate), ``/imgen/markers`` (one LINE_STRIP of TCP positions per kept episode, frame
``base``, transient-local so a late RViz sees them all) and ``/diagnostics``. At the end the dataset is validated,
a summary is logged, printed as JSON and published with ``"done": true``, and the node exits (``exit_when_done``)
with 0 only if every requested episode was kept and the file is valid. Ctrl-C stops after the current attempt;
the file stays resumable (``resume:=true``).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

from rclpy.qos import DurabilityPolicy, QoSProfile
from std_msgs.msg import String
from visualization_msgs.msg import MarkerArray

from imgen_core.dataset import Episode, validate_file
from imgen_core.generation import GenerationConfig, GenerationJob, GenerationStats, run_job
from imgen_ros import messages as M
from imgen_ros import schemas as S
from imgen_ros.node_base import ERROR, OK, ImgenNode, run

COLORS = {"mimicgen": (0.2, 0.5, 1.0, 0.8), "imgen": (1.0, 0.3, 0.3, 0.8), "imgen_no_policy": (0.8, 0.3, 0.9, 0.8)}


class CancelledError(Exception):
    """Raised from the progress callback to stop the job cleanly (the dataset writer closes normally)."""


class Generator(ImgenNode):
    INFO = S.GENERATOR

    def __init__(self) -> None:
        super().__init__()
        p = self.p
        self.job = GenerationJob(method=p.method, task=p.task, source=p.source, n=p.n, out=p.out,
                                 policy=p.policy or None, corruption=p.corruption, observability=p.observability,
                                 seed=p.seed, max_attempts=p.max_attempts or None, workers=p.workers,
                                 cfg=GenerationConfig())
        self.progress_pub = self.create_publisher(String, S.PROGRESS, 10)
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.marker_pub = self.create_publisher(MarkerArray, S.MARKERS, latched)
        self._markers: list[Any] = []
        self._cancel = threading.Event()
        self.summary: dict[str, Any] | None = None
        self._thread = threading.Thread(target=self._work, name="generation", daemon=True)
        self.set_health(OK, "starting generation", out=p.out)
        self._thread.start()

    def _publish(self, d: dict[str, Any]) -> None:
        self.progress_pub.publish(String(data=json.dumps(d, default=str)))

    def _progress(self, stats: GenerationStats) -> None:
        d = stats.to_dict()
        msg = {k: d[k] for k in ("method", "task", "requested", "attempts", "kept", "success_rate",
                                 "failure_reasons", "wall_seconds", "episodes_per_second")}
        msg["done"] = False
        self._publish(msg)
        self.set_health(OK, f"generating: kept {stats.kept}/{stats.requested}", attempts=stats.attempts,
                        success_rate=f"{stats.success_rate:.2f}")
        if self._cancel.is_set():
            raise CancelledError

    def _episode(self, ep: Episode) -> None:
        if len(self._markers) >= self.p.max_marker_episodes:
            return
        now = self.get_clock().now().nanoseconds
        pts = ep.eef_pose[:, :3, 3]
        self._markers.append(M.line_strip(pts, f"generated_{self.p.method}", len(self._markers),
                                          COLORS[self.p.method], now))
        self.marker_pub.publish(MarkerArray(markers=list(self._markers)))

    def _work(self) -> None:
        p = self.p
        t0 = time.time()
        try:
            stats = run_job(self.job, resume=p.resume, overwrite=p.overwrite, progress=self._progress,
                            on_episode=self._episode)
        except CancelledError:
            self.summary = {"done": True, "cancelled": True, "out": p.out}
            self.get_logger().warning(f"generation cancelled; {p.out} is resumable (resume:=true)")
            return
        except Exception as exc:  # a bad source / policy / sim failure: report it and end the graph
            self.summary = {"done": True, "error": f"{type(exc).__name__}: {exc}"}
            self.get_logger().error(f"generation failed: {type(exc).__name__}: {exc}")
            self.set_health(ERROR, f"failed: {exc}")
            self._safe_publish(self.summary)
            self.finish(1)
            return
        errors = validate_file(p.out)
        d = stats.to_dict()
        self.summary = {"done": True, "out": p.out, "valid": not errors, "validation_errors": errors[:10],
                        "requested": p.n, "kept": stats.kept, "attempts": stats.attempts,
                        "success_rate": stats.success_rate, "failure_reasons": stats.failure_reasons,
                        "wall_seconds": time.time() - t0, "episodes_per_second": d["episodes_per_second"]}
        ok = stats.kept >= p.n and not errors
        self._safe_publish(self.summary)
        print(json.dumps(self.summary), flush=True)
        self.get_logger().info(f"generation {'done' if ok else 'INCOMPLETE'}: kept {stats.kept}/{p.n} in "
                               f"{stats.attempts} attempts, dataset {p.out} {'valid' if not errors else 'INVALID'}")
        self.set_health(OK if ok else ERROR, "done" if ok else "finished with errors", kept=stats.kept,
                        valid=not errors)
        if p.exit_when_done:
            time.sleep(0.5)  # let the last progress / markers go out
            self.finish(0 if ok else 1)

    def _safe_publish(self, d: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # the context may be shutting down
            self._publish(d)

    def close(self) -> None:
        self._cancel.set()
        self._thread.join(timeout=120.0)


def main() -> None:
    run(Generator)


if __name__ == "__main__":
    main()
