"""Benchmark: control steps/s of every task twin (adapter and bare robosuite env) vs raw ``mujoco.mj_step``.

All three simulate the same time on the same MuJoCo model: ``--steps`` control steps at 20 Hz = ``25 x steps``
physics steps of 2 ms. The action sequence is one scripted-oracle episode of the task (recorded first, then
replayed from the same reset), so contacts and the OSC do real work. One run (three interleaved repeats, medians
reported); prints JSON and writes it to ``--out``. robosuite's own observables are switched off by the adapter (it
computes its observation itself), which also speeds up the bare env step measured here.

    MUJOCO_GL=osmesa .venv/bin/python bench/sim_step.py --out results/bench/sim_step.json          # every task
    MUJOCO_GL=osmesa .venv/bin/python bench/sim_step.py --task coffee --out /tmp/coffee_step.json
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from _common import emit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def bench_task(task: str, steps: int, seed: int, repeats: int) -> dict:
    """Time one task: adapter step vs bare robosuite env step vs raw ``mj_step`` (same model, same sim time)."""
    import mujoco

    from sim.operators import make_oracle
    from sim.tasks import make_task

    adapter = make_task(task)
    oracle = make_oracle(adapter)
    adapter.reset(seed)
    oracle.reset(seed)
    actions = []
    for _ in range(steps):
        a, _ = oracle.act()
        actions.append(a)
        adapter.step(a)
    actions_arr = np.array(actions)

    env = adapter.env
    m = env.sim.model._model
    substeps = int(round(env.control_timestep / m.opt.timestep))
    n_phys = steps * substeps
    raw = mujoco.MjData(m)

    def time_adapter() -> float:  # what generation / eval / collection use: env step + kinematics + checks
        adapter.reset(seed)
        t0 = time.perf_counter()
        for a in actions_arr:
            adapter.step(a)
            adapter.is_success()
        return time.perf_counter() - t0

    def time_env() -> float:  # the bare robosuite env step
        adapter.reset(seed)
        t0 = time.perf_counter()
        for a in actions_arr:
            env.step(a)
        return time.perf_counter() - t0

    def time_raw() -> float:  # raw MuJoCo, same model and simulated time, constant controls
        adapter.reset(seed)
        d = env.sim.data._data
        mujoco.mj_resetData(m, raw)
        raw.qpos[:] = d.qpos
        raw.ctrl[:] = d.ctrl
        t0 = time.perf_counter()
        for _ in range(n_phys):
            mujoco.mj_step(m, raw)
        return time.perf_counter() - t0

    # interleaved repeats, median per method: the machine is shared, so load spikes hit all three alike
    runs: dict[str, list[float]] = {"adapter": [], "env": [], "raw": []}
    for _ in range(repeats):
        runs["adapter"].append(time_adapter())
        runs["env"].append(time_env())
        runs["raw"].append(time_raw())
    t_adapter, t_env, t_raw = (float(np.median(runs[k])) for k in ("adapter", "env", "raw"))
    sim_seconds = n_phys * m.opt.timestep
    adapter.close()
    return {
        "task": task, "control_steps": steps, "physics_substeps": substeps, "simulated_seconds": sim_seconds,
        "adapter_steps_per_s": steps / t_adapter,
        "robosuite_env_steps_per_s": steps / t_env,
        "raw_mj_step_equiv_control_steps_per_s": steps / t_raw,
        "raw_mj_steps_per_s": n_phys / t_raw,
        "ratio_raw_over_adapter": t_adapter / t_raw,
        "ratio_raw_over_env": t_env / t_raw,
        "adapter_overhead_over_env": t_adapter / t_env - 1.0,
        "realtime_factor_adapter": sim_seconds / t_adapter,
        "repeats": repeats, "seconds_per_repeat": runs,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", action="append", help="task to time (repeatable; default: every registered task)")
    p.add_argument("--steps", type=int, default=400, help="control steps to time per task")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=3, help="interleaved repeats; the median is reported")
    p.add_argument("--out", default="results/bench/sim_step.json")
    args = p.parse_args(argv)
    os.environ.setdefault("MUJOCO_GL", "osmesa")

    import mujoco

    from sim.tasks import TASKS

    tasks = args.task or sorted(TASKS)
    per_task = {t: bench_task(t, args.steps, args.seed, args.repeats) for t in tasks}
    res = {
        "benchmark": "sim_step", "command": "bench/sim_step.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "tasks": per_task,
        "adapter_steps_per_s": {t: r["adapter_steps_per_s"] for t, r in per_task.items()},
        "machine": {"python": platform.python_version(), "mujoco": mujoco.__version__, "cpus": os.cpu_count()},
    }
    emit(res, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
