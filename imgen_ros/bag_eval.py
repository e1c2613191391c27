"""Score recorded trials from the rosbag2 files alone (``imgen bag-eval``; pure ``rosbags``, no rclpy).

Per bag (one trial):

* **success**: the cube is lifted ``lift_height`` (5 cm) above its first pose — the true pose
  (``/sim/cube_pose_true``) when recorded, else the estimate (``/cube_pose``) — while the grasp is held (finger
  width within ``width_tol`` of the cube size), continuously for ``hold_s``. When the estimate is lost while the
  cube is in the hand (occlusion on the real robot), a held grasp plus the EE rising ``lift_height`` above where
  the grasp closed counts as the lift (reported as evidence ``ee``).
* **time to success** from the trial start (metadata ``start_ns``, else the first message).
* **recoveries**: gripper re-open events — the command going from close (> 0) to open (< 0) — i.e. regrasps.
* **pose-estimate error** where ``/sim/cube_pose_true`` is in the bag: position [mm] and rotation [deg] (modulo
  the cube's 24 rotational symmetries) of each ``/cube_pose`` against the true pose nearest in stamp.
* **camera → action latency**: record time of the first ``/imgen/action`` after a ``/cube_pose`` arrived, minus
  that pose's header stamp (= the camera frame's capture stamp, DESIGN §5).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imgen_core import se3
from imgen_core.errors import DatasetError, check_range
from imgen_ros import schemas as S
from imgen_ros.bagio import find_bags, read_bag
from imgen_ros.convert import gripper_width_of, pose_msg_to_mat, stamp_to_ns

MAX_ACTION_GAP_S = 1.0  # a pose with no action within this long was not acted on (policy not running)
TOPICS = (S.CUBE_POSE, S.CUBE_POSE_TRUE, S.EE_POSE, S.GRIPPER_WIDTH, S.GRIPPER_COMMAND, S.ACTION, S.TRIAL)


@dataclass(frozen=True)
class BagEvalConfig:
    """Success criterion and tolerances (metres / seconds)."""

    lift_height: float = 0.05
    cube_size: float = 0.05
    width_tol: float = 0.012
    hold_s: float = 0.2

    def __post_init__(self) -> None:
        check_range("lift_height", self.lift_height, 0.001, 1.0)
        check_range("cube_size", self.cube_size, 0.005, 0.2)
        check_range("width_tol", self.width_tol, 0.0005, 0.1)
        check_range("hold_s", self.hold_s, 0.0, 60.0)


def _cube_symmetries() -> np.ndarray:
    """The 24 proper rotations mapping a cube onto itself ``(24,3,3)``."""
    import itertools

    mats = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((-1.0, 1.0), repeat=3):
            m = np.zeros((3, 3))
            for i, (j, s) in enumerate(zip(perm, signs, strict=True)):
                m[i, j] = s
            if np.linalg.det(m) > 0:
                mats.append(m)
    return np.array(mats)


CUBE_SYMMETRIES = _cube_symmetries()


def cube_rotation_error_deg(true_R: np.ndarray, est_R: np.ndarray) -> float:
    """Smallest rotation angle [deg] between two cube orientations, over the cube's symmetries."""
    rel = true_R.T @ est_R
    angles = se3.rotation_angle(rel[None] @ CUBE_SYMMETRIES)
    return float(np.degrees(np.min(angles)))


@dataclass
class Series:
    t: np.ndarray  # record time [s] since trial start
    stamp: np.ndarray  # header stamp [ns]
    value: np.ndarray


def _series(rows: list[tuple[float, int, Any]], shape: tuple[int, ...] = ()) -> Series:
    if not rows:
        return Series(np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros((0, *shape)))
    t, st, v = zip(*rows, strict=True)
    return Series(np.asarray(t, dtype=np.float64), np.asarray(st, dtype=np.int64), np.asarray(v, dtype=np.float64))


@dataclass
class TrialEval:
    """Everything measured on one bag."""

    bag: str
    meta: dict[str, Any]
    success: bool
    time_to_success: float | None
    lift_evidence: str | None
    recoveries: int
    duration: float
    max_lift: float | None
    pose_error_mm: list[float] = field(default_factory=list)
    pose_error_deg: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    recorded_outcome: str | None = None
    series: dict[str, Series] = field(default_factory=dict, repr=False)

    def summary(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k not in ("series", "pose_error_mm", "pose_error_deg",
                                                                 "latency_ms")}
        d["pose_error_mm_median"] = float(np.median(self.pose_error_mm)) if self.pose_error_mm else None
        d["pose_error_deg_median"] = float(np.median(self.pose_error_deg)) if self.pose_error_deg else None
        d["latency_ms_p50"] = float(np.percentile(self.latency_ms, 50)) if self.latency_ms else None
        return d


