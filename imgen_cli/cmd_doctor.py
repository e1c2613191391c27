"""``imgen doctor``: real checks of the installed stack, each in its own process (a crash names its check)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

CHECKS: dict[str, str] = {
    "versions": """
import importlib.metadata as md
for p in ["numpy","scipy","h5py","mujoco","robosuite","torch","torchvision","robomimic","open3d","pyrealsense2",
          "franky-control","franky-sim","rosbags","ray","ros-rclpy"]:
    print(f"{p}=={md.version(p)}", end="  ")
import numpy; assert numpy.__version__.startswith("1.26"), numpy.__version__
""",
    "mujoco_render": """
import os, mujoco, numpy as np
assert os.environ.get("MUJOCO_GL") in ("osmesa", "egl"), os.environ.get("MUJOCO_GL")
m = mujoco.MjModel.from_xml_string('<mujoco><worldbody><light pos="0 0 3"/><geom type="box" size=".1 .1 .1" rgba="1 0 0 1"/>'
    '<camera name="c" pos="0 0 1"/></worldbody></mujoco>')
d = mujoco.MjData(m); mujoco.mj_forward(m, d)
r = mujoco.Renderer(m, 48, 64); r.update_scene(d, "c"); img = r.render()
assert img.shape == (48, 64, 3) and img[..., 0].max() > 100, "render produced no red pixels"
r.enable_depth_rendering(); r.update_scene(d, "c"); dep = r.render()
assert abs(float(dep[24, 32]) - 0.9) < 1e-2, dep[24, 32]
print(f"mujoco {mujoco.__version__} offscreen {os.environ['MUJOCO_GL']}: color+depth ok")
""",
    "torch_after_mujoco": """
import mujoco, robosuite, torch, torchvision, robomimic
from robomimic.algo import algo_factory
x = torch.randn(4, 3); print(f"torch {torch.__version__}: matmul ok {float((x @ x.T).trace()):.3f} after mujoco")
""",
    "rclpy_pubsub": """
import rclpy, time
from std_msgs.msg import String
rclpy.init()
node = rclpy.create_node("imgen_doctor")
got = []
sub = node.create_subscription(String, "/imgen/doctor", lambda m: got.append(m.data), 10)
pub = node.create_publisher(String, "/imgen/doctor", 10)
t0 = time.time()
while not got and time.time() - t0 < 10:
    pub.publish(String(data="ping")); rclpy.spin_once(node, timeout_sec=0.1)
assert got and got[0] == "ping", "no message came back"
print(f"rclpy pub/sub round trip ok in {time.time() - t0:.2f} s")
node.destroy_node(); rclpy.shutdown()
""",
    "open3d": """
import open3d as o3d, numpy as np
pts = np.random.default_rng(0).random((500, 3))
src = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts))
dst = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts + [0.01, 0.0, 0.0]))
res = o3d.pipelines.registration.registration_icp(src, dst, 0.05)
assert abs(res.transformation[0, 3] - 0.01) < 1e-3, res.transformation
print(f"open3d {o3d.__version__}: ICP recovers a 1 cm shift (fitness {res.fitness:.2f})")
""",
    "realsense_software_device": """
import pyrealsense2 as rs, numpy as np
dev = rs.software_device(); s = dev.add_sensor("Depth")
intr = rs.intrinsics(); intr.width, intr.height, intr.ppx, intr.ppy, intr.fx, intr.fy = 64, 48, 32, 24, 50, 50
intr.model = rs.distortion.none; intr.coeffs = [0] * 5
vs = rs.video_stream(); vs.type = rs.stream.depth; vs.width, vs.height = 64, 48; vs.fps = 30; vs.bpp = 2
vs.fmt = rs.format.z16; vs.intrinsics = intr; vs.index = 0; vs.uid = 1
prof = s.add_video_stream(vs); s.add_read_only_option(rs.option.depth_units, 0.001)
q = rs.frame_queue(4); s.open(prof); s.start(q)
img = np.full((48, 64), 700, np.uint16)
f = rs.software_video_frame(); f.pixels = img; f.bpp = 2; f.stride = 128; f.timestamp = 0.0
f.domain = rs.timestamp_domain.hardware_clock; f.frame_number = 1; f.profile = prof.as_video_stream_profile()
s.on_video_frame(f); fr = q.wait_for_frame(2000).as_depth_frame()
assert abs(fr.get_distance(32, 24) - 0.7) < 1e-6, fr.get_distance(32, 24)
print("pyrealsense2 software device: depth frame round trip ok")
""",
    "franky": """
import franky, franky_sim
print(f"franky {getattr(franky, '__version__', '?')} + franky_sim import ok: Robot={franky.Robot.__name__}")
""",
    "ray": """
import ray
print(f"ray {ray.__version__} import ok")
""",
}


def run_checks(names: list[str], timeout: float = 120.0) -> dict[str, tuple[bool, str, float]]:
    env = dict(os.environ)
    env.setdefault("MUJOCO_GL", "osmesa")
    env.setdefault("PYOPENGL_PLATFORM", "osmesa")
    results = {}
    for name in names:
        t0 = time.time()
        try:
            p = subprocess.run([sys.executable, "-c", CHECKS[name]], capture_output=True, text=True,
                               timeout=timeout, env=env)
            ok = p.returncode == 0
            out = (p.stdout.strip().splitlines() or [""])[-1] if ok else (p.stderr.strip().splitlines() or [f"exit code {p.returncode}"])[-1]
            if p.returncode < 0:
                out = f"crashed with signal {-p.returncode}"
        except subprocess.TimeoutExpired:
            ok, out = False, f"timed out after {timeout:.0f} s"
        results[name] = (ok, out, time.time() - t0)
    return results


def _doctor(args: argparse.Namespace) -> int:
    names = args.only or list(CHECKS)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        print(f"unknown check(s) {unknown}; valid: {', '.join(CHECKS)}", file=sys.stderr)
        return 2
    failed = []
    for name, (ok, out, dt) in run_checks(names).items():
        print(f"[{'ok' if ok else 'FAIL'}] {name:<26} {dt:5.1f} s  {out}")
        if not ok:
            failed.append(name)
    if failed:
        print(f"broken: {', '.join(failed)} (re-run `make setup`; see README 'Troubleshooting')", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check the installed stack for real (ROS, MuJoCo rendering, torch, ...)",
                       description="Run each check in its own process and exit non-zero naming what is broken. "
                                   f"Checks: {', '.join(CHECKS)}.")
    p.add_argument("--only", nargs="+", metavar="CHECK", help="run only these checks")
    p.set_defaults(func=_doctor)
