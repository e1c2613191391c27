"""Joint refinement of the cube pose on depth (point-to-plane) and the colour silhouette's edges.

Point-to-plane ICP pins the cube along the normals of the faces it sees, but a face seen edge-on gives no depth
constraint along its normal, and spatially correlated stereo noise tilts small faces (yaw errors of ~0.5°).
The colour image has crisp cube outlines, so this step adds *edge residuals*: along each silhouette edge of the
fitted cube (an edge between a face towards the camera and one away from it) the red/non-red transition is
searched along the image normal with sub-pixel interpolation; samples without a clear transition (occluded by a
finger, next to another red object, out of the image) are dropped. A few Gauss-Newton steps then minimise

    sum_points (n·p - h)² / sigma_depth²  +  sum_edges (offset_px)² / sigma_edge_px²

over the 6-DoF pose (translation in base, rotation about the cube centre).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from perception.camera_model import CameraIntrinsics
from perception.cube_model import CubeModel

F64 = NDArray[np.float64]

_FACES = [(a, s) for a in range(3) for s in (-1.0, 1.0)]


@dataclass(frozen=True)
class SilhouetteConfig:
    samples_per_edge: int = 8
    search_px: float = 4.0
    min_contrast: float = 40.0  # redness difference inside vs outside [grey levels]
    sigma_edge_px: float = 0.35
    sigma_depth_m: float = 0.003  # per point, inflated for spatially correlated depth noise
    iterations: int = 2
    max_points: int = 200  # depth points used by the point-to-plane term (evenly subsampled)
    min_edge_samples: int = 8
    occluder_gap_m: float = 0.01  # something this much nearer than the edge, just outside it, is an occluder


@dataclass
class SilhouetteInfo:
    """Edge statistics of one refinement; ``sigma_pos_m`` / ``sigma_yaw_rad`` are the predicted standard
    deviations of the solution (from the Gauss-Newton information matrix) — large when occlusion leaves the
    pose unconstrained."""

    n_edge_samples: int = 0
    edge_rms_px: float = float("nan")
    used: bool = False
    sigma_pos_m: float = float("inf")
    sigma_yaw_rad: float = float("inf")


def redness(rgb: NDArray[np.uint8]) -> F64:
    """Brightness-independent red score ``255 * (R - max(G, B)) / max(R, 20)`` per pixel ``(H,W)``: ~200+ on the
    cube's lit *and* shaded faces (an edge-on face is dark but still saturated red), ~0-30 on grey/brown."""
    c = rgb.astype(np.float32)
    return np.maximum(255.0 * (c[..., 0] - np.maximum(c[..., 1], c[..., 2])) / np.maximum(c[..., 0], 20.0), 0.0)


def _bilinear(img: F64, u: F64, v: F64) -> F64:
    h, w = img.shape
    u = np.clip(u, 0, w - 1.001)
    v = np.clip(v, 0, h - 1.001)
    u0, v0 = np.floor(u).astype(int), np.floor(v).astype(int)
    fu, fv = u - u0, v - v0
    return ((1 - fu) * (1 - fv) * img[v0, u0] + fu * (1 - fv) * img[v0, u0 + 1]
            + (1 - fu) * fv * img[v0 + 1, u0] + fu * fv * img[v0 + 1, u0 + 1])


def _edge_table(cube: CubeModel) -> list[tuple[NDArray, NDArray, tuple, tuple]]:
    """The 12 edges as (corner_a, corner_b, face_1, face_2) with faces as (axis, sign)."""
    corners = cube.corners()
    out = []
    for i, j in cube.edges():
        ci, cj = corners[i], corners[j]
        faces = [(a, float(np.sign(ci[a]))) for a in range(3) if np.isclose(ci[a], cj[a])]
        out.append((ci, cj, faces[0], faces[1]))
    return out


_EDGE_CACHE: dict[float, list] = {}


def _silhouette_samples(cube: CubeModel, cam_T_cube: F64, n: int) -> F64:
    """Cube-frame points ``(K,3)`` along the silhouette edges of the cube seen from the camera (origin);
    each edge contributes ``n`` consecutive samples."""
    table = _EDGE_CACHE.get(cube.size_m)
    if table is None:
        table = _EDGE_CACHE.setdefault(cube.size_m, _edge_table(cube))
    r, t = cam_T_cube[:3, :3], cam_T_cube[:3, 3]
    h = cube.half
    front = {}
    for a, s in _FACES:
        normal = r[:, a] * s
        front[(a, s)] = float(normal @ (t + normal * h)) < 0
    frac = (np.arange(n) + 0.5) / n * 0.8 + 0.1  # avoid the corners
    out = [ci[None] + frac[:, None] * (cj - ci)[None] for ci, cj, f1, f2 in table if front[f1] != front[f2]]
    return np.vstack(out) if out else np.zeros((0, 3))


def _project(intr: CameraIntrinsics, p_cam: F64) -> F64:
    return np.stack([p_cam[:, 0] / p_cam[:, 2] * intr.fx + intr.ppx,
                     p_cam[:, 1] / p_cam[:, 2] * intr.fy + intr.ppy], axis=1)


