"""Image-space pieces of the cube pipeline: red (HSV) mask, regions of interest, connected components."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from imgen_core.errors import check_range
from perception.camera_model import CameraIntrinsics, project


@dataclass(frozen=True)
class RedThresholds:
    """HSV window of the red cube: hue within ``±hue_deg`` of 0°, saturation and value (0..1) above minimums."""

    hue_deg: float = 20.0
    sat_min: float = 0.45
    val_min: float = 0.15

    def __post_init__(self) -> None:
        check_range("hue_deg", self.hue_deg, 1.0, 60.0)
        check_range("sat_min", self.sat_min, 0.0, 1.0)
        check_range("val_min", self.val_min, 0.0, 1.0)


def red_mask(rgb: NDArray[np.uint8], thr: RedThresholds = RedThresholds()) -> NDArray[np.bool_]:
    """``(H,W)`` mask of red pixels of an RGB image ``(H,W,3)`` (HSV test without a full HSV conversion).

    Red means: R is the largest channel, ``(max-min)/max >= sat_min``, ``max >= val_min*255`` and the hue
    ``60° * (G-B)/(max-min)`` lies within ``±hue_deg``.
    """
    c = rgb.astype(np.int16)
    r, g, b = c[..., 0], c[..., 1], c[..., 2]
    mn = np.minimum(g, b)
    chroma = r - mn
    ok = (r >= g) & (r >= b) & (r >= thr.val_min * 255.0) & (chroma >= thr.sat_min * r) & (chroma > 0)
    return ok & (60.0 * np.abs(g - b) <= thr.hue_deg * np.maximum(chroma, 1))


@dataclass(frozen=True)
class Roi:
    """Pixel rectangle ``[u0, u1) x [v0, v1)``."""

    u0: int
    v0: int
    u1: int
    v1: int

    @property
    def empty(self) -> bool:
        return self.u1 <= self.u0 or self.v1 <= self.v0

    @property
    def size(self) -> int:
        return max(0, self.u1 - self.u0) * max(0, self.v1 - self.v0)

    def slices(self) -> tuple[slice, slice]:
        return slice(self.v0, self.v1), slice(self.u0, self.u1)

    @classmethod
    def full(cls, intr: CameraIntrinsics) -> Roi:
        return cls(0, 0, intr.width, intr.height)


def roi_of_points(intr: CameraIntrinsics, points_cam: NDArray[np.float64], margin_px: int = 0) -> Roi:
    """Bounding pixel rectangle of camera-frame points ``(N,3)``, grown by ``margin_px`` and clipped to the image.

    Points at or behind the camera (z <= 1 cm) make the whole image the ROI (their projection is unbounded).
    """
    p = np.asarray(points_cam, dtype=np.float64)
    if len(p) == 0 or np.any(p[:, 2] <= 0.01):
        return Roi.full(intr)
    uv = project(intr, p)
    u0 = int(np.floor(uv[:, 0].min())) - margin_px
    v0 = int(np.floor(uv[:, 1].min())) - margin_px
    u1 = int(np.ceil(uv[:, 0].max())) + 1 + margin_px
    v1 = int(np.ceil(uv[:, 1].max())) + 1 + margin_px
    return Roi(max(0, u0), max(0, v0), min(intr.width, u1), min(intr.height, v1))


def box_corners(lo: NDArray[np.float64], hi: NDArray[np.float64]) -> NDArray[np.float64]:
    """The 8 corners ``(8,3)`` of an axis-aligned box."""
    return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])


def components(mask: NDArray[np.bool_], min_pixels: int) -> list[NDArray[np.bool_]]:
    """8-connected components of ``mask`` with at least ``min_pixels`` pixels, largest first."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if n == 0:
        return []
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[0] = 0
    order = [i for i in np.argsort(sizes)[::-1] if sizes[i] >= min_pixels]
    return [labels == i for i in order]
