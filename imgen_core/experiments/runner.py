"""Run a paper table end to end with content-cached stages (a re-run skips finished work).

Stages per task: ``src_demos`` (operator, train env) → ``mg_demos`` (MimicGen) → ``train_base`` (π0) →
``src_int`` (π0 under corruption, operator-gated takeovers) → ``imgen`` / ``imgen_no_policy`` (generated
from ``src_int``), ``test_demos`` → ``mg_test_demos`` (test env) as the rows need them → one training per
row → a final evaluation of each row's selected checkpoint on fresh seeds.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from imgen_core.errors import ImgenError
from imgen_core.experiments.spec import OPERATOR_DATASETS, ROWS, ScalePreset, TableSpec, get_scale, get_table
from imgen_core.generation.config import GenerationConfig
from imgen_core.stages import StageCache, file_digest
from imgen_core.task import OBSERVABILITY_MODES

log = logging.getLogger(__name__)
SEED_OFFSETS = {"src_demos": 101, "src_int": 202, "test_demos": 303, "src_int_x10": 404}  # distinct, stable seeds


def _cli(argv: list[str]) -> None:
    from imgen_cli.main import main

    code = main(argv)
    if code != 0:
        raise ImgenError(f"`imgen {' '.join(argv)}` failed with exit code {code}")


def row_weights(row_key: str, datasets: list[str], scale: ScalePreset) -> list[float] | None:
    """Per-episode sampling weights of a row's datasets, or None for uniform sampling.

    Weighted Src Int samples its interventions (the last dataset) as often as the rest together. Any other row that
    mixes generated with operator-collected episodes weights each generated episode by ``scale.generated_weight``,
    so the operator's share is the paper's (10 in 1010 episodes) at every preset.
    """
    row = ROWS[row_key]
    if row.weighted:
        from imgen_core.dataset import info

        steps = [info(d)["steps"] for d in datasets]
        return [1.0] * (len(datasets) - 1) + [sum(steps[:-1]) / max(1, steps[-1])]
    kinds = {name in OPERATOR_DATASETS for name in row.datasets}
    if len(kinds) == 1 or scale.generated_weight == 1.0:
        return None
    return [1.0 if name in OPERATOR_DATASETS else scale.generated_weight for name in row.datasets]


class TaskPipeline:
    """The stages of one task (column) of a table."""

    def __init__(self, spec: TableSpec, task: str, scale: ScalePreset, cache: StageCache, seed: int,
                 sources: dict[str, str]) -> None:
        self.spec, self.task, self.scale, self.cache, self.seed = spec, task, scale, cache, seed
        self.corruption = spec.corruption[task]
        self.select_corruption = spec.select_corruption or self.corruption
        self.obs = spec.observability
        self.sources = sources  # optional human files: {"src_demos": path, "src_int": path, "test_demos": path}
        self._paths: dict[str, str] = {}

    def _params(self, **kw: Any) -> dict[str, Any]:
        return {"task": self.task, "corruption": self.corruption, "observability": self.obs, "seed": self.seed, **kw}

    def collect(self, name: str, kind: str, corruption: str, policy: str | None = None, n: int | None = None) -> str:
        if name in self.sources:
            return self.sources[name]
        inputs = [policy] if policy else []
        n = n or self.scale.n_source

        def fn(d: Path) -> dict[str, Any]:
            out = str(d / "data.hdf5")
            argv = ["collect", kind, "--task", self.task, "--operator", "scripted_oracle", "--n",
                    str(n), "--corruption", corruption, "--observability", self.obs,
                    "--seed", str(self.seed + SEED_OFFSETS[name]), "--out", out, "--resume"]
            if policy:
                argv += ["--policy", policy]
            _cli(argv)
            return {"path": out}

        return str(self.cache.run(f"{self.task}-{name}", self._params(kind=kind, n=n, corruption_used=corruption),
                                  inputs, fn)["path"])

    def generate(self, name: str, method: str, source: str, corruption: str, policy: str | None = None,
                 n: int | None = None) -> str:
        n = n or self.scale.n_generated

        def fn(d: Path) -> dict[str, Any]:
            out = str(d / "data.hdf5")
            argv = ["generate", method, "--task", self.task, "--source", source, "--n", str(n),
                    "--corruption", corruption, "--observability", self.obs, "--seed", str(self.seed),
                    "--workers", str(self.scale.workers), "--out", out, "--resume"]
            if policy:
                argv += ["--policy", policy]
            _cli(argv)
            stats = json.loads(Path(out.removesuffix(".hdf5") + ".stats.json").read_text())
            return {"path": out, "success_rate": stats["success_rate"], "attempts": stats["attempts"]}

        inputs = [source] + ([policy] if policy else [])
        # the generation settings are part of the key: a changed default regenerates instead of reusing old data
        res = self.cache.run(f"{self.task}-{name}", self._params(method=method, n=n,
                                                                 corruption_used=corruption,
                                                                 generation=GenerationConfig().to_dict()), inputs, fn)
        return str(res["path"])

    def dataset(self, name: str) -> str:
        if name in self._paths:
            return self._paths[name]
        if name == "src_demos":
            p = self.collect("src_demos", "demos", "none")
        elif name == "mg_demos":
            p = self.generate("mg_demos", "mimicgen", self.dataset("src_demos"), "none")
        elif name == "src_int":
            p = self.collect("src_int", "interventions", self.corruption, policy=self.base_policy())
        elif name == "test_demos":
            p = self.collect("test_demos", "demos", self.corruption)
        elif name == "mg_test_demos":
            p = self.generate("mg_test_demos", "mimicgen", self.dataset("test_demos"), self.corruption)
        elif name == "imgen":
            p = self.generate("imgen", "imgen", self.dataset("src_int"), self.corruption, policy=self.base_policy())
        elif name == "imgen_small":  # the scaling comparison: a tenth of the I-MG interventions
            p = self.generate("imgen_small", "imgen", self.dataset("src_int"), self.corruption,
                              policy=self.base_policy(), n=max(1, self.scale.n_generated // 10))
        elif name == "src_int_x10":  # ... and ten times the operator's interventions
            p = self.collect("src_int_x10", "interventions", self.corruption, policy=self.base_policy(),
                             n=10 * self.scale.n_source)
        elif name == "imgen_no_policy":
            p = self.generate("imgen_no_policy", "imgen-no-policy", self.dataset("src_int"), self.corruption)
        else:
            raise ImgenError(f"unknown dataset stage {name!r}")
        self._paths[name] = p
        return p

    def train_row(self, row_key: str) -> dict[str, Any]:
        from imgen_core.learning.evaluate import EvalJob, evaluate
        from imgen_core.learning.presets import get_preset
        from imgen_core.learning.train import train

        row = ROWS[row_key]
        datasets = [self.dataset(n) for n in row.datasets]
        weights = row_weights(row_key, datasets, self.scale)
        preset = get_preset(self.scale.train_preset)

        def fn(d: Path) -> dict[str, Any]:
            def evaluator(ckpt: str, epoch: int) -> float:
                job = EvalJob(ckpt, self.task, self.select_corruption, self.obs, trials=preset.eval_trials,
                              seed=self.seed + 1000, workers=self.scale.workers)
                return evaluate(job, out=d / f"eval_epoch_{epoch}.json").success_rate

            res = train(datasets, preset, d, weights=weights, seed=self.seed, resume=True, evaluate=evaluator,
                        extra_meta={"task": self.task, "row": row.name})
            return {"best": str(d / "best.pt"), "best_epoch": res.best_epoch, "selection_success": res.best_success,
                    "evals": res.evals, "wall_seconds": res.wall_seconds, "log": str(d / "log.jsonl")}

        key = "train_base" if row_key == "base" else f"train_{row_key}"
        trained = self.cache.run(f"{self.task}-{key}", self._params(row=row_key, preset=preset.to_dict(),
                                                                    weights=weights), datasets, fn)
        trained = {**trained, "weights": weights}  # part of the stage key; shown in the report

        def final_under(corruption: str, suffix: str = "") -> dict[str, Any]:
            def final(d: Path) -> dict[str, Any]:
                job = EvalJob(trained["best"], self.task, corruption, self.obs, trials=self.scale.eval_trials,
                              seed=self.seed + 5000, workers=self.scale.workers)
                r = evaluate(job, out=d / "eval.json")
                return {"successes": r.successes, "trials": r.trials, "ci95": list(r.ci95),
                        "success_rate": r.success_rate, "eval": str(d / "eval.json"), "corruption": corruption}

            params = self._params(trials=self.scale.eval_trials)
            if suffix:
                params["eval_corruption"] = corruption
            return self.cache.run(f"{self.task}-eval_{row_key}{suffix}", params, [trained["best"]], final)

        if self.spec.eval_columns:  # one final evaluation per column (e.g. Table 2's geometries)
            return {**trained, "columns": {col: {**trained, **final_under(c, f"-{col}")}
                                           for col, c in self.spec.eval_columns.items()}}
        return {**trained, **final_under(self.corruption)}

    def base_policy(self) -> str:
        return str(self.train_row("base")["best"])

    def datasets_for(self, rows: tuple[str, ...]) -> None:
        """Build (or find cached) every dataset the rows train on, in order (``src_int`` trains the base first)."""
        for row in rows:
            for name in ROWS[row].datasets:
                self.dataset(name)


def _train_row_job(spec: TableSpec, task: str, scale: ScalePreset, root: str, seed: int,
                   sources: dict[str, str], paths: dict[str, str],
                   row: str) -> tuple[dict[str, Any], list[str], dict[str, float]]:
    """One row's training and final evaluation in a worker process (its datasets already exist)."""
    try:
        import torch

        torch.set_num_threads(1)  # rows train side by side: one math thread each
    except ImportError:  # pragma: no cover
        pass
    cache = StageCache(root)
    pipe = TaskPipeline(spec, task, scale, cache, seed, sources)
    pipe._paths.update(paths)
    return pipe.train_row(row), cache.ran, cache.seconds


