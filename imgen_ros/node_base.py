"""Base class and ``main()`` of every imgen node.

* **Parameters** are declared from the node's :class:`~imgen_ros.schemas.NodeInfo` with a full
  ``ParameterDescriptor`` (type, description, ``FloatingPointRange`` / ``IntegerRange``, read-only) and validated
  at start: a bad value ends the process with exit code 2 and a message that names the valid range.
* **Health** goes to ``/diagnostics`` (``diagnostic_msgs/DiagnosticArray``) every ``diagnostics_period`` seconds.
* **Callback groups**: the fixed-rate loop (:meth:`ImgenNode.create_loop`) has its own
  ``MutuallyExclusiveCallbackGroup``; subscriptions share another (:attr:`ImgenNode.io_group`); the process spins
  a ``MultiThreadedExecutor``, so slow I/O never delays the 20 Hz loop.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, ClassVar

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType
from rclpy._rclpy_pybind11 import RCLError
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter

from imgen_core.errors import ConfigError, ImgenError
from imgen_ros import schemas as S
from imgen_ros.params import ParamSpec, spec_table

OK, WARN, ERROR, STALE = (DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR, DiagnosticStatus.STALE)
_ROS_TYPE = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
             float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING}


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
    """ROS parameter descriptor of ``spec`` (read-only: parameters are fixed for a node's lifetime)."""
    d = ParameterDescriptor(name=spec.name, type=_ROS_TYPE[spec.type], description=spec.description,
                            additional_constraints=f"valid: {spec.valid_text()}", read_only=True)
    if spec.range is not None and spec.type is float:
        d.floating_point_range = [FloatingPointRange(from_value=float(spec.range[0]), to_value=float(spec.range[1]),
                                                     step=0.0)]
    elif spec.range is not None and spec.type is int:
        d.integer_range = [IntegerRange(from_value=int(spec.range[0]), to_value=int(spec.range[1]), step=1)]
    return d


def stamp_seconds(stamp: Any) -> float:
    """``builtin_interfaces/Time`` → seconds."""
    return float(stamp.sec) + 1e-9 * float(stamp.nanosec)


class ImgenNode(Node):
    """A node whose parameters come from :attr:`INFO`; subclasses add publishers, subscriptions and loops."""

    INFO: ClassVar[S.NodeInfo]
    THREADS: ClassVar[int] = 3

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(self.INFO.executable, **kwargs)
        self.p = SimpleNamespace(**self._declare_parameters())
        self.loop_group = MutuallyExclusiveCallbackGroup()
        self.io_group = MutuallyExclusiveCallbackGroup()
        self._diag_group = MutuallyExclusiveCallbackGroup()
        self._health_lock = threading.Lock()
        self._health: tuple[bytes, str, dict[str, str]] = (OK, "starting", {})
        self.done = threading.Event()
        self.exit_code = 0
        self._diag_pub = self.create_publisher(DiagnosticArray, S.DIAGNOSTICS, 10)
        self.create_timer(self.p.diagnostics_period, self._publish_diagnostics, callback_group=self._diag_group)

    # --- parameters ------------------------------------------------------------------------------------------
    def _declare_parameters(self) -> dict[str, Any]:
        overrides: dict[str, Parameter] = getattr(self, "_parameter_overrides", {})
        errors: list[str] = []
        values: dict[str, Any] = {}
        for spec in self.INFO.params:
            ov = overrides.get(spec.name)
            if ov is not None and spec.type is float and ov.type_ == Parameter.Type.INTEGER:
                overrides[spec.name] = Parameter(spec.name, Parameter.Type.DOUBLE, float(ov.value))  # 20 → 20.0
            default = spec.default
            try:
                value: Any = self.declare_parameter(spec.name, default, descriptor(spec)).value
            except ParameterException:
                given = overrides[spec.name].value if spec.name in overrides else default
                errors.append(f"{spec.name}={given!r} is invalid; valid: {spec.valid_text()}")
                continue
            try:
                values[spec.name] = spec.validate(value)
            except ConfigError as exc:
                errors.append(str(exc).removeprefix("parameter "))
        if errors:
            raise ConfigError(f"node {self.get_name()}: invalid parameter(s): " + "; ".join(errors))
        return values

    # --- loops, health ---------------------------------------------------------------------------------------
    def create_loop(self, rate_hz: float, callback: Callable[[], None]) -> Any:
        """A fixed-rate timer in the node's dedicated loop callback group."""
        return self.create_timer(1.0 / rate_hz, callback, callback_group=self.loop_group)

    def set_health(self, level: bytes, message: str, **values: Any) -> None:
        """Health reported on ``/diagnostics`` (level OK/WARN/ERROR/STALE, a message, key/values)."""
        with self._health_lock:
            self._health = (level, message, {k: str(v) for k, v in values.items()})

    @property
    def health(self) -> tuple[bytes, str, dict[str, str]]:
        with self._health_lock:
            return self._health

    def _publish_diagnostics(self) -> None:
        level, message, values = self.health
        status = DiagnosticStatus(level=level, name=self.get_fully_qualified_name(), message=message,
                                  hardware_id="imgen", values=[KeyValue(key=k, value=v) for k, v in values.items()])
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self._diag_pub.publish(msg)

    def finish(self, code: int = 0) -> None:
        """End the process after the current callback (exit code ``code``)."""
        self.exit_code = code
        self.done.set()

    def close(self) -> None:
        """Release resources (files, devices); called once after spinning stops, also on Ctrl-C."""


def _user_args(argv: list[str]) -> list[str]:
    return argv[: argv.index("--ros-args")] if "--ros-args" in argv else argv


def help_text(info: S.NodeInfo) -> str:
    return (f"usage: {info.executable} [--ros-args -p NAME:=VALUE ... -r FROM:=TO ...]\n\n{info.description}\n\n"
            f"parameters:\n{spec_table(info.params)}\n")


def main_for(node_cls: type[ImgenNode], argv: list[str] | None = None) -> int:
    """Standard node ``main()``: init, construct (exit 2 on a bad parameter), spin multi-threaded, clean up."""
    argv = list(sys.argv if argv is None else argv)
    if any(a in ("-h", "--help") for a in _user_args(argv[1:])):
        print(help_text(node_cls.INFO))
        return 0
    rclpy.init(args=argv)
    try:
        node = node_cls()
    except (ImgenError, ValueError) as exc:
        print(f"[{node_cls.INFO.executable}] error: {exc}", file=sys.stderr, flush=True)
        rclpy.try_shutdown()
        return 2
    # one thread: rclpy's SingleThreadedExecutor (far less per-callback overhead than the multi-threaded one)
    executor = SingleThreadedExecutor() if node.THREADS == 1 else MultiThreadedExecutor(num_threads=node.THREADS)
    executor.add_node(node)
    try:
        while rclpy.ok() and not node.done.is_set():
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RCLError:
        if rclpy.ok():
            raise
        # SIGINT/SIGTERM shut the context down while spin_once was building its wait set: a normal shutdown
    finally:
        try:
            node.close()
        finally:
            executor.shutdown(timeout_sec=1.0)
            node.destroy_node()
            rclpy.try_shutdown()
    return node.exit_code


def run(node_cls: type[ImgenNode]) -> None:
    """Console-script entry: ``sys.exit(main_for(node_cls))``."""
    sys.exit(main_for(node_cls))
