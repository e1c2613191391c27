"""Pure math of the FR3 controller: action ↔ target, FR3 kinematics, the sim-matched response model, limits.

The action contract (DESIGN §4) is robosuite's ``OSC_POSE`` with delta input in the robot base frame:
``a[:3] * 0.05`` m and ``a[3:6] * 0.5`` rad (axis-angle) per 20 Hz step, each component clipped to [-1, 1], and a
gripper command ``a[6]`` (< 0 open, > 0 close, 0 keep). robosuite sets the OSC goal from the *current* pose of its
eef site and then lets a critically damped operational-space controller (kp = 150) pull the arm for one control
period, so the arm covers only part of each delta per step (DESIGN §6). :class:`SimMatchedModel` reproduces that
closed-loop response: per base-frame axis the controlled point (robosuite's eef site, rigidly attached to our TCP)
obeys ``x'' = omega^2 * (x_goal - x) - 2 * zeta * omega * x'`` during a period, with the goal re-set to
"current + delta" at every action. ``omega`` and ``zeta`` are fitted to recorded robosuite responses
(:func:`fit_response`; the real controller loads them with :meth:`ResponseParams.load`) and the real arm is
commanded to the model's state, so the FR3 moves as the sim arm does.

Everything here is NumPy/SciPy only: no franky, MuJoCo or robosuite import.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import expm
from scipy.spatial.transform import Rotation

from imgen_core import frames, se3
from imgen_core.errors import ConfigError, SafetyError, check_range

F64 = NDArray[np.float64]

CONTROL_PERIOD_S = 0.05  # [s] 20 Hz, the sim's control_freq
POS_SCALE = 0.05  # [m] OSC_POSE output_max, position part
ROT_SCALE = 0.5  # [rad] OSC_POSE output_max, rotation part
ACTION_DIM = 7
AXES = ("x", "y", "z", "rx", "ry", "rz")

# robosuite's Panda home (``init_qpos``); the FR3 has the same kinematics, so the same TCP pose.
PANDA_HOME_Q = (0.0, math.pi / 16, 0.0, -math.pi / 2 - math.pi / 3, 0.0, math.pi - 0.2, math.pi / 4)

# Franka kinematics (modified DH, Craig): (a_{i-1}, d_i, alpha_{i-1}) for joints 1..7, then the flange (link8).
FR3_DH = ((0.0, 0.333, 0.0), (0.0, 0.0, -math.pi / 2), (0.0, 0.316, math.pi / 2), (0.0825, 0.0, math.pi / 2),
          (-0.0825, 0.384, -math.pi / 2), (0.0, 0.0, math.pi / 2), (0.088, 0.0, math.pi / 2))
FR3_FLANGE_D = 0.107  # [m] link7 → flange (link8) along link7 z


# ---------------------------------------------------------------------------------------------- actions
def validate_action(action: ArrayLike) -> F64:
    """Check a 7-D action and clip it component-wise to [-1, 1] as robosuite does.

    Raises:
        SafetyError: wrong shape, or any NaN/inf component (the caller must hold the arm).
    """
    try:
        a = np.asarray(action, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise SafetyError(f"action {action!r} is not numeric; expected {ACTION_DIM} floats in [-1, 1]") from exc
    if a.shape != (ACTION_DIM,):
        raise SafetyError(f"action has {a.size} components; expected {ACTION_DIM} "
                          "([dx, dy, dz, drx, dry, drz] in [-1, 1] and a gripper command)")
    if not np.all(np.isfinite(a)):
        bad = [i for i in range(ACTION_DIM) if not np.isfinite(a[i])]
        raise SafetyError(f"action components {bad} are NaN/inf ({a.tolist()}); refused, the arm holds")
    return np.clip(a, -1.0, 1.0)


def action_to_delta(action: ArrayLike) -> tuple[F64, F64, float]:
    """Validated action → ``dpos (3,)`` [m], ``drot (3,)`` [rad, axis-angle, base frame], gripper command."""
    a = validate_action(action)
    return a[:3] * POS_SCALE, a[3:6] * ROT_SCALE, float(a[6])


def delta_to_action(dpos: ArrayLike, drot: ArrayLike, gripper: float) -> F64:
    """Inverse of :func:`action_to_delta` (clipped to the action range)."""
    out = np.empty(ACTION_DIM)
    out[:3] = np.asarray(dpos, dtype=np.float64) / POS_SCALE
    out[3:6] = np.asarray(drot, dtype=np.float64) / ROT_SCALE
    out[6] = gripper
    return np.clip(out, -1.0, 1.0)


def gripper_command(value: float) -> str | None:
    """robosuite's GRIP semantics: ``'close'`` if > 0, ``'open'`` if < 0, ``None`` (keep) if exactly 0."""
    return "close" if value > 0 else "open" if value < 0 else None


