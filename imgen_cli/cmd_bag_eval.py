"""``imgen bag-eval DIR``: success, time to success, recoveries, pose error and latency from rosbag2 trials."""

from __future__ import annotations

import argparse
import json


def _bag_eval(args: argparse.Namespace) -> int:
    from imgen_ros.bag_eval import BagEvalConfig, evaluate_dir, write_report

    cfg = BagEvalConfig(lift_height=args.lift_height, cube_size=args.cube_size, width_tol=args.width_tol,
                        hold_s=args.hold)
    report = evaluate_dir(args.dir, cfg)
    out = args.out or (args.dir.rstrip("/") + "_eval")
    md = write_report(report, out)
    s = report.summary()
    print(json.dumps({k: s[k] for k in ("trials", "successes", "success_rate", "ci95", "time_to_success_s_median",
                                        "recoveries_total", "pose_error_mm_p50", "latency_ms_p50",
                                        "latency_ms_p95")}, indent=2))
    print(f"report: {md}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bag-eval", help="evaluate recorded trials (rosbag2, sqlite3 or MCAP) from the bags alone",
        description="Success rate (cube lifted >= 5 cm above its first true/estimated pose with the grasp held), "
                    "time to success, recoveries (gripper re-opens), pose-estimate error where the true pose was "
                    "recorded, and camera-to-action latency. Writes report.md, summary.json and PNG plots.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("dir", help="a bag directory or a directory of bags (e.g. the trial_recorder out_dir)")
    p.add_argument("--out", help="report directory (default: DIR_eval)")
    p.add_argument("--lift-height", type=float, default=0.05, help="lift needed for success [m]")
    p.add_argument("--cube-size", type=float, default=0.05, help="cube edge = finger width when grasped [m]")
    p.add_argument("--width-tol", type=float, default=0.012, help="grasp held if |width - cube size| <= this [m]")
    p.add_argument("--hold", type=float, default=0.2, help="lift + grasp must hold this long [s]")
    p.set_defaults(func=_bag_eval)
