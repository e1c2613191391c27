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
