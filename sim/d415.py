"""Simulated RealSense D415: colour + depth rendered by MuJoCo with D415 intrinsics and a D415-like noise model.

Works on any MuJoCo model: give it ``(model, camera_name)`` and the pose of the robot base in the MuJoCo world
(``world_T_base``); :meth:`SimD415.render` takes the ``MjData`` to draw (call ``mj_forward`` first).
:meth:`SimD415.push` sends the images through librealsense's software device
(:class:`perception.software_device.SoftwareD415`), so downstream code receives real ``rs.frameset`` s.

Choices (documented, all in :class:`D415Spec`):

* **Images**: 640x480 colour with depth rendered from the same viewpoint, i.e. already *aligned to colour* (what
  realsense-ros publishes on ``aligned_depth_to_color``); depth→colour extrinsics are identity. 640x480 is a native
  D415 colour mode; its vertical FOV is the D415 colour sensor's 42.5° (datasheet 69.4° x 42.5° at 16:9), square
  pixels (fx = fy ≈ 617 px), principal point at the image centre. The camera's ``fovy`` in the model is set to it.
* **Depth noise** (stereo): per-pixel RMS error ``sigma(z) = subpixel * z^2 / (f_px * baseline)`` with the D415's
  55 mm baseline, 0.08 subpixel and the focal length of its native 1280x720 depth mode (65° HFOV, ≈ 1005 px, the
  realsense-ros default profile) — ≈ 0.8 mm at 0.75 m; half of the variance is spatially correlated (smoothed
  over ~3 px, like the stereo matching window). Depth is quantised to the 1 mm depth unit (uint16).
* **Invalid pixels** (0): closer than ``min_range_m`` (0.3 m) or beyond ``max_range_m`` (3 m); at depth edges
  (a jump > ``edge_jump_m`` to a 4-neighbour) with probability ``edge_invalid_prob``; the stereo *occlusion
  shadow* (background pixels left of a nearer surface, width ``f*B*(1/z_bg - 1/z_fg)`` pixels); and random
  isolated drop-outs. Colour gets Gaussian noise (``color_noise_std`` grey levels). ``noise_bank > 0`` draws the
  noise fields once and reuses them at random shifts (same per-frame statistics, ~10x cheaper: the live twin uses it).
* **Frames**: MuJoCo cameras look along -z with y up; the optical frame ``camera_color_optical_frame`` is
  z forward, x right, y down: ``world_T_optical = world_T_mjcam @ diag(1, -1, -1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from imgen_core import se3
from imgen_core.errors import ConfigError, check_range
from perception.camera_model import CameraIntrinsics, RGBDFrame
from perception.software_device import SoftwareD415

MJCAM_T_OPTICAL = np.diag([1.0, -1.0, -1.0, 1.0])


@dataclass(frozen=True)
class D415Spec:
    """Sensor model of the simulated D415 (see the module docstring for the sources of each number)."""

    width: int = 640
    height: int = 480
    fps: int = 30
    vfov_deg: float = 42.5
    set_model_fovy: bool = True
    noise: bool = True
    baseline_m: float = 0.055
    subpixel: float = 0.08
    depth_focal_px: float = 1004.7
    correlated_fraction: float = 0.5
    min_range_m: float = 0.3
    max_range_m: float = 3.0
    edge_jump_m: float = 0.01
    edge_invalid_prob: float = 0.5
    shadow: bool = True
    dropout_prob: float = 0.002
    color_noise_std: float = 2.0
    depth_scale: float = 0.001
    noise_bank: int = 0  # >0: draw that many noise fields once and reuse them at random shifts (fast; see below)

    def __post_init__(self) -> None:
        check_range("vfov_deg", self.vfov_deg, 10.0, 120.0)
        check_range("edge_invalid_prob", self.edge_invalid_prob, 0.0, 1.0)
        check_range("dropout_prob", self.dropout_prob, 0.0, 1.0)
        check_range("correlated_fraction", self.correlated_fraction, 0.0, 1.0)
        check_range("noise_bank", self.noise_bank, 0, 64)
        if not 0 < self.min_range_m < self.max_range_m:
            raise ConfigError(f"need 0 < min_range_m ({self.min_range_m}) < max_range_m ({self.max_range_m})")

    def depth_sigma(self, z_m: NDArray[np.float64]) -> NDArray[np.float64]:
        """RMS depth error [m] at depth ``z_m`` [m] (∝ z²)."""
        return self.subpixel * np.square(z_m) / (self.depth_focal_px * self.baseline_m)


class SimD415:
    """Renders D415-like colour + depth from a MuJoCo camera.

    Args:
        model: the MuJoCo model (its offscreen buffer ``visual/global offwidth/offheight`` must fit the image).
        camera_name: the camera to render from.
        spec: sensor model.
        world_T_base: ``(4,4)`` pose of the robot base in the MuJoCo world (identity if the world is the base).
        seed: seed of the noise generator.
    """

    def __init__(self, model: mujoco.MjModel, camera_name: str, spec: D415Spec | None = None,
                 world_T_base: NDArray[np.float64] | None = None, seed: int = 0) -> None:
        self.model = model
        self.spec = spec or D415Spec()
        self.camera_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera_name)
        if self.camera_id < 0:
            names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, i) for i in range(model.ncam)]
            raise ConfigError(f"camera {camera_name!r} not in the model; cameras: {names}")
        if np.any(model.cam_sensorsize[self.camera_id] > 0):
            raise ConfigError(f"camera {camera_name!r} uses sensorsize/focal intrinsics; SimD415 needs a fovy camera")
        w, h = self.spec.width, self.spec.height
        if w > model.vis.global_.offwidth or h > model.vis.global_.offheight:
            raise ConfigError(f"{w}x{h} exceeds the model's offscreen buffer {model.vis.global_.offwidth}x"
                              f"{model.vis.global_.offheight}; set <visual><global offwidth= offheight=/>")
        if self.spec.set_model_fovy:
            model.cam_fovy[self.camera_id] = self.spec.vfov_deg
        self.intrinsics = CameraIntrinsics.from_fovy(w, h, float(model.cam_fovy[self.camera_id]))
        self.world_T_base = np.eye(4) if world_T_base is None else np.asarray(world_T_base, dtype=np.float64)
        self.rng = np.random.default_rng(seed)
        self._bank = _NoiseBank(self.spec, (h, w), self.rng) if self.spec.noise and self.spec.noise_bank else None
        self._renderer = mujoco.Renderer(model, h, w)
        self._device: SoftwareD415 | None = None

    def close(self) -> None:
        if self._device is not None:
            self._device.stop()
        self._renderer.close()

    # ------------------------------------------------------------------ geometry
    def base_T_camera(self, data: mujoco.MjData) -> NDArray[np.float64]:
        """Exact ``base_T_camera_color_optical_frame`` ``(4,4)`` for the current ``data``."""
        world_T_mjcam = se3.make_pose(data.cam_xpos[self.camera_id], data.cam_xmat[self.camera_id].reshape(3, 3))
        return se3.pose_inv(self.world_T_base) @ world_T_mjcam @ MJCAM_T_OPTICAL

    # ------------------------------------------------------------------ rendering
    def render_clean(self, data: mujoco.MjData) -> tuple[NDArray[np.uint8], NDArray[np.float64]]:
        """Noise-free colour ``(H,W,3)`` uint8 and planar depth ``(H,W)`` [m] (0 where nothing was hit)."""
        r = self._renderer
        r.disable_depth_rendering()
        r.update_scene(data, self.camera_id)
        color = r.render().copy()
        r.enable_depth_rendering()
        r.update_scene(data, self.camera_id)
        depth = r.render().astype(np.float64)
        r.disable_depth_rendering()
        far = self.model.stat.extent * self.model.vis.map.zfar
        depth[depth >= 0.999 * far] = 0.0
        return color, depth

    def render(self, data: mujoco.MjData) -> tuple[NDArray[np.uint8], NDArray[np.uint16]]:
        """Colour ``(H,W,3)`` uint8 RGB and depth ``(H,W)`` uint16 [depth units, 0 = invalid], noise applied."""
        color, depth = self.render_clean(data)
        if self.spec.noise:
            color, depth = self.apply_noise(color, depth)
        depth_units = np.round(depth / self.spec.depth_scale)
        return color, np.clip(depth_units, 0, 65535).astype(np.uint16)

    def render_frame(self, data: mujoco.MjData, timestamp_ms: float = 0.0) -> RGBDFrame:
        """One :class:`RGBDFrame` straight from the renderer (no librealsense round trip)."""
        color, depth = self.render(data)
        return RGBDFrame(color, depth, self.spec.depth_scale, self.intrinsics, timestamp_ms)

    def apply_noise(self, color: NDArray[np.uint8], depth: NDArray[np.float64]
                    ) -> tuple[NDArray[np.uint8], NDArray[np.float64]]:
        """The D415 noise model on clean images (depth [m] in, depth [m] out, 0 = invalid)."""
        s, rng, bank = self.spec, self.rng, self._bank
        z = depth.copy()
        if bank is not None:
            white = bank.depth_field(rng)
        else:
            white = rng.standard_normal(z.shape)
            if s.correlated_fraction > 0:
                white = _mix_correlated(white, rng.standard_normal(z.shape), s.correlated_fraction)
        z = z + s.depth_sigma(z) * white
        valid = (depth > 0) & (z >= s.min_range_m) & (z <= s.max_range_m)  # range limits act on the measurement
        edge = _depth_edges(depth, s.edge_jump_m)
        u1 = bank.uniform_field(rng) if bank is not None else rng.random(z.shape)
        invalid = ~valid | (edge & (u1 < s.edge_invalid_prob))
        if s.shadow:
            invalid |= _stereo_shadow(depth, self.intrinsics.fx, s.baseline_m, s.edge_jump_m)
        u2 = bank.uniform_field(rng) if bank is not None else rng.random(z.shape)
        invalid |= u2 < s.dropout_prob
        z[invalid] = 0.0
        if bank is not None:
            c = color.astype(np.float32) + bank.color_field(rng)
        else:
            c = color.astype(np.float64) + rng.normal(0.0, s.color_noise_std, color.shape)
        return np.clip(np.round(c), 0, 255).astype(np.uint8), z

    # ------------------------------------------------------------------ librealsense
    def software_device(self, record_to: str | None = None) -> SoftwareD415:
        """The librealsense software device this camera pushes into (created on first use)."""
        if self._device is None:
            self._device = SoftwareD415(self.intrinsics, depth_scale=self.spec.depth_scale, fps=self.spec.fps,
                                        record_to=record_to, serial="SIM-D415")
        return self._device

    def push(self, data: mujoco.MjData, timestamp_ms: float | None = None) -> int:
        """Render and inject one frame into :meth:`software_device` (started on demand); returns its number."""
        dev = self.software_device().start()
        color, depth = self.render(data)
        return dev.push(color, depth, timestamp_ms)


def _mix_correlated(white: NDArray[np.float64], white2: NDArray[np.float64], fraction: float) -> NDArray[np.float64]:
    """Unit-variance depth noise: ``fraction`` of its variance spatially correlated (``white2`` smoothed)."""
    smooth = ndimage.gaussian_filter(white2, 1.5)
    smooth /= max(float(smooth.std()), 1e-12)
    return np.sqrt(1 - fraction) * white + np.sqrt(fraction) * smooth


class _NoiseBank:
    """Noise fields drawn once and reused at a random field and a random circular shift per frame.

    Per frame, each field has the same distribution as a fresh draw (the shift only moves where a sample lands),
    at a fraction of the cost: drawing and smoothing 640x480 fields every frame costs more than rendering it
    (89 vs 37 ms here), which starved the rehearsal graph on 2 cores. Frames are no longer independent
    (shifted copies of ``n`` fields), which no consumer of a single frame can tell.
    """

    def __init__(self, spec: D415Spec, shape: tuple[int, int], rng: np.random.Generator) -> None:
        n = spec.noise_bank
        self.shape = shape
        self.depth = np.stack([_mix_correlated(rng.standard_normal(shape), rng.standard_normal(shape),
                                               spec.correlated_fraction) for _ in range(n)]).astype(np.float32)
        self.uniform = rng.random((n, *shape), dtype=np.float32)
        self.color = (spec.color_noise_std * rng.standard_normal((n, *shape, 3))).astype(np.float32)

    def _pick(self, bank: NDArray, rng: np.random.Generator) -> NDArray:
        i = int(rng.integers(len(bank)))
        dy, dx = int(rng.integers(self.shape[0])), int(rng.integers(self.shape[1]))
        return np.roll(bank[i], (dy, dx), axis=(0, 1))

    def depth_field(self, rng: np.random.Generator) -> NDArray:
        return self._pick(self.depth, rng)

    def uniform_field(self, rng: np.random.Generator) -> NDArray:
        return self._pick(self.uniform, rng)

    def color_field(self, rng: np.random.Generator) -> NDArray:
        return self._pick(self.color, rng)


def _depth_edges(z: NDArray[np.float64], jump: float) -> NDArray[np.bool_]:
    """Pixels with a 4-neighbour whose depth differs by more than ``jump`` (both sides of the edge)."""
    e = np.zeros(z.shape, bool)
    dv = np.abs(np.diff(z, axis=0)) > jump
    du = np.abs(np.diff(z, axis=1)) > jump
    e[:-1] |= dv
    e[1:] |= dv
    e[:, :-1] |= du
    e[:, 1:] |= du
    return e


def _stereo_shadow(z: NDArray[np.float64], fx: float, baseline: float, jump: float,
                   max_px: int = 12) -> NDArray[np.bool_]:
    """Background pixels the second imager cannot see: left of a nearer surface, ``fx*B*(1/z_bg-1/z_fg)`` wide."""
    shadow = np.zeros(z.shape, bool)
    zz = np.where(z > 0, z, np.inf).astype(np.float32)
    inv = (fx * baseline) / np.maximum(zz, np.float32(1e-6))  # fx*B/z [px] (0 where nothing was hit)
    # only columns next to a depth step toward the camera can be shadowed: skip the rest of each shift's work
    rows = np.flatnonzero(np.any(zz[:, 1:] < zz[:, :-1] - jump, axis=1))
    if rows.size == 0:
        return shadow
    zr, ir = zz[rows], inv[rows]
    out = np.zeros((rows.size, z.shape[1]), bool)
    for s in range(1, max_px + 1):
        # the pixel s columns to the right (fg) against this one (bg): shadow width fx*B*(1/z_fg - 1/z_bg)
        out[:, :-s] |= (zr[:, s:] < zr[:, :-s] - jump) & (ir[:, s:] - ir[:, :-s] >= s)
    shadow[rows] = out
    return shadow


# ---------------------------------------------------------------------- self-contained test scene
@dataclass(frozen=True)
class CubeSceneConfig:
    """A table (top at base z = 0), a red cube, optional red distractor and two gripper-finger boxes, a D415.

    The MuJoCo world frame *is* the robot base frame here (``world_T_base`` = identity). The default camera sits
    0.82 m from the Block Grasp workspace centre (x 0.55, y 0), in front of and above it, looking down at ~40°.
    """

    cube_size_m: float = 0.05
    cube_rgba: tuple[float, float, float, float] = (0.85, 0.08, 0.08, 1.0)
    camera_eye: tuple[float, float, float] = (1.10, 0.30, 0.55)
    camera_target: tuple[float, float, float] = (0.55, 0.0, 0.02)
    distractor: str | None = "cube"  # None | "cube" (same size as the cube) | "cylinder"
    fingers: bool = True
    offscreen: tuple[int, int] = (1280, 720)


FINGER_HALF = (0.0105, 0.0045, 0.026)  # [m] half sizes of one Franka-like finger pad box
HIDDEN_POS = (5.0, 5.0, -2.0)  # far outside any camera view


def look_at_xyaxes(eye: NDArray, target: NDArray, up: NDArray | None = None) -> NDArray[np.float64]:
    """MuJoCo camera ``xyaxes`` (x right, y up, looking along -z) for a camera at ``eye`` aimed at ``target``."""
    f = np.asarray(target, float) - np.asarray(eye, float)
    f /= np.linalg.norm(f)
    x = np.cross(f, np.array([0.0, 0.0, 1.0]) if up is None else np.asarray(up, float))
    x /= np.linalg.norm(x)
    y = np.cross(-f, x)
    return np.concatenate([x, y])


class CubeScene:
    """Builds and poses the test scene; all poses are in the base (= world) frame."""

    CAMERA = "d415"

    def __init__(self, config: CubeSceneConfig | None = None) -> None:
        self.config = config or CubeSceneConfig()
        self.model = mujoco.MjModel.from_xml_string(self._xml())
        self.data = mujoco.MjData(self.model)
        self._cube_qpos = self.model.jnt_qposadr[mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT, "cube")]
        self._mocap = {name: self.model.body_mocapid[mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, name)]
                       for name in ("distractor", "finger_left", "finger_right")
                       if mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, name) >= 0}
        mujoco.mj_forward(self.model, self.data)

    def _xml(self) -> str:
        c = self.config
        h = c.cube_size_m / 2
        xy = " ".join(f"{v:.6f}" for v in look_at_xyaxes(np.array(c.camera_eye), np.array(c.camera_target)))
        rgba = " ".join(map(str, c.cube_rgba))
        hid = " ".join(map(str, HIDDEN_POS))
        bodies = [f'<body name="cube" pos="0.55 0 {h}"><freejoint name="cube"/>'
                  f'<geom name="cube" type="box" size="{h} {h} {h}" rgba="{rgba}"/></body>']
        if c.distractor == "cube":
            bodies.append(f'<body name="distractor" mocap="true" pos="{hid}"><geom type="box" size="{h} {h} {h}" '
                          f'rgba="{rgba}" contype="0" conaffinity="0"/></body>')
        elif c.distractor == "cylinder":
            bodies.append(f'<body name="distractor" mocap="true" pos="{hid}"><geom type="cylinder" '
                          f'size="0.03 0.04" rgba="{rgba}" contype="0" conaffinity="0"/></body>')
        elif c.distractor is not None:
            raise ConfigError(f"distractor={c.distractor!r}; choose None, 'cube' or 'cylinder'")
        if c.fingers:
            fh = " ".join(map(str, FINGER_HALF))
            for name in ("finger_left", "finger_right"):
                bodies.append(f'<body name="{name}" mocap="true" pos="{hid}"><geom type="box" size="{fh}" '
                              f'rgba="0.72 0.72 0.74 1" contype="0" conaffinity="0"/></body>')
        eye = " ".join(map(str, c.camera_eye))
        return f"""<mujoco model="imgen_d415_test_scene">
  <visual><global offwidth="{c.offscreen[0]}" offheight="{c.offscreen[1]}"/>
    <headlight ambient="0.35 0.35 0.35" diffuse="0.45 0.45 0.45" specular="0 0 0"/></visual>
  <worldbody>
    <light pos="0.6 0.2 2.0" dir="0 0 -1" diffuse="0.55 0.55 0.55" castshadow="false"/>
    <geom name="floor" type="plane" size="3 3 0.1" pos="0 0 -0.75" rgba="0.35 0.36 0.38 1"/>
    <geom name="table" type="box" pos="0.45 0 -0.02" size="0.6 0.7 0.02" rgba="0.62 0.58 0.52 1"/>
    {''.join(bodies)}
    <camera name="{self.CAMERA}" pos="{eye}" xyaxes="{xy}" fovy="42.5"/>
  </worldbody>
