"""Evaluation under pose corruption: rollouts in the sim twin, success with a 95 % Wilson interval."""

from __future__ import annotations

import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from imgen_core.errors import ConfigError


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval of a binomial proportion (``(0, 1)`` for zero trials)."""
    if trials <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= trials:
        raise ConfigError(f"successes={successes} must be within [0, trials={trials}]")
    p = successes / trials
    denom = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    # the interval always holds p; rounding can put a bound a hair past it (50/50 gave 0.9999999999999999)
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


@dataclass(frozen=True)
class EvalJob:
    """What to evaluate and how (picklable)."""

    policy: str
    task: str
    corruption: str = "none"
    observability: str = "none"
    trials: int = 50
    seed: int = 1000
    workers: int = 1
    horizon: int | None = None

    def __post_init__(self) -> None:
        if self.trials < 1:
            raise ConfigError(f"trials={self.trials} must be >= 1")
        if self.workers < 1:
            raise ConfigError(f"workers={self.workers} must be >= 1")


@dataclass
class EvalResult:
    """Success rate, its 95 % Wilson interval and one record per trial."""

    policy: str
    task: str
    corruption: str
    observability: str
    successes: int
    trials: int
    ci95: tuple[float, float]
    records: list[dict[str, Any]] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def success_rate(self) -> float:
        return self.successes / self.trials if self.trials else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["success_rate"] = self.success_rate
        return d


def run_trial(adapter: Any, policy: Any, seed: int, horizon: int) -> dict[str, Any]:
    """One closed-loop rollout on the corrupted observation; the first detected mistake names a failure."""
    adapter.reset(seed)
    policy.reset()
    first_mistake = None
    for t in range(horizon):
        adapter.step(policy.act(adapter.observation()))
        if adapter.is_success():
            return {"seed": seed, "success": True, "steps": t + 1, "reason": "success", "mistake": first_mistake}
        if first_mistake is None:
            first_mistake = adapter.mistake()
    return {"seed": seed, "success": False, "steps": horizon, "reason": first_mistake or "timeout",
            "mistake": first_mistake}


_STATE: dict[str, Any] = {}


def _init(job: EvalJob) -> None:
    from imgen_core.generation.runner import load_policy, make_task

    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    adapter = make_task(job.task, job.corruption, job.observability)
    _STATE.update(adapter=adapter, policy=load_policy(job.policy, adapter),
                  horizon=job.horizon or adapter.horizon)


def _trial(seed: int) -> dict[str, Any]:
    return run_trial(_STATE["adapter"], _STATE["policy"], seed, _STATE["horizon"])


def trial_seeds(job: EvalJob) -> list[int]:
    from imgen_core.generation.runner import episode_seed

    return [episode_seed(job.seed, i) for i in range(job.trials)]


def evaluate(job: EvalJob, out: str | os.PathLike[str] | None = None) -> EvalResult:
    """Run ``job.trials`` seeded rollouts (in ``job.workers`` processes) and optionally write JSON to ``out``."""
    t0 = time.time()
    seeds = trial_seeds(job)
    if job.workers == 1:
        _init(job)
        records = [_trial(s) for s in seeds]
    else:
        with ProcessPoolExecutor(job.workers, mp_context=get_context("spawn"), initializer=_init,
                                 initargs=(job,)) as pool:
            records = list(pool.map(_trial, seeds))
    k = sum(r["success"] for r in records)
    res = EvalResult(job.policy, job.task, job.corruption, job.observability, k, len(records),
                     wilson_interval(k, len(records)), records, time.time() - t0)
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(res.to_dict(), indent=2))
    return res
