"""``imgen train``: BC-RNN-GMM on one or more datasets (robomimic), with optional periodic evaluation."""

from __future__ import annotations

import argparse
import json

from imgen_core.errors import ConfigError
from imgen_core.learning.presets import PRESETS, get_preset


def _train(args: argparse.Namespace) -> int:
    from imgen_core.learning.evaluate import EvalJob, evaluate
    from imgen_core.learning.train import train

    if args.weight and len(args.weight) != len(args.dataset):
        raise ConfigError(f"{len(args.weight)} --weight values for {len(args.dataset)} --dataset; give one each")
    preset = get_preset(args.preset, epochs=args.epochs)
    evaluator = None
    if args.eval_task:
        def evaluator(ckpt: str, epoch: int) -> float:
            job = EvalJob(policy=ckpt, task=args.eval_task, corruption=args.corruption,
                          observability=args.observability, trials=preset.eval_trials, workers=args.workers)
            return evaluate(job, out=f"{args.out}/eval_epoch_{epoch}.json").success_rate
    res = train(args.dataset, preset, args.out, weights=args.weight, seed=args.seed, resume=args.resume,
                evaluate=evaluator, object_pos_noise_m=args.object_pos_noise_m)
    print(json.dumps({"out": res.out_dir, "best_epoch": res.best_epoch, "best_success": res.best_success,
                      "evals": res.evals, "samples_per_second": round(res.samples_per_second, 1)}, indent=2))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a BC-RNN policy (robomimic) on imgen datasets",
        description="Train robomimic BC-RNN-GMM (seq_length = RNN horizon = 10). Presets: "
                    + "; ".join(f"{n}: LSTM {p.rnn_hidden}x{p.rnn_layers}, {p.epochs} epochs x {p.steps_per_epoch} "
                                f"steps, eval every {p.eval_every}" for n, p in PRESETS.items())
                    + ". With --eval-task, checkpoints are evaluated under corruption and best.pt is the best one.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", action="append", required=True, help="HDF5 dataset (repeat to combine)")
    p.add_argument("--weight", action="append", type=float, help="sampling weight per --dataset (Weighted Src Int)")
    p.add_argument("--preset", default="cpu", choices=sorted(PRESETS))
    p.add_argument("--epochs", type=int, help="override the preset's epoch count")
    p.add_argument("--out", required=True, help="run directory (checkpoints, log.jsonl, summary.json)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-task", help="evaluate checkpoints on this task (best-checkpoint selection)")
    p.add_argument("--corruption", default="none")
    p.add_argument("--observability", default="none")
    p.add_argument("--workers", type=int, default=1, help="parallel evaluation workers")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from resume.pt")
    p.add_argument("--object-pos-noise-m", type=float, default=0.0,
                   help="std [m] of Gaussian noise added to observed object positions in training batches "
                        "(augmentation against sub-millimetre cues a camera does not deliver; 0: off)")
    p.set_defaults(func=_train)
