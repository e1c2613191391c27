"""Pinhole camera model and the RGB-D frame type shared by capture, the sim D415 and the estimator.

Pixel convention (librealsense's): integer pixel coordinates are pixel *centres*; ``u`` is the column,
``v`` the row. The optical frame is ``camera_color_optical_frame``: z forward, x right, y down [m].
Only the distortion-free models (``none`` / ``brown_conrady`` with zero coefficients, as the D415 colour
stream reports) are supported by the vectorised back-projection; anything else is refused, never ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from imgen_core.errors import ConfigError

OPTICAL_FRAME = "camera_color_optical_frame"
BASE_FRAME = "base"


@dataclass(frozen=True)
class CameraIntrinsics:
    """Intrinsics of one image stream [pixels]; ``coeffs`` are the five librealsense distortion coefficients."""

    width: int
    height: int
    fx: float
    fy: float
    ppx: float
    ppy: float
    model: str = "brown_conrady"
    coeffs: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ConfigError(f"image size {self.width}x{self.height} must be positive")
        if not (self.fx > 0 and self.fy > 0):
            raise ConfigError(f"focal lengths fx={self.fx}, fy={self.fy} must be > 0 pixels")

    @property
    def is_distortion_free(self) -> bool:
        return self.model == "none" or not np.any(np.asarray(self.coeffs, dtype=float))

    def matrix(self) -> NDArray[np.float64]:
        """3x3 camera matrix K."""
        return np.array([[self.fx, 0.0, self.ppx], [0.0, self.fy, self.ppy], [0.0, 0.0, 1.0]])

    def scaled(self, factor: float) -> CameraIntrinsics:
        """Intrinsics of the image resized by ``factor`` (pixel-centre convention kept)."""
        return CameraIntrinsics(int(round(self.width * factor)), int(round(self.height * factor)),
                                self.fx * factor, self.fy * factor, (self.ppx + 0.5) * factor - 0.5,
                                (self.ppy + 0.5) * factor - 0.5, self.model, self.coeffs)

    @classmethod
    def from_fovy(cls, width: int, height: int, fovy_deg: float) -> CameraIntrinsics:
        """Square pixels, principal point at the image centre, vertical field of view ``fovy_deg``."""
        f = (height / 2.0) / np.tan(np.deg2rad(fovy_deg) / 2.0)
        return cls(width, height, f, f, (width - 1) / 2.0, (height - 1) / 2.0)

    @classmethod
    def from_rs(cls, intr: object) -> CameraIntrinsics:
        """From a ``pyrealsense2.intrinsics`` (taken from the stream profile / frame, never hard-coded)."""
        model = str(intr.model).split(".")[-1]  # type: ignore[attr-defined]
        return cls(int(intr.width), int(intr.height), float(intr.fx), float(intr.fy),  # type: ignore[attr-defined]
                   float(intr.ppx), float(intr.ppy), model,  # type: ignore[attr-defined]
                   tuple(float(c) for c in intr.coeffs))  # type: ignore[attr-defined]

    def to_rs(self) -> object:
        """A ``pyrealsense2.intrinsics`` with the same values."""
        import pyrealsense2 as rs

        intr = rs.intrinsics()
        intr.width, intr.height = self.width, self.height
        intr.fx, intr.fy, intr.ppx, intr.ppy = self.fx, self.fy, self.ppx, self.ppy
        intr.model = getattr(rs.distortion, self.model)
        intr.coeffs = list(self.coeffs)
        return intr

    def camera_info(self) -> dict:
        """``sensor_msgs/CameraInfo`` fields as realsense-ros fills them (``plumb_bob``, K, D, R, P row-major)."""
        k = self.matrix()
        return {"width": self.width, "height": self.height, "distortion_model": "plumb_bob",
                "d": [float(c) for c in self.coeffs], "k": [float(x) for x in k.ravel()],
                "r": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
                "p": [float(x) for x in np.c_[k, np.zeros(3)].ravel()]}

    def to_dict(self) -> dict:
        return {"width": self.width, "height": self.height, "fx": self.fx, "fy": self.fy, "ppx": self.ppx,
                "ppy": self.ppy, "model": self.model, "coeffs": list(self.coeffs)}


def project(intr: CameraIntrinsics, points_cam: NDArray[np.float64]) -> NDArray[np.float64]:
    """Camera-frame points ``(N,3)`` [m] → pixel coordinates ``(N,2)`` (u, v); z must be > 0."""
    p = np.asarray(points_cam, dtype=np.float64)
    z = p[:, 2]
    return np.stack([p[:, 0] / z * intr.fx + intr.ppx, p[:, 1] / z * intr.fy + intr.ppy], axis=1)


def backproject(intr: CameraIntrinsics, u: NDArray, v: NDArray, z_m: NDArray) -> NDArray[np.float64]:
    """Pixels ``u, v`` (any shape, broadcast) with depths ``z_m`` [m] → camera-frame points ``(..., 3)``."""
    if not intr.is_distortion_free:
        raise ConfigError(f"back-projection supports distortion-free streams only; got model {intr.model} "
                          f"with coeffs {intr.coeffs} (D415 colour/aligned depth reports zero coefficients)")
    z = np.asarray(z_m, dtype=np.float64)
    x = (np.asarray(u, dtype=np.float64) - intr.ppx) / intr.fx * z
    y = (np.asarray(v, dtype=np.float64) - intr.ppy) / intr.fy * z
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def pixel_rays(intr: CameraIntrinsics, u: NDArray, v: NDArray) -> NDArray[np.float64]:
    """Ray directions with z = 1 ``(..., 3)`` through pixels ``u, v`` (camera frame)."""
    return backproject(intr, u, v, np.ones(np.broadcast(np.asarray(u), np.asarray(v)).shape))


@dataclass
class RGBDFrame:
    """One colour frame and the depth aligned to it (same size, same intrinsics).

    Attributes:
        color: ``(H,W,3)`` uint8, RGB.
        depth: ``(H,W)`` uint16 raw depth units (0 = invalid); metres = ``depth * depth_scale``.
        depth_scale: metres per depth unit (read from the device / recording, 0.001 on the D415).
        intrinsics: intrinsics of both images (the colour stream's, depth being aligned to colour).
        timestamp_ms: frame timestamp [ms] (librealsense's, in its timestamp domain).
        frame_number: frame counter of the depth stream.
    """

    color: NDArray[np.uint8]
    depth: NDArray[np.uint16]
    depth_scale: float
    intrinsics: CameraIntrinsics
    timestamp_ms: float = 0.0
    frame_number: int = 0
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        h, w = self.depth.shape
        if self.color.shape != (h, w, 3):
            raise ConfigError(f"colour {self.color.shape} and depth {self.depth.shape} must be aligned (H,W,3)/(H,W)")
        if (w, h) != (self.intrinsics.width, self.intrinsics.height):
            raise ConfigError(f"intrinsics are for {self.intrinsics.width}x{self.intrinsics.height}, "
                              f"images are {w}x{h}")
        if not self.depth_scale > 0:
            raise ConfigError(f"depth_scale={self.depth_scale} must be > 0 m/unit")

    def depth_m(self) -> NDArray[np.float64]:
        """Depth in metres ``(H,W)`` (0 where invalid)."""
        return self.depth.astype(np.float64) * self.depth_scale
