"""The ROS graphs as data: one definition used by the ROS 2 launch files *and* by ``imgen launch``.

A :class:`GraphSpec` lists :class:`NodeSpec` s (package ``imgen``, executable, name, namespace, parameter values,
remappings, required). ``launch/<graph>.launch.py`` turns it into ``launch_ros.actions.Node`` actions on a machine
with ROS installed; :func:`process_command` turns it into ``python -m imgen_ros.nodes.<exe> --ros-args ...``
command lines for machines with only the rclpy wheels. Both start exactly the nodes, parameters and remappings
built here (tested).

Graphs:

* ``sim_generation``: ``generator`` (runs a generation job; its exit ends the graph) + ``sim_world`` (the twin's
  scene, for RViz).
* ``real_deploy``: ``d415_camera`` → ``cube_pose_estimator`` → ``policy_server`` → ``franka_controller``, and
  ``trial_recorder``.
* ``real_deploy --twin`` (the dress rehearsal): the same graph with the devices replaced by twins at their
  interfaces — ``franka_controller`` drives the franky-sim twin of the cell (FR3, table, cube) through the
  libfranka protocol and runs the trials, ``d415_camera`` renders the scene; estimator, policy server and recorder
  are the same nodes as on the real robot.
* ``real_deploy --twin --sim-robot``: the robot is the robosuite twin ``sim_world`` (closed loop, stepping from
  ``/imgen/action``: the training simulator itself) instead of franky-sim.
* ``real_deploy --twin --sim-poses``: no camera/ICP; the twin's *observed* (corrupted) cube pose is remapped
  onto ``/cube_pose`` (fast closed loop, for policy checks without rendering).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from imgen_core.errors import ConfigError, check_choice
from imgen_ros import schemas as S
from imgen_ros.params import ParamValue, ros_arg_value

# Environment of every node process (both ways of starting a graph). One math thread per process: the graph runs
# ~6 processes, each numpy/torch/open3d import would otherwise start a thread pool per core, and on a loaded 2-core
# machine their spinning made a 6x6 matrix inverse 30x slower (110 vs 4 us) and starved the 20 Hz loops.
NODE_ENV: dict[str, str] = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class NodeSpec:
    """One node of a graph.

    Attributes:
        executable: console script / module name under ``imgen_ros.nodes``.
        name: ROS node name.
        namespace: ROS namespace ("" = root).
        parameters: explicit parameter values (validated against the node's declared :class:`ParamSpec` s);
            undeclared ones keep their declared defaults.
        remappings: ``(from, to)`` topic remappings.
        required: the graph ends when this node exits (``on_exit=Shutdown()`` in ROS launch).
    """

    executable: str
    name: str
    namespace: str = ""
    parameters: Mapping[str, ParamValue] = field(default_factory=dict)
    remappings: tuple[tuple[str, str], ...] = ()
    required: bool = True
    package: str = S.PACKAGE

    @property
    def info(self) -> S.NodeInfo:
        return S.node_info(self.executable)

    @property
    def module(self) -> str:
        return self.info.module

    @property
    def fqn(self) -> str:
        ns = self.namespace.strip("/")
        return f"/{ns}/{self.name}" if ns else f"/{self.name}"

    def validate(self, check_required: bool = True) -> NodeSpec:
        """Return a copy with every value coerced/checked; with ``check_required`` required strings must be set."""
        info = self.info
        values: dict[str, ParamValue] = {}
        for k, v in self.parameters.items():
            values[k] = info.param(k).validate(v)
        if check_required:
            for p in info.params:
                if p.required:
                    p.validate(values.get(p.name, p.default))
        return NodeSpec(self.executable, self.name, self.namespace, values, self.remappings, self.required,
                        self.package)


@dataclass(frozen=True)
class GraphSpec:
    """A named set of nodes plus launch-argument aliases (``source`` → ``generator.source``; an alias may set
    several parameters: ``"a.x,b.y"``)."""

    name: str
    nodes: tuple[NodeSpec, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)

    def node(self, name: str) -> NodeSpec:
        for n in self.nodes:
            if n.name == name:
                return n
        raise ConfigError(f"graph {self.name} has no node {name!r}; nodes: {', '.join(n.name for n in self.nodes)}")


GRAPHS = ("sim_generation", "real_deploy")
# Base-frame z of the table top in the Block Grasp twin (robosuite mounts the Panda base 0.112 m above the table;
# checked against the twin by tests/ros/test_perception_nodes.py). The twin camera renders its table there and the
# estimator's workspace box is shifted by it.
TWIN_TABLE_Z = -0.112
TWIN_CAMERA_FPS = 10
# The twin renders its D415 on the CPU (osmesa): at 424x240, one of the D415's own profiles, a frame costs 0.35x the
# CPU of a 640x480 one (`bench/d415_render.py` -> results/bench/d415_render.json), and the estimator still places the
# cube within 0.2 mm (p50; 0.1 mm at 640x480): `bench/perception.py --size 424x240`
# -> results/bench/perception_424x240.json.
TWIN_CAMERA_SIZE = (424, 240)
MAIN_JOB_SOURCE = "assets/block_grasp/source_interventions.hdf5"
MAIN_JOB_POLICY = "assets/block_grasp/base_policy.pt"


def _sim_generation() -> GraphSpec:
    nodes = (
        # Defaults = the README's main job: I-MG on Block Grasp from the shipped base policy and 10 source
        # interventions (assets/block_grasp, made by `imgen experiment table4 --preset cpu --observability full` +
        # `imgen export-assets`; observability `full` below matches them).
        NodeSpec("generator", "generator", parameters={
            "method": "imgen", "task": "block_grasp", "source": MAIN_JOB_SOURCE, "policy": MAIN_JOB_POLICY,
            "corruption": "block", "observability": "full", "n": 50, "workers": 2, "out": "data/imgen_block_grasp.hdf5",
            "overwrite": True}),
        NodeSpec("sim_world", "sim_world", parameters={"task": "block_grasp", "closed_loop": False},
                 required=False),
    )
    aliases = {a: f"generator.{a}" for a in ("method", "task", "source", "policy", "n", "out", "corruption",
                                              "observability", "seed", "workers")}
    return GraphSpec("sim_generation", nodes, aliases)


def _real_deploy(twin: bool, sim_poses: bool, sim_robot: bool = False) -> GraphSpec:
    if twin:
        camera = NodeSpec("d415_camera", "camera", namespace="camera",
                          parameters={"source": "sim", "table_z": TWIN_TABLE_Z, "fps": TWIN_CAMERA_FPS,
                                      "width": TWIN_CAMERA_SIZE[0], "height": TWIN_CAMERA_SIZE[1]})
        estimator = NodeSpec("cube_pose_estimator", "cube_pose_estimator", parameters={"table_z": TWIN_TABLE_Z})
    else:
        camera = NodeSpec("d415_camera", "camera", namespace="camera", parameters={"source": "realsense"})
        estimator = NodeSpec("cube_pose_estimator", "cube_pose_estimator")
    policy = NodeSpec("policy_server", "policy_server", parameters={"rate_hz": 20.0, "stale_timeout": 0.2})
    recorder = NodeSpec("trial_recorder", "trial_recorder", parameters={"out_dir": "bags", "storage": "mcap"})
    aliases = {"checkpoint": "policy_server.checkpoint", "out_dir": "trial_recorder.out_dir"}
    if not twin:
        robot = NodeSpec("franka_controller", "franka_controller", parameters={"backend": "franky"})
        aliases |= {"robot_ip": "franka_controller.robot_ip", "extrinsics": "camera.extrinsics"}
        return GraphSpec("real_deploy", (camera, estimator, policy, robot, recorder), aliases)
    if sim_robot:
        # The robosuite twin is the robot and the world: it steps from /imgen/action and publishes the robot
        # state; the camera renders it and the real estimator / policy / recorder run unchanged.
        world = NodeSpec("sim_world", "sim_world", parameters={"closed_loop": True, "corruption": "none"})
    else:
        # The dress rehearsal: the real controller node drives the franky-sim twin of the cell through the
        # libfranka protocol (the twin also runs the trials and publishes the cube's true pose for the camera).
        world = NodeSpec("franka_controller", "franka_controller",
                         parameters={"backend": "franky_sim", "robot_ip": "127.0.0.1", "corruption": "none"})
    # the twin renders the camera on a CPU (~5-10 fps here): allow older poses than the real graph does
    twin_policy = NodeSpec(policy.executable, policy.name, parameters={**policy.parameters, "stale_timeout": 0.5})
    nodes: tuple[NodeSpec, ...] = (world, camera, estimator, twin_policy, recorder)
    if sim_poses:  # the twin stands in for camera + ICP: its believed pose becomes /cube_pose
        world = NodeSpec(world.executable, world.name, parameters=world.parameters,
                         remappings=((S.CUBE_POSE_OBSERVED, S.CUBE_POSE),))
        nodes = (world, policy, recorder)
    w = world.name
    aliases |= {"trials": f"{w}.trials", "seed": f"{w}.seed", "corruption": f"{w}.corruption",
                "checkpoint": f"policy_server.checkpoint,{w}.policy_label"}
    return GraphSpec("real_deploy", nodes, aliases)


def parse_override(text: str) -> tuple[str, str]:
    """``node.param=value`` (or ``alias=value``) → ``(key, value)``."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {text!r} must look like node.param=value (or alias=value)")
    return key.strip(), value