</mujoco>"""

    # ------------------------------------------------------------------ posing
    def set_cube_pose(self, base_T_cube: NDArray[np.float64]) -> None:
        pos, quat = se3.pose_to_pos_quat(base_T_cube)
        a = self._cube_qpos
        self.data.qpos[a:a + 3] = pos
        self.data.qpos[a + 3:a + 7] = se3.quat_xyzw_to_wxyz(quat)
        mujoco.mj_forward(self.model, self.data)

    def cube_pose(self) -> NDArray[np.float64]:
        """True ``base_T_cube`` ``(4,4)``."""
        a = self._cube_qpos
        return se3.pos_quat_to_pose(self.data.qpos[a:a + 3], se3.quat_wxyz_to_xyzw(self.data.qpos[a + 3:a + 7]))

    def place_cube(self, x: float, y: float, yaw_rad: float) -> NDArray[np.float64]:
        """Cube resting on the table at ``(x, y)`` with yaw; returns its pose."""
        c, s = np.cos(yaw_rad), np.sin(yaw_rad)
        pose = se3.make_pose([x, y, self.config.cube_size_m / 2], [[c, -s, 0], [s, c, 0], [0, 0, 1]])
        self.set_cube_pose(pose)
        return pose

    def hide_cube(self) -> None:
        self.set_cube_pose(se3.make_pose(np.array(HIDDEN_POS), np.eye(3)))

    def _set_mocap(self, name: str, pos: NDArray | tuple, yaw_rad: float = 0.0) -> None:
        if name not in self._mocap:
            raise ConfigError(f"the scene has no {name!r} (CubeSceneConfig enables it)")
        i = self._mocap[name]
        self.data.mocap_pos[i] = pos
        self.data.mocap_quat[i] = [np.cos(yaw_rad / 2), 0.0, 0.0, np.sin(yaw_rad / 2)]

    def set_distractor(self, pos: tuple[float, float, float] | None) -> None:
        """Put the red distractor at ``pos`` (base frame, its centre) or hide it (None)."""
        self._set_mocap("distractor", HIDDEN_POS if pos is None else pos)
        mujoco.mj_forward(self.model, self.data)

    def set_fingers(self, center: tuple[float, float, float] | None, yaw_rad: float = 0.0,
                    opening_m: float = 0.07) -> None:
        """Two finger boxes whose inner faces are ``opening_m`` apart along the rotated y axis, or hide (None)."""
        if center is None:
            self._set_mocap("finger_left", HIDDEN_POS)
            self._set_mocap("finger_right", HIDDEN_POS)
        else:
            off = opening_m / 2 + FINGER_HALF[1]
            d = np.array([-np.sin(yaw_rad), np.cos(yaw_rad), 0.0]) * off
            self._set_mocap("finger_left", np.asarray(center) + d, yaw_rad)
            self._set_mocap("finger_right", np.asarray(center) - d, yaw_rad)
        mujoco.mj_forward(self.model, self.data)
