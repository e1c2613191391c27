"""Camera-to-base extrinsics: a validated JSON file, and a point-based hand-eye calibration.

File format (``config/extrinsics_*.json``)::

    {
      "format": "imgen.camera_extrinsics/1",
      "transform": "base_T_camera_color_optical_frame",
      "parent_frame": "base",
      "child_frame": "camera_color_optical_frame",
      "units": {"translation": "m", "rotation": "quaternion_xyzw"},
      "translation": [x, y, z],
      "quaternion_xyzw": [qx, qy, qz, qw],
      "camera": {"model": "Intel RealSense D415", "serial": "..."},
      "calibration": {"method": "...", "n_samples": 12, "rmse_m": 0.0004, "created": "2025-...Z"}
    }

``translation`` / ``quaternion_xyzw`` give the pose of the colour optical frame (z forward, x right, y down) in the
robot base frame, i.e. ``p_base = base_T_camera @ p_camera``.

Calibration (:func:`calibrate_from_points`): the robot puts the cube at N known positions (its TCP, between the
fingertips, is the cube centre when it releases it), the camera measures the cube centre in its own frame at each,
and the rigid transform between the two point sets is solved in closed form (Kabsch/Umeyama without scale) inside
a RANSAC loop over minimal 3-point subsets, so one bad observation is flagged instead of bending the result.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from imgen_core import se3
from imgen_core.errors import ConfigError, ImgenError

F64 = NDArray[np.float64]
FORMAT = "imgen.camera_extrinsics/1"
TRANSFORM_NAME = "base_T_camera_color_optical_frame"
PARENT_FRAME = "base"
CHILD_FRAME = "camera_color_optical_frame"
UNITS = {"translation": "m", "rotation": "quaternion_xyzw"}
MAX_TRANSLATION_M = 5.0


class ExtrinsicsError(ImgenError, ValueError):
    """An extrinsics file is missing, malformed, or physically implausible."""


class CalibrationError(ImgenError):
    """Hand-eye samples are too few, degenerate, or inconsistent."""


@dataclass
class CameraExtrinsics:
    """``base_T_camera`` ``(4,4)`` [m] plus where it came from."""

    base_T_camera: F64
    camera_model: str = "Intel RealSense D415"
    serial: str = ""
    calibration: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.base_T_camera = np.asarray(self.base_T_camera, dtype=np.float64)
        if not se3.is_pose(self.base_T_camera, atol=1e-6):
            raise ExtrinsicsError("base_T_camera must be a (4,4) rigid transform with a proper rotation")
        if np.linalg.norm(self.base_T_camera[:3, 3]) > MAX_TRANSLATION_M:
            raise ExtrinsicsError(f"camera is {np.linalg.norm(self.base_T_camera[:3, 3]):.2f} m from the base; "
                                  f"valid is <= {MAX_TRANSLATION_M} m (units are metres, not mm?)")

    def to_dict(self) -> dict:
        pos, quat = se3.pose_to_pos_quat(self.base_T_camera)
        return {"format": FORMAT, "transform": TRANSFORM_NAME, "parent_frame": PARENT_FRAME,
                "child_frame": CHILD_FRAME, "units": dict(UNITS),
                "translation": [float(x) for x in pos], "quaternion_xyzw": [float(x) for x in quat],
                "camera": {"model": self.camera_model, "serial": self.serial},
                "calibration": {"created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                                **self.calibration}}

    @classmethod
    def from_dict(cls, d: dict, source: str = "<dict>") -> CameraExtrinsics:
        def need(key: str) -> object:
            if key not in d:
                raise ExtrinsicsError(f"{source}: missing key {key!r} (format {FORMAT} needs: format, transform, "
                                      "parent_frame, child_frame, units, translation, quaternion_xyzw)")
            return d[key]

        if need("format") != FORMAT:
            raise ExtrinsicsError(f"{source}: format {d['format']!r} is not supported; expected {FORMAT!r}")
        for key, want in (("transform", TRANSFORM_NAME), ("parent_frame", PARENT_FRAME),
                          ("child_frame", CHILD_FRAME)):
            if need(key) != want:
                raise ExtrinsicsError(f"{source}: {key}={d[key]!r}; this file must hold {want!r}")
        if need("units") != UNITS:
            raise ExtrinsicsError(f"{source}: units={d['units']!r}; expected exactly {UNITS}")
        t = _vector(need("translation"), 3, f"{source}: translation")
        q = _vector(need("quaternion_xyzw"), 4, f"{source}: quaternion_xyzw")
        norm = float(np.linalg.norm(q))
        if abs(norm - 1.0) > 1e-3:
            raise ExtrinsicsError(f"{source}: quaternion_xyzw has norm {norm:.6f}; it must be a unit quaternion "
                                  "(x, y, z, w order)")
        cam = d.get("camera", {}) or {}
        return cls(se3.pos_quat_to_pose(t, q / norm), camera_model=str(cam.get("model", "")),
                   serial=str(cam.get("serial", "")), calibration=dict(d.get("calibration", {}) or {}))

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        tmp.replace(p)
        return p

    @classmethod
    def load(cls, path: str | Path) -> CameraExtrinsics:
        p = Path(path)
        if not p.is_file():
            raise ExtrinsicsError(f"extrinsics file {p} does not exist (make one with `imgen calibrate`)")
        try:
            d = json.loads(p.read_text())
        except json.JSONDecodeError as exc:
            raise ExtrinsicsError(f"{p}: not valid JSON ({exc})") from exc
        if not isinstance(d, dict):
            raise ExtrinsicsError(f"{p}: top level must be a JSON object")
        return cls.from_dict(d, str(p))


def _vector(v: object, n: int, what: str) -> F64:
    if not isinstance(v, list | tuple) or len(v) != n:
        raise ExtrinsicsError(f"{what} must be a list of {n} numbers; got {v!r}")
    try:
        a = np.array([float(x) for x in v])
    except (TypeError, ValueError) as exc:
        raise ExtrinsicsError(f"{what} must be numbers; got {v!r}") from exc
    if not np.all(np.isfinite(a)):
        raise ExtrinsicsError(f"{what} must be finite; got {v!r}")
    return a


# ---------------------------------------------------------------------- calibration
def solve_rigid(points_a: F64, points_b: F64, weights: F64 | None = None) -> F64:
    """Least-squares rigid transform ``a_T_b`` ``(4,4)`` with ``points_a ≈ a_T_b @ points_b`` (Kabsch/Umeyama,
    no scale). Inputs ``(N,3)``, N >= 3 not collinear."""
    a, b = np.asarray(points_a, float), np.asarray(points_b, float)
    w = np.ones(len(a)) if weights is None else np.asarray(weights, float)
    w = w / w.sum()
    ca, cb = w @ a, w @ b
    h = (b - cb).T @ ((a - ca) * w[:, None])
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return se3.make_pose(ca - r @ cb, r)


@dataclass
class CalibrationResult:
    """Outcome of :func:`calibrate_from_points` (residuals in metres, per sample)."""

    base_T_camera: F64
    residuals_m: F64
    inliers: NDArray[np.bool_]
    rmse_m: float
    spread_m: float  # smallest principal spread of the base points (degeneracy indicator)

    @property
    def n_inliers(self) -> int:
        return int(self.inliers.sum())


def calibrate_from_points(base_points: F64, camera_points: F64, inlier_threshold_m: float = 0.004,
                          min_spread_m: float = 0.02, seed: int = 0, max_subsets: int = 500) -> CalibrationResult:
    """``base_T_camera`` from N paired cube centres: ``base_points`` ``(N,3)`` (robot) and ``camera_points``
    ``(N,3)`` (camera frame). RANSAC over 3-point subsets, then least squares on the inliers.

    Raises:
        CalibrationError: fewer than 4 samples, points (nearly) collinear/co-located, or fewer than 4 inliers.
    """
    a, b = np.asarray(base_points, float), np.asarray(camera_points, float)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 3:
        raise CalibrationError(f"need matching (N,3) arrays; got {a.shape} and {b.shape}")
    n = len(a)
    if n < 4:
        raise CalibrationError(f"{n} samples; need at least 4 (use 8-15 spread over the workspace)")
    sv = np.linalg.svd(a - a.mean(axis=0), compute_uv=False) / math.sqrt(n)
    if sv[1] < min_spread_m:
        raise CalibrationError(f"sample positions span only {sv[1] * 100:.1f} cm in their second direction; "
                               f"spread them over >= {min_spread_m * 100:.0f} cm in two directions")
    rng = np.random.default_rng(seed)
    subsets = list(itertools.combinations(range(n), 3))
    if len(subsets) > max_subsets:
        subsets = [tuple(rng.choice(n, 3, replace=False)) for _ in range(max_subsets)]
    best: NDArray[np.bool_] | None = None
    best_err = np.inf
    for s in subsets:
        idx = list(s)
        if np.linalg.matrix_rank(a[idx] - a[idx].mean(axis=0), tol=1e-3) < 2:
            continue
        t = solve_rigid(a[idx], b[idx])
        res = np.linalg.norm(a - (b @ t[:3, :3].T + t[:3, 3]), axis=1)
        inl = res < inlier_threshold_m
        err = float(np.sum(np.minimum(res, inlier_threshold_m) ** 2))  # MSAC score
        if best is None or inl.sum() > best.sum() or (inl.sum() == best.sum() and err < best_err):
            best, best_err = inl, err
    if best is None or best.sum() < 4:
        raise CalibrationError(f"no consistent transform: at most {0 if best is None else int(best.sum())} of {n} "
                               f"samples agree within {inlier_threshold_m * 1e3:.1f} mm (wrong pairing or units?)")
    t = solve_rigid(a[best], b[best])
    for _ in range(2):  # re-collect inliers with the refined transform
        res = np.linalg.norm(a - (b @ t[:3, :3].T + t[:3, 3]), axis=1)
        best = res < inlier_threshold_m
        if best.sum() < 4:
            raise CalibrationError("the refit lost its inliers; samples are inconsistent")
        t = solve_rigid(a[best], b[best])
    res = np.linalg.norm(a - (b @ t[:3, :3].T + t[:3, 3]), axis=1)
    return CalibrationResult(t, res, best, float(np.sqrt(np.mean(res[best] ** 2))), float(sv[1]))


def load_samples(path: str | Path) -> tuple[F64, F64]:
    """Read ``{"samples": [{"base_p_cube": [x,y,z], "camera_p_cube": [x,y,z]}, ...]}`` (metres)."""
    p = Path(path)
    try:
        d = json.loads(p.read_text())
        rows = d["samples"]
        a = np.array([_vector(r["base_p_cube"], 3, f"{p}: base_p_cube") for r in rows])
        b = np.array([_vector(r["camera_p_cube"], 3, f"{p}: camera_p_cube") for r in rows])
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(f"{p}: expected {{'samples': [{{'base_p_cube': [x,y,z], 'camera_p_cube': [x,y,z]}}, ...]}} "
                          f"in metres ({exc})") from exc
    return a, b
