"""Table specifications, the corruption of Table 2's geometry columns, task selection and the report layout."""

import numpy as np
import pytest

from imgen_core import corruption
from imgen_core.errors import ImgenError
from imgen_core.experiments.report import markdown
from imgen_core.experiments.runner import resolve_run, row_weights, run_table
from imgen_core.experiments.spec import ROWS, TABLES, get_scale, get_table


def test_every_table_names_known_rows_tasks_and_corruptions():
    from sim.tasks import TASKS

    for name, spec in TABLES.items():
        assert set(spec.rows) <= set(ROWS), name
        assert set(spec.tasks) <= set(TASKS), name
        for task in spec.tasks:
            corruption.get(spec.corruption[task])
        for row, figures in spec.paper.items():
            assert row in spec.rows and set(figures) <= set(spec.columns) | {"real"}, (name, row)
        for c in (spec.eval_columns or {}).values():
            corruption.get(c)


def test_table2_columns_are_the_two_geometries_and_their_mixture():
    spec = get_table("table2")
    assert spec.columns == ("geometry_1", "geometry_2", "mixture")
    assert spec.select_corruption == "geometry_swap"
    flags = [corruption.sample("geometry_2", s).geometry_swap for s in range(50)]
    assert all(flags)
    mixed = [corruption.sample("geometry_swap", s).geometry_swap for s in range(400)]
    assert 0.4 < np.mean(mixed) < 0.6
    assert get_table("table3").observability == "partial"


def test_running_a_task_the_table_does_not_have_names_its_tasks(tmp_path):
    with pytest.raises(ImgenError, match="nut_insertion, two_piece_assembly, coffee"):
        run_table("table1", "tiny", root=str(tmp_path), results=str(tmp_path), tasks=["block_grasp"])


def test_report_lays_out_eval_columns_beside_the_paper():
    spec = get_table("table2")
    cell = {"success_rate": 0.5, "ci95": [0.3, 0.7], "trials": 10}
    out = {"preset": "tiny", "command": "imgen experiment table2 --preset tiny", "date": "2026-12-02",
           "wall_seconds": 60.0, "rows": {r: {c: cell for c in spec.columns} for r in spec.rows}}
    md = markdown(spec, out)
    assert "| Dataset | geometry_1 (ours) | geometry_1 (paper) | geometry_2 (ours)" in md
    imgen_line = next(line for line in md.splitlines() if line.startswith("| I-MG |"))
    assert imgen_line == "| I-MG | 50% [30–70] | 92% | 50% [30–70] | 88% | 50% [30–70] | 90% |"
    assert "geometry_2: `geometry_2`" in md


def test_every_preset_keeps_the_papers_share_of_operator_episodes_in_a_mixed_row():
    """Source Int at ``paper``: 10 operator interventions in 1010 episodes; smaller presets keep that share."""
    assert row_weights("source_int", ["mg", "int"], get_scale("paper")) is None  # already the paper's sizes
    for preset in ("cpu", "tiny"):
        scale = get_scale(preset)
        for row in ("source_int", "src_int_x10"):
            w_generated, w_operator = row_weights(row, ["mg", "int"], scale)
            n_operator = scale.n_source * (10 if row == "src_int_x10" else 1)
            share = n_operator * w_operator / (scale.n_generated * w_generated + n_operator * w_operator)
            assert share == pytest.approx(n_operator / (100 * scale.n_source + n_operator)), (preset, row)
        assert row_weights("source_int", ["mg", "int"], get_scale("cpu")) == [5.0, 1.0]
    # rows of one kind (generated only, or operator only) sample uniformly
    for row in ("base", "mg_demo", "base_mg_demo", "imgen", "imgen_no_policy", "source_demo"):
        assert row_weights(row, ["a"] * len(ROWS[row].datasets), get_scale("cpu")) is None, row


