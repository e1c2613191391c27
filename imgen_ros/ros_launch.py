"""Build a ROS 2 ``LaunchDescription`` from a :mod:`imgen_ros.graph` definition (machines with ROS installed).

Imported only by ``launch/*.launch.py`` (it imports ``launch`` / ``launch_ros``, which are not on PyPI). Launch
arguments: ``twin`` / ``sim_robot`` / ``sim_poses`` (real_deploy), one per graph alias (e.g.
``checkpoint:=runs/x/best.pt``; empty = the graph's value), and ``set:='node.param=value;node.param=value'``
for any other parameter.
"""

from __future__ import annotations

from typing import Any

from launch.actions import DeclareLaunchArgument, OpaqueFunction, Shutdown  # type: ignore[import-not-found, unused-ignore]
from launch.substitutions import LaunchConfiguration  # type: ignore[import-not-found, unused-ignore]
from launch_ros.actions import Node  # type: ignore[import-not-found, unused-ignore]

from imgen_ros.graph import NODE_ENV, GraphSpec, all_aliases, build_graph, split_overrides, variants
from launch import LaunchDescription  # type: ignore[attr-defined, unused-ignore]

_FLAGS = {"twin": "replace the devices by the sim twin: franky-sim robot, rendered D415 (real_deploy)",
          "sim_robot": "with twin: the robosuite twin (sim_world) as the robot instead of franky-sim",
          "sim_poses": "with twin: the twin's observed cube pose instead of camera + ICP"}


def node_actions(graph: GraphSpec) -> list[Any]:
    """One ``launch_ros.actions.Node`` per node of ``graph`` (required nodes end the launch when they exit)."""
    actions = []
    for n in graph.nodes:
        kwargs: dict[str, Any] = {
            "package": n.package, "executable": n.executable, "name": n.name,
            "parameters": [dict(n.parameters)], "remappings": list(n.remappings), "output": "screen",
            "additional_env": dict(NODE_ENV),
        }
        if n.namespace:
            kwargs["namespace"] = n.namespace
        if n.required:
            kwargs["on_exit"] = Shutdown(reason=f"required node {n.fqn} exited")
        actions.append(Node(**kwargs))
    return actions


def _flag(context: Any, name: str) -> bool:
    return LaunchConfiguration(name).perform(context).strip().lower() in ("true", "1", "yes")


def rviz_node(config: str) -> Any:
    """RViz 2 with the imgen config (only where ROS's rviz2 is installed: ``rviz:=true``)."""
    return Node(package="rviz2", executable="rviz2", name="rviz", arguments=["-d", config], output="screen")


def launch_description(graph_name: str, rviz_config: str | None = None) -> Any:
    """``LaunchDescription`` of graph ``graph_name`` (arguments resolved at launch time); ``rviz:=true`` adds RViz
    with ``rviz_config``."""
    flags = sorted({k for v in variants(graph_name) for k in v})
    aliases = all_aliases(graph_name)

    def nodes(context: Any, *args: Any, **kwargs: Any) -> list[Any]:
        overrides = [f"{a}={LaunchConfiguration(a).perform(context)}" for a in sorted(aliases)
                     if LaunchConfiguration(a).perform(context) != ""]
        overrides += split_overrides(LaunchConfiguration("set").perform(context))
        graph = build_graph(graph_name, overrides=overrides, **{f: _flag(context, f) for f in flags})
        extra = [rviz_node(rviz_config)] if rviz_config and _flag(context, "rviz") else []
        return node_actions(graph) + extra

    declared = [DeclareLaunchArgument(f, default_value="false", description=_FLAGS[f]) for f in flags]
    declared += [DeclareLaunchArgument(a, default_value="", description=f"sets {t} (empty = graph default)")
                 for a, t in sorted(aliases.items())]
    declared.append(DeclareLaunchArgument("rviz", default_value="false", description="also start RViz 2"))
    declared.append(DeclareLaunchArgument("set", default_value="",
                                          description="more parameters: 'node.param=value;node.param=value'"))
    return LaunchDescription([*declared, OpaqueFunction(function=nodes)])
