"""Pose of the 5 cm red cube in the robot base frame from one aligned RGB-D frame (ICP, with tracking).

Per frame (:meth:`CubePoseEstimator.estimate`):

1. **ROI** in image space: around the last pose when tracking, else the projection of the workspace box.
2. **Segment**: red pixels (HSV) → connected components → valid-depth pixels back-projected (vectorised) and
   moved to the base frame → kept inside the workspace box and above the table plane (fitted to the non-red
   pixels at initialisation). A component must be cube-sized and mostly inside the workspace.
3. **Initial pose**: the last pose when tracking; otherwise a cube-specific fit — the yaw and centre of the
   minimum-area 5 cm square enclosing the points' footprint on the table, z from the top face.
4. **Point-to-plane ICP** (open3d) of the points against a sampled 5 cm cube surface with exact normals.
5. **Canonical pose** (z up, yaw in [-45°, 45°)), then **gates**: fitness and RMSE against the exact cube surface,
   and a free-space check (ray-cast the fitted cube: the camera must not see through it, and where it is visible
   it must be red). Failing any gate gives *no pose*.

Tracking failures (gate failed, cube gone from the ROI, cube moved) fall back to a fresh initialisation in the
same frame, so a moved cube is re-acquired instead of the track drifting. Status values: ``tracking`` (a pose is
reported), ``lost`` (a red cube-like object was seen but no fit passed the gates: occluded, bad fit),
``no_cube`` (nothing red and cube-sized in the workspace).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import open3d as o3d
from numpy.typing import NDArray

from imgen_core import se3
from imgen_core.errors import ConfigError, check_range
from perception.camera_model import CameraIntrinsics, RGBDFrame
from perception.cube_model import CubeModel, canonicalize_pose
from perception.segmentation import RedThresholds, Roi, box_corners, components, red_mask, roi_of_points
from perception.silhouette import SilhouetteConfig, redness
from perception.silhouette import refine as refine_silhouette

F64 = NDArray[np.float64]
_reg = o3d.pipelines.registration


class TrackState(enum.Enum):
    TRACKING = "tracking"
    LOST = "lost"
    NO_CUBE = "no_cube"


@dataclass(frozen=True)
class CubePoseConfig:
    """Tuning of :class:`CubePoseEstimator` (lengths in metres, base frame)."""

    cube_size_m: float = 0.05
    workspace_min: tuple[float, float, float] = (0.30, -0.30, -0.03)
    workspace_max: tuple[float, float, float] = (0.80, 0.30, 0.30)
    table_z_m: float = 0.0
    table_margin_m: float = 0.004
    red: RedThresholds = RedThresholds()
    min_pixels: int = 30
    min_points: int = 60
    max_points: int = 400
    track_margin_m: float = 0.02
    init_iterations: int = 30
    track_iterations: int = 5
    model_spacing_m: float = 0.005
    init_corr_m: float = 0.012
    refine_corr_m: float = 0.004
    inlier_m: float = 0.004
    min_fitness: float = 0.85
    max_rmse_m: float = 0.0025
    free_space_tol_m: float = 0.008
    max_see_through: float = 0.04
    max_not_red: float = 0.10
    max_track_jump_m: float = 0.015
    silhouette: SilhouetteConfig | None = SilhouetteConfig()
    max_sigma_pos_m: float = 0.0015  # predicted (1-sigma) uncertainty gates of the silhouette refinement
    max_sigma_yaw_deg: float = 1.0

    def __post_init__(self) -> None:
        check_range("cube_size_m", self.cube_size_m, 0.005, 0.5)
        check_range("min_fitness", self.min_fitness, 0.0, 1.0)
        if not np.all(np.less(self.workspace_min, self.workspace_max)):
            raise ConfigError(f"workspace_min {self.workspace_min} must be < workspace_max {self.workspace_max}")
        if self.max_points < self.min_points:
            raise ConfigError(f"max_points={self.max_points} must be >= min_points={self.min_points}")


@dataclass
class PoseStatus:
    """Why there is or is not a pose (published on ``/cube_pose/status``)."""

    state: TrackState
    reason: str = ""
    mode: str = ""  # "track" | "init": which path produced this result
    fitness: float = 0.0
    rmse_m: float = float("nan")
    n_points: int = 0
    see_through: float = float("nan")
    not_red: float = float("nan")
    edge_samples: int = 0
    sigma_pos_m: float = float("nan")
    sigma_yaw_deg: float = float("nan")
    time_ms: float = 0.0

    def diagnostic_values(self) -> dict[str, str]:
        """Key/values for ``diagnostic_msgs/DiagnosticStatus`` on ``/cube_pose/status`` (DESIGN §5)."""
        return {"state": self.state.value, "reason": self.reason, "mode": self.mode,
                "fitness": f"{self.fitness:.4f}", "rmse_m": f"{self.rmse_m:.6f}", "n_points": str(self.n_points),
                "see_through": f"{self.see_through:.4f}", "not_red": f"{self.not_red:.4f}",
                "edge_samples": str(self.edge_samples), "sigma_pos_m": f"{self.sigma_pos_m:.6f}",
                "sigma_yaw_deg": f"{self.sigma_yaw_deg:.4f}", "time_ms": f"{self.time_ms:.3f}"}


@dataclass
class CubePoseResult:
    """``base_T_cube`` ``(4,4)`` (canonical) when ``status.state`` is TRACKING, else None."""

    base_T_cube: F64 | None
    status: PoseStatus
    stamp_ms: float = 0.0
    points_base: F64 | None = field(default=None, repr=False)
    roi: Roi | None = None


class _RejectError(Exception):
    def __init__(self, state: TrackState, reason: str, **metrics: Any) -> None:
        super().__init__(reason)
        self.state, self.reason, self.metrics = state, reason, metrics


class CubePoseEstimator:
    """Estimates the cube pose frame after frame (keeps the last pose for tracking).

    Args:
        base_T_camera: ``(4,4)`` pose of ``camera_color_optical_frame`` in the base frame (extrinsics).
        config: thresholds and workspace.
    """

    def __init__(self, base_T_camera: F64, config: CubePoseConfig | None = None) -> None:
        self.config = config or CubePoseConfig()
        if not se3.is_pose(base_T_camera):
            raise ConfigError("base_T_camera must be a proper (4,4) rigid transform")
        self.base_T_camera = np.asarray(base_T_camera, dtype=np.float64)
        self.camera_T_base = se3.pose_inv(self.base_T_camera)
        self.cube = CubeModel(self.config.cube_size_m)
        pts, nrm = CubeModel(self.config.cube_size_m, self.config.model_spacing_m).surface_samples()
        self._target = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts))
        self._target.normals = o3d.utility.Vector3dVector(nrm)
        self._ws_lo = np.asarray(self.config.workspace_min, dtype=np.float64)
        self._ws_hi = np.asarray(self.config.workspace_max, dtype=np.float64)
        self._intr: CameraIntrinsics | None = None
        self._ws_roi: Roi | None = None
        self._table = np.array([0.0, 0.0, self.config.table_z_m])  # z = a x + b y + c in the base frame
        self.last_pose: F64 | None = None

    def reset(self) -> None:
        """Forget the track (the next frame initialises from scratch)."""
        self.last_pose = None

    # ------------------------------------------------------------------ public
    def estimate(self, frame: RGBDFrame) -> CubePoseResult:
        """Cube pose in the base frame from one aligned RGB-D frame (never a pose that failed a gate)."""
        t0 = time.perf_counter()
        if frame.intrinsics != self._intr:
            if not frame.intrinsics.is_distortion_free:
                raise ConfigError("the estimator needs distortion-free (rectified) images; got "
                                  f"{frame.intrinsics.model} with coefficients {frame.intrinsics.coeffs}")
            self._intr = frame.intrinsics
            corners_cam = se3.compose(self.camera_T_base, _homog(box_corners(self._ws_lo, self._ws_hi)).T).T[:, :3]
            self._ws_roi = roi_of_points(frame.intrinsics, corners_cam, margin_px=2)
        result = None
        if self.last_pose is not None:
            result = self._attempt(frame, track=True)
        if result is None or result.base_T_cube is None:
            result = self._attempt(frame, track=False)
        self.last_pose = result.base_T_cube
        result.status.time_ms = (time.perf_counter() - t0) * 1e3
        result.stamp_ms = frame.timestamp_ms
        return result

    # ------------------------------------------------------------------ one attempt
    def _attempt(self, frame: RGBDFrame, track: bool) -> CubePoseResult:
        mode = "track" if track else "init"
        roi = self._track_roi(frame.intrinsics) if track else self._ws_roi
        assert roi is not None
        try:
            if roi.empty:
                raise _RejectError(TrackState.NO_CUBE, "region of interest is outside the image")
            rgb = frame.color[roi.slices()]
            depth_m = frame.depth[roi.slices()].astype(np.float64) * frame.depth_scale
            red = red_mask(rgb, self.config.red)
            if not track:
                self._fit_table(frame.intrinsics, roi, depth_m, red)
            points = self._segment(frame.intrinsics, roi, depth_m, red, track)
            init = self.last_pose if track else self._initial_pose(points)
            assert init is not None
            pose = self._icp(points, init, track)
            sil: dict[str, Any] = {}
            if self.config.silhouette is not None:
                pose, sil = self._refine_silhouette(frame, pose, points)
            metrics = self._check(frame.intrinsics, roi, depth_m, red, points, pose)
            metrics.update(sil)
            if sil and not (sil["sigma_pos_m"] <= self.config.max_sigma_pos_m
                            and sil["sigma_yaw_deg"] <= self.config.max_sigma_yaw_deg):
                raise _RejectError(TrackState.LOST, f"cube outline too occluded: predicted uncertainty "
                                   f"{sil['sigma_pos_m'] * 1e3:.2f} mm / {sil['sigma_yaw_deg']:.2f}° "
                                   f"({sil['edge_samples']} edge samples)", **metrics)
            if track and np.linalg.norm(pose[:3, 3] - init[:3, 3]) > self.config.max_track_jump_m:
                raise _RejectError(TrackState.LOST, "tracked pose jumped: re-initialising", **metrics)
        except _RejectError as rej:
            return CubePoseResult(None, PoseStatus(rej.state, rej.reason, mode, **rej.metrics), roi=roi)
        return CubePoseResult(pose, PoseStatus(TrackState.TRACKING, "ok", mode, **metrics), points_base=points,
                              roi=roi)

    def _track_roi(self, intr: CameraIntrinsics) -> Roi:
        assert self.last_pose is not None
        grown = self.cube.corners() * (1.0 + 2.0 * self.config.track_margin_m / self.cube.size_m)
        corners_cam = (self.camera_T_base @ self.last_pose @ _homog(grown).T).T[:, :3]
        return roi_of_points(intr, corners_cam, margin_px=2)

    def _backproject_base(self, intr: CameraIntrinsics, roi: Roi, vv: NDArray, uu: NDArray, z: F64) -> F64:
        """ROI pixel indices (rows ``vv``, cols ``uu``) with depths ``z`` [m] → base-frame points ``(N,3)``."""
        x = (uu + roi.u0 - intr.ppx) / intr.fx * z
        y = (vv + roi.v0 - intr.ppy) / intr.fy * z
        r, t = self.base_T_camera[:3, :3], self.base_T_camera[:3, 3]
        return np.stack([x, y, z], axis=1) @ r.T + t

    def _fit_table(self, intr: CameraIntrinsics, roi: Roi, depth_m: F64, red: NDArray[np.bool_]) -> None:
        """Refit the table plane from non-red pixels (every 4th pixel) near the configured table height."""
        sub = (slice(None, None, 4), slice(None, None, 4))
        d, r = depth_m[sub], red[sub]
        vv, uu = np.nonzero((d > 0) & ~r)
        if len(vv) < 50:
            return
        p = self._backproject_base(intr, roi, vv * 4, uu * 4, d[vv, uu])
        keep = np.all((p[:, :2] >= self._ws_lo[:2]) & (p[:, :2] <= self._ws_hi[:2]), axis=1)
        keep &= np.abs(p[:, 2] - self.config.table_z_m) < 0.03
        p = p[keep]
        for _ in range(2):
            if len(p) < 50:
                return
            a = np.c_[p[:, :2], np.ones(len(p))]
            coef, *_ = np.linalg.lstsq(a, p[:, 2], rcond=None)
            res = np.abs(a @ coef - p[:, 2])
            p = p[res < max(0.003, 3.0 * float(np.median(res)))]
        self._table = coef

    def _segment(self, intr: CameraIntrinsics, roi: Roi, depth_m: F64, red: NDArray[np.bool_], track: bool) -> F64:
        cfg = self.config
        comps = components(red, cfg.min_pixels)
        if not comps:
            raise _RejectError(TrackState.NO_CUBE, "no red object in the " + ("tracking window" if track else "image"))
        valid = depth_m > 0
        candidates: list[F64] = []
        reasons: list[str] = []
        for comp in comps[:6]:
            vv, uu = np.nonzero(comp & valid)
            if len(vv) < cfg.min_points:
                reasons.append(f"red object with only {len(vv)} valid depth pixels")
                continue
            if len(vv) > 2 * cfg.max_points:  # thin out evenly before any 3D work (the fit uses max_points)
                keep = np.linspace(0, len(vv) - 1, 2 * cfg.max_points).astype(int)
                vv, uu = vv[keep], uu[keep]
            p = self._backproject_base(intr, roi, vv, uu, depth_m[vv, uu])
            inside = np.all((p >= self._ws_lo) & (p <= self._ws_hi), axis=1)
            if inside.mean() < 0.5:
                reasons.append("red object outside the workspace")
                continue
            p = p[inside]
            # red-looking pixels on an occluder's border carry the occluder's depth: keep what can be the cube
            p = p[np.linalg.norm(p - np.median(p, axis=0), axis=1) < 0.8 * self.cube.diagonal]
            p = p[p[:, 2] - (p[:, :2] @ self._table[:2] + self._table[2]) > cfg.table_margin_m]
            if len(p) < cfg.min_points:
                reasons.append(f"red object with only {len(p)} points above the table")
                continue
            size = _diameter(p)
            if size > self.cube.diagonal + 0.012:
                reasons.append(f"red object of {size * 100:.1f} cm is not a {cfg.cube_size_m * 100:.0f} cm cube")
                continue
            candidates.append(p)
        if not candidates:
            state = TrackState.LOST if any("workspace" not in r for r in reasons) else TrackState.NO_CUBE
            raise _RejectError(state, "; ".join(dict.fromkeys(reasons)) or "no red object")
        centres = [c.mean(axis=0) for c in candidates]
        if track and self.last_pose is not None:
            best = int(np.argmin([np.linalg.norm(c - self.last_pose[:3, 3]) for c in centres]))
        else:
            best = 0
        # pieces of one cube split by an occluder (a finger in front) are merged
        parts = [c for c, m in zip(candidates, centres, strict=True)
                 if np.linalg.norm(m - centres[best]) < self.cube.diagonal]
        points = np.vstack(parts)
        if _diameter(points) > self.cube.diagonal + 0.012:
            points = candidates[best]
        if len(points) > cfg.max_points:
            points = points[np.linspace(0, len(points) - 1, cfg.max_points).astype(int)]
        return points

    def _initial_pose(self, points: F64) -> F64:
        """Cube resting on a face: yaw/centre of the smallest square enclosing the footprint, z from the top."""
        xy = points[:, :2]
        angles = np.deg2rad(np.arange(0.0, 90.0, 3.0))
        for step in (3.0, 0.5):
            c, s = np.cos(angles), np.sin(angles)
            u = xy[:, 0][None] * c[:, None] + xy[:, 1][None] * s[:, None]
            v = -xy[:, 0][None] * s[:, None] + xy[:, 1][None] * c[:, None]
            ext = np.maximum(np.ptp(u, axis=1), np.ptp(v, axis=1))
            a0 = angles[int(np.argmin(ext))]
            angles = a0 + np.deg2rad(np.arange(-step, step + 1e-9, step / 6))
        yaw = float(a0)
        c, s = np.cos(yaw), np.sin(yaw)
        u = xy @ np.array([c, s])
        v = xy @ np.array([-s, c])
        h = self.cube.half
        # the far side of the footprint is hidden: anchor each axis on the side with more evidence
        uc = _footprint_centre(u, h)
        vc = _footprint_centre(v, h)
        top = float(np.percentile(points[:, 2], 98))
        centre = np.array([uc * c - vc * s, uc * s + vc * c, top - h])
        return se3.make_pose(centre, np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]))

    def _icp(self, points: F64, base_T_init: F64, track: bool) -> F64:
        cfg = self.config
        src = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
        est = _reg.TransformationEstimationPointToPlane()
        cube_T_base = se3.pose_inv(base_T_init)
        stages = [(cfg.refine_corr_m, cfg.track_iterations)] if track else \
            [(cfg.init_corr_m, cfg.init_iterations), (cfg.refine_corr_m, cfg.init_iterations)]
        for corr, iters in stages:
            res = _reg.registration_icp(src, self._target, corr, cube_T_base, est,
                                        _reg.ICPConvergenceCriteria(1e-7, 1e-7, iters))
            cube_T_base = np.asarray(res.transformation)
        return canonicalize_pose(se3.pose_inv(cube_T_base))

    def _refine_silhouette(self, frame: RGBDFrame, base_T_cube: F64, points: F64) -> tuple[F64, dict[str, Any]]:
        assert self.config.silhouette is not None
        corners_cam = (self.camera_T_base @ base_T_cube @ _homog(self.cube.corners()).T).T[:, :3]
        box = roi_of_points(frame.intrinsics, corners_cam, margin_px=int(self.config.silhouette.search_px) + 3)
        if box.empty:
            return base_T_cube, {"edge_samples": 0, "sigma_pos_m": float("inf"), "sigma_yaw_deg": float("inf")}
        score = redness(frame.color[box.slices()])
        depth_m = frame.depth[box.slices()] * frame.depth_scale
        pose, info = refine_silhouette(base_T_cube, points, score, frame.intrinsics, self.base_T_camera, self.cube,
                                       self.config.silhouette, (box.u0, box.v0), depth_m)
        return canonicalize_pose(pose), {"edge_samples": info.n_edge_samples, "sigma_pos_m": info.sigma_pos_m,
                                         "sigma_yaw_deg": float(np.degrees(info.sigma_yaw_rad))}

    def _check(self, intr: CameraIntrinsics, roi: Roi, depth_m: F64, red: NDArray[np.bool_], points: F64,
               base_T_cube: F64) -> dict[str, Any]:
        cfg = self.config
        cube_T_base = se3.pose_inv(base_T_cube)
        dist, _ = self.cube.surface_distance(points @ cube_T_base[:3, :3].T + cube_T_base[:3, 3])
        inl = dist < cfg.inlier_m
        m: dict[str, Any] = {"fitness": float(inl.mean()), "n_points": len(points),
                               "rmse_m": float(np.sqrt(np.mean(dist[inl] ** 2))) if inl.any() else float("nan")}
        if m["fitness"] < cfg.min_fitness:
            raise _RejectError(TrackState.LOST, f"fitness {m['fitness']:.2f} < {cfg.min_fitness}", **m)
        if not m["rmse_m"] <= cfg.max_rmse_m:
            raise _RejectError(TrackState.LOST, f"rmse {m['rmse_m'] * 1e3:.2f} mm > {cfg.max_rmse_m * 1e3:.2f} mm", **m)
        # free-space check on the pixels where the fitted cube projects
        corners_cam = (self.camera_T_base @ base_T_cube @ _homog(self.cube.corners()).T).T[:, :3]
        box = roi_of_points(intr, corners_cam)
        u0, v0 = max(box.u0, roi.u0), max(box.v0, roi.v0)
        u1, v1 = min(box.u1, roi.u1), min(box.v1, roi.v1)
        if u1 <= u0 or v1 <= v0:
            raise _RejectError(TrackState.LOST, "fitted cube projects outside the region of interest", **m)
        vv, uu = np.mgrid[v0:v1:2, u0:u1:2]  # every other pixel is plenty for the ratios below
        rays = np.stack([(uu.ravel() - intr.ppx) / intr.fx, (vv.ravel() - intr.ppy) / intr.fy,
                         np.ones(uu.size)], axis=1)
        z_model = self.cube.ray_cast(cube_T_base @ self.base_T_camera, rays)
        z_obs = depth_m[vv.ravel() - roi.v0, uu.ravel() - roi.u0]
        is_red = red[vv.ravel() - roi.v0, uu.ravel() - roi.u0]
        hit = np.isfinite(z_model)
        seen = hit & (z_obs > 0)
        see_through = seen & (z_obs > z_model + cfg.free_space_tol_m)
        visible = hit & ((z_obs == 0) | (z_obs > z_model - cfg.free_space_tol_m))  # not hidden by an occluder
        m["see_through"] = float(see_through.sum() / max(1, seen.sum()))
        m["not_red"] = float((visible & ~is_red).sum() / max(1, visible.sum()))
        if m["see_through"] > cfg.max_see_through:
            raise _RejectError(TrackState.LOST, f"camera sees through the fitted cube ({m['see_through']:.0%})", **m)
        if m["not_red"] > cfg.max_not_red:
            raise _RejectError(TrackState.LOST, f"fitted cube covers non-red pixels ({m['not_red']:.0%})", **m)
        return m


def _homog(p: F64) -> F64:
    return np.c_[p, np.ones(len(p))]


def _diameter(p: F64) -> float:
    """Robust size [m] of a point set: double sweep (farthest from the centroid, then farthest from that point),
    with the 99th percentile instead of the maximum so single noisy points do not count."""
    p = p[:: max(1, len(p) // 200)]
    k = int(0.99 * (len(p) - 1))
    c = p - p.mean(axis=0)
    d = np.einsum("ij,ij->i", c, c)
    a = p[int(np.argpartition(d, k)[k])]
    e = p - a
    d = np.einsum("ij,ij->i", e, e)
    b = p[int(np.argpartition(d, k)[k])]
    e = p - b
    return float(np.sqrt(np.partition(np.einsum("ij,ij->i", e, e), k)[k]))


def _footprint_centre(u: F64, half: float) -> float:
    """Centre of a ``2*half`` interval from samples that may cover only part of it (one side occluded)."""
    lo, hi = np.percentile(u, [0.5, 99.5])
    if hi - lo >= 2 * half - 0.004:  # both sides seen
        return float((lo + hi) / 2)
    return float(lo + half) if np.sum(u < lo + 0.005) > np.sum(u > hi - 0.005) else float(hi - half)
