"""One graph definition → the ROS 2 launch files and ``imgen launch`` start the same nodes (static part).

``launch`` / ``launch_ros`` are not on PyPI, so the launch files are executed against a tiny fake of both that
records every ``Node(...)``: the result must equal the definition, and equal what ``imgen launch`` runs.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

from imgen_core.errors import ConfigError
from imgen_ros.graph import GRAPHS, NODE_ENV, all_aliases, build_graph, process_command, variants
from imgen_ros.launcher import node_env
from imgen_ros.params import ParamSpec, ros_arg_value
from imgen_ros.schemas import NODES

pytestmark = pytest.mark.ros
LAUNCH_DIR = Path(__file__).resolve().parents[2] / "launch"


class _Recorder:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


class FakeLaunch:
    """Minimal ``launch`` + ``launch_ros`` API surface used by our launch files, recording what they build."""

    def __init__(self) -> None:
        launch = types.ModuleType("launch")
        actions = types.ModuleType("launch.actions")
        subs = types.ModuleType("launch.substitutions")
        lros = types.ModuleType("launch_ros")
        lros_actions = types.ModuleType("launch_ros.actions")

        class LaunchDescription:
            def __init__(self, entities: list[Any]) -> None:
                self.entities = list(entities)

        class DeclareLaunchArgument:
            def __init__(self, name: str, default_value: str = "", description: str = "") -> None:
                self.name, self.default_value, self.description = name, default_value, description

        class OpaqueFunction:
            def __init__(self, function: Any) -> None:
                self.function = function

        class Shutdown(_Recorder):
            pass

        class LaunchConfiguration:
            def __init__(self, name: str) -> None:
                self.name = name

            def perform(self, context: Any) -> str:
                return context.launch_configurations[self.name]

        class Node(_Recorder):
            pass

        launch.LaunchDescription = LaunchDescription
        actions.DeclareLaunchArgument, actions.OpaqueFunction, actions.Shutdown = (DeclareLaunchArgument,
                                                                                   OpaqueFunction, Shutdown)
        subs.LaunchConfiguration = LaunchConfiguration
        lros_actions.Node = Node
        launch.actions, launch.substitutions, lros.actions = actions, subs, lros_actions
        self.modules = {"launch": launch, "launch.actions": actions, "launch.substitutions": subs,
                        "launch_ros": lros, "launch_ros.actions": lros_actions}
        self.Shutdown = Shutdown

    def __enter__(self) -> FakeLaunch:
        self._saved = {k: sys.modules.get(k) for k in [*self.modules, "imgen_ros.ros_launch"]}
        sys.modules.pop("imgen_ros.ros_launch", None)
        sys.modules.update(self.modules)
        return self

    def __exit__(self, *exc: Any) -> None:
        for k, v in self._saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v

    def run(self, graph: str, args: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """Execute ``launch/<graph>.launch.py`` with launch arguments ``args``; returns Node kwargs + defaults."""
        spec = importlib.util.spec_from_file_location(f"_launch_{graph}", LAUNCH_DIR / f"{graph}.launch.py")
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        ld = mod.generate_launch_description()
        declared = {e.name: e.default_value for e in ld.entities if hasattr(e, "default_value")}
        unknown = set(args) - set(declared)
        assert not unknown, f"launch file does not declare {unknown}"
        ctx = types.SimpleNamespace(launch_configurations={**declared, **args})
        nodes = [a for e in ld.entities if hasattr(e, "function") for a in e.function(ctx)]
        return [n.kwargs for n in nodes], declared


def parse_ros_args(cmd: list[str]) -> dict[str, Any]:
    """Invert ``process_command``: module, name, namespace, parameters (YAML-typed, as rcl reads them), remaps."""
    assert cmd[1] == "-m"
    i = cmd.index("--ros-args")
    out: dict[str, Any] = {"module": cmd[2], "namespace": "", "parameters": {}, "remappings": []}
    args = cmd[i + 1:]
    for flag, val in zip(args[::2], args[1::2], strict=True):
        key, _, value = val.partition(":=")
        if flag == "-p":
            out["parameters"][key] = yaml.safe_load(value)
        elif key == "__node":
            out["name"] = value
        elif key == "__ns":
            out["namespace"] = value.strip("/")
        else:
            out["remappings"].append((key, value))
    return out


CASES = [
    ("sim_generation", {}, {"source": "data/src.hdf5"}, []),
    ("sim_generation", {}, {"source": "d.hdf5", "n": "7", "method": "imgen", "policy": "scripted:weak"},
     ["generator.max_attempts=30", "sim_world.rate_hz=10"]),
    ("real_deploy", {}, {"checkpoint": "runs/x/best.pt", "robot_ip": "10.0.0.2"}, ["policy_server.stale_timeout=0.3"]),
    ("real_deploy", {"twin": True}, {"checkpoint": "c.pt", "trials": "5", "seed": "3"},
     ["trial_recorder.storage=sqlite3", "trial_recorder.record_images=true"]),
    ("real_deploy", {"twin": True, "sim_poses": True}, {"checkpoint": "c.pt"},
     ["franka_controller.corruption=block", "franka_controller.trial_steps=300"]),
    ("real_deploy", {"twin": True, "sim_robot": True}, {"checkpoint": "c.pt", "trials": "5"},
     ["sim_world.rate_hz=10"]),
    ("real_deploy", {"twin": True, "sim_robot": True, "sim_poses": True}, {"checkpoint": "c.pt"},
     ["sim_world.corruption=block"]),
]


@pytest.mark.parametrize("graph,flags,aliases,sets", CASES)
def test_launch_file_and_imgen_launch_start_exactly_the_definition(graph, flags, aliases, sets):
    overrides = [f"{k}={v}" for k, v in aliases.items()] + sets
    g = build_graph(graph, overrides=overrides, **flags)
    args = {k: str(v).lower() for k, v in flags.items()} | aliases | {"set": ";".join(sets)}
    with FakeLaunch() as fake:
        nodes, _ = fake.run(graph, args)
    assert [n["name"] for n in nodes] == [n.name for n in g.nodes]
    for kw, spec in zip(nodes, g.nodes, strict=True):
        assert kw["package"] == "imgen" and kw["executable"] == spec.executable
        assert kw.get("namespace", "") == spec.namespace
        assert kw["parameters"] == [dict(spec.parameters)]
        assert kw["remappings"] == list(spec.remappings)
        assert ("on_exit" in kw) == spec.required
        # imgen launch: same module, name, namespace, typed parameters and remappings
        cmd = parse_ros_args(process_command(spec, sys.executable))
        assert cmd["module"] == f"imgen_ros.nodes.{kw['executable']}"
        assert (cmd["name"], cmd["namespace"]) == (kw["name"], kw.get("namespace", ""))
        assert cmd["parameters"] == kw["parameters"][0]
        assert {k: type(v) for k, v in cmd["parameters"].items()} == {k: type(v) for k, v in
                                                                       kw["parameters"][0].items()}
        assert cmd["remappings"] == kw["remappings"]
        # both start the node with the same environment additions (one math thread per node process)
        env = node_env({})
        assert kw["additional_env"] == NODE_ENV and all(env[k] == v for k, v in NODE_ENV.items())
    # the overrides really landed
    for text in sets:
        key, val = text.split("=", 1)
        node, pname = key.split(".")
        assert g.node(node).parameters[pname] == g.node(node).info.param(pname).parse(val)


def test_launch_files_are_plain_python_declaring_every_alias():
    for graph in GRAPHS:
        src = (LAUNCH_DIR / f"{graph}.launch.py").read_text()
        tree = ast.parse(src)
        assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)
        with FakeLaunch() as fake:
            required = {"sim_generation": {"source": "s.hdf5"}, "real_deploy": {"checkpoint": "c.pt"}}[graph]
            _, declared = fake.run(graph, required)
        assert set(all_aliases(graph)) <= set(declared)
        assert {k for v in variants(graph) for k in v} <= set(declared)


def test_twin_variant_replaces_devices_by_sim_and_sim_poses_remaps():
    real = build_graph("real_deploy", check_required=False)
    twin = build_graph("real_deploy", twin=True, check_required=False)
    fast = build_graph("real_deploy", twin=True, sim_poses=True, check_required=False)
    sim = build_graph("real_deploy", twin=True, sim_robot=True, sim_poses=True, check_required=False)
    assert real.node("franka_controller").parameters["backend"] == "franky"
    assert twin.node("franka_controller").parameters["backend"] == "franky_sim"  # the rehearsal: same node
    assert "sim_world" not in [n.executable for n in real.nodes + twin.nodes]
    assert twin.node("camera").parameters["source"] == "sim" and real.node("camera").parameters["source"] == \
        "realsense"
    assert twin.node("camera").fqn == "/camera/camera"  # realsense-ros topic names /camera/camera/...
    assert fast.node("franka_controller").remappings == (("/sim/cube_pose_observed", "/cube_pose"),)
    assert sim.node("sim_world").remappings == (("/sim/cube_pose_observed", "/cube_pose"),)
    assert "cube_pose_estimator" not in [n.executable for n in fast.nodes + sim.nodes]
    assert twin.aliases["trials"] == "franka_controller.trials" and sim.aliases["trials"] == "sim_world.trials"
    with pytest.raises(ConfigError, match="needs --twin"):
        build_graph("real_deploy", sim_robot=True, check_required=False)


def test_bad_overrides_name_what_is_valid():
    with pytest.raises(ConfigError, match=r"valid: an int in \[1, 1000000\]"):
        build_graph("sim_generation", overrides=["source=x", "n=0"])
    with pytest.raises(ConfigError, match="has no parameter 'bogus'"):
        build_graph("sim_generation", overrides=["source=x", "generator.bogus=1"])
    with pytest.raises(ConfigError, match="has no node 'nope'"):
        build_graph("sim_generation", overrides=["source=x", "nope.n=1"])
    with pytest.raises(ConfigError, match="required"):
        build_graph("real_deploy")  # checkpoint unset
    with pytest.raises(ConfigError, match="valid: one of: mcap, sqlite3"):
        build_graph("real_deploy", overrides=["checkpoint=c", "trial_recorder.storage=rosbag"])
    with pytest.raises(ConfigError, match="twin"):
        build_graph("sim_generation", twin=True)


def test_every_declared_parameter_round_trips_through_ros_arg_syntax():
    for info in NODES.values():
        for p in info.params:
            samples = [p.default] if not p.required else ["x"]
            if p.range is not None:
                samples += [p.type(p.range[0]), p.type(p.range[1])]
            for v in samples:
                assert yaml.safe_load(ros_arg_value(v)) == v, (info.executable, p.name, v)
    for s in ("true", "1", "", "a b", "it's", "scripted:weak", "/abs/path.pt", "1e-3", "null"):
        assert yaml.safe_load(ros_arg_value(s)) == s


def test_param_spec_parse_and_range_messages():
    p = ParamSpec("rate_hz", float, 20.0, "rate", (1.0, 200.0))
    assert p.parse("20") == 20.0
    with pytest.raises(ConfigError, match=r"valid: a float in \[1.0, 200.0\]"):
        p.parse("500")
    with pytest.raises(ConfigError, match="not a number"):
        p.parse("fast")
    b = ParamSpec("flag", bool, False, "a flag")
    assert b.parse("true") is True
    with pytest.raises(ConfigError, match="true or false"):
        b.parse("maybe")


def test_rviz_config_shows_the_contract_topics_in_the_base_frame():
    from imgen_ros import schemas as S

    cfg = yaml.safe_load((LAUNCH_DIR / "imgen.rviz").read_text())["Visualization Manager"]
    assert cfg["Global Options"]["Fixed Frame"] == "base"
    shown = {d["Topic"]["Value"]: d["Class"] for d in cfg["Displays"] if "Topic" in d}
    expect = {S.EE_POSE: ("Pose", "geometry_msgs/msg/PoseStamped"), S.CUBE_POSE: ("Pose", None),
              S.CUBE_POSE_TRUE: ("Pose", None), S.MARKERS: ("MarkerArray", "visualization_msgs/msg/MarkerArray"),
              S.POINTS: ("PointCloud2", "sensor_msgs/msg/PointCloud2"), S.COLOR_IMAGE: ("Image", None)}
    for topic, (cls, typ) in expect.items():
        assert shown.get(topic) == f"rviz_default_plugins/{cls}", topic
        if typ:
            assert S.TOPIC_TYPES[topic] == typ


def test_ros_launch_can_add_rviz():
    with FakeLaunch() as fake:
        nodes, declared = fake.run("real_deploy", {"checkpoint": "c.pt", "rviz": "true"})
    assert "rviz" in declared
    rviz = [n for n in nodes if n["package"] == "rviz2"]
    assert len(rviz) == 1 and rviz[0]["arguments"][1].endswith("launch/imgen.rviz")
