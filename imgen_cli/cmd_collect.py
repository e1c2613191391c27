"""``imgen collect demos|interventions``: record source data in the sim twin (scripted oracle or a human).

Only successful episodes are kept (interventions must also contain a human segment). Every attempt is logged
(fsynced) to ``<out>.collect.jsonl`` before its episode is stored, so ``--resume`` continues with the next
attempt and never records a scene twice; the dataset itself is crash-safe (``DatasetWriter``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
KINDS = ("demos", "interventions")


def _attempt_log(out: str) -> Path:
    return Path(str(out).removesuffix(".hdf5") + ".collect.jsonl")


def _next_attempt(path: Path) -> int:
    if not path.exists():
        return 0
    last = -1
    for line in path.read_text().splitlines():
        try:
            last = max(last, int(json.loads(line)["attempt"]))
        except (ValueError, KeyError):  # a torn last line after a crash
            continue
    return last + 1


def _collect(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from imgen_core.dataset import DatasetWriter
    from imgen_core.errors import ConfigError
    from imgen_core.generation.runner import episode_seed, load_policy
    from sim.collect import record_demo, record_intervention
    from sim.operators import make_operator
    from sim.tasks import make_task

    kind = args.kind
    corruption = args.corruption or ("none" if kind == "demos" else "block")
    if kind == "interventions" and not args.policy:
        raise ConfigError("collect interventions runs a base policy: give --policy CKPT (or scripted:observed_grasp)")
    if args.n < 1:
        raise ConfigError(f"n={args.n} must be >= 1")
    human = args.operator != "scripted_oracle"
    adapter = make_task(args.task, corruption=corruption, observability=args.observability,
                        **({"has_renderer": True} if human else {}))
    operator = make_operator(args.operator, adapter)
    policy = load_policy(args.policy, adapter) if kind == "interventions" else None
    provenance: dict[str, Any] = {
        "task": args.task, "operator": operator.label, "corruption": corruption,
        "observability": args.observability, "kind": kind, "seed": args.seed,
        "policy": args.policy if policy is not None else None,
    }
    attempts_path = _attempt_log(args.out)
    if not args.resume:
        attempts_path.unlink(missing_ok=True)
    first = _next_attempt(attempts_path)
    budget = args.max_attempts or (3 * args.n + 5)
    max_steps = args.max_steps or adapter.horizon
    reasons: Counter[str] = Counter()
    lengths: list[int] = []
    human_steps = total_steps = attempts = 0
    if human:
        print("teleop: " + ("press t to take over from the policy (t again hands back), " if policy else "")
              + "w/s a/d r/f move x/y/z, z/x yaw, g gripper, q abort episode")
    with DatasetWriter(args.out, adapter.env_args(), provenance, resume=args.resume,
                       overwrite=args.overwrite) as writer, \
            open(attempts_path, "a") as alog, \
            tqdm(total=args.n, initial=min(writer.num_demos, args.n), desc=f"collect {kind}", unit="ep") as bar:
        attempt = first
        while writer.num_demos < args.n and attempt < first + budget:
            seed = episode_seed(args.seed, attempt)
            if kind == "demos":
                res = record_demo(adapter, operator, seed, max_steps)
            else:
                res = record_intervention(adapter, policy, operator, seed, max_steps)
            keep = res.success and (kind == "demos" or res.has_both_segments)
            why = res.reason if not res.success else ("ok" if keep else "no_human_segment")
            reasons[why] += 1
            attempts += 1
            alog.write(json.dumps({"attempt": attempt, "seed": seed, "kept": keep, "reason": why,
                                   "steps": res.steps, "takeovers": res.takeovers}) + "\n")
            alog.flush()
            os.fsync(alog.fileno())
            if keep:
                res.episode.info["attempt"] = attempt
                writer.add(res.episode)
                lengths.append(res.steps)
                total_steps += res.steps
                if res.episode.intervention is not None:
                    human_steps += int(res.episode.intervention.sum())
                bar.update(1)
            bar.set_postfix(attempts=attempts, success=f"{100 * reasons['ok'] / attempts:.0f}%")
            attempt += 1
        kept = writer.num_demos
    summary = {"kind": kind, "task": args.task, "operator": operator.label, "corruption": corruption,
               "attempts": attempts, "kept_this_run": reasons["ok"], "total_kept": kept,
               "success_rate": reasons["ok"] / attempts if attempts else 0.0, "outcomes": dict(reasons),
               "mean_length": sum(lengths) / len(lengths) if lengths else 0.0,
               "human_step_fraction": human_steps / total_steps if kind == "interventions" and total_steps else None}
    print(json.dumps(summary, indent=2))
    print(f"dataset: {args.out}   attempt log: {attempts_path}")
    return 0 if kept >= args.n else 1


def register(sub: argparse._SubParsersAction) -> None:
    from imgen_core.corruption import registry as corruptions
    from imgen_core.task import OBSERVABILITY_MODES
    from sim.tasks import TASKS

    p = sub.add_parser(
        "collect", help="record source demos or human-gated interventions in the sim twin",
        description="Record episodes with the scripted oracle or a teleop device. 'demos': the operator does the "
                    "whole task on true poses (no corruption). 'interventions': a base policy acts on corrupted "
                    "poses; the operator takes over when a mistake is evident and completes the task; the "
                    "per-step 'intervention' mask marks human control. Only successful episodes are kept.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--task", default="block_grasp", choices=sorted(TASKS), help="task name")
    p.add_argument("--operator", default="scripted_oracle", choices=["scripted_oracle", "keyboard", "spacemouse"])
    p.add_argument("--n", type=int, default=10, help="episodes to keep")
    p.add_argument("--corruption", choices=sorted(corruptions),
                   help="pose corruption model (default: none for demos, block for interventions)")
    p.add_argument("--observability", default="none", choices=OBSERVABILITY_MODES,
                   help="contact-revealed information")
    p.add_argument("--policy", help="base policy checkpoint, or scripted:observed_grasp (interventions)")
    p.add_argument("--out", required=True, help="output HDF5")
    p.add_argument("--seed", type=int, default=0, help="job seed; each attempt's scene seed derives from it")
    p.add_argument("--max-attempts", type=int, help="attempts in this run (default 3 x n + 5)")
    p.add_argument("--max-steps", type=int, help="step budget per episode (default: the task horizon)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run to --n")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_collect)
