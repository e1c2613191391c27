"""``colcon build`` of ros2_ws builds package ``imgen`` with its executables in lib/imgen (as ros2 run expects)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from diagnostic_msgs.msg import DiagnosticArray

from imgen_ros.schemas import NODES
from tests.ros.conftest import ROOT

pytestmark = [pytest.mark.ros, pytest.mark.slow]
COLCON = Path(sys.executable).parent / "colcon"


def sourced_env(install: Path) -> dict[str, str]:
    out = subprocess.run(["bash", "-c", f"source {install}/setup.sh && env -0"], capture_output=True, check=True,
                         env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}).stdout
    env = dict(kv.split("=", 1) for kv in out.decode().split("\0") if "=" in kv)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_colcon_build_installs_runnable_nodes(tmp_path, probe):
    p = subprocess.run([str(COLCON), "--log-base", str(tmp_path / "log"), "build", "--base-paths",
                        str(ROOT / "ros2_ws" / "src"), "--build-base", str(tmp_path / "build"),
                        "--install-base", str(tmp_path / "install")], capture_output=True, text=True,
                       cwd=tmp_path, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    prefix = tmp_path / "install" / "imgen"
    written = [exe for exe in NODES if (ROOT / "imgen_ros" / "nodes" / f"{exe}.py").is_file()]
    assert len(written) >= 6
    for exe in [*written, "imgen"]:
        assert os.access(prefix / "lib" / "imgen" / exe, os.X_OK), exe
    assert (prefix / "share" / "ament_index" / "resource_index" / "packages" / "imgen").is_file()
    for f in ("package.xml", "launch/sim_generation.launch.py", "launch/real_deploy.launch.py", "launch/imgen.rviz"):
        assert (prefix / "share" / "imgen" / f).is_file(), f

    env = sourced_env(tmp_path / "install")
    assert str(prefix) in env["AMENT_PREFIX_PATH"].split(os.pathsep)
    where = subprocess.run([sys.executable, "-c", "import imgen_ros; print(imgen_ros.__file__)"], env=env,
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(prefix)), where  # the built copy, not the source tree

    h = subprocess.run([str(prefix / "lib" / "imgen" / "policy_server"), "--help"], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert h.returncode == 0 and "stale_timeout" in h.stdout, h.stderr

    probe.subscribe("/diagnostics", DiagnosticArray)
    env["ROS_DOMAIN_ID"] = os.environ["ROS_DOMAIN_ID"]
    node = subprocess.Popen([str(prefix / "lib" / "imgen" / "trial_recorder"), "--ros-args", "-p",
                             f"out_dir:={tmp_path / 'bags'}", "-r", "__node:=built_recorder"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        probe.wait_for("/diagnostics", lambda m: any(s.name == "/built_recorder" for s in m.status), timeout=60)
    finally:
        node.send_signal(2)
        out, _ = node.communicate(timeout=30)
    assert node.returncode == 0, out