@pytest.mark.slow
def test_tiny_table4_end_to_end_trains_rows_side_by_side(tmp_path):
    """Every stage of Table 4 for real at the ``tiny`` preset, the rows after the base trained by 2 worker processes.

    A re-run finds every stage cached and reproduces the same table.
    """
    import json

    results = tmp_path / "results"
    out = run_table("table4", "tiny", root=str(tmp_path / "runs"), results=str(results), jobs=2)
    spec = get_table("table4")
    assert set(out["rows"]) == set(spec.rows)
    for row in spec.rows:
        cell = out["rows"][row]["block_grasp"]
        assert cell["trials"] == 3 and 0 <= cell["successes"] <= 3
        assert (tmp_path / "runs" / "table4" / "tiny").exists()
    # the worker processes' stages are counted: every row's training and evaluation ran once
    for row in spec.rows:
        key = "train_base" if row == "base" else f"train_{row}"
        assert out["stages_ran"].count(f"block_grasp-{key}") == 1, out["stages_ran"]
        assert out["stages_ran"].count(f"block_grasp-eval_{row}") == 1, out["stages_ran"]
    md = (results / "table4_tiny.md").read_text()
    assert "| I-MG |" in md and "| Base |" in md
    # Source Int mixes 4 generated with 3 operator episodes; tiny keeps the paper's 1000:10 through weights 75 / 1
    assert out["rows"]["source_int"]["block_grasp"]["weights"] == [75.0, 1.0]
    assert "generates 100 episodes per operator episode): Source Int (mg_demos + src_int: weights 75 / 1)." in md
    assert out["rows"]["imgen"]["block_grasp"]["weights"] is None
    again = run_table("table4", "tiny", root=str(tmp_path / "runs"), results=str(results), jobs=2)
    assert again["stages_ran"] == []
    assert json.dumps(again["rows"], sort_keys=True) == json.dumps(out["rows"], sort_keys=True)
    # one row on its own shares the table's stage cache and writes its own files, with only that row
    one = run_table("table4", "tiny", root=str(tmp_path / "runs"), results=str(results), rows=["mg_demo"])
    assert one["stages_ran"] == [] and set(one["rows"]) == {"mg_demo"}
    assert json.dumps(one["rows"]["mg_demo"], sort_keys=True) == json.dumps(out["rows"]["mg_demo"], sort_keys=True)
    assert one["command"] == "imgen experiment table4 --preset tiny --row mg_demo"
    md = (results / "table4_tiny_rows-mg_demo.md").read_text()
    assert "| MG Demo |" in md and "| Base |" not in md and "| I-MG |" not in md


def test_scaling_compares_a_tenth_of_the_imgen_data_with_ten_times_the_operator_interventions(tmp_path):
    """The scaling rows' datasets: n_generated / 10 I-MG episodes and 10 x n_source operator interventions."""
    from imgen_core.experiments.runner import TaskPipeline
    from imgen_core.experiments.spec import get_scale
    from imgen_core.stages import StageCache

    spec = get_table("scaling")
    assert spec.rows == ("source_int", "imgen_small", "src_int_x10", "imgen")
    requested: list[tuple[str, str, int | None]] = []

    class Recording(TaskPipeline):
        def collect(self, name, kind, corruption, policy=None, n=None):  # type: ignore[override]
            requested.append((name, kind, n or self.scale.n_source))
            return f"{name}.hdf5"

        def generate(self, name, method, source, corruption, policy=None, n=None):  # type: ignore[override]
            assert source == "src_int.hdf5" and policy == "base.pt"
            requested.append((name, method, n or self.scale.n_generated))
            return f"{name}.hdf5"

        def base_policy(self) -> str:
            return "base.pt"

    scale = get_scale("cpu")
    pipe = Recording(spec, "two_piece_assembly", scale, StageCache(tmp_path), 0, {})
    for name in ("imgen_small", "src_int_x10", "imgen"):
        pipe.dataset(name)
    assert requested == [("src_int", "interventions", 10), ("imgen_small", "imgen", 20),
                         ("src_int_x10", "interventions", 100), ("imgen", "imgen", 200)]


