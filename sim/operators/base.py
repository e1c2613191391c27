"""Shared core of the scripted oracles: episode state, the act loop and the human-like motion primitives.

A scripted oracle subclasses :class:`OracleBase`, sets ``config_cls`` (its motion-style dataclass) and
``seed_salt``, and writes the task: ``_run(recover)`` (a generator of ``(target_pose (4,4), gripper)``) and
``_task_mistake()`` (what it watches for beyond the adapter's detector in :meth:`OracleBase.judge`). The base
turns every target into an action (``adapter.target_pose_to_action``) and offers the motion primitives: a carrot
that travels at a bounded speed (:meth:`OracleBase._move`), waiting for the EE to converge
(:meth:`OracleBase._settle`), random short hesitations (:meth:`OracleBase._maybe_pause`), holding a pose for a
while (:meth:`OracleBase._hold`), opening the gripper in place (:meth:`OracleBase._open_at`) and the final
rise-and-hold (:meth:`OracleBase._rise_and_hold`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from imgen_core import frames, se3
from imgen_core.errors import ConfigError
from imgen_core.keys import OPERATOR_SCRIPTED
from sim.operators.motion import segment

OPEN, CLOSE = -1.0, 1.0

Script = Iterator[tuple[np.ndarray, float]]  # (TCP target pose (4,4) in the base frame, gripper command)


class OracleStyle(Protocol):
    """The fields of an oracle config that :class:`OracleBase` reads."""

    @property
    def yaw_noise(self) -> float: ...
    @property
    def wobble(self) -> float: ...
    @property
    def pause_prob(self) -> float: ...
    @property
    def pause_steps(self) -> tuple[int, int]: ...
    @property
    def converge_tol(self) -> float: ...
    @property
    def max_settle(self) -> int: ...
    @property
    def takeover_stall_steps(self) -> int: ...


C = TypeVar("C", bound=OracleStyle)


class OracleBase(Generic[C]):
    """Scripted stand-in for a human operator (subclasses write the task script).

    Args:
        adapter: the task adapter (the oracle reads true poses from it).
        config: motion style (default ``config_cls()``).
        pose_source: ``"true"`` (oracle) or ``"observed"`` (acts on the corrupted belief: a baseline that
            cannot recover).
    """

    label = OPERATOR_SCRIPTED
    realtime = False
    config_cls: type[C]
    seed_salt = 11  # the oracle's rng is seeded by SeedSequence([seed, seed_salt])

    def __init__(self, adapter: Any, config: C | None = None, pose_source: str = "true") -> None:
        if pose_source not in ("true", "observed"):
            raise ConfigError(f"pose_source={pose_source!r}; choose 'true' or 'observed'")
        self.adapter = adapter
        self.cfg: C = config or self.config_cls()
        self.pose_source = pose_source
        self.rng = np.random.default_rng(0)
        self._script: Script | None = None
        self.carrot: np.ndarray | None = None
        self.phase = "idle"
        self._new_episode()

    # ------------------------------------------------------------------ public
    def reset(self, seed: int | None = None) -> None:
        """Start a new episode (the oracle's own randomness is seeded by ``seed``)."""
        self.rng = np.random.default_rng(np.random.SeedSequence([0 if seed is None else int(seed), self.seed_salt]))
        self._script = None
        self.carrot = None
        self.phase = "idle"
        self._new_episode()

    def take_over(self) -> None:
        """Start controlling from the current state (the script recovers first)."""
        self._script = self._run(recover=True)

    def act(self) -> tuple[np.ndarray, np.ndarray]:
        """Next ``(action (7,), target_pose (4,4))``; starts the task script on the first call."""
        if self._script is None:
            self._script = self._run(recover=False)
        target, gripper = next(self._script)
        self.carrot = target
        action = np.asarray(self.adapter.target_pose_to_action(target, gripper), dtype=np.float64)
        return action, self.adapter.action_to_target_pose(action)

    def wants_hand_back(self) -> bool:
        """The oracle finishes the task itself once it has taken over."""
        return False

    def aborted(self) -> bool:
        """True when the oracle gave up on the episode (never, unless a subclass says so)."""
        return False

    def judge(self, policy_steps: int) -> str | None:
        """Reason to take over from a policy now, or ``None`` (intervention mode).

        The adapter's mistake detector first; nothing once the task succeeded; then :meth:`_task_mistake`; then a
        stall (``cfg.takeover_stall_steps`` policy steps).
        """
        a = self.adapter
        reason = a.mistake()
        if reason:
            return reason
        if a.is_success():
            return None
        reason = self._task_mistake()
        if reason:
            return reason
        if policy_steps >= self.cfg.takeover_stall_steps:
            return "stalled"
        return None

    # ------------------------------------------------------------------ hooks
    def _new_episode(self) -> None:
        """Reset the subclass's own per-episode state (called by ``__init__`` and :meth:`reset`)."""

    def _run(self, recover: bool) -> Script:
        """The task script; ``recover=True`` when taking over from a policy."""
        raise NotImplementedError

    def _task_mistake(self) -> str | None:
        """An evident mistake of the policy that the adapter's detector does not flag, or ``None``."""
        return None

    # ------------------------------------------------------------------ randomness
    def _u(self, lo_hi: tuple[float, float]) -> float:
        return float(self.rng.uniform(*lo_hi))

    def _noise(self, std: float, size: int | None = None) -> Any:
        """Normal error(s) with std ``std``, clipped at 2.5 std."""
        return np.clip(self.rng.normal(0.0, std, size=size), -2.5 * std, 2.5 * std)

    def _yaw_error(self) -> float:
        """Aiming error of the hand's yaw [rad] (``cfg.yaw_noise``, clipped at 2.5 std)."""
        return float(self._noise(self.cfg.yaw_noise))

    def _top_down_rot(self) -> np.ndarray:
        """Top-down hand orientation ``(3,3)`` with a yaw error."""
        return se3.axisangle_to_mat(np.array([0.0, 0.0, self._yaw_error()])) @ frames.TOP_DOWN_ROT

    # ------------------------------------------------------------------ geometry
    def _gripper_width(self) -> float:
        return float(self.adapter.observation()["robot0_gripper_width"][0])

    @staticmethod
    def _tcp_for_point(point: np.ndarray, rot: np.ndarray, point_in_tcp: np.ndarray) -> np.ndarray:
        """TCP pose with orientation ``rot`` that puts a held point (``point_in_tcp``, TCP frame) at ``point``."""
        return se3.make_pose(np.asarray(point) - rot @ point_in_tcp, rot)

    # ------------------------------------------------------------------ motion
    def _maybe_pause(self, target: np.ndarray, gripper: float) -> Script:
        """Hesitate at ``target`` now and then (``cfg.pause_prob``, ``cfg.pause_steps``)."""
        if self.rng.random() < self.cfg.pause_prob:
            for _ in range(int(self.rng.integers(self.cfg.pause_steps[0], self.cfg.pause_steps[1] + 1))):
                yield target, gripper

    def _move(self, goal: np.ndarray, speed: float, gripper: float, wobble: float | None = None) -> Script:
        """Carrot from the current carrot (or EE) to ``goal`` at peak ``speed`` [m/s] (``wobble`` default: cfg)."""
        start = self.carrot if self.carrot is not None else self.adapter.eef_pose()
        for t in segment(start, goal, speed, noise=self.cfg.wobble if wobble is None else wobble, rng=self.rng):
            self.carrot = t
            yield t, gripper

    def _settle(self, goal: np.ndarray, gripper: float, tol: float | None = None) -> Script:
        """Hold ``goal`` until the EE is within ``tol`` (default ``cfg.converge_tol``), ``cfg.max_settle`` at most."""
        tol = self.cfg.converge_tol if tol is None else tol
        for _ in range(self.cfg.max_settle):
            if np.linalg.norm(self.adapter.eef_pose()[:3, 3] - goal[:3, 3]) < tol:
                return
            yield goal, gripper

    def _hold(self, target: np.ndarray, gripper: float, lo: int, hi: int | None = None) -> Script:
        """Hold ``target`` with ``gripper`` for ``lo`` steps, or for a random number of steps in [lo, hi]."""
        steps = lo if hi is None else lo + int(self.rng.integers(0, hi - lo + 1))
        for _ in range(steps):
            yield target, gripper

    def _open_at(self, target: np.ndarray, min_steps: int = 8, max_steps: int = 30) -> Script:
        """Hold ``target`` while the gripper opens: ``min_steps`` at least, then until it is wider than 7.5 cm."""
        for k in range(max_steps):
            if k >= min_steps and self._gripper_width() > 0.075:
                break
            yield target, OPEN
        self.carrot = target

    def _rise_and_hold(self, pose: np.ndarray, height: float, speed: float, gripper: float, phase: str) -> Script:
        """Phase ``phase``: rise ``height`` straight up from ``pose`` (no wobble); then phase ``hold``, for good."""
        self.phase = phase
        up = pose.copy()
        up[2, 3] += height
        yield from self._move(up, speed, gripper, wobble=0.0)
        self.phase = "hold"
        while True:
            yield up, gripper