def _train_rows(pipe: TaskPipeline, rows: tuple[str, ...], jobs: int) -> dict[str, dict[str, Any]]:
    """Train and evaluate ``rows``: the base row first here, the others ``jobs`` at a time in worker processes."""
    results: dict[str, dict[str, Any]] = {}
    if "base" in rows:
        results["base"] = pipe.train_row("base")
    pipe.datasets_for(rows)
    rest = [r for r in rows if r not in results]
    if jobs <= 1 or len(rest) <= 1:
        for r in rest:
            results[r] = pipe.train_row(r)
        return {r: results[r] for r in rows}
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(min(jobs, len(rest)), mp_context=get_context("spawn")) as pool:
        futures = {r: pool.submit(_train_row_job, pipe.spec, pipe.task, pipe.scale, str(pipe.cache.root), pipe.seed,
                                  pipe.sources, dict(pipe._paths), r) for r in rest}
        for r, fut in futures.items():
            results[r], ran, seconds = fut.result()
            pipe.cache.ran.extend(ran)
            pipe.cache.seconds.update(seconds)
    return {r: results[r] for r in rows}


def resolve_run(table: str, preset: str, root: str, seed: int = 0, observability: str | None = None,
                tasks: list[str] | None = None, rows: list[str] | None = None) -> tuple[TableSpec, Path, str]:
    """The table spec a run uses, its stage-cache directory and the label of its result files.

    An observability override keeps its own cache and files (``<preset>_obs-<mode>``); a task subset adds the
    tasks' names; a row subset adds ``_rows-<rows>``; a seed other than 0 adds ``_seed<N>``, so a replicate never
    overwrites the seed-0 results. Subsets share the whole table's stage cache.
    """
    from dataclasses import replace

    from imgen_core.errors import check_choice

    spec = get_table(table)
    get_scale(preset)  # names the valid presets on a typo
    cache_dir = Path(root) / table / preset
    label = preset
    if observability is not None and observability != spec.observability:
        check_choice("observability", observability, OBSERVABILITY_MODES)
        spec = replace(spec, observability=observability)
        cache_dir = Path(root) / table / f"{preset}_obs-{observability}"
        label = f"{preset}_obs-{observability}"
    if tasks:
        bad = [t for t in tasks if t not in spec.tasks]
        if bad:
            raise ImgenError(f"{table} has no task(s) {bad}; its tasks: {', '.join(spec.tasks)}")
        if tuple(tasks) != spec.tasks:
            spec = replace(spec, tasks=tuple(t for t in spec.tasks if t in tasks))
            label = f"{label}_{'-'.join(spec.tasks)}"
    if rows:
        bad = [r for r in rows if r not in spec.rows]
        if bad:
            raise ImgenError(f"{table} has no row(s) {bad}; its rows: {', '.join(spec.rows)}")
        if set(rows) != set(spec.rows):
            spec = replace(spec, rows=tuple(r for r in spec.rows if r in rows))
            label = f"{label}_rows-{'-'.join(spec.rows)}"
    if seed < 0:
        raise ImgenError(f"seed must be >= 0, got {seed}")
    if seed:
        label = f"{label}_seed{seed}"
    return spec, cache_dir, label