def test_a_row_subset_builds_only_the_datasets_its_rows_train_on(tmp_path):
    """Base + MG Demo needs the two MimicGen sets; neither the base policy nor the interventions are built."""
    from imgen_core.experiments.runner import TaskPipeline, _train_rows
    from imgen_core.experiments.spec import get_scale
    from imgen_core.stages import StageCache

    built: list[str] = []
    trained: list[str] = []

    class Recording(TaskPipeline):
        def collect(self, name, kind, corruption, policy=None, n=None):  # type: ignore[override]
            built.append(name)
            return f"{name}.hdf5"

        def generate(self, name, method, source, corruption, policy=None, n=None):  # type: ignore[override]
            built.append(name)
            return f"{name}.hdf5"

        def train_row(self, row_key):  # type: ignore[override]
            trained.append(row_key)
            return {"row": row_key}

    spec, _, _ = resolve_run("table2", "cpu", str(tmp_path), rows=["base_mg_demo"])
    pipe = Recording(spec, "nut_peg_assembly", get_scale("cpu"), StageCache(tmp_path), 0, {})
    assert _train_rows(pipe, spec.rows, jobs=2) == {"base_mg_demo": {"row": "base_mg_demo"}}
    assert built == ["src_demos", "mg_demos", "test_demos", "mg_test_demos"] and trained == ["base_mg_demo"]


def test_a_replicate_seed_or_an_override_never_writes_over_the_default_result_files(tmp_path):
    """Result labels and cache directories: the default, an observability override, a task subset, a seed."""
    root = str(tmp_path)
    spec, cache, label = resolve_run("table4", "cpu", root)
    assert (label, cache) == ("cpu", tmp_path / "table4" / "cpu") and spec.observability == "partial"
    spec, cache, label = resolve_run("table4", "cpu", root, observability="partial")  # the default, named
    assert (label, cache) == ("cpu", tmp_path / "table4" / "cpu")
    spec, cache, label = resolve_run("table4", "cpu", root, observability="full")
    assert (label, cache, spec.observability) == ("cpu_obs-full", tmp_path / "table4" / "cpu_obs-full", "full")
    spec, cache, label = resolve_run("table4", "cpu", root, seed=1)
    assert (label, cache) == ("cpu_seed1", tmp_path / "table4" / "cpu")  # stages keyed by the seed, files apart
    _, _, label = resolve_run("table1", "cpu", root, seed=2, observability="none", tasks=["coffee"])
    assert label == "cpu_obs-none_coffee_seed2"
    spec, cache, label = resolve_run("table2", "cpu", root, rows=["imgen", "base_mg_demo"])
    assert (label, cache) == ("cpu_rows-base_mg_demo-imgen", tmp_path / "table2" / "cpu")  # the table's order
    assert spec.rows == ("base_mg_demo", "imgen")
    _, _, label = resolve_run("table4", "cpu", root, rows=list(get_table("table4").rows))  # every row: the table
    assert label == "cpu"
    with pytest.raises(ImgenError, match="no row.*weighted_src_int.*its rows: base, source_int"):
        resolve_run("table4", "cpu", root, rows=["weighted_src_int"])
    with pytest.raises(ImgenError, match="seed must be >= 0"):
        resolve_run("table4", "cpu", root, seed=-1)
    with pytest.raises(ImgenError, match="no task"):
        resolve_run("table4", "cpu", root, tasks=["coffee"])
    with pytest.raises(ImgenError, match="preset"):
        resolve_run("table4", "gpu", root)


def _run(seed: int, successes: dict[str, int], trials: int = 50, observability: str = "partial") -> dict:
    """A Table 4 result JSON as ``run_table`` writes it (only the fields pooling reads)."""
    return {"table": "table4", "seed": seed, "observability": observability, "date": "2026-12-07",
            "command": "imgen experiment table4 --preset cpu" + (f" --seed {seed}" if seed else ""),
            "rows": {row: {"block_grasp": {"successes": k, "trials": trials}} for row, k in successes.items()}}


