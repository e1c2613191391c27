"""Declared parameters: a bad value stops a node at start-up with a message naming the valid range."""

from __future__ import annotations

import subprocess
import sys

import pytest

from imgen_ros.launcher import node_env
from tests.ros.conftest import ROOT

pytestmark = pytest.mark.ros


def run_node(exe: str, *ros_args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", f"imgen_ros.nodes.{exe}", "--ros-args", *ros_args]
    return subprocess.run(cmd, capture_output=True, text=True, env=node_env(), cwd=ROOT, timeout=timeout)


@pytest.mark.parametrize("exe,args,expected", [
    ("policy_server", ["-p", "checkpoint:=x.pt", "-p", "rate_hz:=500.0"], "rate_hz=500.0 is invalid; valid: a float "
                                                                             "in [1.0, 200.0]"),
    ("policy_server", ["-p", "checkpoint:=x.pt", "-p", "stale_timeout:=soon"], "valid: a float in [0.01, 10.0]"),
    ("policy_server", [], "checkpoint is required"),
    ("trial_recorder", ["-p", "storage:=rosbag"], "valid: one of: mcap, sqlite3"),
    ("generator", ["-p", "source:=s.hdf5", "-p", "n:=0"], "valid: an int in [1, 1000000]"),
    ("sim_world", ["-p", "observability:=some"], "valid: one of: none, full, partial"),
])
def test_bad_parameter_exits_2_naming_the_valid_range(exe, args, expected):
    p = run_node(exe, *args)
    assert p.returncode == 2, p.stdout + p.stderr
    assert expected in p.stderr, p.stderr


def test_integer_for_a_float_parameter_is_accepted_and_help_lists_parameters():
    p = subprocess.run([sys.executable, "-m", "imgen_ros.nodes.policy_server", "--help"], capture_output=True,
                       text=True, env=node_env(), cwd=ROOT, timeout=60)
    assert p.returncode == 0
    assert "stale_timeout (float, default 0.2)" in p.stdout and "[0.01, 10.0]" in p.stdout
    # rate_hz:=20 (an integer literal) is coerced to 20.0; the node then fails only on the missing checkpoint
    p = run_node("policy_server", "-p", "rate_hz:=20", "-p", "checkpoint:=/nonexistent.pt")
    assert p.returncode == 2 and "rate_hz" not in p.stderr and "nonexistent.pt" in p.stderr, p.stderr
