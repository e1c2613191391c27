"""The graphs run for real with the sim twin, started by ``imgen launch`` (the same definition as the launch files).

* ``sim_generation`` writes a valid dataset, publishes progress and trajectory markers, and ends with exit 0.
* ``real_deploy --twin --sim-poses`` with a scripted policy runs seeded trials that ``trial_recorder`` bags and
  ``imgen bag-eval`` scores in agreement with the twin's own outcome.
* The launcher passes exactly the definition's parameters (read back over the ROS parameter services), forwards
  Ctrl-C (exit 130, every node gone), and exits non-zero naming a required node that dies.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from geometry_msgs.msg import TwistStamped
from rcl_interfaces.srv import GetParameters
from std_msgs.msg import String
from visualization_msgs.msg import Marker, MarkerArray

from imgen_core.dataset import assert_valid, read_episodes
from imgen_ros.bag_eval import evaluate_dir
from imgen_ros.graph import build_graph
from imgen_ros.launcher import node_env
from tests.ros.conftest import ROOT

pytestmark = [pytest.mark.ros, pytest.mark.slow, pytest.mark.sim]


def imgen(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "imgen_cli.main", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=node_env(), cwd=ROOT, start_new_session=True,
                            **kw)


def finish(p: subprocess.Popen, timeout: float) -> tuple[int, str]:
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        raise AssertionError("graph did not finish in time:\n" + out[-4000:]) from None
    return p.returncode, out


def test_sim_generation_graph_writes_a_valid_dataset(probe, tmp_path):
    """The README's main job (I-MG on the shipped base policy + source interventions), with a small n."""
    probe.subscribe("/imgen/generation/progress", String)
    probe.subscribe("/imgen/markers", MarkerArray)
    out = tmp_path / "imgen.hdf5"
    p = imgen("launch", "sim_generation", "--set", "n=3", "--set", f"out={out}")
    code, log = finish(p, 600)
    assert code == 0, log[-4000:]
    assert "[generator]" in log and "[launch] /generator finished" in log
    assert_valid(str(out))
    eps = read_episodes(str(out))
    assert len(eps) == 3 and all(e.intervention is not None and e.intervention[0] for e in eps)
    progress = [json.loads(m.data) for m in probe.messages("/imgen/generation/progress")]
    assert progress and progress[-1]["done"] and progress[-1]["valid"] and progress[-1]["kept"] == 3
    assert any(not d["done"] and d["kept"] >= 1 for d in progress)
    strips = [m for a in probe.messages("/imgen/markers") for m in a.markers if m.type == Marker.LINE_STRIP]
    assert {m.id for m in strips} == {0, 1, 2}
    assert all(m.header.frame_id == "base" and len(m.points) > 20 for m in strips)
    cubes = [m for a in probe.messages("/imgen/markers") for m in a.markers if m.ns == "cube_true"]
    assert cubes, "sim_world published no scene markers"


def test_twin_closed_loop_trials_are_recorded_and_scored(tmp_path):
    bags = tmp_path / "bags"
    p = imgen("launch", "real_deploy", "--twin", "--sim-robot", "--sim-poses", "--set",
              "checkpoint=scripted:observed_grasp", "--set", "trials=2", "--set", "seed=0", "--set", f"out_dir={bags}")
    code, log = finish(p, 600)
    assert code == 0, log[-4000:]
    report = evaluate_dir(bags)
    assert len(report.trials) == 2, log[-3000:]
    for t in report.trials:
        assert t.recorded_outcome in ("success", "failure")
        assert t.success == (t.recorded_outcome == "success"), (t.bag, t.max_lift)
        assert t.meta["policy"] == "scripted:observed_grasp" and t.meta["world"] == "sim_twin"
        assert t.latency_ms, "no camera(pose) -> action pairs in the bag"
    # no corruption: the believed pose is the true one
    assert max(e for t in report.trials for e in t.pose_error_mm) < 1e-6
    assert report.successes >= 1  # the scripted grasp succeeds without corruption


def _get_params(probe, node: str, names: list[str]) -> dict:
    client = probe.node.create_client(GetParameters, f"/{node}/get_parameters")
    assert client.wait_for_service(timeout_sec=30.0), f"/{node}/get_parameters not available"
    fut = client.call_async(GetParameters.Request(names=names))
    end = time.monotonic() + 10
    while not fut.done() and time.monotonic() < end:
        time.sleep(0.05)
    assert fut.done()
    from rclpy.parameter import parameter_value_to_python

    return {n: parameter_value_to_python(v) for n, v in zip(names, fut.result().values, strict=True)}


def _pids(log: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"\[launch\] started /(\w+) \(pid (\d+)\)", log)}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _read_until(p: subprocess.Popen, pattern: str, timeout: float) -> str:
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    buf = ""
    end = time.monotonic() + timeout
    while time.monotonic() < end and not re.search(pattern, buf):
        if sel.select(0.2):
            line = p.stdout.readline()
            if not line:
                break
            buf += line
    assert re.search(pattern, buf), buf[-3000:]
    return buf


def test_launcher_parameters_ctrl_c_and_required_node_death(probe, tmp_path):
    probe.subscribe("/imgen/action", TwistStamped)
    sets = ["checkpoint=scripted:observed_grasp", "policy_server.stale_timeout=0.5", "sim_world.rate_hz=10",
            f"out_dir={tmp_path / 'bags'}", "trial_recorder.storage=sqlite3"]
    graph = build_graph("real_deploy", twin=True, sim_robot=True, sim_poses=True, overrides=sets)
    args = ["launch", "real_deploy", "--twin", "--sim-robot", "--sim-poses", "--grace", "20"]
    for s in sets:
        args += ["--set", s]

    # 1) parameters as defined; Ctrl-C ends everything with 130
    p = imgen(*args)
    log = _read_until(p, r"started /trial_recorder", 60)
    t0 = time.monotonic()
    probe.wait_for("/imgen/action", timeout=120, since=t0)
    for spec in graph.nodes:
        got = _get_params(probe, spec.name, list(spec.parameters))
        assert got == dict(spec.parameters), spec.name
    pids = _pids(log)
    assert set(pids) == {"sim_world", "policy_server", "trial_recorder"}
    os.killpg(p.pid, signal.SIGINT)
    code, rest = finish(p, 60)
    assert code == 130, (log + rest)[-3000:]
    assert not any(_alive(pid) for pid in pids.values())
    assert "died" not in rest, rest[-3000:]  # every node shut down cleanly on the forwarded SIGINT

    # 2) a required node dies -> the graph stops, non-zero exit naming it
    p = imgen(*args)
    log = _read_until(p, r"started /trial_recorder", 60)
    probe.wait_for("/imgen/action", timeout=120, since=time.monotonic())
    pids = _pids(log)
    os.kill(pids["policy_server"], signal.SIGKILL)
    code, rest = finish(p, 60)
    assert code == 137, (log + rest)[-3000:]
    assert "/policy_server died (exit code -9)" in rest
    assert not any(_alive(pid) for pid in pids.values())
