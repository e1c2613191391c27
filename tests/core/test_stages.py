"""Content-addressed stage cache: a re-run skips finished work, an input change recomputes, times are kept."""

import json

from imgen_core.stages import StageCache


def test_stage_runs_once_per_content_and_keeps_its_compute_time(tmp_path):
    src = tmp_path / "input.txt"
    src.write_text("a")
    calls = []

    def fn(d):
        calls.append(d.name)
        (d / "out.txt").write_text("done")
        return {"out": str(d / "out.txt")}

    cache = StageCache(tmp_path / "cache")
    first = cache.run("stage", {"n": 1}, [str(src)], fn)
    again = StageCache(tmp_path / "cache")
    assert again.run("stage", {"n": 1}, [str(src)], fn) == first
    assert len(calls) == 1 and again.skipped == ["stage"] and again.ran == []
    stage_dir = next((tmp_path / "cache").iterdir())
    assert again.seconds == {stage_dir.name: json.loads((stage_dir / "done.json").read_text())["seconds"]}
    assert set(cache.seconds) == {stage_dir.name} and cache.seconds[stage_dir.name] >= 0.0
    src.write_text("b")  # new input content -> a new stage
    again.run("stage", {"n": 1}, [str(src)], fn)
    assert len(calls) == 2 and again.ran == ["stage"] and len(again.seconds) == 2
    again.run("stage", {"n": 2}, [str(src)], fn)  # new parameters -> a new stage
    assert len(calls) == 3