def _held_run(ok: np.ndarray, t: np.ndarray, hold_s: float) -> int | None:
    """Index where ``ok`` first becomes true and stays true for ``hold_s`` seconds (None if never)."""
    start = None
    for i in range(len(ok)):
        if ok[i]:
            if start is None:
                start = i
            if t[i] - t[start] >= hold_s:
                return start
        else:
            start = None
    return None


def _from_start(s: Series) -> Series:
    """Samples from the trial start on (``t >= 0``); the last pre-start sample only if there are none."""
    keep = s.t >= 0.0
    if keep.any() or not len(s.t):
        return Series(s.t[keep], s.stamp[keep], s.value[keep])
    return Series(s.t[-1:], s.stamp[-1:], s.value[-1:])


def _interp_at(src: Series, t: np.ndarray) -> np.ndarray:
    """Value of ``src`` (sample-and-hold) at times ``t``; NaN before its first sample."""
    if len(src.t) == 0:
        return np.full(len(t), np.nan)
    idx = np.searchsorted(src.t, t, side="right") - 1
    out = src.value[np.clip(idx, 0, None)].astype(np.float64)
    out[idx < 0] = np.nan
    return out


def evaluate_bag(path: str | Path, cfg: BagEvalConfig | None = None) -> TrialEval:
    """Measure one trial bag (see module docstring)."""
    cfg = cfg or BagEvalConfig()
    messages, meta = read_bag(path, TOPICS)
    rows: dict[str, list[tuple[float, int, Any]]] = {t: [] for t in TOPICS}
    first_ns: int | None = None
    for m in messages:
        first_ns = m.t_ns if first_ns is None else first_ns
        stamp = stamp_to_ns(m.msg.header.stamp) if hasattr(m.msg, "header") else m.t_ns
        if m.topic in (S.CUBE_POSE, S.CUBE_POSE_TRUE, S.EE_POSE):
            v: Any = pose_msg_to_mat(m.msg.pose)
        elif m.topic == S.GRIPPER_WIDTH:
            v = gripper_width_of(m.msg)
        elif m.topic == S.GRIPPER_COMMAND:
            v = float(m.msg.data)
        elif m.topic == S.ACTION:
            v = 0.0
        else:
            continue
        rows[m.topic].append((m.t_ns, stamp, v))
    if first_ns is None:
        raise DatasetError(f"{path}: the bag holds none of the topics {', '.join(TOPICS)}")
    t0 = int(meta.get("start_ns", first_ns))

    def ser(topic: str, shape: tuple[int, ...] = ()) -> Series:
        r = sorted(rows[topic], key=lambda x: x[0])
        return _series([((t - t0) * 1e-9, st, v) for t, st, v in r], shape)

    cube_true, cube_est, ee = ser(S.CUBE_POSE_TRUE, (4, 4)), ser(S.CUBE_POSE, (4, 4)), ser(S.EE_POSE, (4, 4))
    width, grip, action = ser(S.GRIPPER_WIDTH), ser(S.GRIPPER_COMMAND), ser(S.ACTION)
    duration = max((s.t[-1] for s in (cube_true, cube_est, ee, width, grip, action) if len(s.t)), default=0.0)

    # the trial starts at t = 0; a bag begins with the newest pre-start messages (t < 0), which may show the
    # previous trial's end state: they only serve as the reference when nothing arrives after the start
    cube_true, cube_est, ee = _from_start(cube_true), _from_start(cube_est), _from_start(ee)
    cube = cube_true if len(cube_true.t) else cube_est
    success, tts, evidence, max_lift = False, None, None, None
    if len(cube.t) and len(width.t):
        z0 = cube.value[0, 2, 3]
        max_lift = float(np.max(cube.value[:, 2, 3]) - z0)
        held = np.abs(_interp_at(width, cube.t) - cfg.cube_size) <= cfg.width_tol
        lifted = cube.value[:, 2, 3] >= z0 + cfg.lift_height
        i = _held_run(held & lifted, cube.t, cfg.hold_s)
        if i is not None:
            success, tts, evidence = True, float(cube.t[i]), "cube"
    if not success and len(ee.t) and len(width.t) and len(cube_true.t) == 0:
        held = np.abs(_interp_at(width, ee.t) - cfg.cube_size) <= cfg.width_tol
        if held.any():
            z_grasp = ee.value[int(np.argmax(held)), 2, 3]
            lifted = ee.value[:, 2, 3] >= z_grasp + cfg.lift_height
            i = _held_run(held & lifted, ee.t, cfg.hold_s)
            if i is not None:
                success, tts, evidence = True, float(ee.t[i]), "ee"

    recoveries = 0  # only closes *after* the trial start count (a bag begins with the pre-trial state replayed)
    if len(grip.t):
        closed = False
        for g in grip.value[grip.t >= 0.0]:
            if g > 0:
                closed = True
            elif g < 0 and closed:
                recoveries += 1
                closed = False
    elif len(width.t):  # no commands recorded: a width that was at the cube and opened again
        w = width.value[width.t >= 0.0]
        at_cube = np.abs(w - cfg.cube_size) <= cfg.width_tol
        opened = w > cfg.cube_size + 2 * cfg.width_tol
        state = False
        for a, o in zip(at_cube, opened, strict=True):
            if a:
                state = True
            elif o and state:
                recoveries += 1
                state = False

    err_mm: list[float] = []
    err_deg: list[float] = []
    if len(cube_true.t) and len(cube_est.t):
        order = np.argsort(cube_true.stamp)
        ts = cube_true.stamp[order]
        for k in range(len(cube_est.t)):
            j = int(np.clip(np.searchsorted(ts, cube_est.stamp[k]), 1, len(ts) - 1)) if len(ts) > 1 else 0
            if len(ts) > 1 and abs(ts[j - 1] - cube_est.stamp[k]) < abs(ts[j] - cube_est.stamp[k]):
                j -= 1
            tru, est = cube_true.value[order[j]], cube_est.value[k]
            err_mm.append(1e3 * float(np.linalg.norm(tru[:3, 3] - est[:3, 3])))
            err_deg.append(cube_rotation_error_deg(tru[:3, :3], est[:3, :3]))

    lat: list[float] = []
    if len(cube_est.t) and len(action.t):
        for k in np.flatnonzero(cube_est.t >= 0.0):  # poses latched before the trial start are not fresh
            j = int(np.searchsorted(action.t, cube_est.t[k], side="left"))
            if j < len(action.t) and action.t[j] - cube_est.t[k] <= MAX_ACTION_GAP_S:
                lat.append(1e-6 * (t0 + action.t[j] * 1e9 - cube_est.stamp[k]))

    outcome = meta.get("outcome")
    return TrialEval(str(path), meta, success, tts, evidence, recoveries, float(duration), max_lift, err_mm,
                     err_deg, lat, str(outcome) if outcome is not None else None,
                     {"cube_true": cube_true, "cube_est": cube_est, "ee": ee, "width": width, "grip": grip})


