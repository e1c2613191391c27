"""Success rate of the scripted oracle (or the weak observed-pose policy) over seeded episodes of a task.

    python -m sim.oracle_eval --episodes 50                                   # oracle, true poses, no corruption
    python -m sim.oracle_eval --episodes 50 --corruption block --pose-source observed   # no recovery
    python -m sim.oracle_eval --task nut_insertion --episodes 50 --corruption peg --pose-source observed

Scene seeds are ``imgen_core.generation.runner.episode_seed(seed, i)``, as in ``imgen collect``. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from typing import Any


def evaluate_oracle(episodes: int, corruption: str = "none", pose_source: str = "true", seed: int = 0,
                    max_steps: int | None = None, progress: bool = True, task: str = "block_grasp",
                    observability: str = "none") -> dict[str, Any]:
    """Run ``episodes`` seeded episodes; returns counts, rate, first mistakes and mean length."""
    from tqdm import tqdm

    from imgen_core.generation.runner import episode_seed
    from imgen_core.learning.evaluate import wilson_interval
    from sim.operators import make_oracle
    from sim.tasks import make_task

    adapter = make_task(task, corruption=corruption, observability=observability)
    oracle = make_oracle(adapter, pose_source=pose_source)
    steps = max_steps or adapter.horizon
    wins, lengths = 0, []
    mistakes: Counter[str] = Counter()
    t0 = time.time()
    for i in tqdm(range(episodes), disable=not progress, desc=f"oracle ({pose_source}, {corruption})"):
        s = episode_seed(seed, i)
        adapter.reset(s)
        oracle.reset(s)
        first = None
        for k in range(steps):
            action, _ = oracle.act()
            adapter.step(action)
            if adapter.is_success():
                wins += 1
                lengths.append(k + 1)
                break
            first = first or adapter.mistake()
        mistakes[first or "none"] += 1
    lo, hi = wilson_interval(wins, episodes)
    return {"episodes": episodes, "successes": wins, "success_rate": wins / episodes, "ci95": [lo, hi],
            "task": task, "observability": observability, "corruption": corruption, "pose_source": pose_source,
            "seed": seed, "max_steps": steps,
            "mean_success_length": sum(lengths) / len(lengths) if lengths else None,
            "first_mistakes": dict(mistakes), "wall_seconds": time.time() - t0}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=50)
    p.add_argument("--task", default="block_grasp")
    p.add_argument("--observability", default="none")
    p.add_argument("--corruption", default="none")
    p.add_argument("--pose-source", choices=["true", "observed"], default="true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-steps", type=int)
    args = p.parse_args(argv)
    res = evaluate_oracle(args.episodes, args.corruption, args.pose_source, args.seed, args.max_steps,
                          task=args.task, observability=args.observability)
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
