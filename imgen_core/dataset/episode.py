"""One recorded episode in memory, and the recorder that fills it from a :class:`~imgen_core.task.TaskAdapter`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imgen_core import keys as K
from imgen_core.errors import DatasetError


@dataclass
class Episode:
    """Arrays of one episode; row ``t`` is the state/observation *before* action ``t``.

    Shapes (``T`` steps): ``actions (T,7)``, ``states (T,S)``, ``obs[k] (T,d)``, ``eef_pose (T,4,4)``,
    ``target_pose (T,4,4)``, ``gripper_action (T,1)``, ``object_poses[o] (T,4,4)``,
    ``observed_object_poses[o] (T,4,4)``, ``subtask_term_signals[s] (T,)``, ``intervention (T,)`` bool or None.
    """

    actions: np.ndarray
    states: np.ndarray
    obs: dict[str, np.ndarray]
    eef_pose: np.ndarray
    target_pose: np.ndarray
    gripper_action: np.ndarray
    object_poses: dict[str, np.ndarray]
    observed_object_poses: dict[str, np.ndarray]
    subtask_term_signals: dict[str, np.ndarray]
    intervention: np.ndarray | None = None
    success: bool = True
    seed: int | None = None
    operator: str | None = None
    weight: float = 1.0
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.actions.shape[0])

    @property
    def rewards(self) -> np.ndarray:
        r = np.zeros(len(self), dtype=np.float64)
        if self.success and len(self):
            r[-1] = 1.0
        return r

    @property
    def dones(self) -> np.ndarray:
        d = np.zeros(len(self), dtype=np.int64)
        if len(self):
            d[-1] = 1
        return d

    def check(self) -> None:
        """Raise :class:`DatasetError` naming the first inconsistent array."""
        T = len(self)
        if T == 0:
            raise DatasetError("episode has no steps")
        if self.actions.shape != (T, K.ACTION_DIM):
            raise DatasetError(f"actions shape {self.actions.shape}, expected ({T}, {K.ACTION_DIM})")
        if not np.all(np.isfinite(self.actions)):
            raise DatasetError("actions contain NaN/inf")
        arrays: dict[str, tuple[np.ndarray, tuple[int, ...] | None]] = {
            K.STATES: (self.states, None),
            K.EEF_POSE: (self.eef_pose, (4, 4)),
            K.TARGET_POSE: (self.target_pose, (4, 4)),
            K.GRIPPER_ACTION: (self.gripper_action, (1,)),
        }
        for name, a in self.obs.items():
            arrays[f"obs/{name}"] = (a, None)
        for name, a in self.object_poses.items():
            arrays[f"object_poses/{name}"] = (a, (4, 4))
        for name, a in self.observed_object_poses.items():
            arrays[f"observed_object_poses/{name}"] = (a, (4, 4))
        for name, a in self.subtask_term_signals.items():
            arrays[f"subtask_term_signals/{name}"] = (a, ())
        if self.intervention is not None:
            arrays[K.INTERVENTION] = (self.intervention, ())
        for name, (a, tail) in arrays.items():
            if a.shape[0] != T:
                raise DatasetError(f"{name} has {a.shape[0]} rows, expected {T} (one per action)")
            if tail is not None and a.shape[1:] != tail:
                raise DatasetError(f"{name} shape {a.shape}, expected ({T}, {', '.join(map(str, tail))})")

    def slice(self, start: int, stop: int | None = None) -> Episode:
        """Rows ``[start:stop]`` as a new episode (used to keep only the recovery part of an intervention)."""
        s = np.s_[start:stop]
        return Episode(
            actions=self.actions[s], states=self.states[s], obs={k: v[s] for k, v in self.obs.items()},
            eef_pose=self.eef_pose[s], target_pose=self.target_pose[s], gripper_action=self.gripper_action[s],
            object_poses={k: v[s] for k, v in self.object_poses.items()},
            observed_object_poses={k: v[s] for k, v in self.observed_object_poses.items()},
            subtask_term_signals={k: v[s] for k, v in self.subtask_term_signals.items()},
            intervention=None if self.intervention is None else self.intervention[s],
            success=self.success, seed=self.seed, operator=self.operator, weight=self.weight,
            info=dict(self.info),
        )


class EpisodeRecorder:
    """Accumulates rows from a task adapter. Call :meth:`record` *before* stepping with that action."""

    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter
        self._rows: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def last_target(self) -> np.ndarray:
        """Target pose ``(4,4)`` of the last recorded row."""
        return self._rows[-1]["target"]

    def record(self, action: np.ndarray, intervention: bool = False, target_pose: np.ndarray | None = None) -> None:
        """Store the adapter's current state/observation together with the ``action`` about to be applied."""
        a = self.adapter
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        if action.shape != (K.ACTION_DIM,):
            raise DatasetError(f"action has shape {action.shape}, expected ({K.ACTION_DIM},)")
        if target_pose is None:
            target_pose = a.action_to_target_pose(action)
        self._rows.append({
            "action": action,
            "state": np.asarray(a.get_state(), dtype=np.float64),
            "obs": {k: np.asarray(v, dtype=np.float64) for k, v in a.observation().items()},
            "eef": a.eef_pose(),
            "target": np.asarray(target_pose, dtype=np.float64),
            "objs": a.object_poses(),
            "obs_objs": a.observed_object_poses(),
            "signals": a.subtask_signals(),
            "intervention": bool(intervention),
        })

    def finish(self, success: bool, seed: int | None = None, operator: str | None = None,
               info: dict[str, Any] | None = None, with_intervention: bool | None = None) -> Episode:
        """Stack the rows into an :class:`Episode` (``intervention`` kept when any row was human or when asked)."""
        rows = self._rows
        if not rows:
            raise DatasetError("no steps were recorded")
        inter = np.array([r["intervention"] for r in rows], dtype=bool)
        keep_mask = inter.any() if with_intervention is None else with_intervention
        ep = Episode(
            actions=np.stack([r["action"] for r in rows]),
            states=np.stack([r["state"] for r in rows]),
            obs={k: np.stack([r["obs"][k] for r in rows]) for k in rows[0]["obs"]},
            eef_pose=np.stack([r["eef"] for r in rows]),
            target_pose=np.stack([r["target"] for r in rows]),
            gripper_action=np.stack([r["action"][-1:] for r in rows]),
            object_poses={k: np.stack([r["objs"][k] for r in rows]) for k in rows[0]["objs"]},
            observed_object_poses={k: np.stack([r["obs_objs"][k] for r in rows]) for k in rows[0]["obs_objs"]},
            subtask_term_signals={k: np.array([float(r["signals"][k]) for r in rows]) for k in rows[0]["signals"]},
            intervention=inter if keep_mask else None,
            success=bool(success), seed=seed, operator=operator, info=dict(info or {}),
        )
        ep.check()
        return ep