def _cross(a: F64, b: F64) -> F64:
    """Row-wise cross product of ``(N,3)`` arrays (cheaper than ``np.cross`` for small N)."""
    return np.stack([a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1], a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
                     a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]], axis=1)


def _rotvec_to_mat(w: F64) -> F64:
    th = float(np.sqrt(w @ w))
    k = np.array([[0.0, -w[2], w[1]], [w[2], 0.0, -w[0]], [-w[1], w[0], 0.0]])
    if th < 1e-12:
        return np.eye(3) + k
    return np.eye(3) + np.sin(th) / th * k + (1 - np.cos(th)) / th ** 2 * (k @ k)


def _perturbed(base_T_cube: F64, delta: F64) -> F64:
    """Pose after a translation ``delta[:3]`` (base) and rotation ``delta[3:]`` (base axes, about the centre)."""
    out = base_T_cube.copy()
    out[:3, :3] = _rotvec_to_mat(delta[3:]) @ base_T_cube[:3, :3]
    out[:3, 3] = base_T_cube[:3, 3] + delta[:3]
    return out


def _edge_observations(cube: CubeModel, cam_T_cube: F64, red_score: F64, intr: CameraIntrinsics,
                       cfg: SilhouetteConfig, offset_uv: tuple[int, int], depth_m: F64 | None = None,
                       ) -> tuple[F64, F64, F64]:
    """Silhouette samples of the cube at ``cam_T_cube`` and where the image shows their edge.

    Returns cube-frame sample points ``(K,3)``, unit image normals ``(K,2)`` (pointing out of the cube) and the
    observed edge positions ``(K,2)`` [px, full image]; samples without one clean red→non-red transition within
    ``±search_px`` (occluded, next to another red object, outside the crop) are left out, and so are samples
    whose outside is nearer to the camera than the cube edge in ``depth_m`` (a crop like ``red_score``, metres):
    there the transition is an occluder's outline, not the cube's.
    """
    n = cfg.samples_per_edge
    samples = _silhouette_samples(cube, cam_T_cube, n)
    if len(samples) == 0:
        return samples, np.zeros((0, 2)), np.zeros((0, 2))
    p_cam = samples @ cam_T_cube[:3, :3].T + cam_T_cube[:3, 3]
    q = _project(intr, p_cam)
    centre = _project(intr, cam_T_cube[None, :3, 3])[0]
    qe = q.reshape(-1, n, 2)
    direc = qe[:, -1] - qe[:, 0]
    direc /= np.maximum(np.linalg.norm(direc, axis=1, keepdims=True), 1e-9)
    nrm = np.stack([-direc[:, 1], direc[:, 0]], axis=1)
    flip = np.sum(nrm * (qe.mean(axis=1) - centre), axis=1) < 0
    nrm[flip] *= -1.0
    d = np.repeat(nrm, n, axis=0)
    ks = np.arange(-cfg.search_px, cfg.search_px + 1e-9, 0.5)
    uu = q[:, 0:1] + ks[None] * d[:, 0:1] - offset_uv[0]
    vv = q[:, 1:2] + ks[None] * d[:, 1:2] - offset_uv[1]
    h, w = red_score.shape
    in_img = (uu.min(axis=1) >= 0) & (vv.min(axis=1) >= 0) & (uu.max(axis=1) < w - 1) & (vv.max(axis=1) < h - 1)
    prof = _bilinear(red_score, uu.ravel(), vv.ravel()).reshape(uu.shape)
    inner = prof[:, :3].mean(axis=1)
    outer = prof[:, -3:].mean(axis=1)
    thr = 0.5 * (inner + outer)
    above = prof >= thr[:, None]
    falls = above[:, :-1] & ~above[:, 1:]
    ok = in_img & (inner - outer > cfg.min_contrast) & (falls.sum(axis=1) == 1)  # one clean transition
    c0 = np.argmax(falls, axis=1)
    rows = np.arange(len(q))
    p0, p1 = prof[rows, c0], prof[rows, c0 + 1]
    frac = (p0 - thr) / np.where(np.abs(p0 - p1) > 1e-9, p0 - p1, 1.0)
    offset = ks[c0] + 0.5 * frac
    if depth_m is not None:
        nearest = np.full(len(q), np.inf)
        for extra in (1.5, 2.5, 3.5):
            uo = np.clip(np.rint(q[:, 0] + (offset + extra) * d[:, 0] - offset_uv[0]).astype(int), 0, w - 1)
            vo = np.clip(np.rint(q[:, 1] + (offset + extra) * d[:, 1] - offset_uv[1]).astype(int), 0, h - 1)
            z = depth_m[vo, uo]
            nearest = np.minimum(nearest, np.where(z > 0, z, np.inf))
        ok &= ~(nearest < p_cam[:, 2] - cfg.occluder_gap_m)
    return samples[ok], d[ok], q[ok] + offset[ok, None] * d[ok]


