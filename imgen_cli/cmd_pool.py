"""``imgen pool RESULT.json RESULT.json ...``: replicates of one paper table (different ``--seed``) pooled."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def read_results(paths: list[str]) -> list[dict[str, Any]]:
    """The result JSONs that ``imgen experiment`` wrote at ``paths``; a clear error for an unreadable one."""
    from imgen_core.errors import ImgenError

    runs = []
    for path in paths:
        try:
            run = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ImgenError(f"{path}: not a readable result JSON of `imgen experiment` ({e})") from e
        if not isinstance(run, dict) or not isinstance(run.get("rows"), dict):
            raise ImgenError(f"{path}: not a result JSON of `imgen experiment` (it has no 'rows' table)")
        runs.append(run)
    return runs


def _pool(args: argparse.Namespace) -> int:
    from imgen_core.experiments.report import pooled_markdown
    from imgen_core.experiments.spec import get_table

    runs = read_results(args.results)
    text = pooled_markdown(get_table(runs[0].get("table", "?")), runs)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pool", help="pool replicates of a paper table run with different --seed",
        description="Reads the result JSONs that `imgen experiment` writes (results/<table>_<preset>[_seed<N>].json) "
                    "for one table and observability, and prints each row's successes per replicate and pooled, "
                    "with the 95 % Wilson interval of the pooled count.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("results", nargs="+", help="result JSONs of one table, one per seed")
    p.add_argument("--out", help="also write the Markdown here")
    p.set_defaults(func=_pool)
