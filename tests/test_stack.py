"""The pinned stack imports together, including the order that crashed through the LLVM clash (DESIGN §7)."""

import importlib.metadata as md
import subprocess
import sys

import pytest


def run(code: str) -> subprocess.CompletedProcess:
    env = {"MUJOCO_GL": "osmesa", "PYOPENGL_PLATFORM": "osmesa", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


def test_numpy_pin_is_accepted_by_every_package():
    assert md.version("numpy") == "1.26.4"
    p = run("import numpy, scipy, h5py, mujoco, robosuite, torch, torchvision, robomimic, open3d, pyrealsense2, "
            "franky, franky_sim, rosbags, ray, rclpy; print(numpy.__version__)")
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip().splitlines()[-1] == "1.26.4"


def test_triton_is_not_installed():
    with pytest.raises(md.PackageNotFoundError):
        md.version("triton")


@pytest.mark.sim
def test_mujoco_osmesa_render_then_torch_torchvision_does_not_crash():
    code = """
import mujoco
m = mujoco.MjModel.from_xml_string('<mujoco><worldbody><geom type="sphere" size=".1"/>'
                                   '<camera name="c" pos="0 0 1"/></worldbody></mujoco>')
d = mujoco.MjData(m); mujoco.mj_forward(m, d)
r = mujoco.Renderer(m, 32, 32); r.update_scene(d, "c"); r.render()
import robosuite, torch, torchvision
import torchvision.ops
from robomimic.algo import algo_factory
import torch._dynamo  # the path that used to pull triton in
print("ok", torch.ones(2).sum().item())
"""
    p = run(code)
    assert p.returncode == 0, f"exit {p.returncode}: {p.stderr[-2000:]}"
    assert p.stdout.strip().splitlines()[-1] == "ok 2.0"