def split_overrides(text: str) -> list[str]:
    """Launch-argument form ``"a.b=1;c.d=x"`` → ``["a.b=1", "c.d=x"]`` (``;`` separated)."""
    return [t.strip() for t in text.split(";") if t.strip()]


def apply_overrides(graph: GraphSpec, overrides: Iterable[str]) -> GraphSpec:
    """Set parameters from ``node.param=value`` strings (values parsed by the parameter's declared type)."""
    values: dict[str, dict[str, ParamValue]] = {n.name: dict(n.parameters) for n in graph.nodes}
    for text in overrides:
        key, raw = parse_override(text)
        for target in graph.aliases.get(key, key).split(","):
            node_name, dot, pname = target.rpartition(".")
            if not dot:
                raise ConfigError(f"override {text!r}: {key!r} is neither node.param nor an alias "
                                  f"({', '.join(sorted(graph.aliases)) or 'none'})")
            node = graph.node(node_name)
            values[node_name][pname] = node.info.param(pname).parse(raw)
    nodes = tuple(NodeSpec(n.executable, n.name, n.namespace, values[n.name], n.remappings, n.required, n.package)
                  for n in graph.nodes)
    return GraphSpec(graph.name, nodes, graph.aliases)


def build_graph(name: str, twin: bool = False, overrides: Iterable[str] = (), check_required: bool = True,
                sim_poses: bool = False, sim_robot: bool = False) -> GraphSpec:
    """The graph ``name`` with ``overrides`` applied and every parameter validated.

    Raises:
        ConfigError: unknown graph/node/parameter, a value out of its valid range, or a required one unset.
    """
    check_choice("graph", name, GRAPHS)
    if twin and name != "real_deploy":
        raise ConfigError("--twin applies to real_deploy only (sim_generation is all-sim already)")
    if sim_poses and not twin:
        raise ConfigError("--sim-poses needs --twin (only the twin knows the cube pose without a camera)")
    if sim_robot and not twin:
        raise ConfigError("--sim-robot needs --twin (it picks the robosuite twin as the robot)")
    graph = _sim_generation() if name == "sim_generation" else _real_deploy(twin, sim_poses, sim_robot)
    graph = apply_overrides(graph, overrides)
    nodes = tuple(n.validate(check_required) for n in graph.nodes)
    return GraphSpec(graph.name, nodes, graph.aliases)