# ---------------------------------------------------------------------------------------------- kinematics
def _mdh(a: float, d: float, alpha: float, theta: float) -> F64:
    ca, sa, ct, st = math.cos(alpha), math.sin(alpha), math.cos(theta), math.sin(theta)
    return np.array([[ct, -st, 0.0, a], [st * ca, ct * ca, -sa, -d * sa], [st * sa, ct * sa, ca, d * ca],
                     [0.0, 0.0, 0.0, 1.0]])


def fr3_base_T_flange(q: ArrayLike) -> F64:
    """Flange (link8) pose ``(4,4)`` in the base frame for joint positions ``q (7,)`` [rad] (FR3 = Panda DH)."""
    qq = np.asarray(q, dtype=np.float64).reshape(7)
    out = np.eye(4)
    for (a, d, alpha), th in zip(FR3_DH, qq, strict=True):
        out = out @ _mdh(a, d, alpha, float(th))
    out[:3, 3] += out[:3, 2] * FR3_FLANGE_D
    return out


def fr3_base_T_tcp(q: ArrayLike) -> F64:
    """TCP pose ``(4,4)`` in the base frame (``imgen_core.frames``) for joint positions ``q (7,)``."""
    return fr3_base_T_flange(q) @ frames.FLANGE_T_TCP


# ---------------------------------------------------------------------------------------------- response model
def _axis_transition(omega: float, zeta: float, h: float) -> tuple[float, float, float, float]:
    """``(a, b, c, d)`` of one axis over ``h`` [s]: ``x(h) = a v + b u``, ``x'(h) = c v + d u`` from ``x(0) = 0``."""
    k = omega ** 2
    m = np.array([[0.0, 1.0, 0.0], [-k, -2.0 * zeta * omega, k], [0.0, 0.0, 0.0]])
    e = expm(m * h)
    return float(e[0, 1]), float(e[0, 2]), float(e[1, 1]), float(e[1, 2])


def _vec6(name: str, v: ArrayLike, lo: float, hi: float) -> tuple[float, ...]:
    arr = np.asarray(v, dtype=np.float64).reshape(-1)
    if arr.shape == (1,):
        arr = np.repeat(arr, 6)
    if arr.shape != (6,):
        raise ConfigError(f"{name} needs 6 values (x, y, z, rx, ry, rz); got {arr.size}")
    for ax, x in zip(AXES, arr, strict=True):
        check_range(f"{name}[{ax}]", float(x), lo, hi)
    return tuple(float(x) for x in arr)


