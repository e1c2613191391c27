import pkgutil
import subprocess
import sys

import imgen_core

FORBIDDEN = ["rclpy", "mujoco", "robosuite", "torch", "open3d", "pyrealsense2", "franky", "robomimic"]


def test_importing_every_core_module_pulls_no_framework():
    mods = ["imgen_core"] + [m.name for m in pkgutil.walk_packages(imgen_core.__path__, "imgen_core.")]
    assert len(mods) > 5
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        f"bad = [f for f in {FORBIDDEN!r} if f in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"imgen_core imports {out} at import time"
