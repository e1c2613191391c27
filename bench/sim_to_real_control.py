"""Benchmark: does the real controller move as the sim does? robosuite sim vs franky-sim, same 20 Hz actions.

The same action sequences (``control.sim_reference.benchmark_sequences``: 5/10/25 mm steps along x, y, z; 3°/9°
rotations about x, y, z; a pick — descend, close, lift) are replayed

* in robosuite 1.5.2 (``Lift``, Panda, default OSC_POSE part controller, 20 Hz, no joint noise), and
* through :class:`control.franka_controller.FrankaController` against the franky-sim twin over loopback
  (libfranka protocol), once per response model (``--models``), from the same joint configuration (home).

franky-sim runs slower than real time on a loaded machine, so the controller is driven in lock-step with the
*robot's* clock (one action per 50 ms of robot time, TCP sampled at each tick) — on hardware the two clocks agree.
Both worlds report the TCP of ``imgen_core.frames`` in the robot base frame. Per sequence: RMS / max position error
over the 20 Hz samples, RMS rotation error, final position / rotation error; ``model_only`` is the error of the
response model itself (no robot) and ``direct_delta`` what executing each delta exactly would give (DESIGN §6).

    MUJOCO_GL=osmesa .venv/bin/python bench/sim_to_real_control.py --out results/bench/sim_to_real_control.json
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import emit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_RMS_MM = 5.0


def _errors(measured: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    from imgen_core import se3

    e = np.linalg.norm(measured[:, :3, 3] - reference[:, :3, 3], axis=1)
    r = se3.rotation_angle(np.swapaxes(measured[:, :3, :3], -1, -2) @ reference[:, :3, :3])
    return {"rms_mm": float(np.sqrt(np.mean(e ** 2)) * 1e3), "max_mm": float(e.max() * 1e3),
            "rms_deg": float(np.rad2deg(np.sqrt(np.mean(r ** 2)))), "final_mm": float(e[-1] * 1e3),
            "final_deg": float(np.rad2deg(r[-1]))}


def _direct_delta(start: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """Executing each delta exactly (what the sim does NOT do): poses after every action."""
    from imgen_core import se3
    from imgen_core.control_model import action_to_delta

    out = [start]
    for a in actions:
        dpos, drot, _ = action_to_delta(a)
        out.append(se3.apply_delta(out[-1], dpos, drot))
    return np.stack(out)


def run_sequence(ctl: Any, actions: np.ndarray, q0: np.ndarray, period: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Home, then one action per ``period`` of robot time; TCP poses ``(N+1,4,4)``, gripper widths, wall time."""
    ctl.move_to_joints(q0)
    ctl.wait_robot_until(ctl.robot_time() + 0.3)  # settle
    obs = ctl.refresh()
    poses, widths = [obs.base_T_tcp], [obs.gripper_width]
    t0 = ctl.robot_time()
    w0 = time.perf_counter()
    for k, a in enumerate(actions):
        ctl.execute(a)
        ctl.wait_robot_until(t0 + period * (k + 1))
        obs = ctl.refresh()
        poses.append(obs.base_T_tcp)
        widths.append(obs.gripper_width)
    return np.stack(poses), np.array(widths), time.perf_counter() - w0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="robosuite_osc,fitted", help="comma-separated response models")
    p.add_argument("--sequences", default="", help="comma-separated sequence names (default: all)")
    p.add_argument("--out", default="results/bench/sim_to_real_control.json")
    args = p.parse_args(argv)
    os.environ.setdefault("MUJOCO_GL", "osmesa")

    from control import sim_reference as ref
    from control.franka_controller import FrankaController
    from control.twin import TwinProcess, twin_controller_config
    from imgen_core.control_model import CONTROL_PERIOD_S, ResponseParams, simulate_response

    seqs = ref.benchmark_sequences()
    if args.sequences:
        wanted = args.sequences.split(",")
        unknown = sorted(set(wanted) - set(seqs))
        if unknown:
            p.error(f"unknown sequences {unknown}; valid: {', '.join(seqs)}")
        seqs = {k: seqs[k] for k in wanted}
    t_start = time.perf_counter()
    env = ref.make_reference_env()
    sim = {name: ref.record_response(env, acts) for name, acts in seqs.items()}
    env.close()
    from control.config import DEFAULT_RESPONSE_PATH

    fitted = ResponseParams.load(DEFAULT_RESPONSE_PATH)
    result: dict[str, Any] = {
        "target_rms_mm": TARGET_RMS_MM,
        "reference": "robosuite 1.5.2 Lift, Panda, OSC_POSE (default part config), control_freq 20",
        "robot": "franky-sim 1.0.4 twin over loopback via franky-control (libfranka protocol), lock-step on the "
                 "robot clock",
        "models": {},
        "model_only_fitted": {n: _errors(simulate_response(fitted, r.base_T_tcp[0], r.actions), r.base_T_tcp)
                              for n, r in sim.items()},
        "direct_delta": {n: _errors(_direct_delta(r.base_T_tcp[0], r.actions), r.base_T_tcp) for n, r in sim.items()},
    }
    with TwinProcess() as twin:
        for model in [m for m in args.models.split(",") if m]:
            ctl = FrankaController(twin_controller_config(twin.hostname, response_model=model))
            ctl.connect()
            per: dict[str, Any] = {}
            try:
                for name, rec in sim.items():
                    poses, widths, wall = run_sequence(ctl, rec.actions, rec.q[0], CONTROL_PERIOD_S)
                    per[name] = _errors(poses, rec.base_T_tcp)
                    per[name].update({"steps": int(len(rec.actions)), "wall_s": wall,
                                      "sim_travel_mm": float(np.linalg.norm(
                                          rec.base_T_tcp[:, :3, 3] - rec.base_T_tcp[0, :3, 3], axis=1).max() * 1e3),
                                      "final_width_sim_m": float(rec.gripper_width[-1]),
                                      "final_width_robot_m": float(widths[-1])})
                    print(f"{model:14s} {name:16s} rms {per[name]['rms_mm']:6.2f} mm  max {per[name]['max_mm']:6.2f}"
                          f"  final {per[name]['final_mm']:5.2f} mm {per[name]['final_deg']:5.2f} deg",
                          file=sys.stderr)
                counts = ctl.events.counts()
            finally:
                ctl.close()
            rms = [v["rms_mm"] for v in per.values()]
            result["models"][model] = {
                "sequences": per, "rms_mm_mean": float(np.mean(rms)), "rms_mm_max": float(np.max(rms)),
                "worst_sequence": max(per, key=lambda k: per[k]["rms_mm"]),
                "pass": bool(np.max(rms) <= TARGET_RMS_MM), "events": counts}
        result["twin"] = twin.status()
    result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                         "load_avg": list(os.getloadavg())}
    result["wall_s"] = time.perf_counter() - t_start
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
