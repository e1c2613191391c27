"""Success of each Table 4 row split by the sign and size of the cube belief's y offset.

Run from the project root, on the machine that ran the table, with the table's result JSON:
``python results/tasks/block_grasp_recovery_side.py results/table4_cpu.json`` (a seed replicate:
``results/table4_cpu_seed1.json``). It reads the evaluations and datasets that JSON names, so runs that share a
stage cache (seed replicates) are never mixed. Outputs beside this file: ``block_grasp_recovery_side.txt``
(``results/table4_cpu_obs-none.json``), ``block_grasp_recovery_side_partial.txt`` and ``..._partial_seed1.txt``
(``results/table4_cpu.json``, ``results/table4_cpu_seed1.json``), and the same two of 2026-12-07 (``..._2026-12-07.txt``,
from ``results/table4_cpu_2026-12-07.json`` and ``results/table4_cpu_seed1_2026-12-07.json``). Each trial's offset is the one the Block Grasp adapter draws when
reset with the trial's seed. The last lines count the source interventions and the generated datasets by the sign
of their episodes' recorded offset, and the EE tilt (roll, pitch from the top-down grasp orientation) at the start
of the I-MG interventions, by side.
"""

from __future__ import annotations

import json
from collections import Counter
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


def main(results_json: str) -> None:
    table = json.loads(Path(results_json).read_text())
    rows, datasets = table["rows"], table["datasets"]["block_grasp"]
    adapter = make_task("block_grasp", corruption="block", observability=table["observability"])
    print(f"{table['command']} (observability {table['observability']}, seed {table['seed']})")
    print("row: successes with y offset > 0 | < 0 | |y| > 4.5 cm | |y| <= 4.5 cm | successes within 200 steps | "
          "failure reasons")
    for row, cells in rows.items():
        records = json.loads(Path(cells["block_grasp"]["eval"]).read_text())["records"]
        y, ok, steps = [], [], []
        for r in records:
            adapter.reset(int(r["seed"]))
            y.append(float(adapter.corruption.offset_array[1]))
            ok.append(bool(r["success"]))
            steps.append(int(r["steps"]))
        ya, oka, sa = np.array(y), np.array(ok), np.array(steps)
        pos, big = ya > 0, np.abs(ya) > 0.045
        print(f"{row:16s} {oka[pos].sum():2d}/{pos.sum():2d} | {oka[~pos].sum():2d}/{(~pos).sum():2d} | "
              f"{oka[big].sum():2d}/{big.sum():2d} | {oka[~big].sum():2d}/{(~big).sum():2d} | "
              f"{(oka & (sa <= 200)).sum():2d} | "
              f"{dict(Counter(r['reason'] for r in records if not r['success']).most_common())}")
    print("dataset: episodes with y offset > 0, < 0")
    for stage in ("src_int", "imgen_no_policy", "imgen"):
        print(f"{stage:16s} {offsets_by_sign(datasets[stage]['path'])}")
    print(f"imgen EE roll, pitch [deg] at the intervention start: {tilt_by_side(datasets['imgen']['path'])}")


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].endswith(".json"):
        raise SystemExit("usage: python results/tasks/block_grasp_recovery_side.py results/table4_<label>.json")
    main(sys.argv[1])
