"""ROS test helpers: nodes run as real subprocesses; the test talks to them through a real rclpy probe node.

Every test session gets its own ``ROS_DOMAIN_ID`` (discovery limited to localhost), so concurrent runs on the
same machine do not see each other's topics.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["ROS_DOMAIN_ID"] = str(1 + os.getpid() % 100)
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"

ROOT = Path(__file__).resolve().parents[2]


class NodeProcess:
    """A node started as ``python -m imgen_ros.nodes.<exe> --ros-args ...``; output captured to a file."""

    def __init__(self, executable: str, params: dict[str, Any] | None = None, remaps: dict[str, str] | None = None,
                 log_dir: Path | None = None, name: str | None = None, namespace: str = "") -> None:
        from imgen_ros.graph import NodeSpec, process_command
        from imgen_ros.launcher import node_env

        spec = NodeSpec(executable, name or executable, namespace=namespace, parameters=params or {},
                        remappings=tuple((remaps or {}).items()))
        self.cmd = process_command(spec, sys.executable)
        self.log_path = (log_dir or Path("/tmp")) / f"{spec.name}-{os.getpid()}-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(self.cmd, stdout=self._log, stderr=subprocess.STDOUT, env=node_env(),
                                     cwd=ROOT, start_new_session=True)

    @property
    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def stop(self, timeout: float = 15.0) -> int:
        import signal

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)


class Probe:
    """An in-process rclpy node spun in a background thread: publish, collect, wait for topics."""

    def __init__(self) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(f"probe_{os.getpid()}", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.received: dict[str, list[tuple[float, Any]]] = defaultdict(list)
        self._lock = threading.Lock()
        self._pubs: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._running = True
        self._thread.start()

    def _spin(self) -> None:
        while self._running:
            self.executor.spin_once(timeout_sec=0.05)

    def subscribe(self, topic: str, msg_type: Any, qos: int = 50) -> None:
        def cb(msg: Any) -> None:
            with self._lock:
                self.received[topic].append((time.monotonic(), msg))

        self.node.create_subscription(msg_type, topic, cb, qos)

    def publisher(self, topic: str, msg_type: Any) -> Any:
        if topic not in self._pubs:
            self._pubs[topic] = self.node.create_publisher(msg_type, topic, 50)
        return self._pubs[topic]

    def messages(self, topic: str, since: float = 0.0) -> list[Any]:
        with self._lock:
            return [m for t, m in self.received[topic] if t >= since]

    def wait_for(self, topic: str, pred: Callable[[Any], bool] = lambda m: True, timeout: float = 20.0,
                 since: float = 0.0) -> Any:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for m in self.messages(topic, since):
                if pred(m):
                    return m
            time.sleep(0.02)
        raise AssertionError(f"no matching message on {topic} within {timeout} s "
                             f"({len(self.messages(topic, since))} received)")

    def wait_subscribers(self, topic: str, n: int = 1, timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.node.count_subscribers(topic) >= n:
                return
            time.sleep(0.05)
        raise AssertionError(f"{topic}: no subscriber within {timeout} s")

    def now_stamp(self, offset_s: float = 0.0) -> Any:
        from rclpy.duration import Duration

        return (self.node.get_clock().now() + Duration(nanoseconds=int(offset_s * 1e9))).to_msg()

    def close(self) -> None:
        self._running = False
        self._thread.join(2.0)
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        self.context.try_shutdown()


@pytest.fixture(scope="module")
def probe() -> Iterator[Probe]:
    p = Probe()
    yield p
    p.close()


@pytest.fixture
def start_node(tmp_path: Path) -> Iterator[Callable[..., NodeProcess]]:
    started: list[NodeProcess] = []

    def start(executable: str, **kwargs: Any) -> NodeProcess:
        n = NodeProcess(executable, log_dir=tmp_path, **kwargs)
        started.append(n)
        return n

    yield start
    for n in started:
        n.stop()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real BC-RNN checkpoint (preset ``tiny``) trained on a small synthetic dataset with the policy keys."""
    from imgen_core import dataset
    from imgen_core.learning.presets import get_preset
    from imgen_core.learning.train import train
    from tests.core.synthetic import ENV_ARGS, PROVENANCE, make_episode

    d = tmp_path_factory.mktemp("tiny_policy")
    path = d / "data.hdf5"
    with dataset.DatasetWriter(path, ENV_ARGS, PROVENANCE) as w:
        for i in range(3):
            w.add(make_episode(T=20, seed=i))
    train([str(path)], get_preset("tiny"), d / "run", evaluate=None, show_progress=False)
    return str(d / "run" / "best.pt")
