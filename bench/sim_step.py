"""Benchmark: Block Grasp control steps/s (adapter and bare robosuite env) vs raw ``mujoco.mj_step``.

All three simulate the same time on the same MuJoCo model: ``--steps`` control steps at 20 Hz = ``25 x steps``
physics steps of 2 ms. The action sequence is one scripted-oracle grasp (recorded first, then replayed from the
same reset), so contacts and the OSC do real work. One run (three interleaved repeats, medians reported);
prints JSON and writes it to ``--out``. robosuite's own observables are switched off by the adapter (it computes
its observation itself), which also speeds up the bare env step measured here.

    MUJOCO_GL=osmesa .venv/bin/python bench/sim_step.py --out results/bench/sim_step.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=600, help="control steps to time")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=3, help="interleaved repeats; the median is reported")
    p.add_argument("--out", default="results/bench/sim_step.json")
    args = p.parse_args(argv)
    os.environ.setdefault("MUJOCO_GL", "osmesa")

    import mujoco

    from sim.operators import ScriptedOracle
    from sim.tasks import make_task

    adapter = make_task("block_grasp")
    oracle = ScriptedOracle(adapter)
    adapter.reset(args.seed)
    oracle.reset(args.seed)
    actions = []
    for _ in range(args.steps):
        a, _ = oracle.act()
        actions.append(a)
        adapter.step(a)
    actions_arr = np.array(actions)

    m = adapter.robot.model
    env = adapter.env
    substeps = int(round(env.control_timestep / m.opt.timestep))
    n_phys = args.steps * substeps
    raw = mujoco.MjData(m)

    def time_adapter() -> float:  # what generation / eval / collection use: env step + kinematics + checks
        adapter.reset(args.seed)
        t0 = time.perf_counter()
        for a in actions_arr:
            adapter.step(a)
            adapter.is_success()
        return time.perf_counter() - t0

    def time_env() -> float:  # the bare robosuite env step
        adapter.reset(args.seed)
        t0 = time.perf_counter()
        for a in actions_arr:
            env.step(a)
        return time.perf_counter() - t0

    def time_raw() -> float:  # raw MuJoCo, same model and simulated time, constant controls
        adapter.reset(args.seed)
        mujoco.mj_resetData(m, raw)
        raw.qpos[:] = adapter.robot.data.qpos
        raw.ctrl[:] = adapter.robot.data.ctrl
        t0 = time.perf_counter()
        for _ in range(n_phys):
            mujoco.mj_step(m, raw)
        return time.perf_counter() - t0

    # interleaved repeats, median per method: the machine is shared, so load spikes hit all three alike
    runs: dict[str, list[float]] = {"adapter": [], "env": [], "raw": []}
    for _ in range(args.repeats):
        runs["adapter"].append(time_adapter())
        runs["env"].append(time_env())
        runs["raw"].append(time_raw())
    t_adapter, t_env, t_raw = (float(np.median(runs[k])) for k in ("adapter", "env", "raw"))

    sim_seconds = n_phys * m.opt.timestep
    res = {
        "benchmark": "sim_step", "task": "block_grasp", "control_steps": args.steps, "physics_substeps": substeps,
        "simulated_seconds": sim_seconds,
        "adapter_steps_per_s": args.steps / t_adapter,
        "robosuite_env_steps_per_s": args.steps / t_env,
        "raw_mj_step_equiv_control_steps_per_s": args.steps / t_raw,
        "raw_mj_steps_per_s": n_phys / t_raw,
        "ratio_raw_over_adapter": t_adapter / t_raw,
        "ratio_raw_over_env": t_env / t_raw,
        "adapter_overhead_over_env": t_adapter / t_env - 1.0,
        "realtime_factor_adapter": sim_seconds / t_adapter,
        "repeats": args.repeats, "seconds_per_repeat": runs,
        "machine": {"python": platform.python_version(), "mujoco": mujoco.__version__, "cpus": os.cpu_count()},
    }
    text = json.dumps(res, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
