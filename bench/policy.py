"""Policy benchmark: single-step latency of imgen's PolicyRuntime vs robomimic's RolloutPolicy (same
checkpoint, same run), and training samples/s of ``imgen train`` vs robomimic's own ``train.py`` loop
(rollouts off) on the same config and data.

    .venv/bin/python bench/policy.py --out results/bench/policy.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import emit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_dataset(path: Path, demos: int = 20, T: int = 60) -> None:
    from imgen_core import dataset
    from tests.core.synthetic import ENV_ARGS, PROVENANCE, make_episode

    with dataset.DatasetWriter(path, ENV_ARGS, PROVENANCE) as w:
        for i in range(demos):
            w.add(make_episode(T=T, seed=i))


def latency(fn, obs_seq, warmup: int = 50) -> dict[str, float]:
    for o in obs_seq[:warmup]:
        fn(o)
    times = []
    for o in obs_seq:
        t0 = time.perf_counter()
        fn(o)
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)), "n": len(ms)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2000, help="policy steps timed per implementation")
    ap.add_argument("--train-epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", default="results/bench/policy.json")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from robomimic.algo import RolloutPolicy
    from robomimic.config import config_factory

    from imgen_core.learning.presets import get_preset
    from imgen_core.learning.train import build_model, dataset_obs_keys, robomimic_config, train
    from imgen_core.policy import load_policy

    tmp = Path(tempfile.mkdtemp(prefix="imgen-bench-policy-"))
    data = tmp / "data.hdf5"
    make_dataset(data)
    # robomimic's train() reads the file as is: compare on the recorded keys only (no derived keys, no standardising)
    preset = get_preset("paper", epochs=args.train_epochs, eval_every=args.train_epochs, derived_obs=False,
                        normalize_obs=False)

    # --- training throughput: our entry point vs robomimic's train() on the same config and data, run
    # alternately (robomimic, ours, robomimic, ours) and the best of each kept: the machine is noisy.
    import robomimic.utils.log_utils as LogUtils
    from robomimic.scripts.train import train as rm_train

    keys = list(dataset_obs_keys(str(data)))

    def run_robomimic(i: int) -> float:
        cfg = robomimic_config(preset, str(data), keys, 0)
        with cfg.values_unlocked():
            cfg.train.output_dir = str(tmp / f"robomimic{i}")
            cfg.experiment.name = "bench"
            cfg.experiment.save.enabled = False
            cfg.experiment.logging.terminal_output_to_txt = False
            cfg.experiment.logging.log_tb = False
        cfg.lock()
        LogUtils.custom_tqdm = lambda it, **_: it
        stdout = sys.stdout
        t0 = time.time()
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - robomimic prints every epoch
            rm_train(cfg, torch.device("cpu"))
        finally:
            sys.stdout.close()
            sys.stdout = stdout
        return time.time() - t0

    def run_ours(i: int) -> float:
        t0 = time.time()
        train([str(data)], preset, tmp / f"ours{i}", show_progress=False)
        return time.time() - t0

    rm_walls, our_walls = [], []
    for i in range(args.repeats):
        rm_walls.append(run_robomimic(i))
        our_walls.append(run_ours(i))
    samples = preset.epochs * preset.steps_per_epoch * preset.batch_size
    training = {"samples_per_run": samples, "imgen_samples_per_s": samples / min(our_walls),
                "robomimic_samples_per_s": samples / min(rm_walls), "ratio": min(rm_walls) / min(our_walls),
                "imgen_walls_s": our_walls, "robomimic_walls_s": rm_walls, "target_ratio": 0.95,
                "note": "wall time of the whole call (data loading, model build, checkpoint) incl., LSTM 400x2 GMM"}

    # --- step latency on the same checkpoint
    ckpt = tmp / "ours0" / "best.pt"
    pol = load_policy(ckpt)
    rng = np.random.default_rng(0)
    obs_seq = [{k: rng.normal(size=s[0]).astype(np.float32) for k, s in pol.obs_key_shapes.items()}
               for _ in range(args.steps)]
    pol.reset()
    ours_lat = latency(pol.act, obs_seq)
    cfg2 = config_factory("bc", dic=pol.meta["robomimic_config"])
    model = build_model(cfg2, pol.obs_key_shapes)
    model.nets.load_state_dict(pol.model.nets.state_dict())
    rp = RolloutPolicy(model)
    rp.start_episode()
    rm_lat = latency(rp, obs_seq)
    out = {"policy_step": {"imgen": ours_lat, "robomimic_RolloutPolicy": rm_lat,
                           "p99_ratio": ours_lat["p99_ms"] / rm_lat["p99_ms"], "target_p99_ms": 3.0,
                           "model": "BC-RNN-GMM LSTM 400x2, 5 modes, 1 torch thread"},
           "training": training, "command": "python bench/policy.py", "date": time.strftime("%Y-%m-%d"),
           "used_train_epochs": args.train_epochs, "preset": json.dumps(preset.to_dict())}
    emit(out, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
