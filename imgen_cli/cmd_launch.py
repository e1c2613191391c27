"""``imgen launch sim_generation|real_deploy [--twin] [--set node.param=value]``: start a ROS graph without ROS launch.

Starts the nodes of the graph definition (:mod:`imgen_ros.graph`, the same one ``launch/*.launch.py`` use) as
subprocesses with the same parameters and remappings, streams their logs with a ``[node]`` prefix, forwards
Ctrl-C, and exits non-zero if a required node dies.
"""

from __future__ import annotations

import argparse
import sys


def _launch(args: argparse.Namespace) -> int:
    from imgen_ros.graph import build_graph, describe
    from imgen_ros.launcher import run_graph

    graph = build_graph(args.graph, twin=args.twin, sim_poses=args.sim_poses, sim_robot=args.sim_robot,
                        overrides=args.set or [],
                        check_required=not args.dry_run)
    if args.dry_run:
        print(describe(graph, sys.executable))
        return 0
    return run_graph(graph, grace=args.grace)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "launch", help="start a ROS 2 graph (sim_generation, real_deploy) as processes, without ros2 launch",
        description="Start the nodes of a graph with the parameters of its one definition (imgen_ros/graph.py); "
                    "on a machine with ROS, `ros2 launch imgen <graph>.launch.py` starts the same nodes. "
                    "Parameters: --set node.param=value (or an alias such as checkpoint=..., source=...).",
        epilog="examples:\n"
               "  imgen launch sim_generation --set source=data/src_demos.hdf5 --set n=50 --set out=data/mg.hdf5\n"
               "  imgen launch real_deploy --twin --set checkpoint=runs/imgen/best.pt --set trials=10\n"
               "  imgen launch real_deploy --set checkpoint=runs/imgen/best.pt --set robot_ip=172.16.0.2\n"
               "  imgen launch real_deploy --twin --dry-run",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("graph", choices=["sim_generation", "real_deploy"])
    p.add_argument("--twin", action="store_true",
                   help="real_deploy: replace robot and camera by twins (franky-sim FR3, rendered D415)")
    p.add_argument("--sim-robot", action="store_true",
                   help="with --twin: the robosuite twin (sim_world) is the robot instead of franky-sim")
    p.add_argument("--sim-poses", action="store_true",
                   help="with --twin: feed the twin's observed cube pose instead of camera + ICP")
    p.add_argument("--set", action="append", metavar="NODE.PARAM=VALUE",
                   help="set a node parameter (repeatable); aliases like checkpoint=... are accepted")
    p.add_argument("--dry-run", action="store_true", help="print the nodes and command lines, start nothing")
    p.add_argument("--grace", type=float, default=10.0, help="seconds nodes get to exit after Ctrl-C")
    p.set_defaults(func=_launch)
