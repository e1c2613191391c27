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
    lines = [f"# {spec.name} — preset `{out['preset']}`", "",
             f"Command: `{out['command']}` · date {out['date']} · wall time {out['wall_seconds'] / 60:.1f} min"
             + (f" (this invocation; the {len(out['stage_seconds'])} stages' own times add up to "
                f"{sum(out['stage_seconds'].values()) / 60:.1f} min)"
                if out.get("stage_seconds") else ""), "",
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
    if out.get("generation"):
        lines += ["Generation:", "", "| dataset | attempts | kept | success rate |", "|---|---|---|---|"]
        for name, g in out["generation"].items():
            lines.append(f"| {name} | {g['attempts']} | {g['kept']} | {100 * g['success_rate']:.0f}% |")
        lines.append("")
    return "\n".join(lines)


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
            if not r or not Path(r["log"]).exists():
                continue
            recs = [json.loads(line) for line in Path(r["log"]).read_text().splitlines()]
            ax2.plot([x["epoch"] for x in recs], [x["loss"] for x in recs], label=ROWS[key].name)
        ax2.set_xlabel("epoch")
        ax2.set_ylabel("training loss (GMM NLL)")
        ax2.set_title(f"{t}: training curves")
        ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(spec: TableSpec, out: dict[str, Any], results: Path) -> None:
    results.mkdir(parents=True, exist_ok=True)
    stem = results / f"{spec.name}_{out['preset']}"
    Path(f"{stem}.md").write_text(markdown(spec, out))
    Path(f"{stem}.json").write_text(json.dumps(out, indent=2, default=str))
    plot(spec, out, Path(f"{stem}.png"))
