"""Benchmark of the cube pose estimator on simulated D415 frames, against a plain open3d pipeline.

    MUJOCO_GL=osmesa .venv/bin/python bench/perception.py --poses 100 --out results/bench/perception.json

Frames: the self-contained scene of ``sim/d415.py`` (table, 5 cm red cube, D415 0.82 m from the workspace centre,
noise model on), rendered and pushed through librealsense's software device into :class:`D415Capture`, exactly as
``imgen perceive --source sim`` does. Per random cube pose in the Block Grasp region (base x 0.46-0.66 m, y ±0.15 m,
yaw uniform) one initialisation frame and ``--track-frames`` tracking frames (each a new render, new noise). Frames
without a cube: empty table, a same-size red cube outside the workspace, grey gripper fingers in the workspace, both.

All frames are captured first; timing runs afterwards on the stored frames with nothing else running in this
process, one pipeline after the other (same frames, same process, same thread settings). Two clocks per frame:
wall time (``*_time_ms``: the latency, inflated when other processes share the CPU) and the CPU time of the thread
(``*_cpu_ms``, open3d limited to one OpenMP thread: the compute cost, robust to a loaded machine). The load
average is recorded with the figures. Prints JSON and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from _common import emit  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
# one OpenMP thread for open3d (both pipelines): on a shared 2-core machine spinning OpenMP workers only add jitter,
# and it makes the per-frame thread CPU time below the whole compute cost of a frame
os.environ.setdefault("OMP_NUM_THREADS", "1")

from tqdm import tqdm  # noqa: E402

from perception.baseline import PlainPipeline  # noqa: E402
from perception.capture import CaptureStatus, D415Capture  # noqa: E402
from perception.cube_model import symmetric_yaw_error  # noqa: E402
from perception.cube_pose import CubePoseEstimator  # noqa: E402
from sim.d415 import CubeScene, D415Spec, SimD415  # noqa: E402

log = logging.getLogger("bench.perception")
TARGETS = {"tracking_time_p95_ms": 8.0, "tracking_vs_plain_p95_ratio": 0.5, "position_err_p95_mm": 1.0,
           "yaw_err_p95_deg": 0.5, "false_pose_rate": 0.0}


def _pct(x: list[float], q: float) -> float | None:
    return round(float(np.percentile(x, q)), 3) if len(x) else None


def _stats(xs: list[float]) -> dict:
    return {"p50": _pct(xs, 50), "p95": _pct(xs, 95), "max": round(float(max(xs)), 3) if xs else None, "n": len(xs)}


def capture_frames(n_poses: int, track_frames: int, n_empty: int, seed: int,
                   size: tuple[int, int] = (640, 480)) -> tuple[list, list, np.ndarray]:
    """Render and capture all frames: ``(cube_sequences, no_cube_frames, base_T_camera)``."""
    rng = np.random.default_rng(seed)
    scene = CubeScene()
    cam = SimD415(scene.model, scene.CAMERA, spec=D415Spec(width=size[0], height=size[1]), seed=seed)
    base_T_camera = cam.base_T_camera(scene.data)
    sequences, empties = [], []
    with D415Capture(software=cam.software_device()) as cap:
        def grab() -> object:
            cam.push(scene.data)
            got = cap.read()
            if got.status is not CaptureStatus.OK:
                raise RuntimeError(f"capture failed: {got.status} {got.message}")
            return got.frame

        for _ in tqdm(range(n_poses), desc="cube poses", file=sys.stderr):
            truth = scene.place_cube(rng.uniform(0.46, 0.66), rng.uniform(-0.15, 0.15), rng.uniform(-np.pi, np.pi))
            sequences.append((truth, [grab() for _ in range(1 + track_frames)]))
        scene.hide_cube()
        kinds = ["empty", "distractor_outside", "fingers_in_workspace", "fingers_and_distractor"]
        for i in tqdm(range(n_empty), desc="no-cube frames", file=sys.stderr):
            kind = kinds[i % len(kinds)]
            scene.set_distractor((rng.uniform(0.25, 0.3), rng.uniform(0.33, 0.38), 0.025)
                                 if "distractor" in kind else None)
            scene.set_fingers((rng.uniform(0.46, 0.66), rng.uniform(-0.15, 0.15), rng.uniform(0.026, 0.06)),
                              rng.uniform(-np.pi, np.pi), rng.uniform(0.0, 0.08)) if "fingers" in kind \
                else scene.set_fingers(None)
            empties.append((kind, grab()))
    cam.close()
    return sequences, empties, base_T_camera


def run(n_poses: int, track_frames: int, n_empty: int, seed: int, size: tuple[int, int] = (640, 480)) -> dict:
    t0 = time.time()
    sequences, empties, base_T_camera = capture_frames(n_poses, track_frames, n_empty, seed, size)
    t_capture = time.time() - t0
    ours = CubePoseEstimator(base_T_camera)
    plain = PlainPipeline(base_T_camera)
    for f in sequences[0][1][:2]:  # warm-up (first open3d call, caches)
        ours.estimate(f)
        plain.estimate(f)

    res: dict = {"ours": {"init": {"time": [], "cpu": [], "pos": [], "yaw": [], "none": 0},
                          "track": {"time": [], "cpu": [], "pos": [], "yaw": [], "none": 0}},
                 "plain": {"time": [], "cpu": [], "pos": [], "yaw": [], "none": 0}}
    load_before = os.getloadavg()[0]
    for truth, frames in tqdm(sequences, desc="ours", file=sys.stderr):
        ours.reset()
        for k, f in enumerate(frames):
            c0 = time.thread_time()
            r = ours.estimate(f)
            cpu = (time.thread_time() - c0) * 1e3
            bucket = res["ours"]["init" if r.status.mode == "init" else "track"]
            if k > 0 and r.status.mode == "init":
                res["ours"].setdefault("track_fallbacks_to_init", 0)
                res["ours"]["track_fallbacks_to_init"] += 1
            bucket["time"].append(r.status.time_ms)
            bucket["cpu"].append(cpu)
            if r.base_T_cube is None:
                bucket["none"] += 1
                continue
            bucket["pos"].append(float(np.linalg.norm(r.base_T_cube[:3, 3] - truth[:3, 3])) * 1e3)
            bucket["yaw"].append(float(np.degrees(symmetric_yaw_error(r.base_T_cube[:3, :3], truth[:3, :3]))))
    for truth, frames in tqdm(sequences, desc="plain open3d", file=sys.stderr):
        for f in frames:
            c0 = time.thread_time()
            p = plain.estimate(f)
            res["plain"]["cpu"].append((time.thread_time() - c0) * 1e3)
            res["plain"]["time"].append(p.time_ms)
            if p.base_T_cube is None:
                res["plain"]["none"] += 1
                continue
            res["plain"]["pos"].append(float(np.linalg.norm(p.base_T_cube[:3, 3] - truth[:3, 3])) * 1e3)
            res["plain"]["yaw"].append(float(np.degrees(symmetric_yaw_error(p.base_T_cube[:3, :3], truth[:3, :3]))))

    # frames without a cube: fresh estimator (initialisation) and while tracking a cube that then vanished
    false_ours, false_ours_tracking, false_plain = {}, {}, {}
    last_cube_frame = sequences[-1][1][-1]
    for kind, f in empties:
        ours.reset()
        false_ours[kind] = false_ours.get(kind, 0) + int(ours.estimate(f).base_T_cube is not None)
        ours.reset()
        ours.estimate(last_cube_frame)
        false_ours_tracking[kind] = false_ours_tracking.get(kind, 0) + int(ours.estimate(f).base_T_cube is not None)
        false_plain[kind] = false_plain.get(kind, 0) + int(plain.estimate(f).base_T_cube is not None)
    n_kind = {k: sum(1 for kk, _ in empties if kk == k) for k, _ in empties}

    o, pl = res["ours"], res["plain"]
    all_pos = o["init"]["pos"] + o["track"]["pos"]
    all_yaw = o["init"]["yaw"] + o["track"]["yaw"]
    n_cube_frames = sum(len(fr) for _, fr in sequences)
    n_false = sum(false_ours.values()) + sum(false_ours_tracking.values())
    out = {
        "ours": {
            "tracking_time_ms": _stats(o["track"]["time"]),
            "init_time_ms": _stats(o["init"]["time"]),
            "tracking_cpu_ms": _stats(o["track"]["cpu"]),
            "init_cpu_ms": _stats(o["init"]["cpu"]),
            "position_err_mm": _stats(all_pos), "yaw_err_deg": _stats(all_yaw),
            "tracking_position_err_mm": _stats(o["track"]["pos"]), "tracking_yaw_err_deg": _stats(o["track"]["yaw"]),
            "init_position_err_mm": _stats(o["init"]["pos"]), "init_yaw_err_deg": _stats(o["init"]["yaw"]),
            "pose_rate_on_cube_frames": round(len(all_pos) / n_cube_frames, 4),
            "track_fallbacks_to_init": o.get("track_fallbacks_to_init", 0),
            "false_pose_rate": round(n_false / (2 * len(empties)), 4) if empties else None,
            "false_poses_by_kind_init": false_ours, "false_poses_by_kind_while_tracking": false_ours_tracking,
        },
        "plain_open3d": {
            "time_ms": _stats(pl["time"]),
            "cpu_ms": _stats(pl["cpu"]),
            "position_err_mm": _stats(pl["pos"]), "yaw_err_deg": _stats(pl["yaw"]),
            "pose_rate_on_cube_frames": round(len(pl["pos"]) / n_cube_frames, 4),
            "false_pose_rate": round(sum(false_plain.values()) / len(empties), 4) if empties else None,
            "false_poses_by_kind": false_plain,
        },
        "no_cube_frames_by_kind": n_kind,
    }
    track_p95 = out["ours"]["tracking_time_ms"]["p95"]
    plain_p95 = out["plain_open3d"]["time_ms"]["p95"]
    ratio = round(track_p95 / plain_p95, 3) if track_p95 and plain_p95 else None
    cpu_ratio = round(out["ours"]["tracking_cpu_ms"]["p95"] / out["plain_open3d"]["cpu_ms"]["p95"], 3)
    out["ours"]["tracking_vs_plain_p95_ratio"] = ratio
    out["ours"]["tracking_vs_plain_cpu_p95_ratio"] = cpu_ratio
    out["targets"] = TARGETS
    out["met"] = {
        "tracking_time_p95_ms": bool(track_p95 is not None and track_p95 <= TARGETS["tracking_time_p95_ms"]),
        "tracking_cpu_p95_ms": bool(out["ours"]["tracking_cpu_ms"]["p95"] <= TARGETS["tracking_time_p95_ms"]),
        "tracking_vs_plain_p95_ratio": bool(ratio is not None and ratio <= TARGETS["tracking_vs_plain_p95_ratio"]),
        "tracking_vs_plain_cpu_p95_ratio": bool(cpu_ratio <= TARGETS["tracking_vs_plain_p95_ratio"]),
        "position_err_p95_mm": bool(out["ours"]["position_err_mm"]["p95"] is not None
                                    and out["ours"]["position_err_mm"]["p95"] <= TARGETS["position_err_p95_mm"]),
        "yaw_err_p95_deg": bool(out["ours"]["yaw_err_deg"]["p95"] is not None
                                and out["ours"]["yaw_err_deg"]["p95"] <= TARGETS["yaw_err_p95_deg"]),
        "false_pose_rate": out["ours"]["false_pose_rate"] == TARGETS["false_pose_rate"],
    }
    out["setup"] = {"poses": n_poses, "frames_per_pose": 1 + track_frames, "cube_frames": n_cube_frames,
                    "no_cube_frames": len(empties), "seed": seed, "image": "640x480 colour + aligned depth",
                    "camera": "sim D415, noise model on, 0.82 m from the workspace centre",
                    "capture_s": round(t_capture, 1), "total_s": round(time.time() - t0, 1),
                    "machine": {"cpus": os.cpu_count(), "load_avg_1m_before_timing": round(load_before, 2),
                                "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
                                "python": platform.python_version(),
                                "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset")}}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--poses", type=int, default=100, help="random cube poses (default 100)")
    ap.add_argument("--track-frames", type=int, default=3, help="tracking frames per pose after the first")
    ap.add_argument("--no-cube-frames", type=int, default=40, help="frames without a cube (default 40)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", default="640x480", help="rendered D415 profile WxH (the rehearsal twin uses 424x240)")
    ap.add_argument("--out", default="results/bench/perception.json")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        ap.error(f"--size {args.size!r}: expected WxH, e.g. 640x480 or 424x240")
    out = run(args.poses, args.track_frames, args.no_cube_frames, args.seed, (w, h))
    out["command"] = "MUJOCO_GL=osmesa .venv/bin/python bench/perception.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    emit(out, args.out)
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
