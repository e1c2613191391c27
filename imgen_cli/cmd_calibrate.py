"""``imgen calibrate``: camera-to-base extrinsics (hand-eye from cube positions), written as a validated JSON file.

Method (real robot): the robot places the cube at N positions spread over the workspace (its TCP — the point
between the fingertips — is the cube centre when it lets go; raise some samples by holding the cube in the air);
after each placement ``imgen perceive`` measures the cube centre in the *camera* frame. The pairs go into a samples
file ``{"samples": [{"base_p_cube": [x,y,z], "camera_p_cube": [x,y,z]}, ...]}`` and ``imgen calibrate solve``
fits ``base_T_camera_color_optical_frame`` (closed-form rigid fit inside RANSAC; per-sample residuals printed).
``imgen calibrate sim`` runs the same procedure end to end in the MuJoCo scene with the simulated D415, starting
from a deliberately wrong initial guess, and reports the error against the twin's exact extrinsics.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

log = logging.getLogger(__name__)


def sim_calibration(n_samples: int = 12, seed: int = 0, robot_noise_m: float = 0.0002,
                    guess_error: tuple[float, float] = (0.01, 2.0), frames_per_sample: int = 3) -> dict:
    """Hand-eye calibration in the sim scene. Returns a dict with the result, the truth and the errors.

    The initial guess is the true extrinsics moved by ``guess_error`` = (metres, degrees), as from a tape
    measure; the robot's placement has ``robot_noise_m`` repeatability noise (per axis, 1 sigma).
    """
    import numpy as np

    from imgen_core import se3
    from perception.cube_pose import CubePoseConfig, CubePoseEstimator
    from perception.extrinsics import calibrate_from_points
    from sim.d415 import CubeScene, SimD415

    rng = np.random.default_rng(seed)
    scene = CubeScene()
    cam = SimD415(scene.model, scene.CAMERA, seed=seed)
    truth = cam.base_T_camera(scene.data)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    shift = rng.normal(size=3)
    shift *= guess_error[0] / np.linalg.norm(shift)
    guess = se3.make_pose(truth[:3, 3] + shift, se3.axisangle_to_mat(axis * np.deg2rad(guess_error[1])) @ truth[:3, :3])
    cfg = CubePoseConfig(workspace_min=(0.25, -0.35, -0.08), workspace_max=(0.85, 0.35, 0.35))
    base_pts: list = []
    cam_pts: list = []
    targets = []
    for i in range(n_samples):
        x, y = rng.uniform(0.45, 0.65), rng.uniform(-0.15, 0.15)
        z = 0.025 if i % 2 == 0 else rng.uniform(0.06, 0.12)  # on the table, or held in the air
        targets.append((x, y, z, rng.uniform(-np.pi, np.pi)))
    estimate_T = guess
    for _pass in range(2):  # the second pass re-estimates with the first pass's extrinsics (better gravity)
        base_pts.clear()
        cam_pts.clear()
        est = CubePoseEstimator(estimate_T, cfg)
        camera_T_est_base = se3.pose_inv(estimate_T)
        for x, y, z, yaw in targets:
            c, s = np.cos(yaw), np.sin(yaw)
            pose = se3.make_pose([x, y, z], [[c, -s, 0], [s, c, 0], [0, 0, 1]])
            scene.set_cube_pose(pose)
            if z > 0.03:  # the robot holds it: fingers on two faces
                scene.set_fingers((x, y, z + 0.005), yaw, 0.05)
            else:
                scene.set_fingers(None)
            obs = []
            est.reset()
            for _ in range(frames_per_sample):
                res = est.estimate(cam.render_frame(scene.data))
                if res.base_T_cube is not None:
                    obs.append((camera_T_est_base @ res.base_T_cube)[:3, 3])
            if obs:
                base_pts.append(pose[:3, 3] + rng.normal(0, robot_noise_m, 3))
                cam_pts.append(np.mean(obs, axis=0))
        result = calibrate_from_points(np.array(base_pts), np.array(cam_pts))
        estimate_T = result.base_T_camera
    cam.close()
    err_t = float(np.linalg.norm(result.base_T_camera[:3, 3] - truth[:3, 3]))
    err_r = float(np.degrees(se3.rotation_angle(result.base_T_camera[:3, :3].T @ truth[:3, :3])))
    guess_t = float(np.linalg.norm(guess[:3, 3] - truth[:3, 3]))
    return {"result": result, "truth": truth, "guess": guess, "n_used": len(base_pts), "err_translation_m": err_t,
            "err_rotation_deg": err_r, "guess_err_translation_m": guess_t, "guess_err_rotation_deg": guess_error[1]}


def _report(result: object) -> None:
    import numpy as np

    for i, (r, ok) in enumerate(zip(result.residuals_m, result.inliers, strict=True)):  # type: ignore[attr-defined]
        print(f"  sample {i:2d}: residual {r * 1e3:6.2f} mm {'' if ok else '  OUTLIER (ignored)'}")
    print(f"  rmse {result.rmse_m * 1e3:.3f} mm over {result.n_inliers} inliers; "  # type: ignore[attr-defined]
          f"spread {result.spread_m * 100:.1f} cm")  # type: ignore[attr-defined]
    _ = np


def _calibrate(args: argparse.Namespace) -> int:
    from perception.extrinsics import CameraExtrinsics, calibrate_from_points, load_samples

    if args.action == "show":
        ext = CameraExtrinsics.load(args.file)
        print(json.dumps(ext.to_dict() | {"calibration": ext.calibration}, indent=2))
        return 0
    if args.action == "solve":
        base_pts, cam_pts = load_samples(args.samples)
        result = calibrate_from_points(base_pts, cam_pts, inlier_threshold_m=args.inlier_mm / 1000)
        _report(result)
        ext = CameraExtrinsics(result.base_T_camera, serial=args.serial or "",
                               calibration={"method": "hand_eye_points_ransac_kabsch", "n_samples": len(base_pts),
                                            "n_inliers": result.n_inliers, "rmse_m": result.rmse_m,
                                            "samples_file": str(args.samples)})
    else:
        out = sim_calibration(args.n, args.seed)
        result = out["result"]
        _report(result)
        print(f"  initial guess off by {out['guess_err_translation_m'] * 1e3:.1f} mm / "
              f"{out['guess_err_rotation_deg']:.1f}°; calibrated error vs the twin's exact extrinsics: "
              f"{out['err_translation_m'] * 1e3:.2f} mm / {out['err_rotation_deg']:.3f}°")
        ext = CameraExtrinsics(result.base_T_camera, serial="SIM-D415",
                               calibration={"method": "hand_eye_points_ransac_kabsch (sim)", "n_samples": out["n_used"],
                                            "n_inliers": result.n_inliers, "rmse_m": result.rmse_m,
                                            "err_vs_truth_translation_m": out["err_translation_m"],
                                            "err_vs_truth_rotation_deg": out["err_rotation_deg"]})
    path = ext.save(args.out)
    print(f"wrote {path}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="camera-to-base extrinsics by hand-eye calibration (JSON file)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    s = actions.add_parser("sim", help="run the calibration in the MuJoCo twin and compare with its exact extrinsics")
    s.add_argument("--n", type=int, default=12, help="number of cube placements (default 12)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", default="config/extrinsics_sim.json", help="output file")
    v = actions.add_parser("solve", help="fit the extrinsics from a samples file (real robot)")
    v.add_argument("--samples", required=True, help='JSON {"samples": [{"base_p_cube": [..], "camera_p_cube": [..]}]}')
    v.add_argument("--inlier-mm", type=float, default=4.0, help="RANSAC inlier threshold [mm] (default 4)")
    v.add_argument("--serial", help="camera serial number to store in the file")
    v.add_argument("--out", default="config/extrinsics_d415.json", help="output file")
    w = actions.add_parser("show", help="validate and print an extrinsics file")
    w.add_argument("file")
    p.set_defaults(func=_calibrate)