@dataclass(frozen=True)
class ResponseParams:
    """Per-axis closed-loop response of robosuite's OSC at one action per ``period_s`` (see the module doc).

    Attributes:
        omega: natural frequency per axis ``(x, y, z, rx, ry, rz)`` [rad/s].
        zeta: damping ratio per axis.
        period_s: control period the model advances per action [s].
        tcp_T_site: robosuite's eef site (the OSC's controlled point) in the TCP frame, ``(4,4)``.
        meta: provenance (how, when and on what it was fitted; residuals).
    """

    omega: tuple[float, ...]
    zeta: tuple[float, ...]
    period_s: float = CONTROL_PERIOD_S
    tcp_T_site: tuple[tuple[float, ...], ...] = tuple(tuple(r) for r in np.eye(4))
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "omega", _vec6("omega", self.omega, 0.1, 500.0))
        object.__setattr__(self, "zeta", _vec6("zeta", self.zeta, 0.05, 20.0))
        check_range("period_s", self.period_s, 1e-3, 1.0)
        t = np.asarray(self.tcp_T_site, dtype=np.float64)
        if not se3.is_pose(t, atol=1e-6):
            raise ConfigError("tcp_T_site must be a (4,4) rigid transform")
        if np.linalg.norm(t[:3, 3]) > 0.1:
            raise ConfigError(f"tcp_T_site offset {np.linalg.norm(t[:3, 3]):.3f} m; valid is <= 0.1 m")
        object.__setattr__(self, "tcp_T_site", tuple(tuple(float(x) for x in r) for r in t))

    @classmethod
    def ideal_osc(cls, kp: float = 150.0, damping_ratio: float = 1.0, period_s: float = CONTROL_PERIOD_S,
                  tcp_T_site: ArrayLike | None = None) -> ResponseParams:
        """The textbook response of a perfectly decoupled OSC (no fit): ``omega = sqrt(kp)``."""
        t = np.eye(4) if tcp_T_site is None else np.asarray(tcp_T_site, dtype=np.float64)
        return cls(omega=(math.sqrt(kp),) * 6, zeta=(damping_ratio,) * 6, period_s=period_s,
                   tcp_T_site=tuple(tuple(r) for r in t), meta={"source": f"ideal OSC kp={kp} zeta={damping_ratio}"})

    @property
    def tcp_T_site_mat(self) -> F64:
        return np.array(self.tcp_T_site, dtype=np.float64)

    def transitions(self, dt: float | None = None) -> tuple[F64, F64, F64, F64]:
        """Exact discretisation over ``dt`` (default: one period) per axis, each ``(6,)``.

        From rest-relative start ``x(0) = 0, x'(0) = v`` under a constant goal ``u``:
        ``x(dt) = a * v + b * u`` and ``x'(dt) = c * v + d * u``.
        """
        h = self.period_s if dt is None else float(dt)
        out = np.array([_axis_transition(self.omega[i], self.zeta[i], h) for i in range(6)]).T
        return out[0], out[1], out[2], out[3]

    def coast_factor(self) -> F64:
        """Total extra displacement per unit of current velocity if no further action (zero deltas) arrives, (6,).

        With zero input the arm keeps being pulled toward "where it is" each period: it coasts ``a / (1 - c)``.
        """
        a, _, c, _ = self.transitions()
        return a / np.maximum(1.0 - c, 1e-6)

    def to_dict(self) -> dict[str, Any]:
        return {"format": "imgen.osc_response/1", "axes": list(AXES), "omega": list(self.omega),
                "zeta": list(self.zeta), "period_s": self.period_s,
                "tcp_T_site": [list(r) for r in self.tcp_T_site], "meta": self.meta}

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "<dict>") -> ResponseParams:
        if d.get("format") != "imgen.osc_response/1":
            raise ConfigError(f"{source}: format {d.get('format')!r}; expected 'imgen.osc_response/1'")
        try:
            return cls(omega=tuple(d["omega"]), zeta=tuple(d["zeta"]), period_s=float(d["period_s"]),
                       tcp_T_site=tuple(tuple(r) for r in d["tcp_T_site"]), meta=dict(d.get("meta", {})))
        except KeyError as exc:
            raise ConfigError(f"{source}: missing key {exc} (needs omega, zeta, period_s, tcp_T_site)") from exc

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        tmp.replace(p)
        return p

    @classmethod
    def load(cls, path: str | Path) -> ResponseParams:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"response model file {p} does not exist (fit one with `imgen control fit-response`)")
        return cls.from_dict(json.loads(p.read_text()), str(p))


def _skew_cross(w: F64, r: F64) -> F64:
    return np.cross(w, r)


