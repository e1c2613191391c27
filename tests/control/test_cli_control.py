"""``imgen control``: the twin can be served from the CLI and reports where to connect and the true cube pose."""

import json

import pytest

from imgen_cli.main import build_parser, main


def test_control_subcommands_are_registered():
    text = build_parser().format_help()
    assert "control" in text
    args = build_parser().parse_args(["control", "twin", "--seconds", "1"])
    assert args.func.__name__ == "_twin" and args.seconds == 1.0


@pytest.mark.sim
def test_twin_command_serves_and_reports_the_cube(capsys, tmp_path):
    out = tmp_path / "extrinsics.json"
    assert main(["control", "twin", "--seconds", "0.5", "--extrinsics", str(out)]) == 0
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert info["robot_ip"].startswith("127.")
    assert abs(info["cube_pose"][2][3] - (-0.087)) < 1e-3
    assert json.loads(out.read_text())["transform"] == "base_T_camera_color_optical_frame"
