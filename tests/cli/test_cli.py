import subprocess
import sys

import pytest

from imgen_cli.main import build_parser, main


def test_help_lists_subcommands_and_pipeline(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("doctor", "dataset"):
        assert cmd in out
    assert "pipeline" in out


def test_every_subcommand_has_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sub.choices
    for name, p in sub.choices.items():
        assert p.description or p.format_help(), name


def test_unknown_doctor_check_names_valid_ones(capsys):
    assert main(["doctor", "--only", "nope"]) == 2
    assert "valid:" in capsys.readouterr().err


@pytest.mark.slow
def test_doctor_passes_on_the_installed_stack():
    p = subprocess.run([sys.executable, "-m", "imgen_cli.main", "doctor"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "all checks passed" in p.stdout


def _stage(root, name, key, filename, content, mtime):
    import json
    import os

    d = root / f"{name}-{key}"
    d.mkdir(parents=True)
    (d / filename).write_bytes(content)
    (d / "done.json").write_text(json.dumps({"name": name, "params": {"key": key}, "inputs": [],
                                             "result": {"best_epoch": 200}}))
    os.utime(d / "done.json", (mtime, mtime))


def test_export_assets_copies_the_newest_finished_stages_with_provenance(tmp_path, capsys):
    import hashlib
    import json

    root = tmp_path / "experiments" / "table4" / "cpu"
    _stage(root, "block_grasp-train_base", "old", "best.pt", b"old base", 1_000)
    _stage(root, "block_grasp-train_base", "new", "best.pt", b"new base", 2_000)
    _stage(root, "block_grasp-src_int", "a", "data.hdf5", b"interventions", 1_000)
    _stage(root, "block_grasp-train_imgen", "b", "best.pt", b"imgen policy", 1_000)
    out = tmp_path / "assets"
    assert main(["export-assets", "--experiment", str(root), "--out", str(out)]) == 0
    assert (out / "base_policy.pt").read_bytes() == b"new base"
    assert (out / "imgen_policy.pt").read_bytes() == b"imgen policy"
    prov = json.loads((out / "PROVENANCE.json").read_text())
    assert prov["made_by"] == "imgen experiment table4 --preset cpu"
    f = prov["files"]["imgen_policy.pt"]
    assert f["stage"] == "block_grasp-train_imgen-b" and f["params"] == {"key": "b"}
    assert f["sha256"] == hashlib.sha256(b"imgen policy").hexdigest()


def test_export_assets_names_the_missing_stage(tmp_path, capsys):
    root = tmp_path / "cpu"
    _stage(root, "block_grasp-train_base", "x", "best.pt", b"base", 1_000)
    assert main(["export-assets", "--experiment", str(root), "--out", str(tmp_path / "a")]) != 0
    assert "block_grasp-src_int" in capsys.readouterr().err
    assert not (tmp_path / "a" / "base_policy.pt").exists()  # nothing replaced by a partial export