class SimMatchedModel:
    """The sim arm's closed-loop response to actions, as a state the real arm is commanded to follow.

    State: robosuite's eef site pose ``base_T_site (4,4)`` and its base-frame twist ``(6,)`` (linear velocity of
    the site origin [m/s], angular velocity [rad/s]). :meth:`step` applies one action's deltas exactly as robosuite
    does (goal = current site pose + delta, rotation left-multiplied) and advances one control period.
    """

    def __init__(self, params: ResponseParams, base_T_tcp: ArrayLike) -> None:
        self.params = params
        self._tcp_T_site = params.tcp_T_site_mat
        self._site_T_tcp = se3.pose_inv(self._tcp_T_site)
        self._abcd = params.transitions()
        self._coast = params.coast_factor()
        self.base_T_site = np.eye(4)
        self.twist = np.zeros(6)
        self.reset(base_T_tcp)

    def reset(self, base_T_tcp: ArrayLike, twist: ArrayLike | None = None) -> None:
        """Put the model at a (measured) TCP pose, at rest unless ``twist`` (site twist, (6,)) is given."""
        self.base_T_site = np.asarray(base_T_tcp, dtype=np.float64) @ self._tcp_T_site
        self.twist = np.zeros(6) if twist is None else np.asarray(twist, dtype=np.float64).copy()

    @property
    def base_T_tcp(self) -> F64:
        """Model TCP pose ``(4,4)``."""
        return self.base_T_site @ self._site_T_tcp

    def tcp_twist(self) -> F64:
        """Model TCP twist ``(6,)`` in the base frame (site linear velocity carried over the lever arm)."""
        r = self.base_T_tcp[:3, 3] - self.base_T_site[:3, 3]
        return np.concatenate([self.twist[:3] + _skew_cross(self.twist[3:], r), self.twist[3:]])

    def step(self, dpos: ArrayLike, drot: ArrayLike) -> None:
        """Advance one control period under the deltas ``dpos (3,)`` [m] and ``drot (3,)`` [rad] (base frame)."""
        a, b, c, d = self._abcd
        u = np.concatenate([np.asarray(dpos, dtype=np.float64), np.asarray(drot, dtype=np.float64)])
        disp = a * self.twist + b * u
        self.twist = c * self.twist + d * u
        self.base_T_site = se3.apply_delta(self.base_T_site, disp[:3], disp[3:])

    def apply_action(self, action: ArrayLike) -> None:
        """Advance one control period under a normalised 7-D action (validated, clipped; gripper ignored)."""
        dpos, drot, _ = action_to_delta(action)
        self.step(dpos, drot)

    def resync(self, q: ArrayLike, gripper_width: float | None = None) -> None:
        """Re-anchor the model at rest on the measured arm (joint positions ``q (7,)``)."""
        self.reset(fr3_base_T_tcp(q))

    def predict_tcp(self, dt: float) -> tuple[F64, F64]:
        """TCP pose ``(4,4)`` and twist ``(6,)`` after ``dt`` [s] of coasting (zero deltas, no state change)."""
        a, b, c, d = self.params.transitions(dt)
        disp = a * self.twist
        site = se3.apply_delta(self.base_T_site, disp[:3], disp[3:])
        tw = c * self.twist
        tcp = site @ self._site_T_tcp
        r = tcp[:3, 3] - site[:3, 3]
        return tcp, np.concatenate([tw[:3] + np.cross(tw[3:], r), tw[3:]])

    def rest_tcp(self) -> F64:
        """TCP pose ``(4,4)`` where the model comes to rest if no further action arrives (zero deltas)."""
        disp = self._coast * self.twist
        return se3.apply_delta(self.base_T_site, disp[:3], disp[3:]) @ self._site_T_tcp

    def lead_tcp(self, lead_s: float) -> F64:
        """TCP pose advanced by ``lead_s`` [s] along the current TCP twist (velocity feed-forward for a lagging arm)."""
        if lead_s <= 0.0:
            return self.base_T_tcp
        tw = self.tcp_twist()
        return se3.apply_delta(self.base_T_tcp, tw[:3] * lead_s, tw[3:] * lead_s)

    def set_tcp_pose(self, base_T_tcp: ArrayLike, keep_twist: bool = True) -> None:
        """Move the model's TCP to ``base_T_tcp`` (after a clamp), keeping or zeroing its twist."""
        self.base_T_site = np.asarray(base_T_tcp, dtype=np.float64) @ self._tcp_T_site
        if not keep_twist:
            self.twist = np.zeros(6)

    def constrain_to(self, measured_base_T_tcp: ArrayLike, max_pos_m: float, max_rot_rad: float) -> bool:
        """Anti-windup: pull the model back so it leads the measured TCP by at most the given error.

        robosuite's goal is relative to the *measured* pose, so a blocked sim arm does not wind up; neither may the
        model when the real arm is blocked (contact) or lags. Returns True if the model was moved.
        """
        meas = np.asarray(measured_base_T_tcp, dtype=np.float64)
        model = self.base_T_tcp
        dpos, drot = se3.delta_pose(meas, model)
        n_p, n_r = float(np.linalg.norm(dpos)), float(np.linalg.norm(drot))
        if n_p <= max_pos_m * (1 + 1e-9) and n_r <= max_rot_rad * (1 + 1e-9):
            return False
        sp = min(1.0, max_pos_m / n_p) if n_p > 0 else 1.0
        sr = min(1.0, max_rot_rad / n_r) if n_r > 0 else 1.0
        self.set_tcp_pose(se3.apply_delta(meas, dpos * sp, drot * sr), keep_twist=True)
        return True