def test_replicates_pool_their_trials_with_the_wilson_interval_of_the_pooled_count(tmp_path, capsys):
    import json

    from imgen_cli.main import main
    from imgen_core.experiments.report import pooled_markdown
    from imgen_core.learning.evaluate import wilson_interval

    a = _run(0, {"base": 0, "source_int": 9, "mg_demo": 9, "imgen_no_policy": 47, "imgen": 48})
    b = _run(1, {"base": 1, "source_int": 6, "mg_demo": 14, "imgen_no_policy": 40, "imgen": 49})
    md = pooled_markdown(get_table("table4"), [a, b])
    lo, hi = wilson_interval(23, 100)
    assert f"| MG Demo | 9/50 / 14/50 → 23% [{100 * lo:.0f}–{100 * hi:.0f}] | 42% |" in md
    assert "| I-MG | 48/50 / 49/50 → 97% [" in md and "seeds 0, 1" in md
    paths = []
    for run in (a, b):
        paths.append(tmp_path / f"r{run['seed']}.json")
        paths[-1].write_text(json.dumps(run))
    assert main(["pool", *map(str, paths), "--out", str(tmp_path / "pooled.md")]) == 0
    assert (tmp_path / "pooled.md").read_text() == md + "\n"
    capsys.readouterr()

    with pytest.raises(ImgenError, match="repeat a seed"):
        pooled_markdown(get_table("table4"), [a, a])
    with pytest.raises(ImgenError, match="preset and the observability must match"):
        pooled_markdown(get_table("table4"), [a, _run(1, {"base": 0}, observability="full")])
    tiny = _run(1, {"base": 0})
    tiny["command"] = tiny["command"].replace("--preset cpu", "--preset tiny")
    with pytest.raises(ImgenError, match="preset and the observability must match"):
        pooled_markdown(get_table("table4"), [a, tiny])
    (tmp_path / "bad.json").write_text("{half")
    assert main(["pool", str(paths[0]), str(tmp_path / "bad.json")]) != 0
    assert "bad.json: not a readable result JSON" in capsys.readouterr().err


def _column(task: str, successes: dict[str, int], seed: int = 0, table: str = "table1") -> dict:
    """A result JSON of ``imgen experiment <table> --preset cpu --task <task>`` (the fields combining reads)."""
    from imgen_core.learning.evaluate import wilson_interval

    return {"table": table, "seed": seed, "observability": "full", "date": "2026-12-07", "preset": f"cpu_{task}",
            "command": f"imgen experiment {table} --preset cpu --task {task}" + (f" --seed {seed}" if seed else ""),
            "wall_seconds": 600.0, "stage_seconds": {f"{task}-train_base-0": 300.0, f"{task}-eval_base-0": 60.0},
            "generation": {f"{task}/mg_demos": {"attempts": 201, "kept": 200, "success_rate": 0.995}},
            "rows": {row: {task: {"successes": k, "trials": 50, "success_rate": k / 50,
                                  "ci95": list(wilson_interval(k, 50)), "log": "absent/log.jsonl"}}
                     for row, k in successes.items()}}


def _columns_of_rows(table: str, successes: dict[str, int]) -> dict:
    """A result JSON of ``imgen experiment <table> --preset cpu --row R ...``: every column of the given rows."""
    from imgen_core.learning.evaluate import wilson_interval

    spec = get_table(table)
    rows = "".join(f" --row {r}" for r in successes)
    return {"table": table, "seed": 0, "observability": spec.observability, "date": "2026-12-07",
            "preset": f"cpu_rows-{'-'.join(successes)}", "command": f"imgen experiment {table} --preset cpu{rows}",
            "wall_seconds": 600.0,
            "rows": {row: {c: {"successes": k, "trials": 50, "success_rate": k / 50,
                               "ci95": list(wilson_interval(k, 50))} for c in spec.columns}
                     for row, k in successes.items()}}


