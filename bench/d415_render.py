"""Cost of one simulated D415 frame at each image size: the reason the twin graph renders at 424x240.

    MUJOCO_GL=osmesa .venv/bin/python bench/d415_render.py --frames 60 --out results/bench/d415_render.json

Per size, a :class:`sim.d415.SimD415` in the scene of ``sim/d415.py`` renders colour + depth and applies the noise
model (``render_frame``, what the ``d415_camera`` node does before publishing). The sizes are measured in the same
process, interleaved frame by frame (so a load change on a shared machine hits every size alike), and each frame is
timed on two clocks: wall time, and the CPU time of this process (all its threads: osmesa's rasteriser included;
robust to other processes on the machine). The figures that matter are the ratios against 640x480 (the sim
camera's default size), measured in the same run. Prints JSON and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
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

from sim.d415 import CubeScene, D415Spec, SimD415  # noqa: E402

BASELINE = (640, 480)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r}: expected WIDTHxHEIGHT, e.g. 424x240") from None
    return w, h


def _pct(xs: list[float], q: float) -> float:
    return round(float(np.percentile(xs, q)), 2)


def run(sizes: list[tuple[int, int]], frames: int, seed: int) -> dict:
    if BASELINE not in sizes:
        sizes = [BASELINE, *sizes]
    scene = CubeScene()
    cams = {s: SimD415(scene.model, scene.CAMERA, spec=D415Spec(width=s[0], height=s[1]), seed=seed) for s in sizes}
    rng = np.random.default_rng(seed)
    wall: dict[tuple[int, int], list[float]] = {s: [] for s in sizes}
    cpu: dict[tuple[int, int], list[float]] = {s: [] for s in sizes}
    for cam in cams.values():  # warm-up: GL context, noise banks
        cam.render_frame(scene.data)
    load_before = os.getloadavg()[0]
    for i in range(frames):
        scene.place_cube(rng.uniform(0.46, 0.66), rng.uniform(-0.15, 0.15), rng.uniform(-np.pi, np.pi))
        order = sizes if i % 2 == 0 else sizes[::-1]
        for s in order:
            w0, c0 = time.perf_counter(), time.process_time()
            frame = cams[s].render_frame(scene.data, timestamp_ms=float(i))
            cpu[s].append((time.process_time() - c0) * 1e3)
            wall[s].append((time.perf_counter() - w0) * 1e3)
            if frame.color.shape[:2] != (s[1], s[0]):
                raise RuntimeError(f"{s[0]}x{s[1]} camera returned an image of shape {frame.color.shape}")
    for cam in cams.values():
        cam.close()
    out: dict = {"sizes": {}}
    base_cpu, base_wall = float(np.median(cpu[BASELINE])), float(np.median(wall[BASELINE]))
    for s in sizes:
        key = f"{s[0]}x{s[1]}"
        out["sizes"][key] = {
            "pixels": s[0] * s[1],
            "wall_ms": {"p50": _pct(wall[s], 50), "p95": _pct(wall[s], 95)},
            "cpu_ms": {"p50": _pct(cpu[s], 50), "p95": _pct(cpu[s], 95)},
            "cpu_p50_vs_640x480": round(float(np.median(cpu[s])) / base_cpu, 3),
            "wall_p50_vs_640x480": round(float(np.median(wall[s])) / base_wall, 3),
        }
    out["setup"] = {"frames_per_size": frames, "seed": seed, "what": "SimD415.render_frame (colour + depth + noise)",
                    "machine": {"cpus": os.cpu_count(), "load_avg_1m_before": round(load_before, 2),
                                "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
                                "python": platform.python_version(),
                                "gl": os.environ.get("MUJOCO_GL")},
                    "command": "python bench/d415_render.py " + " ".join(sys.argv[1:])}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=_size, nargs="+", default=[(424, 240), (640, 480), (1280, 720)],
                    help="D415 profiles WIDTHxHEIGHT (640x480 is always measured: the ratios' baseline)")
    ap.add_argument("--frames", type=int, default=60, help="frames per size")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.frames < 1:
        ap.error(f"--frames must be >= 1, got {args.frames}")
    out = run(list(dict.fromkeys(args.sizes)), args.frames, args.seed)
    emit(out, args.out, indent=1)


if __name__ == "__main__":
    main()