def simulate_response(params: ResponseParams, base_T_tcp0: ArrayLike, actions: ArrayLike) -> F64:
    """Open-loop model TCP trajectory ``(N+1,4,4)`` for ``actions (N,7)`` from rest at ``base_T_tcp0``."""
    acts = np.asarray(actions, dtype=np.float64)
    model = SimMatchedModel(params, base_T_tcp0)
    out = [model.base_T_tcp]
    for a in acts:
        dpos, drot, _ = action_to_delta(a)
        model.step(dpos, drot)
        out.append(model.base_T_tcp)
    return np.stack(out)


# ---------------------------------------------------------------------------------------------- fitting
def _axis_increments(base_T_site: F64) -> F64:
    """Cumulative per-axis displacement ``(N+1,6)`` of a site trajectory ``(N+1,4,4)`` (position + summed rotvecs)."""
    dpos, drot = se3.delta_pose(base_T_site[:-1], base_T_site[1:])
    inc = np.concatenate([dpos, drot], axis=1)
    return np.concatenate([np.zeros((1, 6)), np.cumsum(inc, axis=0)], axis=0)


def _simulate_axis(abcd: tuple[float, float, float, float], u: F64) -> F64:
    a, b, c, d = abcd
    y = np.zeros(u.size + 1)
    v = 0.0
    for k, uk in enumerate(u):
        y[k + 1] = y[k] + a * v + b * uk
        v = c * v + d * uk
    return y


def fit_response(records: Sequence[tuple[ArrayLike, ArrayLike]], tcp_T_site: ArrayLike,
                 period_s: float = CONTROL_PERIOD_S, meta: dict[str, Any] | None = None) -> ResponseParams:
    """Fit ``omega, zeta`` per axis to recorded sim responses (open-loop simulation error, least squares).

    Args:
        records: ``(actions (N,7), base_T_site (N+1,4,4))`` pairs, each starting at rest.
        tcp_T_site: the site in the TCP frame (stored with the parameters).
        period_s: control period of the recordings [s].
        meta: provenance merged into the result's ``meta``.

    Returns:
        The fitted :class:`ResponseParams`; ``meta["rms_m"]`` / ``meta["rms_rad"]`` hold the per-axis residuals.
    """
    from scipy.optimize import least_squares

    seqs = []
    for actions, traj in records:
        acts = np.asarray(actions, dtype=np.float64)
        u = np.concatenate([np.clip(acts[:, :3], -1, 1) * POS_SCALE, np.clip(acts[:, 3:6], -1, 1) * ROT_SCALE], 1)
        seqs.append((u, _axis_increments(np.asarray(traj, dtype=np.float64))))
    omega, zeta, rms = [], [], []
    for i in range(6):
        def resid(theta: F64, i: int = i) -> F64:
            abcd = _axis_transition(float(theta[0]), float(theta[1]), period_s)
            return np.concatenate([_simulate_axis(abcd, u[:, i]) - y[:, i] for u, y in seqs])

        sol = least_squares(resid, x0=np.array([math.sqrt(150.0), 1.0]), bounds=([1.0, 0.1], [100.0, 10.0]),
                            x_scale=np.array([10.0, 1.0]), xtol=1e-12, ftol=1e-12, gtol=1e-12)
        omega.append(float(sol.x[0]))
        zeta.append(float(sol.x[1]))
        rms.append(float(np.sqrt(np.mean(sol.fun ** 2))))
    info = dict(meta or {})
    info.update({"rms_m": rms[:3], "rms_rad": rms[3:], "n_sequences": len(seqs),
                 "n_steps": int(sum(u.shape[0] for u, _ in seqs))})
    return ResponseParams(omega=tuple(omega), zeta=tuple(zeta), period_s=period_s,
                          tcp_T_site=tuple(tuple(r) for r in np.asarray(tcp_T_site, dtype=np.float64)), meta=info)


