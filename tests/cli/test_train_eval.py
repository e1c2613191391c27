"""Tiny end-to-end learning loop through the CLI, for real: scripted-oracle demos in the Block Grasp sim ->
``imgen train`` (BC-RNN, best checkpoint chosen by closed-loop rollouts) -> ``imgen eval`` under the paper's
corruption (per-trial records, Wilson interval). Runs in the default suite in well under two minutes."""

from __future__ import annotations

import json

import pytest

from imgen_cli.main import main
from imgen_core.learning.checkpoint import load_checkpoint
from imgen_core.learning.evaluate import wilson_interval

pytestmark = pytest.mark.sim


def test_collect_train_select_and_eval_end_to_end(tmp_path, capsys):
    demos = tmp_path / "demos.hdf5"
    assert main(["collect", "demos", "--task", "block_grasp", "--operator", "scripted_oracle", "--n", "3",
                 "--seed", "5", "--out", str(demos)]) == 0
    run = tmp_path / "run"
    assert main(["train", "--dataset", str(demos), "--preset", "tiny", "--out", str(run), "--eval-task", "block_grasp",
                 "--corruption", "block", "--observability", "full"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    evals = {int(k): v for k, v in summary["evals"].items()}
    assert sorted(evals) == [2, 4]  # tiny preset: 4 epochs, rollouts every 2
    assert all(0.0 <= v <= 1.0 for v in evals.values())
    # the best checkpoint is the one with the highest rollout success (ties: the later epoch)
    best_epoch = max(sorted(evals), key=lambda e: (evals[e], e))
    assert summary["best_epoch"] == best_epoch
    assert load_checkpoint(run / "best.pt")[1]["epoch"] == best_epoch

    out = tmp_path / "eval.json"
    capsys.readouterr()
    assert main(["eval", str(run / "best.pt"), "--task", "block_grasp", "--corruption", "block",
                 "--observability", "full", "--trials", "3", "--seed", "7", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    res = json.loads(out.read_text())
    assert res["trials"] == 3 and len(res["records"]) == 3
    assert res["successes"] == sum(r["success"] for r in res["records"])
    assert tuple(res["ci95"]) == pytest.approx(wilson_interval(res["successes"], 3))
    seeds = [r["seed"] for r in res["records"]]
    assert len(set(seeds)) == 3
    for r in res["records"]:
        assert (r["reason"] == "success") == r["success"] and r["reason"]  # a failure names its reason
        assert 1 <= r["steps"] <= 400
    lo, hi = wilson_interval(res["successes"], 3)
    assert f"{res['successes']}/3" in printed and f"(95% CI {100 * lo:.0f}-{100 * hi:.0f}%)" in printed
    failed = [r for r in res["records"] if not r["success"]]
    assert not failed or "failures: " in printed
