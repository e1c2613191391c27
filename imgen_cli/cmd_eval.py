"""``imgen eval CKPT``: success under pose corruption with a 95 % Wilson interval."""

from __future__ import annotations

import argparse
import json
from collections import Counter


def _eval(args: argparse.Namespace) -> int:
    from imgen_core.learning.evaluate import EvalJob, evaluate

    job = EvalJob(policy=args.checkpoint, task=args.task, corruption=args.corruption,
                  observability=args.observability, trials=args.trials, seed=args.seed, workers=args.workers)
    res = evaluate(job, out=args.out)
    lo, hi = res.ci95
    print(f"{args.checkpoint}: {res.successes}/{res.trials} = {100 * res.success_rate:.0f}% "
          f"(95% CI {100 * lo:.0f}-{100 * hi:.0f}%) on {args.task}, corruption={args.corruption}, "
          f"{res.wall_seconds:.0f} s")
    reasons = Counter(r["reason"] for r in res.records if not r["success"])
    if reasons:
        print("failures: " + json.dumps(dict(reasons)))
    if args.out:
        print(f"per-trial records: {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a policy under pose corruption",
                       description="Seeded closed-loop rollouts in the sim twin with the paper's corruption; "
                                   "prints success with a 95%% Wilson interval and failure reasons.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoint", help="checkpoint from imgen train (or scripted:<name>)")
    p.add_argument("--task", required=True)
    p.add_argument("--corruption", default="none")
    p.add_argument("--observability", default="none")
    p.add_argument("--trials", type=int, default=50)
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--out", help="write the per-trial JSON record here")
    p.set_defaults(func=_eval)