# ---------------------------------------------------------------------------------------------- limits
@dataclass(frozen=True)
class WorkspaceLimits:
    """Where the TCP may be commanded (base frame).

    Attributes:
        pos_min, pos_max: box corners [m].
        ref_rot: reference orientation ``(3,3)`` (top-down grasp by default).
        max_tilt_rad: max angle between the TCP z axis and the reference's z axis (swing).
        max_yaw_rad: max rotation about the reference's z axis (twist), either way.
    """

    pos_min: tuple[float, float, float] = (0.25, -0.40, -0.10)
    pos_max: tuple[float, float, float] = (0.85, 0.40, 0.45)
    ref_rot: tuple[tuple[float, ...], ...] = tuple(tuple(r) for r in frames.TOP_DOWN_ROT)
    max_tilt_rad: float = math.radians(45.0)
    max_yaw_rad: float = math.radians(100.0)

    def __post_init__(self) -> None:
        lo = np.asarray(self.pos_min, dtype=np.float64)
        hi = np.asarray(self.pos_max, dtype=np.float64)
        if lo.shape != (3,) or hi.shape != (3,) or not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise ConfigError("workspace pos_min/pos_max need 3 finite values each [m]")
        if np.any(hi - lo < 0.01):
            raise ConfigError(f"workspace box {lo.tolist()}..{hi.tolist()} is empty or < 1 cm on an axis; "
                              "valid: pos_max - pos_min >= 0.01 m per axis")
        if np.any(np.abs(lo) > 1.5) or np.any(np.abs(hi) > 1.5):
            raise ConfigError("workspace corners must lie within 1.5 m of the base (the FR3 reaches 0.855 m)")
        check_range("max_tilt_rad", self.max_tilt_rad, 0.0, math.pi)
        check_range("max_yaw_rad", self.max_yaw_rad, 0.0, math.pi)
        r = np.asarray(self.ref_rot, dtype=np.float64)
        if r.shape != (3, 3) or not np.allclose(r @ r.T, np.eye(3), atol=1e-6) or np.linalg.det(r) < 0:
            raise ConfigError("ref_rot must be a (3,3) rotation matrix")


def _swing_twist(rel: F64) -> tuple[Rotation, float]:
    """Split a relative rotation into swing (tilting the z axis) and twist (about z): ``rel = swing * twist``."""
    x, y, z, w = Rotation.from_matrix(rel).as_quat()
    n = math.hypot(z, w)
    twist = Rotation.from_quat([0.0, 0.0, z / n, w / n]) if n > 1e-12 else Rotation.identity()
    swing = Rotation.from_matrix(rel) * twist.inv()
    ang = float(twist.as_rotvec()[2])
    return swing, ang


