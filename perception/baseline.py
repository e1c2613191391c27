"""The plain open3d pipeline the benchmark compares against (no colour, no ROI, no tracking, no silhouette).

Back-project the whole depth image with open3d straight into the base frame, crop to the workspace box raised
above the table, voxel-downsample, initialise from the centroid and PCA axes, point-to-plane ICP against the same
cube model, canonicalise, gate on ICP fitness / RMSE. This is what a first implementation usually looks like.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import open3d as o3d
from numpy.typing import NDArray

from imgen_core import se3
from perception.camera_model import RGBDFrame
from perception.cube_model import CubeModel, canonicalize_pose

F64 = NDArray[np.float64]
_reg = o3d.pipelines.registration


@dataclass(frozen=True)
class PlainConfig:
    cube_size_m: float = 0.05
    workspace_min: tuple[float, float, float] = (0.30, -0.30, -0.03)
    workspace_max: tuple[float, float, float] = (0.80, 0.30, 0.30)
    table_z_m: float = 0.0
    table_margin_m: float = 0.005
    voxel_m: float = 0.003
    min_points: int = 30
    init_corr_m: float = 0.012
    refine_corr_m: float = 0.004
    iterations: int = 30
    min_fitness: float = 0.85
    max_rmse_m: float = 0.0025


@dataclass
class PlainResult:
    base_T_cube: F64 | None
    reason: str
    fitness: float = 0.0
    rmse_m: float = float("nan")
    time_ms: float = 0.0


class PlainPipeline:
    """Stateless per-frame cube pose with stock open3d calls."""

    def __init__(self, base_T_camera: F64, config: PlainConfig | None = None) -> None:
        self.config = config or PlainConfig()
        self.camera_T_base = se3.pose_inv(base_T_camera)
        pts, nrm = CubeModel(self.config.cube_size_m, 0.0025).surface_samples()
        self._target = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts))
        self._target.normals = o3d.utility.Vector3dVector(nrm)
        lo = np.array(self.config.workspace_min, dtype=np.float64)
        lo[2] = max(lo[2], self.config.table_z_m + self.config.table_margin_m)
        self._box = o3d.geometry.AxisAlignedBoundingBox(lo, np.array(self.config.workspace_max, dtype=np.float64))

    def estimate(self, frame: RGBDFrame) -> PlainResult:
        t0 = time.perf_counter()
        res = self._estimate(frame)
        res.time_ms = (time.perf_counter() - t0) * 1e3
        return res

    def _estimate(self, frame: RGBDFrame) -> PlainResult:
        cfg = self.config
        i = frame.intrinsics
        intr = o3d.camera.PinholeCameraIntrinsic(i.width, i.height, i.fx, i.fy, i.ppx, i.ppy)
        depth_img = o3d.geometry.Image(frame.depth)  # type: ignore[call-overload]
        pcd = o3d.geometry.PointCloud.create_from_depth_image(
            depth_img, intr, self.camera_T_base, depth_scale=1.0 / frame.depth_scale, depth_trunc=3.0)
        pcd = pcd.crop(self._box).voxel_down_sample(cfg.voxel_m)
        if len(pcd.points) < cfg.min_points:
            return PlainResult(None, f"{len(pcd.points)} points in the workspace")
        mean, cov = pcd.compute_mean_and_covariance()
        _, vec = np.linalg.eigh(cov)
        rot = vec[:, ::-1]
        if np.linalg.det(rot) < 0:
            rot[:, 2] *= -1
        cube_T_base = se3.pose_inv(se3.make_pose(np.asarray(mean), rot))
        est = _reg.TransformationEstimationPointToPlane()
        for corr in (cfg.init_corr_m, cfg.refine_corr_m):
            r = _reg.registration_icp(pcd, self._target, corr, cube_T_base, est,
                                      _reg.ICPConvergenceCriteria(1e-7, 1e-7, cfg.iterations))
            cube_T_base = np.asarray(r.transformation)
        if r.fitness < cfg.min_fitness or not r.inlier_rmse <= cfg.max_rmse_m:
            return PlainResult(None, "fit rejected", float(r.fitness), float(r.inlier_rmse))
        return PlainResult(canonicalize_pose(se3.pose_inv(cube_T_base)), "ok", float(r.fitness),
                           float(r.inlier_rmse))
