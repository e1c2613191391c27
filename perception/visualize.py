"""A picture a person can check: the colour image with the fitted cube's edges, and a top view of the points."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from imgen_core import se3  # noqa: E402
from perception.camera_model import RGBDFrame, backproject, project  # noqa: E402
from perception.cube_model import CubeModel, cube_yaw  # noqa: E402
from perception.cube_pose import CubePoseResult, TrackState  # noqa: E402

F64 = NDArray[np.float64]


def _draw_cube(ax: plt.Axes, frame: RGBDFrame, camera_T_base: F64, base_T_cube: F64, cube: CubeModel,
               color: str, style: str = "-") -> None:
    c = (camera_T_base @ base_T_cube @ np.c_[cube.corners(), np.ones(8)].T).T[:, :3]
    if np.any(c[:, 2] <= 0.01):
        return
    uv = project(frame.intrinsics, c)
    for i, j in cube.edges():
        ax.plot(uv[[i, j], 0], uv[[i, j], 1], style, color=color, lw=1.5)
    axes = (camera_T_base @ base_T_cube @ np.array([[0, 0, 0, 1], [cube.size_m, 0, 0, 1], [0, cube.size_m, 0, 1],
                                                     [0, 0, cube.size_m, 1]], dtype=float).T).T[:, :3]
    a = project(frame.intrinsics, axes)
    for k, col in zip((1, 2, 3), ("r", "g", "b"), strict=True):
        ax.plot(a[[0, k], 0], a[[0, k], 1], "-", color=col, lw=1.2)


def save_annotated(path: str | Path, frame: RGBDFrame, result: CubePoseResult, base_T_camera: F64,
                   cube_size_m: float = 0.05, workspace: tuple[F64, F64] | None = None,
                   truth_base_T_cube: F64 | None = None) -> Path:
    """Write a PNG: left, the colour image with the estimated cube (green, with x/y/z axes; the truth dashed
    white when given) and the ROI; right, a top view (base x-y) of the depth points coloured by height, the points
    used for the fit in red, and the estimated footprint."""
    cube = CubeModel(cube_size_m)
    camera_T_base = se3.pose_inv(base_T_camera)
    st = result.status
    fig, (ax0, axz, ax1) = plt.subplots(1, 3, figsize=(17, 5.2), gridspec_kw={"width_ratios": [1.35, 1, 1]})
    for ax in (ax0, axz):
        ax.imshow(frame.color)
        ax.set_axis_off()
        if result.roi is not None and not result.roi.empty:
            r = result.roi
            ax.add_patch(plt.Rectangle((r.u0 - 0.5, r.v0 - 0.5), r.u1 - r.u0, r.v1 - r.v0, fill=False,
                                       ec="yellow", lw=1, ls=":"))
        if truth_base_T_cube is not None:
            _draw_cube(ax, frame, camera_T_base, truth_base_T_cube, cube, "white", "--")
        if result.base_T_cube is not None:
            _draw_cube(ax, frame, camera_T_base, result.base_T_cube, cube, "lime")
    focus = result.base_T_cube if result.base_T_cube is not None else truth_base_T_cube
    if focus is not None and (camera_T_base @ focus)[2, 3] > 0.05:
        c = project(frame.intrinsics, (camera_T_base @ focus)[None, :3, 3])[0]
        half = 1.6 * cube.size_m * frame.intrinsics.fx / (camera_T_base @ focus)[2, 3]
        axz.set_xlim(c[0] - half, c[0] + half)
        axz.set_ylim(c[1] + half, c[1] - half)
    elif result.roi is not None and not result.roi.empty:
        axz.set_xlim(result.roi.u0, result.roi.u1)
        axz.set_ylim(result.roi.v1, result.roi.v0)
    axz.set_title("zoom (green: estimate, white dashed: truth)" if truth_base_T_cube is not None
                  else "zoom (green: estimate)", fontsize=9)
    title = f"{st.state.value} ({st.mode}): {st.reason}"
    if result.base_T_cube is not None:
        p = result.base_T_cube[:3, 3]
        yaw = np.degrees(cube_yaw(result.base_T_cube))
        title += (f"\nbase p = ({p[0]:.4f}, {p[1]:.4f}, {p[2]:.4f}) m, yaw {yaw:.2f}°,"
                  f" fitness {st.fitness:.2f}, rmse {st.rmse_m * 1e3:.2f} mm, {st.time_ms:.1f} ms")
    ax0.set_title(title, fontsize=9, color="black" if st.state is TrackState.TRACKING else "firebrick")
    # top view of the scene points
    h, w = frame.depth.shape
    vv, uu = np.mgrid[0:h:3, 0:w:3]
    z = frame.depth[::3, ::3].astype(np.float64) * frame.depth_scale
    ok = z > 0
    pts = backproject(frame.intrinsics, uu[ok], vv[ok], z[ok]) @ base_T_camera[:3, :3].T + base_T_camera[:3, 3]
    if workspace is not None:
        lo, hi = np.asarray(workspace[0]), np.asarray(workspace[1])
        inside = np.all((pts >= lo - 0.05) & (pts <= hi + 0.05), axis=1)
        pts = pts[inside]
        ax1.add_patch(plt.Rectangle((lo[0], lo[1]), hi[0] - lo[0], hi[1] - lo[1], fill=False, ec="0.4", ls="--"))
    sc = ax1.scatter(pts[:, 0], pts[:, 1], c=pts[:, 2], s=1, cmap="viridis", vmin=-0.01, vmax=0.12)
    fig.colorbar(sc, ax=ax1, label="height z [m]", shrink=0.8)
    if result.points_base is not None:
        ax1.scatter(result.points_base[:, 0], result.points_base[:, 1], s=2, c="red")
    for pose, col, ls in ((truth_base_T_cube, "k", "--"), (result.base_T_cube, "lime", "-")):
        if pose is not None:
            fp = (pose @ np.c_[cube.corners()[[0, 2, 6, 4, 0]], np.ones(5)].T).T
            ax1.plot(fp[:, 0], fp[:, 1], ls, color=col, lw=1.5)
    ax1.set_aspect("equal")
    ax1.set_xlabel("base x [m]")
    ax1.set_ylabel("base y [m]")
    ax1.set_title("point cloud, top view (red: points used for the fit)", fontsize=9)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
