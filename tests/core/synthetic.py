"""Synthetic episodes for dataset-layer tests (random but well-formed arrays)."""

from __future__ import annotations

import numpy as np

from imgen_core import se3
from imgen_core.dataset import Episode


def random_poses(rng: np.random.Generator, T: int) -> np.ndarray:
    return se3.make_pose(rng.normal(size=(T, 3)) * 0.1, se3.axisangle_to_mat(rng.normal(size=(T, 3))))


def make_episode(T: int = 12, seed: int = 0, intervention: bool = False, state_dim: int = 20) -> Episode:
    rng = np.random.default_rng(seed)
    eef = random_poses(rng, T)
    cube = random_poses(rng, T)
    pos, quat = se3.pose_to_pos_quat(eef)
    cpos, cquat = se3.pose_to_pos_quat(cube)
    mask = None
    if intervention:
        mask = np.zeros(T, dtype=bool)
        mask[T // 2:] = True
    return Episode(
        actions=rng.uniform(-1, 1, size=(T, 7)), states=rng.normal(size=(T, state_dim)),
        obs={"robot0_eef_pos": pos, "robot0_eef_quat": quat, "robot0_gripper_width": rng.uniform(0, 0.08, (T, 1)),
             "cube_pos": cpos, "cube_quat": cquat},
        eef_pose=eef, target_pose=random_poses(rng, T), gripper_action=rng.choice([-1.0, 1.0], size=(T, 1)),
        object_poses={"cube": cube}, observed_object_poses={"cube": cube.copy()},
        subtask_term_signals={"grasp": (np.arange(T) > T // 2).astype(float)},
        intervention=mask, success=True, seed=seed, operator="scripted_oracle", info={"corruption": {"name": "none"}},
    )


ENV_ARGS = {"env_name": "ImgenBlockGrasp", "type": 1, "env_kwargs": {"robots": "Panda", "control_freq": 20}}
PROVENANCE = {"task": "block_grasp", "operator": "scripted_oracle", "corruption": "none", "observability": "none"}