def test_columns_run_separately_combine_into_the_whole_table(tmp_path, capsys):
    import json

    from imgen_cli.main import main
    from imgen_core.experiments.report import combined_run

    nut = _column("nut_insertion", {"base": 16, "imgen": 40})
    coffee = _column("coffee", {"base": 2, "imgen": 46})
    out = combined_run(get_table("table1"), [nut, coffee])
    assert out["preset"] == "cpu" and out["wall_seconds"] == 1200.0 and len(out["stage_seconds"]) == 4
    assert out["rows"]["imgen"] == {"nut_insertion": nut["rows"]["imgen"]["nut_insertion"],
                                    "coffee": coffee["rows"]["imgen"]["coffee"]}
    paths = []
    for run in (nut, coffee):
        paths.append(tmp_path / f"{run['preset']}.json")
        paths[-1].write_text(json.dumps(run))
    assert main(["combine", *map(str, paths), "--out-dir", str(tmp_path / "res")]) == 0
    md = (tmp_path / "res" / "table1_cpu.md").read_text()
    # the paper's layout: every column of the table, the ones not run shown as such, the paper's figures beside
    assert "| I-MG | 80% [" in md and "| 98% | — | 70% | 92% [" in md and "| 80% |" in md
    assert "`imgen experiment table1 --preset cpu --task coffee` · date 2026-12-07 · wall time 10.0 min" in md
    assert "coffee/mg_demos | 201 | 200 | 100%" in md
    assert json.loads((tmp_path / "res" / "table1_cpu.json").read_text())["rows"] == out["rows"]
    assert (tmp_path / "res" / "table1_cpu.png").stat().st_size > 0
    capsys.readouterr()

    with pytest.raises(ImgenError, match="row 'base', column 'coffee' comes from both"):
        combined_run(get_table("table1"), [nut, coffee, coffee])
    with pytest.raises(ImgenError, match="the seed must match"):
        combined_run(get_table("table1"), [nut, _column("coffee", {"base": 2}, seed=1)])
    with pytest.raises(ImgenError, match="does not have"):
        combined_run(get_table("table1"), [nut, _column("block_grasp", {"base": 2})])
    with pytest.raises(ImgenError, match="row 'source_demo' that table3 does not have"):
        combined_run(get_table("table3"), [_column("coffee", {"source_demo": 2}, table="table3")])
    # rows run separately (Table 2: every row has the three geometry columns) combine the same way
    rows_a = _columns_of_rows("table2", {"base": 22, "imgen": 10})
    rows_b = _columns_of_rows("table2", {"base_mg_demo": 30})
    t2 = combined_run(get_table("table2"), [rows_a, rows_b])
    assert set(t2["rows"]) == {"base", "imgen", "base_mg_demo"} and t2["preset"] == "cpu"
    assert t2["rows"]["base_mg_demo"]["mixture"]["successes"] == 30
    with pytest.raises(ImgenError, match="row 'base', column 'geometry_1' comes from both"):
        combined_run(get_table("table2"), [rows_a, _columns_of_rows("table2", {"base": 1})])
    # a part whose wall time was not recorded says so, instead of a made-up 0.0 min
    del rows_b["wall_seconds"]
    md = markdown(get_table("table2"), combined_run(get_table("table2"), [rows_a, rows_b]))
    assert "--row base_mg_demo` · date 2026-12-07 · wall time not recorded" in md
    assert "| Base + MG Demo | 60% [" in md
    broken = _columns_of_rows("table2", {"source_int": 5})
    del broken["rows"]["source_int"]["mixture"]["ci95"]
    with pytest.raises(ImgenError, match="row 'source_int', column 'mixture' lacks \\['ci95'\\]"):
        combined_run(get_table("table2"), [rows_a, broken])
    (tmp_path / "norows.json").write_text('{"table": "table1"}')
    assert main(["combine", str(paths[0]), str(tmp_path / "norows.json")]) != 0
    assert "norows.json: not a result JSON of `imgen experiment` (it has no 'rows' table)" in capsys.readouterr().err
