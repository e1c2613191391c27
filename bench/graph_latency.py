"""Camera frame → action latency through the running ROS graph (``real_deploy --twin``: sim camera, ICP, policy).

Starts the graph from its one definition (the same nodes ``imgen launch`` / ``ros2 launch`` start), lets the
closed loop run, and measures from a probe node, per camera frame (stamp ``s`` = the world state it shows):

* ``frame_published``: the frame's ``camera_info`` received − ``s`` (rendering + librealsense + transport),
* ``pose``:            ``/cube_pose`` (stamp ``s``) received − ``s``,
* ``action``:          first ``/imgen/action`` received after that pose − ``s``  ← the headline figure,
* ``frame_to_action``: ``action`` − ``frame_published`` (estimator + policy: what a real D415's frame would see).

With ``--sim-poses`` there is no camera: it measures ``/cube_pose`` (the twin's pose) → action instead.

    python bench/graph_latency.py --seconds 60 --out results/bench/graph_latency.json

Prints JSON (p50 / p95 / mean per stage, rates, machine load) and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from _common import emit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _stats(xs: list[float]) -> dict[str, Any]:
    if not xs:
        return {"n": 0}
    a = np.asarray(xs)
    return {"n": int(a.size), "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p95_ms": round(float(np.percentile(a, 95)), 2), "mean_ms": round(float(a.mean()), 2),
            "max_ms": round(float(a.max()), 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="measurement window after warm-up")
    ap.add_argument("--checkpoint", default="scripted:observed_grasp", help="policy (checkpoint or scripted:<name>)")
    ap.add_argument("--sim-poses", action="store_true", help="no camera: twin pose -> action")
    ap.add_argument("--franky-twin", dest="sim_robot", action="store_false",
                    help="robot on the franky-sim twin (default: the robosuite twin, as the committed figures)")
    ap.add_argument("--out", help="write the JSON here too")
    ap.add_argument("--domain", type=int, default=40 + os.getpid() % 50, help="ROS_DOMAIN_ID")
    args = ap.parse_args()
    os.environ["ROS_DOMAIN_ID"] = str(args.domain)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

    import rclpy
    from geometry_msgs.msg import PoseStamped, TwistStamped
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import CameraInfo

    from imgen_ros import schemas as S
    from imgen_ros.convert import stamp_to_ns
    from imgen_ros.graph import build_graph
    from imgen_ros.launcher import GraphRunner

    bags = tempfile.mkdtemp(prefix="graph_latency_bags_")
    graph = build_graph("real_deploy", twin=True, sim_robot=args.sim_robot, sim_poses=args.sim_poses,
                        overrides=[f"checkpoint={args.checkpoint}", f"out_dir={bags}", "trials=0"])
    log = open(Path(bags) / "graph.log", "w")  # noqa: SIM115 - lives as long as the graph
    runner = GraphRunner(graph, out=log, grace=15.0)
    result: dict[str, int] = {}
    th = threading.Thread(target=lambda: result.setdefault("code", runner.run()), daemon=True)
    th.start()

    rclpy.init()
    node = rclpy.create_node("graph_latency_probe")
    rx: dict[str, list[tuple[int, int]]] = defaultdict(list)  # topic -> [(receive ns, stamp ns)]
    lock = threading.Lock()

    def cb(topic: str) -> Any:
        def f(msg: Any) -> None:
            now = node.get_clock().now().nanoseconds
            with lock:
                rx[topic].append((now, stamp_to_ns(msg.header.stamp)))
        return f

    from rclpy.qos import QoSProfile

    node.create_subscription(TwistStamped, S.ACTION, cb(S.ACTION), 50)
    node.create_subscription(PoseStamped, S.CUBE_POSE, cb(S.CUBE_POSE), 50)
    if not args.sim_poses:
        node.create_subscription(CameraInfo, S.COLOR_INFO, cb(S.COLOR_INFO), QoSProfile(depth=10))
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    stop = threading.Event()

    def spin_until_stopped() -> None:
        while not stop.is_set():
            ex.spin_once(timeout_sec=0.05)

    spin = threading.Thread(target=spin_until_stopped, daemon=True)
    spin.start()
    t_start = time.monotonic()
    while time.monotonic() - t_start < 240 and not rx[S.CUBE_POSE]:  # warm-up: nodes load MuJoCo, open3d, torch
        time.sleep(0.5)
    if not rx[S.CUBE_POSE]:
        stop.set()
        runner.request_stop()
        th.join(60)
        print(json.dumps({"error": "no /cube_pose within 240 s", "log": str(Path(bags) / "graph.log")}))
        return 1
    time.sleep(3.0)
    with lock:
        for v in rx.values():
            v.clear()
    time.sleep(args.seconds)
    with lock:
        data = {k: list(v) for k, v in rx.items()}
    stop.set()
    runner.request_stop()
    th.join(60)
    spin.join(2)
    ex.shutdown()
    node.destroy_node()
    rclpy.try_shutdown()

    actions = np.array([r for r, _ in data.get(S.ACTION, [])], dtype=np.int64)
    info = {s: r for r, s in data.get(S.COLOR_INFO, [])}
    stages: dict[str, list[float]] = defaultdict(list)
    for recv, stamp in data.get(S.CUBE_POSE, []):
        stages["pose"].append(1e-6 * (recv - stamp))
        j = int(np.searchsorted(actions, recv))
        if j >= len(actions):
            continue
        stages["action"].append(1e-6 * (actions[j] - stamp))
        if stamp in info:
            stages["frame_published"].append(1e-6 * (info[stamp] - stamp))
            stages["frame_to_action"].append(1e-6 * (actions[j] - info[stamp]))
    window = args.seconds
    out = {
        "benchmark": "graph_latency", "graph": "real_deploy --twin" + (" --sim-robot" if args.sim_robot else "")
        + (" --sim-poses" if args.sim_poses else ""),
        "measures": ("twin cube pose -> action" if args.sim_poses else
                     "camera frame (sim D415, stamp = world state shown) -> action"),
        "policy": args.checkpoint, "window_s": window,
        "latency": {k: _stats(v) for k, v in stages.items()},
        "target_p95_ms": 50.0,
        "rates_hz": {"camera_frames": round(len(info) / window, 2),
                     "cube_poses": round(len(data.get(S.CUBE_POSE, [])) / window, 2),
                     "actions": round(len(actions) / window, 2)},
        "machine": {"cpus": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2)},
        "graph_exit_code": result.get("code"),
    }
    out["meets_target"] = bool(out["latency"].get("action", {}).get("p95_ms", 1e9) <= 50.0)
    emit(out, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
