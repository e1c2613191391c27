"""Start a :class:`~imgen_ros.graph.GraphSpec` as subprocesses (no ROS launch system needed).

Every node runs as ``python -m imgen_ros.nodes.<exe> --ros-args ...`` (the same names, parameters and
remappings the ROS launch file passes), in its own process group. Output is streamed line by line with a
``[node]`` prefix. Ctrl-C (SIGINT) or SIGTERM is forwarded to every node, which then gets ``grace`` seconds to
shut down before SIGTERM and SIGKILL. When a *required* node exits the whole graph is stopped; the exit code is
that node's (non-zero if it died), 130 after Ctrl-C, 0 when a required node finished cleanly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from imgen_ros.graph import NODE_ENV, GraphSpec, NodeSpec, process_command

log = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def node_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment of a node process: project importable, unbuffered output, headless MuJoCo."""
    env = dict(os.environ if base is None else base)
    path = env.get("PYTHONPATH", "")
    if str(PROJECT_ROOT) not in path.split(os.pathsep):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), path) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("RCUTILS_LOGGING_BUFFERED_STREAM", "1")
    env.setdefault("RCUTILS_COLORIZED_OUTPUT", "0")
    env.setdefault("MUJOCO_GL", "osmesa")
    env.setdefault("PYOPENGL_PLATFORM", "osmesa")
    for k, v in NODE_ENV.items():
        env.setdefault(k, v)
    return env


@dataclass
class _Running:
    spec: NodeSpec
    proc: subprocess.Popen[str]
    reader: threading.Thread
    returncode: int | None = None


@dataclass
class GraphRunner:
    """Runs one graph; :meth:`run` blocks until the graph ends and returns the exit code."""

    graph: GraphSpec
    python: str = sys.executable
    env: dict[str, str] | None = None
    grace: float = 10.0
    out: IO[str] = field(default_factory=lambda: sys.stdout)
    on_started: Callable[[GraphRunner], None] | None = None
    _procs: list[_Running] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    interrupted: bool = False

    def _emit(self, prefix: str, line: str) -> None:
        with self._lock:
            self.out.write(f"[{prefix}] {line}" if line.endswith("\n") else f"[{prefix}] {line}\n")
            self.out.flush()

    def _pump(self, name: str, stream: IO[str]) -> None:
        for line in iter(stream.readline, ""):
            self._emit(name, line)
        stream.close()

    def start(self) -> None:
        env = node_env(self.env)
        for spec in self.graph.nodes:
            cmd = process_command(spec, self.python)
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    text=True, bufsize=1, env=env, start_new_session=True)
            reader = threading.Thread(target=self._pump, args=(spec.name, proc.stdout), daemon=True)
            reader.start()
            self._procs.append(_Running(spec, proc, reader))
            self._emit("launch", f"started {spec.fqn} (pid {proc.pid})")

    def request_stop(self, *_: Any) -> None:
        """Ask the graph to stop (signal-handler safe)."""
        self.interrupted = True
        self._stop.set()

    @property
    def pids(self) -> dict[str, int]:
        return {r.spec.name: r.proc.pid for r in self._procs}

    def _signal_all(self, sig: int) -> None:
        for r in self._procs:
            if r.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(r.proc.pid, sig)

    def _wait_all(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if all(r.proc.poll() is not None for r in self._procs):
                return True
            time.sleep(0.05)
        return all(r.proc.poll() is not None for r in self._procs)

    def shutdown(self) -> None:
        """SIGINT every node, then SIGTERM / SIGKILL whatever is still alive after the grace period."""
        self._signal_all(signal.SIGINT)
        if not self._wait_all(self.grace):
            self._emit("launch", "nodes still running after SIGINT; sending SIGTERM")
            self._signal_all(signal.SIGTERM)
            if not self._wait_all(5.0):
                self._emit("launch", "sending SIGKILL")
                self._signal_all(signal.SIGKILL)
                self._wait_all(5.0)
        for r in self._procs:
            r.reader.join(timeout=2.0)

    def run(self) -> int:
        """Start every node and supervise until a required node exits or a stop is requested."""
        self.start()
        if self.on_started:
            self.on_started(self)
        code: int | None = None
        try:
            while not self._stop.is_set():
                for r in self._procs:
                    if r.returncode is None and r.proc.poll() is not None:
                        r.returncode = r.proc.returncode
                        rc = r.returncode
                        how = "finished" if rc == 0 else f"died (exit code {rc})"
                        self._emit("launch", f"{r.spec.fqn} {how}{'' if r.spec.required else ' (not required)'}")
                        if r.spec.required and code is None:
                            code = rc if rc >= 0 else 128 - rc
                            self._stop.set()
                if all(r.proc.poll() is not None for r in self._procs):
                    break
                self._stop.wait(0.1)
        finally:
            self.shutdown()
        if code is not None:
            return code
        if self.interrupted:
            return 130
        bad = [r.proc.returncode for r in self._procs if r.proc.returncode not in (0, None)]
        return bad[0] if bad else 0


def run_graph(graph: GraphSpec, python: str = sys.executable, grace: float = 10.0) -> int:
    """Run ``graph`` in the foreground with Ctrl-C / SIGTERM forwarded to the nodes; returns the exit code."""
    runner = GraphRunner(graph, python=python, grace=grace)
    old_int = signal.signal(signal.SIGINT, runner.request_stop)
    old_term = signal.signal(signal.SIGTERM, runner.request_stop)
    try:
        return runner.run()
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
