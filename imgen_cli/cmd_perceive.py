"""``imgen perceive``: cube pose from a D415 (live), a recording (.bag/.db3), or the simulated D415."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_EXTRINSICS = "config/extrinsics_d415.json"


def _parse_filters(spec: str) -> dict:
    out: dict = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        key, _, val = item.partition("=")
        if key == "decimation":
            out["decimation"] = int(val or 2)
        elif key in ("spatial", "temporal", "hole_filling"):
            out[key] = True
        else:
            from imgen_core.errors import ConfigError

            raise ConfigError(f"unknown filter {key!r}; valid: decimation[=N], spatial, temporal, hole_filling")
    return out


def _perceive(args: argparse.Namespace) -> int:
    import numpy as np

    from imgen_core import se3
    from imgen_core.errors import ConfigError
    from perception.capture import CaptureConfig, CaptureStatus, D415Capture, FilterConfig, StreamProfile
    from perception.cube_model import cube_yaw, symmetric_yaw_error
    from perception.cube_pose import CubePoseConfig, CubePoseEstimator
    from perception.extrinsics import CameraExtrinsics

    if args.frames < 1:
        raise ConfigError(f"--frames={args.frames} must be >= 1")
    filters = FilterConfig(**_parse_filters(args.filters))
    scene = sim_cam = None
    rng = np.random.default_rng(args.seed)
    if args.source == "sim":
        from sim.d415 import CubeScene, SimD415

        scene = CubeScene()
        sim_cam = SimD415(scene.model, scene.CAMERA, seed=args.seed)
        base_T_camera = (CameraExtrinsics.load(args.extrinsics).base_T_camera if args.extrinsics
                         else sim_cam.base_T_camera(scene.data))
        dev = sim_cam.software_device(record_to=args.record)
        capture = D415Capture(CaptureConfig(filters=filters, timeout_ms=args.timeout_ms), software=dev)
    else:
        base_T_camera = CameraExtrinsics.load(args.extrinsics or DEFAULT_EXTRINSICS).base_T_camera
        w, h, fps = (int(x) for x in args.profile.split("x"))
        capture = D415Capture(CaptureConfig(source=args.source, depth=StreamProfile(w, h, fps),
                                            color=StreamProfile(w, h, fps), filters=filters,
                                            timeout_ms=args.timeout_ms, record_to=args.record))
    cfg = CubePoseConfig()
    estimator = CubePoseEstimator(base_T_camera, cfg)
    truth = None
    last = None
    n_pose = 0
    with capture:
        for k in range(args.frames):
            if scene is not None and sim_cam is not None:
                if k == 0 or (args.move_every and k % args.move_every == 0):
                    truth = scene.place_cube(rng.uniform(0.45, 0.65), rng.uniform(-0.15, 0.15),
                                             rng.uniform(-np.pi, np.pi))
                sim_cam.push(scene.data)
            got = capture.read()
            if got.status is not CaptureStatus.OK or got.frame is None:
                print(json.dumps({"frame": k, "capture": got.status.value, "message": got.message})
                      if args.json else f"frame {k:4d}  capture {got.status.value}: {got.message}")
                if got.status is CaptureStatus.END_OF_STREAM:
                    break
                continue
            res = estimator.estimate(got.frame)
            last = (got.frame, res)
            st = res.status
            rec: dict = {"frame": got.frame.frame_number, "stamp_ms": got.frame.timestamp_ms, "state": st.state.value,
                         "mode": st.mode, "reason": st.reason, "fitness": round(st.fitness, 4),
                         "rmse_mm": round(st.rmse_m * 1e3, 3) if np.isfinite(st.rmse_m) else None,
                         "time_ms": round(st.time_ms, 2)}
            if res.base_T_cube is not None:
                n_pose += 1
                pos, quat = se3.pose_to_pos_quat(res.base_T_cube)
                rec.update(position_m=[round(float(x), 5) for x in pos],
                           quaternion_xyzw=[round(float(x), 5) for x in quat],
                           yaw_deg=round(float(np.degrees(cube_yaw(res.base_T_cube))), 3))
                if truth is not None:
                    rec.update(err_mm=round(float(np.linalg.norm(pos - truth[:3, 3])) * 1e3, 3),
                               yaw_err_deg=round(float(np.degrees(symmetric_yaw_error(res.base_T_cube[:3, :3],
                                                                                      truth[:3, :3]))), 3))
            if args.json:
                print(json.dumps(rec))
            elif res.base_T_cube is not None:
                extra = f"  err {rec['err_mm']:.2f} mm {rec['yaw_err_deg']:.2f}°" if "err_mm" in rec else ""
                print(f"frame {rec['frame']:4d}  {st.state.value:8s} {st.mode:5s} p=({rec['position_m'][0]:.4f}, "
                      f"{rec['position_m'][1]:.4f}, {rec['position_m'][2]:.4f}) m  yaw {rec['yaw_deg']:7.2f}°  "
                      f"fit {st.fitness:.2f} rmse {st.rmse_m * 1e3:.2f} mm  {st.time_ms:5.1f} ms{extra}")
            else:
                print(f"frame {rec['frame']:4d}  {st.state.value:8s} {st.mode:5s} no pose: {st.reason}  "
                      f"{st.time_ms:5.1f} ms")
    if sim_cam is not None:
        sim_cam.close()
    if args.save and last is not None:
        from perception.visualize import save_annotated

        out = save_annotated(args.save, last[0], last[1], base_T_camera, cfg.cube_size_m,
                             (np.array(cfg.workspace_min), np.array(cfg.workspace_max)), truth)
        print(f"wrote {out}", file=sys.stderr)
    if args.record:
        print(f"recorded to {Path(args.record)}", file=sys.stderr)
    return 0 if last is not None else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "perceive", help="estimate the red cube's pose in the robot base frame (D415 live, a recording, or sim)",
        description="Read colour + aligned depth from a RealSense D415 ('live'), a .bag/.db3 recording, or the "
                    "simulated D415 ('sim': a MuJoCo scene pushed through librealsense's software device), run "
                    "the ICP cube pose estimator and print one line per frame: tracking/lost/no_cube, the pose "
                    "(position m, quaternion xyzw, yaw folded to [-45°, 45°)), fitness, RMSE, time.")
    p.add_argument("--source", default="sim", help="live | path/to/recording.bag|.db3 | sim (default: sim)")
    p.add_argument("--frames", type=int, default=30, help="number of frames to process (default 30)")
    p.add_argument("--save", metavar="PNG", help="write an annotated image of the last frame")
    p.add_argument("--extrinsics", metavar="JSON",
                   help=f"camera extrinsics file (default for live/recordings: {DEFAULT_EXTRINSICS}; "
                        "sim uses its exact extrinsics unless given)")
    p.add_argument("--profile", default="1280x720x30",
                   help="live stream profile WxHxFPS for depth and colour (default: the D415 default 1280x720x30)")
    p.add_argument("--filters", default="", help="comma list: decimation[=N],spatial,temporal,hole_filling")
    p.add_argument("--timeout-ms", type=int, default=1000, help="no frame for this long → 'no_frames' status")
    p.add_argument("--record", metavar="FILE", help="also record the stream to a .db3 file (live, sim)")
    p.add_argument("--seed", type=int, default=0, help="sim: seed of cube placement and sensor noise")
    p.add_argument("--move-every", type=int, default=0, help="sim: move the cube every N frames (0: never)")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of text")
    p.set_defaults(func=_perceive)
