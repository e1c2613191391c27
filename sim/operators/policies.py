"""Scripted *policies* (act on the observation only, like a trained policy would).

:class:`ObservedPoseGraspPolicy` is a deliberately weak base policy: it goes to the **observed** (corrupted)
cube pose, descends, closes and lifts, with no recovery. Under the ``block`` corruption it lands a finger on
the cube or closes beside it — the mistakes human interventions correct. Use it in tests and as a bootstrap
base policy (``--policy scripted:observed_grasp``) before a BC policy exists.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imgen_core import frames, se3
from imgen_core import keys as K
from imgen_core.errors import ConfigError, check_choice
from sim import osc

DT = 0.05


class ObservedPoseGraspPolicy:
    """Closed-loop top-down grasp of the observed cube pose (``reset()``, ``act(obs) -> (7,)``).

    It closes for at least 12 steps and lifts once the observed finger width has stopped changing (at most 40
    steps), so it works with grippers slower than robosuite's.

    Args:
        tcp_T_site: the OSC's eef site in the TCP frame (``adapter.robot.tcp_T_site``).
        origin_R_base: controller origin rotation (``adapter.robot.origin_R_base``).
        speed: carrot speed [m/s].
        clearance: TCP height above the observed cube top before descending [m].
        grasp_z: TCP height relative to the observed cube centre at the grasp [m].
        cube_size: [m].
    """

    def __init__(self, tcp_T_site: np.ndarray, origin_R_base: np.ndarray | None = None, speed: float = 0.08,
                 clearance: float = 0.05, grasp_z: float = -0.012, cube_size: float = 0.05) -> None:
        self.tcp_T_site = np.asarray(tcp_T_site, dtype=np.float64)
        self.origin_R_base = origin_R_base
        self.step = speed * DT
        self.clearance = clearance
        self.grasp_z = grasp_z
        self.half = cube_size / 2
        self.reset()

    @classmethod
    def from_adapter(cls, adapter: Any, **kwargs: Any) -> ObservedPoseGraspPolicy:
        """Policy using the adapter's OSC constants (it never reads true poses from the adapter)."""
        return cls(adapter.robot.tcp_T_site, adapter.robot.origin_R_base,
                   cube_size=float(adapter.env.cube_size), **kwargs)

    MIN_CLOSE_STEPS = 12  # robosuite's gripper ramps fully closed in 10 steps
    MAX_CLOSE_STEPS = 40  # a real gripper (or franky-sim) may take longer: lift once the fingers stopped
    WIDTH_SETTLED = 3e-4  # [m] finger-width change per step below which the fingers count as stopped

    def reset(self) -> None:
        self.phase = "approach"
        self.carrot: np.ndarray | None = None
        self.count = 0
        self.width: float | None = None

    def _toward(self, goal: np.ndarray) -> bool:
        assert self.carrot is not None
        d = goal - self.carrot
        n = float(np.linalg.norm(d))
        if n <= self.step:
            self.carrot = goal.copy()
            return True
        self.carrot = self.carrot + d * (self.step / n)
        return False

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Action ``(7,)`` from the observation dict (keys of :mod:`imgen_core.keys`)."""
        try:
            ee = se3.pos_quat_to_pose(obs[K.OBS_EEF_POS], obs[K.OBS_EEF_QUAT])
            cube = np.asarray(obs[K.obs_object_pos("cube")], dtype=np.float64)
        except KeyError as exc:
            raise ConfigError(f"observation lacks {exc}; ObservedPoseGraspPolicy needs eef pose and cube_pos") from exc
        if self.carrot is None:
            self.carrot = ee[:3, 3].copy()
        above = np.array([cube[0], cube[1], cube[2] + self.half + self.clearance])
        grasp = np.array([cube[0], cube[1], cube[2] + self.grasp_z])
        gripper = -1.0
        if self.phase == "approach":
            if self._toward(above) and np.linalg.norm(ee[:3, 3] - above) < 0.01:
                self.phase = "descend"
        elif self.phase == "descend":
            if self._toward(grasp) and np.linalg.norm(ee[:3, 3] - grasp) < 0.006:
                self.phase = "close"
        elif self.phase == "close":
            # lift only once the fingers have stopped on the cube (observed width settled), not after a fixed time:
            # the robot's gripper may close more slowly than the simulated one
            gripper = 1.0
            self.count += 1
            width = float(np.asarray(obs.get(K.OBS_GRIPPER_WIDTH, [np.nan])).reshape(-1)[0])
            settled = self.width is not None and abs(width - self.width) < self.WIDTH_SETTLED
            self.width = width
            if self.count >= self.MAX_CLOSE_STEPS or (self.count >= self.MIN_CLOSE_STEPS and settled):
                self.phase = "lift"
        else:
            gripper = 1.0
            self._toward(grasp + np.array([0.0, 0.0, 0.10]))
        target = se3.make_pose(self.carrot, frames.TOP_DOWN_ROT)
        return osc.target_to_action(ee, target, self.tcp_T_site, gripper, self.origin_R_base)


SCRIPTED_POLICIES = ("observed_grasp",)


def make_scripted_policy(name: str, adapter: Any) -> Any:
    """A documented scripted policy by name (``observed_grasp``)."""
    check_choice("scripted policy", name, SCRIPTED_POLICIES)
    return ObservedPoseGraspPolicy.from_adapter(adapter)
