"""Markdown table in the paper's layout (with the paper's figures beside ours), PNG plots, JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from imgen_core.experiments.spec import ROWS, TableSpec


def _cell(r: dict[str, Any]) -> str:
    lo, hi = r["ci95"]
    return f"{100 * r['success_rate']:.0f}% [{100 * lo:.0f}–{100 * hi:.0f}]"


def markdown(spec: TableSpec, out: dict[str, Any]) -> str:
    head = " | ".join(f"{t} (ours) | {t} (paper)" for t in spec.columns)
    if out.get("combined_from"):
        origin = ["Parts of the table run separately, assembled with `imgen combine`:", ""] + [
            f"* `{c['command']}` · date {c['date']} · "
            + (f"wall time {c['wall_seconds'] / 60:.1f} min (that invocation; " if c.get("wall_seconds") is not None
               else "wall time not recorded (")
            + f"its stages' own times add up to {c.get('stage_minutes', 0.0):.1f} min)"
            for c in out["combined_from"]]
    else:
        origin = [f"Command: `{out['command']}` · date {out['date']} · wall time {out['wall_seconds'] / 60:.1f} min"
                  + (f" (this invocation; the {len(out['stage_seconds'])} stages' own times add up to "
                     f"{sum(out['stage_seconds'].values()) / 60:.1f} min)"
                     if out.get("stage_seconds") else "")]
    lines = [f"# {spec.name} — preset `{out['preset']}`", "", *origin, "",
             f"| Dataset | {head} |", "|---|" + "---|---|" * len(spec.columns)]
    for key in spec.rows:
        cells = []
        for t in spec.columns:
            r = out["rows"].get(key, {}).get(t)
            cells += [_cell(r) if r else "—", spec.paper.get(key, {}).get(t, "—")]
        lines.append(f"| {ROWS[key].name} | " + " | ".join(cells) + " |")
    under = ("the column's corruption (" + ", ".join(f"{c}: `{v}`" for c, v in spec.eval_columns.items()) + ")"
             if spec.eval_columns else "the task's pose corruption")
    lines += ["", f"Ours: success over {next(iter(next(iter(out['rows'].values())).values()))['trials']} "
              f"evaluation trials under {under}, of the checkpoint selected by the highest "
              "success at periodic evaluation (selection and reported trials use different seeds), with the 95 % "
              "Wilson interval in brackets.", ""]
    mixed = []  # rows that weight their generated episodes to keep the paper's operator share (runner.row_weights)
    for key in spec.rows:
        cell: dict[str, Any] = next(iter(out["rows"].get(key, {}).values()), {})
        if cell.get("weights") and not ROWS[key].weighted:
            mixed.append(f"{ROWS[key].name} ({' + '.join(ROWS[key].datasets)}: weights "
                         f"{' / '.join(f'{w:g}' for w in cell['weights'])})")
    if mixed:
        lines += ["Sampling weights per episode, so the operator's episodes keep their share in the paper (which "
                  "generates 100 episodes per operator episode): " + "; ".join(mixed) + ".", ""]
    if out.get("generation"):
        lines += ["Generation:", "", "| dataset | attempts | kept | success rate |", "|---|---|---|---|"]
        for name, g in out["generation"].items():
            lines.append(f"| {name} | {g['attempts']} | {g['kept']} | {100 * g['success_rate']:.0f}% |")
        lines.append("")
    return "\n".join(lines)


def _preset(run: dict[str, Any]) -> str | None:
    """The ``--preset`` of the command that wrote a result JSON."""
    import re

    found = re.search(r"--preset (\S+)", run.get("command", ""))
    return found.group(1) if found else None


def _setting(run: dict[str, Any]) -> tuple[Any, ...]:
    """What runs must share to be pooled or combined: the table, the preset and the observability."""
    return run.get("table"), _preset(run), run.get("observability")


def pooled_markdown(spec: TableSpec, runs: list[dict[str, Any]]) -> str:
    """Replicates of one table (result JSONs of runs with different ``--seed``) side by side and pooled.

    Each row's cell gives every replicate's successes and the pooled success rate over all their trials, with
    the 95 % Wilson interval of the pooled count. Runs must share the table, the preset and the observability;
    the columns pooled are those every run has.
    """
    from imgen_core.errors import ImgenError
    from imgen_core.learning.evaluate import wilson_interval

    if not runs:
        raise ImgenError("pooling needs at least one result JSON")

    for run in runs:
        if run.get("table") != spec.name or _setting(run) != _setting(runs[0]):
            raise ImgenError(f"cannot pool {run.get('command')!r} with {runs[0].get('command')!r}: the table, the "
                             "preset and the observability must match (valid: replicates of one table that differ "
                             "in --seed)")
    seeds = [run.get("seed", 0) for run in runs]
    if len(set(seeds)) != len(seeds):
        raise ImgenError(f"the replicates repeat a seed ({seeds}); pool runs with different --seed")
    cols = [t for t in spec.columns if all(any(t in cells for cells in run["rows"].values()) for run in runs)]
    if not cols:
        raise ImgenError(f"the replicates share no column of {spec.name} (its columns: {', '.join(spec.columns)})")
    head = " | ".join(f"{t} (ours, " + " / ".join(f"seed {s}" for s in seeds) + f" → pooled) | {t} (paper)"
                      for t in cols)
    lines = [f"# {spec.name} — {len(runs)} replicates pooled (seeds {', '.join(map(str, seeds))})", "",
             "From: " + ", ".join(f"`{run['command']}` ({run['date']})" for run in runs), "",
             f"| Dataset | {head} |", "|---|" + "---|---|" * len(cols)]
    for key in spec.rows:
        cells = []
        for t in cols:
            found = [run["rows"].get(key, {}).get(t) for run in runs]
            if not all(found):
                cells += ["—", spec.paper.get(key, {}).get(t, "—")]
                continue
            k, n = sum(c["successes"] for c in found), sum(c["trials"] for c in found)
            lo, hi = wilson_interval(k, n)
            cells += [" / ".join(f"{c['successes']}/{c['trials']}" for c in found)
                      + f" → {100 * k / n:.0f}% [{100 * lo:.0f}–{100 * hi:.0f}]", spec.paper.get(key, {}).get(t, "—")]
        lines.append(f"| {ROWS[key].name} | " + " | ".join(cells) + " |")
    lines += ["", "Each replicate re-runs every stage with its seed: source demonstrations, interventions, "
              "generation, training, checkpoint selection and the final trials.", ""]
    return "\n".join(lines)


def combined_run(spec: TableSpec, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Parts of one table run separately (``imgen experiment <table> --task T`` / ``--row R``) as one result.

    The runs must share the table, the preset, the observability and the seed, and each cell (row, column) may
    come from one run only. The result has the fields ``run_table`` writes (rows, generation, datasets, the summed
    wall and stage times) plus ``combined_from``: each run's command, date and wall time. Its label is the one the
    whole-table run would have, so ``write_report`` writes ``results/<table>_<preset>[_obs-X][_seedN].*``.
    """
    from imgen_core.errors import ImgenError
    from imgen_core.experiments.runner import resolve_run

    if not runs:
        raise ImgenError("combining needs at least one result JSON")
    first = (*_setting(runs[0]), runs[0].get("seed", 0))
    owner: dict[tuple[str, str], str] = {}
    for run in runs:
        if run.get("table") != spec.name or (*_setting(run), run.get("seed", 0)) != first:
            raise ImgenError(f"cannot combine {run.get('command')!r} with {runs[0].get('command')!r}: the table, "
                             "the preset, the observability and the seed must match (valid: one table's columns "
                             "run with different --task, or its rows with different --row)")
        for row, cells in run["rows"].items():
            if row not in spec.rows:
                raise ImgenError(f"{run.get('command')!r} has a row {row!r} that {spec.name} does not have "
                                 f"(its rows: {', '.join(spec.rows)})")
            for col in cells:
                if col not in spec.columns:
                    raise ImgenError(f"{run.get('command')!r} has a column {col!r} that {spec.name} does not have "
                                     f"(its columns: {', '.join(spec.columns)})")
                missing = [k for k in ("successes", "trials", "success_rate", "ci95") if k not in cells[col]]
                if missing:
                    raise ImgenError(f"{run.get('command')!r}: row {row!r}, column {col!r} lacks {missing}; not a "
                                     "result JSON of `imgen experiment`")
                if (row, col) in owner:
                    raise ImgenError(f"row {row!r}, column {col!r} comes from both {owner[row, col]!r} and "
                                     f"{run.get('command')!r}; give each cell once")
                owner[row, col] = run.get("command", "?")
    preset = _preset(runs[0])
    if preset is None:
        raise ImgenError(f"{runs[0].get('command')!r} names no --preset; not a result JSON of `imgen experiment`")
    _, _, label = resolve_run(spec.name, preset, "runs/experiments", seed=runs[0].get("seed", 0),
                              observability=runs[0].get("observability"))
    out: dict[str, Any] = {"table": spec.name, "preset": label, "seed": runs[0].get("seed", 0), "rows": {},
                           "generation": {}, "datasets": {}, "observability": runs[0].get("observability"),
                           "stage_seconds": {}}
    for run in runs:
        for row, cells in run["rows"].items():
            out["rows"].setdefault(row, {}).update(cells)
        out["generation"].update(run.get("generation", {}))
        out["datasets"].update(run.get("datasets", {}))
        out["stage_seconds"].update(run.get("stage_seconds", {}))
    out["wall_seconds"] = sum(run.get("wall_seconds") or 0.0 for run in runs)
    out["combined_from"] = [{"command": run.get("command"), "date": run.get("date"),
                             "wall_seconds": run.get("wall_seconds"),
                             "stage_minutes": sum(run.get("stage_seconds", {}).values()) / 60} for run in runs]
    out["command"] = " && ".join(run.get("command", "?") for run in runs)
    out["date"] = max(run.get("date", "") for run in runs)
    return out


