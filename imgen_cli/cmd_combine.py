"""``imgen combine RESULT.json RESULT.json ...``: one paper table's columns or rows, run separately, as one table."""

from __future__ import annotations

import argparse
from pathlib import Path


def _combine(args: argparse.Namespace) -> int:
    from imgen_cli.cmd_pool import read_results
    from imgen_core.experiments.report import combined_run, markdown, write_report
    from imgen_core.experiments.spec import get_table

    runs = read_results(args.results)
    spec = get_table(runs[0].get("table", "?"))
    out = combined_run(spec, runs)
    write_report(spec, out, Path(args.out_dir))
    print(markdown(spec, out))
    stem = Path(args.out_dir) / f"{spec.name}_{out['preset']}"
    print(f"wrote {stem}.md, {stem}.png, {stem}.json")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "combine", help="assemble a paper table from its columns or rows run separately with --task / --row",
        description="Reads the result JSONs that `imgen experiment <table> --task T` writes "
                    "(results/<table>_<preset>_<task>.json) or `--row R` writes "
                    "(results/<table>_<preset>_rows-<rows>.json) and writes the whole table in the paper's layout "
                    "as the whole-table run would name it: <out-dir>/<table>_<preset>.{md,png,json}. The runs must "
                    "share the table, preset, observability and seed; each cell (row, column) comes from one run.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("results", nargs="+", help="result JSONs of one table, each cell in one of them")
    p.add_argument("--out-dir", default="results", help="directory of the combined Markdown, PNG and JSON")
    p.set_defaults(func=_combine)