@dataclass
class BagEvalReport:
    trials: list[TrialEval]
    config: BagEvalConfig

    @property
    def successes(self) -> int:
        return sum(t.success for t in self.trials)

    def summary(self) -> dict[str, Any]:
        from imgen_core.learning.evaluate import wilson_interval

        n = len(self.trials)
        lo, hi = wilson_interval(self.successes, n)
        tts = [t.time_to_success for t in self.trials if t.time_to_success is not None]
        err = [e for t in self.trials for e in t.pose_error_mm]
        err_deg = [e for t in self.trials for e in t.pose_error_deg]
        lat = [x for t in self.trials for x in t.latency_ms]
        agree = [t.success == (t.recorded_outcome == "success") for t in self.trials if t.recorded_outcome]

        def pct(v: list[float], q: float) -> float | None:
            return float(np.percentile(v, q)) if v else None

        return {
            "trials": n, "successes": self.successes, "success_rate": self.successes / n if n else 0.0,
            "ci95": [lo, hi], "time_to_success_s_median": pct(tts, 50) if tts else None,
            "recoveries_total": sum(t.recoveries for t in self.trials),
            "trials_with_recovery": sum(t.recoveries > 0 for t in self.trials),
            "pose_error_mm_p50": pct(err, 50), "pose_error_mm_p95": pct(err, 95),
            "pose_error_deg_p50": pct(err_deg, 50), "pose_error_deg_p95": pct(err_deg, 95),
            "latency_ms_p50": pct(lat, 50), "latency_ms_p95": pct(lat, 95), "latency_samples": len(lat),
            "recorded_outcome_agreement": (sum(agree) / len(agree)) if agree else None,
            "config": asdict(self.config),
        }


def evaluate_dir(root: str | Path, cfg: BagEvalConfig | None = None) -> BagEvalReport:
    """Evaluate every bag under ``root`` (or ``root`` itself if it is a bag)."""
    bags = find_bags(root)
    if not bags:
        raise DatasetError(f"no rosbag2 (metadata.yaml) under {root}")
    cfg = cfg or BagEvalConfig()
    return BagEvalReport([evaluate_bag(b, cfg) for b in bags], cfg)