def plot(spec: TableSpec, out: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = spec.columns
    fig, axes = plt.subplots(len(cols), 2, figsize=(11, 3.6 * len(cols)), squeeze=False)
    for i, t in enumerate(cols):
        ax = axes[i][0]
        names, rates, err_lo, err_hi = [], [], [], []
        for key in spec.rows:
            r = out["rows"].get(key, {}).get(t)
            if not r:
                continue
            names.append(ROWS[key].name)
            rates.append(100 * r["success_rate"])
            err_lo.append(100 * (r["success_rate"] - r["ci95"][0]))
            err_hi.append(100 * (r["ci95"][1] - r["success_rate"]))
        ax.bar(names, rates, yerr=[err_lo, err_hi], capsize=4, color="tab:blue")
        ax.set_ylim(0, 105)
        ax.set_ylabel("success %")
        ax.set_title(f"{t}: success under pose corruption (95% Wilson)")
        ax.tick_params(axis="x", rotation=20)
        ax2 = axes[i][1]
        for key in spec.rows:
            r = out["rows"].get(key, {}).get(t)
            if not r or not r.get("log") or not Path(r["log"]).exists():
                continue
            recs = [json.loads(line) for line in Path(r["log"]).read_text().splitlines()]
            ax2.plot([x["epoch"] for x in recs], [x["loss"] for x in recs], label=ROWS[key].name)
        ax2.set_xlabel("epoch")
        ax2.set_ylabel("training loss (GMM NLL)")
        ax2.set_title(f"{t}: training curves")
        if ax2.get_lines():
            ax2.legend(fontsize=7)
        else:
            ax2.text(0.5, 0.5, "training logs not on this machine", ha="center", va="center",
                     transform=ax2.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(spec: TableSpec, out: dict[str, Any], results: Path) -> None:
    results.mkdir(parents=True, exist_ok=True)
    stem = results / f"{spec.name}_{out['preset']}"
    Path(f"{stem}.md").write_text(markdown(spec, out))
    Path(f"{stem}.json").write_text(json.dumps(out, indent=2, default=str))
    plot(spec, out, Path(f"{stem}.png"))