def run_table(table: str, preset: str, root: str = "runs/experiments", results: str = "results", seed: int = 0,
              sources: dict[str, str] | None = None, workers: int | None = None,
              observability: str | None = None, tasks: list[str] | None = None,
              jobs: int | None = None, rows: list[str] | None = None) -> dict[str, Any]:
    """Build, train and evaluate every row of ``table``; write Markdown + PNG + JSON under ``results``.

    ``tasks`` restricts the run to some of the table's tasks, ``rows`` to some of its rows (the result files then
    carry their names); a row subset builds only the datasets its rows train on (and the base policy if one of
    them needs it).
    ``jobs`` rows train side by side once the base policy and the datasets exist (default: the preset's).

    ``observability`` overrides the table's contact observability (``TableSpec.observability``) for every
    dataset, training evaluation and final evaluation of the run; the stage cache and the result files of an
    override are kept apart (``<table>_<preset>_obs-<mode>``). A ``seed`` other than 0 (a replicate: other
    source demonstrations, interventions, generation, training and trials) adds ``_seed<N>`` to the result files;
    its stages share the cache directory, keyed by the seed.
    """
    from dataclasses import replace

    from imgen_core.experiments.report import write_report

    spec, cache_dir, label = resolve_run(table, preset, root, seed=seed, observability=observability, tasks=tasks,
                                         rows=rows)
    scale = get_scale(preset)
    if workers:
        scale = replace(scale, workers=workers)
    if jobs:
        scale = replace(scale, jobs=jobs)
    cache = StageCache(cache_dir)
    t0 = time.time()
    out: dict[str, Any] = {"table": table, "preset": label, "seed": seed, "rows": {}, "generation": {},
                           "observability": spec.observability}
    for task in spec.tasks:
        pipe = TaskPipeline(spec, task, scale, cache, seed, sources or {})
        for row, res in _train_rows(pipe, spec.rows, scale.jobs).items():
            if spec.eval_columns:
                out["rows"].setdefault(row, {}).update(res["columns"])
            else:
                out["rows"].setdefault(row, {})[task] = res
        for name in ("mg_demos", "imgen", "imgen_small", "imgen_no_policy", "mg_test_demos"):
            if name in pipe._paths:
                stats = Path(pipe._paths[name].removesuffix(".hdf5") + ".stats.json")
                if stats.exists():
                    out["generation"][f"{task}/{name}"] = json.loads(stats.read_text())
        out.setdefault("datasets", {})[task] = {k: {"path": v, "sha256": file_digest(v)[:16]}
                                                for k, v in pipe._paths.items()}
    out["wall_seconds"] = time.time() - t0
    out["stages_ran"], out["stages_cached"] = cache.ran, cache.skipped
    out["stage_seconds"] = cache.seconds  # every stage's own compute time, cached ones included
    out["command"] = f"imgen experiment {table} --preset {preset}" + (
        f" --observability {spec.observability}" if observability is not None else "") + (
        "".join(f" --task {t}" for t in tasks) if tasks else "") + (
        "".join(f" --row {r}" for r in rows) if rows else "") + (f" --seed {seed}" if seed else "")
    out["date"] = time.strftime("%Y-%m-%d")
    write_report(spec, out, Path(results))
    return out


__all__ = ["TaskPipeline", "resolve_run", "run_table"]
