"""Success of each Table 4 row split by the sign and size of the cube belief's y offset.

Run from the project root after ``imgen experiment table4 --preset cpu --observability O`` as
``python results/tasks/block_grasp_recovery_side.py O`` (default ``none``); its output is
``block_grasp_recovery_side.txt`` (``none``) or ``block_grasp_recovery_side_O.txt`` beside this file. Each trial's
offset is the one the Block Grasp adapter draws when reset with the trial's seed. The last lines count the source
interventions and the generated datasets by the sign of their episodes' recorded offset, and the EE tilt (roll, pitch
from the top-down grasp orientation) at the start of the I-MG interventions, by side.
"""

from __future__ import annotations

import glob
import json
import sys
from pathlib import Path

import h5py
import numpy as np

from sim.tasks import make_task


def offsets_by_sign(path: str) -> tuple[int, int]:
    """Episodes of the dataset at ``path`` whose recorded corruption has y > 0, and y < 0."""
    with h5py.File(path, "r") as f:
        y = [json.loads(ep.attrs["episode_info"])["corruption"]["offset"][1] for ep in f["data"].values()]
    return sum(v > 0 for v in y), sum(v < 0 for v in y)


def tilt_by_side(path: str) -> dict[str, list[float]]:
    """Mean EE roll and pitch [deg] at each episode's first intervention step, for y offset > 0 and < 0."""
    from scipy.spatial.transform import Rotation

    top_down = Rotation.from_quat([1.0, 0.0, 0.0, 0.0])  # xyzw, frames.TOP_DOWN_ROT
    tilts: dict[str, list[np.ndarray]] = {"y>0": [], "y<0": []}
    with h5py.File(path, "r") as f:
        for ep in f["data"].values():
            iv = np.asarray(ep["datagen_info"]["intervention"]).reshape(-1).astype(bool)
            if not iv.any():
                continue
            q = ep["obs"]["robot0_eef_quat"][int(np.argmax(iv))]
            rv = np.degrees((top_down.inv() * Rotation.from_quat(q)).as_rotvec())
            y = json.loads(ep.attrs["episode_info"])["corruption"]["offset"][1]
            tilts["y>0" if y > 0 else "y<0"].append(rv[:2])
    return {k: np.round(np.mean(v, axis=0), 2).tolist() for k, v in tilts.items()}


def main(observability: str) -> None:
    cache = f"runs/experiments/table4/cpu_obs-{observability}"
    adapter = make_task("block_grasp", corruption="block", observability=observability)
    print("row: successes with y offset > 0 | < 0 | |y| > 4.5 cm | |y| <= 4.5 cm | successes within 200 steps")
    for path in sorted(glob.glob(f"{cache}/block_grasp-eval_*/eval.json")):
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
        path = glob.glob(f"{cache}/block_grasp-{stage}-*/data.hdf5")[0]
        print(f"{stage:16s} {offsets_by_sign(path)}")
    path = glob.glob(f"{cache}/block_grasp-imgen-*/data.hdf5")[0]
    print(f"imgen EE roll, pitch [deg] at the intervention start: {tilt_by_side(path)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "none")
