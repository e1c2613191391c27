"""Success of each Table 4 row (observability ``none``) split by the sign and size of the cube belief's y offset.

Run from the project root after ``imgen experiment table4 --preset cpu --observability none``; its output is
``block_grasp_recovery_side.txt`` beside this file. Each trial's offset is the one the Block Grasp adapter draws when
reset with the trial's seed. The last lines count the source interventions and the generated datasets by the sign of
their episodes' recorded offset.
"""

from __future__ import annotations

import glob
import json
from pathlib import Path

import h5py
import numpy as np

from sim.tasks import make_task

CACHE = "runs/experiments/table4/cpu_obs-none"


def offsets_by_sign(path: str) -> tuple[int, int]:
    """Episodes of the dataset at ``path`` whose recorded corruption has y > 0, and y < 0."""
    with h5py.File(path, "r") as f:
        y = [json.loads(ep.attrs["episode_info"])["corruption"]["offset"][1] for ep in f["data"].values()]
    return sum(v > 0 for v in y), sum(v < 0 for v in y)


def main() -> None:
    adapter = make_task("block_grasp", corruption="block", observability="none")
    print("row: successes with y offset > 0 | < 0 | |y| > 4.5 cm | |y| <= 4.5 cm | successes within 200 steps")
    for path in sorted(glob.glob(f"{CACHE}/block_grasp-eval_*/eval.json")):
        records = json.loads(Path(path).read_text())["records"]
        y, ok, steps = [], [], []
        for r in records:
            adapter.reset(int(r["seed"]))
            y.append(float(adapter.corruption.offset_array[1]))
            ok.append(bool(r["success"]))
            steps.append(int(r["steps"]))
        ya, oka, sa = np.array(y), np.array(ok), np.array(steps)
        pos, big = ya > 0, np.abs(ya) > 0.045
        row = Path(path).parent.name.removeprefix("block_grasp-eval_").rsplit("-", 1)[0]
        print(f"{row:16s} {oka[pos].sum():2d}/{pos.sum():2d} | {oka[~pos].sum():2d}/{(~pos).sum():2d} | "
              f"{oka[big].sum():2d}/{big.sum():2d} | {oka[~big].sum():2d}/{(~big).sum():2d} | "
              f"{(oka & (sa <= 200)).sum():2d}")
    print("dataset: episodes with y offset > 0, < 0")
    for stage in ("src_int", "imgen_no_policy", "imgen"):
        path = glob.glob(f"{CACHE}/block_grasp-{stage}-*/data.hdf5")[0]
        print(f"{stage:16s} {offsets_by_sign(path)}")


if __name__ == "__main__":
    main()
