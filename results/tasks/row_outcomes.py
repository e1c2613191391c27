"""How each row of a table's final evaluation succeeded or failed: mistakes, recoveries and failure reasons.

Run from the project root, on the machine that ran the table, with its result JSON:
``python results/tasks/row_outcomes.py results/table1_cpu_coffee.json``. It reads the per-trial records of the
evaluations that JSON names (``imgen eval`` records: seed, success, steps, failure reason, the first mistake the
task's detector saw). Per row and task column it prints the successes, the trials with a mistake, the recoveries
(a mistake, then success), the successes without a mistake, the failure reasons, and the checkpoint selection
(success at each periodic evaluation, the epoch taken). Outputs beside this file: ``row_outcomes_<result>.txt``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def row_line(row: str, task: str, cell: dict) -> str:
    """One line for one row and task column of a result JSON."""
    records = json.loads(Path(cell["eval"]).read_text())["records"]
    n = len(records)
    ok = sum(r["success"] for r in records)
    mistaken = [r for r in records if r.get("mistake")]
    recovered = sum(r["success"] for r in mistaken)
    reasons = Counter(r["reason"] for r in records if not r["success"])
    evals = " / ".join(f"{float(v):.0%}" for _, v in sorted(cell.get("evals", {}).items(), key=lambda kv: int(kv[0])))
    return (f"{row:18s} {task:20s} {ok:3d}/{n}  mistake {len(mistaken):3d}  recovered {recovered:3d}  "
            f"clean {ok - recovered:3d}  failures {dict(reasons.most_common())}  "
            f"selection {evals} (epoch {cell.get('best_epoch')})")


def main(results_json: str) -> None:
    table = json.loads(Path(results_json).read_text())
    print(f"{table['command']} (observability {table['observability']}, seed {table['seed']}, {table['date']})")
    print("row, task: successes/trials, trials with a mistake, recoveries (mistake then success), successes "
          "without a mistake, failure reasons, selection success at each evaluated epoch (epoch taken)")
    for row, cells in table["rows"].items():
        for task, cell in cells.items():
            print(row_line(row, task, cell))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python results/tasks/row_outcomes.py results/<table>.json")
    main(sys.argv[1])