def clamp_to_workspace(base_T_tcp: ArrayLike, limits: WorkspaceLimits) -> tuple[F64, list[str]]:
    """Clamp a TCP pose into the workspace box and orientation limits.

    Returns:
        The clamped pose ``(4,4)`` and the list of violated limits (``"x<min"``, ``"z>max"``, ``"tilt"``,
        ``"yaw"``); empty when the pose was inside.
    """
    pose = np.asarray(base_T_tcp, dtype=np.float64).copy()
    lo, hi = np.asarray(limits.pos_min), np.asarray(limits.pos_max)
    hits: list[str] = []
    for i, ax in enumerate("xyz"):
        if pose[i, 3] < lo[i]:
            hits.append(f"{ax}<min")
        elif pose[i, 3] > hi[i]:
            hits.append(f"{ax}>max")
    pose[:3, 3] = np.clip(pose[:3, 3], lo, hi)
    ref = np.asarray(limits.ref_rot, dtype=np.float64)
    swing, yaw = _swing_twist(ref.T @ pose[:3, :3])
    tilt = float(np.linalg.norm(swing.as_rotvec()))
    changed = False
    if tilt > limits.max_tilt_rad + 1e-9:
        swing = Rotation.from_rotvec(swing.as_rotvec() * (limits.max_tilt_rad / tilt))
        hits.append("tilt")
        changed = True
    if abs(yaw) > limits.max_yaw_rad + 1e-9:
        yaw = math.copysign(limits.max_yaw_rad, yaw)
        hits.append("yaw")
        changed = True
    if changed:
        pose[:3, :3] = ref @ (swing * Rotation.from_rotvec([0.0, 0.0, yaw])).as_matrix()
    return pose, hits


def outside_workspace_by(base_T_tcp: ArrayLike, limits: WorkspaceLimits) -> float:
    """How far [m] the TCP position lies outside the workspace box (0 inside; the largest excess over the axes)."""
    p = np.asarray(base_T_tcp, dtype=np.float64)[:3, 3]
    excess = np.maximum(np.asarray(limits.pos_min) - p, p - np.asarray(limits.pos_max))
    return float(max(0.0, excess.max()))


def limit_step(from_pose: ArrayLike, to_pose: ArrayLike, max_trans_m: float, max_rot_rad: float
               ) -> tuple[F64, bool]:
    """Limit the change between two TCP poses to ``max_trans_m`` and ``max_rot_rad`` (direction kept).

    Returns:
        The limited pose ``(4,4)`` and whether it was limited.
    """
    p0 = np.asarray(from_pose, dtype=np.float64)
    dpos, drot = se3.delta_pose(p0, to_pose)
    n_p, n_r = float(np.linalg.norm(dpos)), float(np.linalg.norm(drot))
    if n_p <= max_trans_m and n_r <= max_rot_rad:
        return np.asarray(to_pose, dtype=np.float64).copy(), False
    sp = max_trans_m / n_p if n_p > max_trans_m else 1.0
    sr = max_rot_rad / n_r if n_r > max_rot_rad else 1.0
    return se3.apply_delta(p0, dpos * sp, drot * sr), True


def brake_to_workspace(pos: ArrayLike, vel: ArrayLike, limits: WorkspaceLimits, decel_mps2: float,
                       horizon_s: float = 0.0) -> tuple[F64, bool]:
    """Limit a commanded TCP velocity so the arm can still stop before the workspace walls.

    Per axis, the speed toward a wall is at most ``sqrt(2 * decel * distance)`` and, with ``horizon_s > 0``, at most
    ``distance / horizon_s``: a command the robot keeps executing for ``horizon_s`` (it may be the last one: the next
    may come late or never) does not carry the TCP past the wall. Away from a wall the speed is free.

    Args:
        pos: measured TCP position ``(3,)`` [m] (base frame).
        vel: commanded linear velocity ``(3,)`` [m/s].
        limits: the workspace.
        decel_mps2: assumed braking deceleration [m/s^2].
        horizon_s: how long one command stays in force on the robot [s] (0: no such bound).

    Returns:
        The limited velocity ``(3,)`` and whether it was limited.
    """
    p = np.asarray(pos, dtype=np.float64)
    v = np.asarray(vel, dtype=np.float64).copy()
    d_hi = np.maximum(np.asarray(limits.pos_max) - p, 0.0)
    d_lo = np.maximum(p - np.asarray(limits.pos_min), 0.0)
    vmax_hi = np.sqrt(2.0 * decel_mps2 * d_hi)
    vmax_lo = np.sqrt(2.0 * decel_mps2 * d_lo)
    if horizon_s > 0.0:
        vmax_hi = np.minimum(vmax_hi, d_hi / horizon_s)
        vmax_lo = np.minimum(vmax_lo, d_lo / horizon_s)
    out = np.clip(v, -vmax_lo, vmax_hi)
    return out, bool(np.any(np.abs(out - v) > 1e-12))
