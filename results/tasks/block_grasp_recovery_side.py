"""Success of each Table 4 row (observability ``none``) split by the sign and size of the cube belief's y offset.

Run from the project root after ``imgen experiment table4 --preset cpu --observability none``; its output is
``block_grasp_recovery_side.txt`` beside this file. The offset of each trial is re-drawn from the trial's seed exactly
as the Block Grasp adapter draws it (``SeedSequence(seed).spawn(2)``: scene stream, corruption stream).
"""

from __future__ import annotations

import glob
import json
from pathlib import Path

import numpy as np

from imgen_core import corruption

CACHE = "runs/experiments/table4/cpu_obs-none"


def main() -> None:
    model = corruption.get("block")
    print("row: successes with y offset > 0 | < 0 | |y| > 4.5 cm | |y| <= 4.5 cm | successes within 200 steps")
    for path in sorted(glob.glob(f"{CACHE}/block_grasp-eval_*/eval.json")):
        records = json.loads(Path(path).read_text())["records"]
        y, ok, steps = [], [], []
        for r in records:
            _, corr_ss = np.random.SeedSequence(int(r["seed"])).spawn(2)
            y.append(float(model.sample(np.random.default_rng(corr_ss)).offset_array[1]))
            ok.append(bool(r["success"]))
            steps.append(int(r["steps"]))
        ya, oka, sa = np.array(y), np.array(ok), np.array(steps)
        pos, big = ya > 0, np.abs(ya) > 0.045
        row = Path(path).parent.name.removeprefix("block_grasp-eval_").rsplit("-", 1)[0]
        print(f"{row:16s} {oka[pos].sum():2d}/{pos.sum():2d} | {oka[~pos].sum():2d}/{(~pos).sum():2d} | "
              f"{oka[big].sum():2d}/{big.sum():2d} | {oka[~big].sum():2d}/{(~big).sum():2d} | "
              f"{(oka & (sa <= 200)).sum():2d}")


if __name__ == "__main__":
    main()