def _fmt(v: Any, spec: str = ".1f") -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def write_report(report: BagEvalReport, out_dir: str | Path) -> Path:
    """``report.md`` + ``summary.json`` + PNG plots in ``out_dir``; returns the Markdown path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s = report.summary()
    (out / "summary.json").write_text(json.dumps({"summary": s, "trials": [t.summary() for t in report.trials]},
                                                 indent=2, default=str))
    plots = _plots(report, out)
    lines = [
        "# Trial evaluation from rosbag2", "",
        f"**Success: {s['successes']}/{s['trials']} = {100 * s['success_rate']:.0f} %** "
        f"(95 % CI {100 * s['ci95'][0]:.0f}–{100 * s['ci95'][1]:.0f} %); criterion: cube lifted "
        f"≥ {100 * report.config.lift_height:.0f} cm above its first pose with the grasp held (width within "
        f"{1e3 * report.config.width_tol:.0f} mm of {1e3 * report.config.cube_size:.0f} mm) for "
        f"{report.config.hold_s:.2f} s.", "",
        "| metric | value |", "|---|---|",
        f"| median time to success [s] | {_fmt(s['time_to_success_s_median'], '.2f')} |",
        f"| recoveries (gripper re-opens), trials with one | {s['recoveries_total']}, {s['trials_with_recovery']} |",
        f"| pose-estimate error p50 / p95 [mm] | {_fmt(s['pose_error_mm_p50'])} / {_fmt(s['pose_error_mm_p95'])} |",
        f"| pose-estimate error p50 / p95 [deg] | {_fmt(s['pose_error_deg_p50'])} / "
        f"{_fmt(s['pose_error_deg_p95'])} |",
        f"| camera → action latency p50 / p95 [ms] ({s['latency_samples']} samples) | "
        f"{_fmt(s['latency_ms_p50'])} / {_fmt(s['latency_ms_p95'])} |",
        f"| agreement with recorded outcome | {_fmt(s['recorded_outcome_agreement'], '.0%')} |", "",
        "| trial | policy | seed | success | evidence | t_success [s] | max lift [cm] | recoveries | "
        "pose err p50 [mm] | recorded |", "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in report.trials:
        ts = t.summary()
        lines.append(f"| {Path(t.bag).name} | {t.meta.get('policy', '–')} | {t.meta.get('seed', '–')} | "
                     f"{'yes' if t.success else 'no'} | {t.lift_evidence or '–'} | {_fmt(t.time_to_success, '.2f')} | "
                     f"{_fmt(None if t.max_lift is None else 100 * t.max_lift)} | {t.recoveries} | "
                     f"{_fmt(ts['pose_error_mm_median'])} | {t.recorded_outcome or '–'} |")
    lines += ["", *[f"![{p.stem}]({p.name})" for p in plots], ""]
    md = out / "report.md"
    md.write_text("\n".join(lines))
    return md


def _plots(report: BagEvalReport, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for t in report.trials:
        cube = t.series["cube_true"] if len(t.series["cube_true"].t) else t.series["cube_est"]
        if len(cube.t):
            ax1.plot(cube.t, 100 * (cube.value[:, 2, 3] - cube.value[0, 2, 3]), lw=1)
        w = t.series["width"]
        if len(w.t):
            ax2.plot(w.t, 1e3 * w.value, lw=1)
    ax1.axhline(100 * report.config.lift_height, color="k", ls="--", lw=0.8)
    ax1.set_ylabel("cube lift [cm]")
    ax2.axhspan(1e3 * (report.config.cube_size - report.config.width_tol),
                1e3 * (report.config.cube_size + report.config.width_tol), color="g", alpha=0.15)
    ax2.set_ylabel("gripper width [mm]")
    ax2.set_xlabel("time since trial start [s]")
    fig.suptitle("cube lift and grasp per trial")
    fig.tight_layout()
    paths.append(out / "lift_and_grasp.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    err = [e for t in report.trials for e in t.pose_error_mm]
    lat = [x for t in report.trials for x in t.latency_ms]
    if err or lat:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
        if err:
            axes[0].hist(err, bins=30)
        axes[0].set_xlabel("pose-estimate position error [mm]")
        if lat:
            axes[1].hist(lat, bins=30)
        axes[1].set_xlabel("camera → action latency [ms]")
        fig.tight_layout()
        paths.append(out / "errors_and_latency.png")
        fig.savefig(paths[-1], dpi=100)
        plt.close(fig)
    return paths
