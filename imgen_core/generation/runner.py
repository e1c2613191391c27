"""The generation job: workers (local processes or Ray actors) stream finished episodes to one writer.

Resumable and crash-safe: every finished attempt is logged to ``<out>.attempts.jsonl`` (fsynced) *before*
its episode is handed to the :class:`~imgen_core.dataset.DatasetWriter`, so after ``kill -9`` a resumed
run re-does only attempts that were in flight and never duplicates a kept episode. Each attempt's scene
seed is derived from (job seed, attempt index) and recorded, so any episode can be regenerated exactly.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from imgen_core import keys as K
from imgen_core.dataset import DatasetWriter, Episode, assert_valid, file_attrs, read_episodes
from imgen_core.errors import ConfigError, DatasetError, check_choice
from imgen_core.generation.config import GenerationConfig
from imgen_core.generation.execute import StepTimer
from imgen_core.generation.interventional import generate_interventional
from imgen_core.generation.mimicgen import Attempt, generate_mimicgen
from imgen_core.generation.sources import demo_segments, intervention_sources

log = logging.getLogger(__name__)
METHODS = ("mimicgen", "imgen", "imgen_no_policy")


@dataclass(frozen=True)
class GenerationJob:
    """Everything a worker needs to generate episodes (picklable; no live objects)."""

    method: str
    task: str
    source: str
    n: int
    out: str
    policy: str | None = None
    corruption: str = "none"
    observability: str = "none"
    seed: int = 0
    max_attempts: int | None = None
    workers: int = 1
    backend: str = "local"
    address: str | None = None
    cfg: GenerationConfig = field(default_factory=GenerationConfig)

    def __post_init__(self) -> None:
        check_choice("method", self.method, METHODS)
        check_choice("backend", self.backend, ("local", "ray"))
        if self.n < 1:
            raise ConfigError(f"n={self.n} must be >= 1")
        if self.workers < 1:
            raise ConfigError(f"workers={self.workers} must be >= 1")
        if self.method == "imgen" and not self.policy:
            raise ConfigError("method 'imgen' runs the base policy: give --policy CKPT (or scripted:<name>)")

    @property
    def attempt_budget(self) -> int:
        return self.max_attempts if self.max_attempts is not None else max(20, 20 * self.n)


def episode_seed(job_seed: int, attempt: int) -> int:
    """Scene seed of attempt ``attempt`` (stable across runs, machines and worker counts)."""
    return int(np.random.SeedSequence([job_seed, attempt]).generate_state(1)[0])


def make_task(task: str, corruption: str, observability: str) -> Any:
    """Build a task adapter from the simulator registry (imported lazily: keeps this module pure)."""
    registry = importlib.import_module("sim.tasks")
    return registry.make_task(task, corruption=corruption, observability=observability)


def load_policy(spec: str, adapter: Any) -> Any:
    """``scripted:<name>`` (a documented weak/bootstrap policy from ``sim.operators``) or a checkpoint path."""
    if spec.startswith("scripted:"):
        return importlib.import_module("sim.operators").make_scripted_policy(spec.split(":", 1)[1], adapter)
    from imgen_core.policy import load_policy as load_ckpt

    policy = load_ckpt(spec)
    missing = sorted(set(policy.input_keys) - set(adapter.observation()))
    if missing:
        raise ConfigError(f"policy {spec} expects observation keys {missing} that task {adapter.name} does not "
                          f"provide (has {sorted(adapter.observation())}); was it trained on another task?")
    return policy


def check_sources(job: GenerationJob) -> None:
    """Reject bad inputs before any work starts (missing datagen_info, wrong task, no intervention mask)."""
    if not os.path.exists(job.source):
        raise DatasetError(f"source file {job.source} does not exist")
    assert_valid(job.source, require_intervention=job.method != "mimicgen")
    prov = file_attrs(job.source)[K.ATTR_PROVENANCE]
    task = str(prov.get("task", ""))
    if job.task not in task.split("+"):
        raise DatasetError(f"{job.source} holds task {task!r}, not {job.task!r}")


class Worker:
    """Owns one adapter (+ policy) and runs attempts by index."""

    def __init__(self, job: GenerationJob) -> None:
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:  # pragma: no cover - torch is part of the stack
            pass
        self.job = job
        # MimicGen demos in the training env use corruption "none"; in a test env (MG Demo baseline) the
        # operator acts on true poses while the recorded observation carries the corruption.
        self.adapter = make_task(job.task, job.corruption, job.observability)
        episodes = read_episodes(job.source)
        subtasks = self.adapter.subtasks
        if job.method == "mimicgen":
            self.segments = demo_segments(episodes, subtasks)
        else:
            self.isources = intervention_sources(episodes, subtasks, job.cfg.min_recovery_len)
        self.policy = load_policy(job.policy, self.adapter) if job.policy and job.method == "imgen" else None

    def run(self, attempt: int) -> tuple[int, Attempt, float, int]:
        timer = StepTimer()
        seed = episode_seed(self.job.seed, attempt)
        try:
            if self.job.method == "mimicgen":
                res = generate_mimicgen(self.adapter, self.segments, seed, self.job.cfg, timer)
            else:
                res = generate_interventional(self.adapter, self.policy, self.isources, seed, self.job.cfg, timer,
                                              use_policy=self.job.method == "imgen")
        except (ValueError, RuntimeError, FloatingPointError) as exc:  # unstable sim, bad IK: count, don't crash
            res = Attempt(None, False, f"exception:{type(exc).__name__}", {"seed": seed, "error": str(exc)[:200]})
        if res.episode is not None:
            res.episode.info["attempt"] = attempt
        res.info["attempt"] = attempt
        return attempt, res, timer.env_seconds, timer.env_steps


_WORKER: Worker | None = None


def _init_worker(job: GenerationJob) -> None:
    global _WORKER
    _WORKER = Worker(job)


def _run_in_worker(attempt: int) -> tuple[int, Attempt, float, int]:
    assert _WORKER is not None
    return _WORKER.run(attempt)


def _local_results(job: GenerationJob, attempts: Iterator[int]) -> Iterator[tuple[int, Attempt, float, int]]:
    if job.workers == 1:
        worker = Worker(job)
        for a in attempts:
            yield worker.run(a)
        return
    with ProcessPoolExecutor(job.workers, mp_context=get_context("spawn"), initializer=_init_worker,
                             initargs=(job,)) as pool:
        inflight: set[Future] = set()
        for a in attempts:
            inflight.add(pool.submit(_run_in_worker, a))
            if len(inflight) < 2 * job.workers:
                continue
            done, inflight = wait(inflight, return_when=FIRST_COMPLETED)
            for f in done:
                yield f.result()
        for f in inflight:
            yield f.result()


def _ray_results(job: GenerationJob, attempts: Iterator[int]) -> Iterator[tuple[int, Attempt, float, int]]:
    import ray

    if not ray.is_initialized():
        ray.init(address=job.address, num_cpus=None if job.address else job.workers, include_dashboard=False,
                 log_to_driver=False)
    actor_cls: Any = ray.remote(num_cpus=1)(Worker)
    actors: list[Any] = [actor_cls.remote(job) for _ in range(job.workers)]
    free = list(actors)
    inflight: dict[Any, Any] = {}
    for a in attempts:
        if not free:
            (ref,), _ = ray.wait(list(inflight), num_returns=1)
            free.append(inflight.pop(ref))
            yield ray.get(ref)
        actor = free.pop()
        inflight[actor.run.remote(a)] = actor
    for ref in list(inflight):
        yield ray.get(ref)


@dataclass
class GenerationStats:
    """Summary written beside the dataset (``<out>.stats.json``)."""

    method: str
    task: str
    requested: int
    attempts: int = 0
    kept: int = 0
    failure_reasons: dict[str, int] = field(default_factory=dict)
    wall_seconds: float = 0.0
    env_seconds: float = 0.0
    env_steps: int = 0
    workers: int = 1
    backend: str = "local"
    resumed_attempts: int = 0
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def success_rate(self) -> float:
        return self.kept / self.attempts if self.attempts else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["success_rate"] = self.success_rate
        d["episodes_per_second"] = self.kept / self.wall_seconds if self.wall_seconds else 0.0
        d["attempts_per_second"] = self.attempts / self.wall_seconds if self.wall_seconds else 0.0
        d["env_step_fraction_per_worker"] = (self.env_seconds / (self.wall_seconds * self.workers)
                                             if self.wall_seconds else 0.0)
        return d


def _write_json_atomic(path: Path, obj: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2))
    os.replace(tmp, path)


def run_job(job: GenerationJob, resume: bool = False, overwrite: bool = False,
            progress: Callable[[GenerationStats], None] | None = None,
            on_episode: Callable[[Episode], None] | None = None) -> GenerationStats:
    """Generate until ``job.n`` episodes are kept (or the attempt budget ends); returns the statistics."""
    check_sources(job)
    src_prov = file_attrs(job.source)
    out = Path(job.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    attempts_log = Path(str(out) + ".attempts.jsonl")
    if overwrite and not resume:
        attempts_log.unlink(missing_ok=True)
    done: set[int] = set()
    if resume and attempts_log.exists():
        for line in attempts_log.read_text().splitlines():
            try:
                done.add(int(json.loads(line)["attempt"]))
            except (ValueError, KeyError):
                continue  # a torn last line from a kill: that attempt is simply redone
    elif attempts_log.exists() and not overwrite:
        raise DatasetError(f"{attempts_log} exists from an earlier run; pass --resume or --overwrite")
    operator = K.OPERATOR_GENERATED_PREFIX + job.method
    provenance = {
        "task": job.task, "operator": operator, "corruption": job.corruption,
        "observability": job.observability, "method": job.method, "seed": job.seed, "policy": job.policy,
        "generation_config": job.cfg.to_dict(), "source_file": os.path.basename(job.source),
        "source_provenance": src_prov[K.ATTR_PROVENANCE],
    }
    stats = GenerationStats(job.method, job.task, job.n, workers=job.workers, backend=job.backend,
                            config=job.cfg.to_dict(), resumed_attempts=len(done))
    reasons: Counter[str] = Counter()
    t0 = time.time()
    with DatasetWriter(out, src_prov[K.ATTR_ENV_ARGS], provenance, resume=resume, overwrite=overwrite) as writer, \
            attempts_log.open("a") as alog:
        stats.kept = writer.num_demos
        need = job.n - stats.kept

        def pending() -> Iterator[int]:
            issued = 0
            a = 0
            while issued < job.attempt_budget and stats.kept < job.n:
                if a not in done:
                    issued += 1
                    yield a
                a += 1

        if need > 0:
            results = (_ray_results if job.backend == "ray" else _local_results)(job, pending())
            for attempt, res, env_s, env_n in results:
                stats.attempts += 1
                stats.env_seconds += env_s
                stats.env_steps += env_n
                keep = res.episode is not None and stats.kept < job.n
                if not res.success:
                    reasons[res.reason] += 1
                alog.write(json.dumps({"attempt": attempt, "seed": res.info.get("seed"), "kept": keep,
                                       "reason": res.reason}) + "\n")
                alog.flush()
                os.fsync(alog.fileno())
                if keep and res.episode is not None:
                    res.episode.operator = operator
                    writer.add(res.episode)
                    stats.kept += 1
                    if on_episode:
                        on_episode(res.episode)
                stats.failure_reasons = dict(reasons)
                stats.wall_seconds = time.time() - t0
                if progress:
                    progress(stats)
                if stats.kept >= job.n:
                    break
    stats.wall_seconds = time.time() - t0
    _write_json_atomic(Path(str(out).removesuffix(".hdf5") + ".stats.json"), stats.to_dict())
    if stats.kept < job.n:
        log.warning("kept %d of %d requested episodes after %d attempts", stats.kept, job.n, stats.attempts)
    return stats
