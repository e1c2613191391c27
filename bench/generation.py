"""Generation benchmark (Block Grasp MimicGen): kept episodes/s with 1 and 2 workers in one run, and the
fraction of worker wall time spent inside env stepping (targets: >= 80 %, 2 workers >= 1.8x one).

    .venv/bin/python bench/generation.py --n 30 --out results/bench/generation.json
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import emit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MUJOCO_GL", "osmesa")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=30, help="episodes per configuration")
    ap.add_argument("--out", default="results/bench/generation.json")
    args = ap.parse_args()

    from imgen_core.dataset import DatasetWriter
    from imgen_core.generation import GenerationJob, run_job
    from sim.collect import record_demo
    from sim.operators import make_operator
    from sim.tasks import make_task

    tmp = Path(tempfile.mkdtemp(prefix="imgen-bench-gen-"))
    ad = make_task("block_grasp")
    op = make_operator("scripted_oracle", ad)
    src = tmp / "src.hdf5"
    with DatasetWriter(src, ad.env_args(), {"task": "block_grasp", "operator": "scripted_oracle"}) as w:
        for s in range(10):
            r = record_demo(ad, op, seed=s)
            if r.success:
                w.add(r.episode)
    ad.close()
    runs = {}
    for workers in (1, 2):
        t0 = time.time()
        st = run_job(GenerationJob("mimicgen", "block_grasp", str(src), n=args.n, out=str(tmp / f"w{workers}.hdf5"),
                                   workers=workers, seed=1))
        d = st.to_dict()
        runs[f"workers_{workers}"] = {"kept": st.kept, "attempts": st.attempts, "wall_s": time.time() - t0,
                                      "episodes_per_s": d["episodes_per_second"],
                                      "env_step_fraction": d["env_step_fraction_per_worker"]}
    out = {"task": "block_grasp", "method": "mimicgen", **runs,
           "speedup_2_vs_1": runs["workers_2"]["episodes_per_s"] / runs["workers_1"]["episodes_per_s"],
           "targets": {"env_step_fraction": 0.8, "speedup_2_vs_1": 1.8},
           "note": "wall time includes worker start-up (process spawn + env build) for 2 workers",
           "cpu_count": os.cpu_count(), "load_avg_1min_at_end": os.getloadavg()[0],
           "command": "python bench/generation.py", "date": time.strftime("%Y-%m-%d")}
    emit(out, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