def ros_args(node: NodeSpec) -> list[str]:
    """``--ros-args`` for one node: name, namespace, ``-p name:=value`` per parameter, ``-r from:=to``."""
    args = ["--ros-args", "-r", f"__node:={node.name}"]
    if node.namespace:
        args += ["-r", f"__ns:=/{node.namespace.strip('/')}"]
    for k, v in node.parameters.items():
        args += ["-p", f"{k}:={ros_arg_value(v)}"]
    for src, dst in node.remappings:
        args += ["-r", f"{src}:={dst}"]
    return args


def process_command(node: NodeSpec, python: str) -> list[str]:
    """Command line that starts ``node`` without ROS's launch system (``python -m imgen_ros.nodes.<exe>``)."""
    return [python, "-m", node.module, *ros_args(node)]


def describe(graph: GraphSpec, python: str = "python") -> str:
    """Human-readable listing (``imgen launch --dry-run``)."""
    lines = [f"graph {graph.name}: {len(graph.nodes)} nodes"]
    for n in graph.nodes:
        lines.append(f"  {n.fqn} ({n.package}/{n.executable}{', required' if n.required else ''})")
        lines.append("    " + shlex.join(process_command(n, python)))
    if graph.aliases:
        lines.append("aliases: " + ", ".join(f"{a}={t}" for a, t in sorted(graph.aliases.items())))
    return "\n".join(lines)


def variants(name: str) -> list[dict[str, Any]]:
    """The ``build_graph`` flag combinations a graph supports (``twin``, ``sim_poses``)."""
    check_choice("graph", name, GRAPHS)
    if name == "sim_generation":
        return [{}]
    return [{}, {"twin": True}, {"twin": True, "sim_poses": True}, {"twin": True, "sim_robot": True},
            {"twin": True, "sim_robot": True, "sim_poses": True}]


def all_aliases(name: str) -> dict[str, str]:
    """Every launch-argument alias of any variant of graph ``name`` (alias → ``node.param``)."""
    out: dict[str, str] = {}
    for flags in variants(name):
        out |= dict(build_graph(name, check_required=False, **flags).aliases)
    return out
