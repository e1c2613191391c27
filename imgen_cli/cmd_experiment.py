"""``imgen experiment table1|table2|table3|table4|scaling --preset cpu|paper``: one paper table, end to end."""

from __future__ import annotations

import argparse

from imgen_core.experiments.spec import SCALES, TABLES
from imgen_core.task import OBSERVABILITY_MODES


def _experiment(args: argparse.Namespace) -> int:
    from imgen_core.experiments.runner import run_table

    sources = {k: v for k, v in (("src_demos", args.source_demos), ("src_int", args.source_interventions),
                                 ("test_demos", args.test_demos)) if v}
    out = run_table(args.table, args.preset, root=args.root, results=args.results, seed=args.seed,
                    sources=sources, workers=args.workers, observability=args.observability,
                    tasks=args.task, jobs=args.jobs, rows=args.row)
    print(f"{args.results}/{args.table}_{out['preset']}.md ({out['wall_seconds'] / 60:.1f} min; "
          f"ran {len(out['stages_ran'])} stages, {len(out['stages_cached'])} cached)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "experiment", help="reproduce a paper table (datasets, training, evaluation, Markdown + PNG)",
        description="Builds every dataset of the table (scripted-oracle or given human source files -> MimicGen -> "
                    "base policy -> interventions -> I-MG -> baselines), trains each row, evaluates under the "
                    "paper's corruption and writes results/<table>_<preset>.{md,png,json}. Every stage is cached "
                    "by content under --root, so a re-run skips finished work. Presets: "
                    + "; ".join(f"{n}: {s.n_source} sources, {s.n_generated} generated, train preset "
                                f"{s.train_preset}, {s.eval_trials} eval trials" for n, s in SCALES.items())
                    + ". A row mixing generated and operator episodes (Source Int) weights each generated episode "
                      "so the operator's share is the paper's (10 in 1010 episodes) at every preset.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("table", choices=sorted(TABLES))
    p.add_argument("--preset", default="cpu", choices=sorted(SCALES))
    p.add_argument("--root", default="runs/experiments", help="stage cache directory")
    p.add_argument("--results", default="results")
    p.add_argument("--seed", type=int, default=0,
                   help="a replicate: other source demos, interventions, generation, training and trials; a seed "
                        "other than 0 writes results/<table>_<preset>_seed<N>.*")
    p.add_argument("--workers", type=int, help="override the preset's parallel workers")
    p.add_argument("--jobs", type=int, help="rows trained side by side after the base policy (default: the preset's)")
    p.add_argument("--observability", choices=OBSERVABILITY_MODES,
                   help="contact observability for every stage (default: the table's, as in the paper)")
    p.add_argument("--task", action="append", help="run only this task of the table (repeatable)")
    p.add_argument("--row", action="append",
                   help="run only this row of the table (repeatable); writes <table>_<preset>_rows-<rows>.*")
    p.add_argument("--source-demos", help="human source demos (instead of the scripted oracle)")
    p.add_argument("--source-interventions", help="human source interventions")
    p.add_argument("--test-demos", help="human demos in the test environment")
    p.set_defaults(func=_experiment)