def refine(base_T_cube: F64, points_base: F64, red_score: F64, intr: CameraIntrinsics, base_T_camera: F64,
           cube: CubeModel, cfg: SilhouetteConfig = SilhouetteConfig(), offset_uv: tuple[int, int] = (0, 0),
           depth_m: F64 | None = None) -> tuple[F64, SilhouetteInfo]:
    """Refine ``base_T_cube`` on depth points ``(N,3)`` (base) and the red-score image ``red_score`` ``(h,w)``.

    ``red_score`` (and ``depth_m``, metres, for the occlusion test of edge samples) may be a crop of the full
    image starting at pixel ``offset_uv`` = (u0, v0). The edges are
    measured once at the input pose (which must be within ~``search_px`` of the truth, e.g. an ICP result), then
    a few Gauss-Newton steps minimise point-to-plane plus point-to-edge-line residuals. Returns the refined pose
    and edge statistics; the input pose comes back unchanged (``info.used`` False) with too few edge samples.
    """
    camera_T_base = _inv(base_T_camera)
    samples, d, target = _edge_observations(cube, camera_T_base @ base_T_cube, red_score, intr, cfg, offset_uv,
                                            depth_m)
    info = SilhouetteInfo(len(samples))
    if len(samples) < cfg.min_edge_samples:
        return base_T_cube, info
    if len(points_base) > cfg.max_points:
        points_base = points_base[np.linspace(0, len(points_base) - 1, cfg.max_points).astype(int)]
    w_e = 1.0 / cfg.sigma_edge_px ** 2
    w_p = 1.0 / cfg.sigma_depth_m ** 2 * 400.0 / len(points_base)  # the depth term's weight is independent of N
    r_cb = camera_T_base[:3, :3]
    pose = base_T_cube.copy()
    keep = np.ones(len(samples), bool)
    for it in range(cfg.iterations):
        cam_T_cube = camera_T_base @ pose
        pc = samples @ cam_T_cube[:3, :3].T + cam_T_cube[:3, 3]
        z = pc[:, 2]
        q = np.stack([pc[:, 0] / z * intr.fx + intr.ppx, pc[:, 1] / z * intr.fy + intr.ppy], axis=1)
        r_e = np.sum((target - q) * d, axis=1)  # how far the prediction must move along the normal
        # d(offset)/d(x_base) through the pinhole projection, then x_base = t + exp(omega) R s
        gx = d[:, 0] * intr.fx / z
        gy = d[:, 1] * intr.fy / z
        dn = np.stack([gx, gy, -(gx * pc[:, 0] + gy * pc[:, 1]) / z], axis=1) @ r_cb
        arm = samples @ pose[:3, :3].T
        j_e = np.concatenate([dn, _cross(arm, dn)], axis=1)
        cube_T_base = _inv(pose)
        dist, n_c = cube.surface_distance(points_base @ cube_T_base[:3, :3].T + cube_T_base[:3, 3])
        inl = dist < 0.004
        n_b = n_c[inl] @ pose[:3, :3].T
        x_rel = points_base[inl] - pose[:3, 3]
        r_p = np.sum(n_b * x_rel, axis=1) - cube.half
        j_p = np.concatenate([-n_b, _cross(n_b, x_rel)], axis=1)
        je, re = j_e[keep], r_e[keep]
        a = w_p * j_p.T @ j_p + w_e * je.T @ je + 1e-9 * np.eye(6)
        step = np.linalg.solve(a, -w_p * j_p.T @ r_p + w_e * je.T @ re)
        if it == 0:  # drop edge outliers (a mis-detected transition) once, then re-solve from the same pose
            keep = np.abs(r_e - j_e @ step) < 3.0 * cfg.sigma_edge_px
            if keep.sum() < cfg.min_edge_samples:
                return base_T_cube, info
            je, re = j_e[keep], r_e[keep]
            a = w_p * j_p.T @ j_p + w_e * je.T @ je + 1e-9 * np.eye(6)
            step = np.linalg.solve(a, -w_p * j_p.T @ r_p + w_e * je.T @ re)
        pose = _perturbed(pose, step)
        cov = np.linalg.inv(a)
        yaw_axis = pose[:3, :3] @ np.array([0.0, 0.0, 1.0])  # about the cube's own up axis, in base
        info = SilhouetteInfo(int(keep.sum()), float(np.sqrt(np.mean((re - je @ step) ** 2))), True,
                              float(np.sqrt(np.linalg.eigvalsh(cov[:3, :3]).max())),
                              float(np.sqrt(yaw_axis @ cov[3:, 3:] @ yaw_axis)))
        if np.linalg.norm(step[:3]) < 2e-6 and np.linalg.norm(step[3:]) < 2e-5:
            break
    return pose, info


def _inv(t: F64) -> F64:
    out = np.eye(4)
    out[:3, :3] = t[:3, :3].T
    out[:3, 3] = -t[:3, :3].T @ t[:3, 3]
    return out
