"""``imgen generate mimicgen|imgen|imgen-no-policy``: synthesise demos or corrective interventions."""

from __future__ import annotations

import argparse
import json

from imgen_core.generation import GenerationConfig, GenerationJob, GenerationStats, run_job


def _progress_bar(total: int):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    bar = tqdm(total=total, desc="kept", unit="ep")

    def update(stats: GenerationStats) -> None:
        bar.n = stats.kept
        bar.set_postfix(attempts=stats.attempts, success=f"{100 * stats.success_rate:.0f}%")
        bar.refresh()

    return bar, update


def _generate(args: argparse.Namespace) -> int:
    method = {"mimicgen": "mimicgen", "imgen": "imgen", "imgen-no-policy": "imgen_no_policy"}[args.method]
    cfg = GenerationConfig(interp_steps=args.interp_steps, action_noise=args.action_noise, select=args.select,
                           nearest_k=args.nearest_k, nearest_slack=args.nearest_slack, policy_steps=args.policy_steps,
                           max_recoveries=args.max_recoveries)
    job = GenerationJob(method=method, task=args.task, source=args.source, n=args.n, out=args.out,
                        policy=args.policy, corruption=args.corruption, observability=args.observability,
                        seed=args.seed, max_attempts=args.max_attempts, workers=args.workers,
                        backend=args.backend, address=args.address, cfg=cfg)
    bar, update = _progress_bar(args.n)
    try:
        stats = run_job(job, resume=args.resume, overwrite=args.overwrite, progress=update)
    finally:
        bar.close()
    d = stats.to_dict()
    print(json.dumps({k: d[k] for k in ("method", "task", "attempts", "kept", "success_rate", "failure_reasons",
                                        "wall_seconds", "episodes_per_second")}, indent=2))
    print(f"dataset: {args.out}   summary: {args.out.removesuffix('.hdf5')}.stats.json")
    return 0 if stats.kept >= args.n else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate", help="MimicGen demos or I-MG interventions from a few source episodes",
        description="Generate episodes in the sim twin. 'mimicgen' transforms source demo segments to new scenes; "
                    "'imgen' (Algorithm 1) runs the base policy under a new corruption until a mistake, then "
                    "replays a transformed human recovery and keeps only the recovery part; 'imgen-no-policy' is "
                    "the ablation that replays source mistakes instead of running the policy.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("method", choices=["mimicgen", "imgen", "imgen-no-policy"])
    p.add_argument("--task", required=True, help="task name, e.g. block_grasp")
    p.add_argument("--source", required=True, help="source demos (mimicgen) or interventions (imgen) HDF5")
    p.add_argument("--policy", help="base policy checkpoint (imgen), or scripted:<name> for a bootstrap policy")
    p.add_argument("--n", type=int, default=1000, help="episodes to keep")
    p.add_argument("--out", required=True, help="output HDF5 (a .stats.json summary is written beside it)")
    p.add_argument("--corruption", default="none", help="pose corruption model for imgen (e.g. block)")
    p.add_argument("--observability", default="none", help="contact observability: none|full|partial")
    p.add_argument("--seed", type=int, default=0, help="job seed; every episode's scene seed derives from it")
    p.add_argument("--max-attempts", type=int, help="attempt budget (default 20 x n)")
    p.add_argument("--workers", type=int, default=1, help="parallel workers")
    p.add_argument("--backend", choices=["local", "ray"], default="local")
    p.add_argument("--address", help="Ray cluster address (default: start a local instance)")
    p.add_argument("--interp-steps", type=int, default=5)
    p.add_argument("--action-noise", type=float, default=0.05)
    p.add_argument("--select", choices=["random", "nearest"], default="nearest",
                   help="source segment choice: nearest (EE pose in the object frame, as MimicGen) or random")
    p.add_argument("--nearest-k", type=int, default=3, help="with nearest: choose among the k most similar starts")
    p.add_argument("--nearest-slack", type=float, default=0.03,
                   help="with nearest: skip starts farther than the best by more than this [m]")
    p.add_argument("--policy-steps", type=int, default=120, help="policy step budget before a forced recovery")
    p.add_argument("--max-recoveries", type=int, default=2)
    p.add_argument("--resume", action="store_true", help="continue an interrupted run to --n (no duplicates)")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_generate)
