"""robomimic-layout HDF5 reading/writing of :class:`Episode` objects (see ``imgen_core.keys`` for the layout)."""

from __future__ import annotations

import json
import re
from typing import Any

import h5py
import numpy as np

from imgen_core import keys as K
from imgen_core.dataset.episode import Episode
from imgen_core.errors import DatasetError

DEMO_RE = re.compile(rf"^{K.DEMO_PREFIX}(\d+)$")


def demo_name(index: int) -> str:
    return f"{K.DEMO_PREFIX}{index}"


def demo_index(name: str) -> int:
    m = DEMO_RE.match(name)
    if not m:
        raise DatasetError(f"{name!r} is not a demo name (expected {K.DEMO_PREFIX}<N>)")
    return int(m.group(1))


def sorted_demos(data: h5py.Group) -> list[str]:
    """Demo names of a ``data`` group in numeric order (non-demo members ignored)."""
    return sorted((n for n in data if DEMO_RE.match(n)), key=demo_index)


def write_episode(data: h5py.Group, name: str, ep: Episode) -> h5py.Group:
    """Write ``ep`` as ``data/<name>`` in robomimic layout with the ``datagen_info`` group."""
    ep.check()
    g = data.create_group(name)
    g.attrs[K.ATTR_NUM_SAMPLES] = len(ep)
    g.attrs[K.ATTR_SEED] = -1 if ep.seed is None else int(ep.seed)
    g.attrs[K.ATTR_OPERATOR] = ep.operator or ""
    g.attrs[K.ATTR_WEIGHT] = float(ep.weight)
    g.attrs[K.ATTR_EPISODE] = json.dumps({"success": ep.success, **ep.info})
    g.create_dataset(K.ACTIONS, data=ep.actions.astype(np.float64))
    g.create_dataset(K.STATES, data=ep.states.astype(np.float64))
    g.create_dataset(K.REWARDS, data=ep.rewards)
    g.create_dataset(K.DONES, data=ep.dones)
    obs = g.create_group(K.OBS)
    for k, v in ep.obs.items():
        obs.create_dataset(k, data=np.asarray(v, dtype=np.float64))
    di = g.create_group(K.DATAGEN_INFO)
    di.create_dataset(K.EEF_POSE, data=ep.eef_pose)
    di.create_dataset(K.TARGET_POSE, data=ep.target_pose)
    di.create_dataset(K.GRIPPER_ACTION, data=ep.gripper_action)
    for grp_name, d in ((K.OBJECT_POSES, ep.object_poses), (K.OBSERVED_OBJECT_POSES, ep.observed_object_poses),
                        (K.SUBTASK_TERM_SIGNALS, ep.subtask_term_signals)):
        sub = di.create_group(grp_name)
        for k, v in d.items():
            sub.create_dataset(k, data=v)
    if ep.intervention is not None:
        di.create_dataset(K.INTERVENTION, data=ep.intervention.astype(bool))
    return g


def read_episode(g: h5py.Group) -> Episode:
    """Read one ``data/demo_N`` group back into an :class:`Episode`."""
    try:
        di = g[K.DATAGEN_INFO]
        info = json.loads(g.attrs.get(K.ATTR_EPISODE, "{}"))
        seed = int(g.attrs.get(K.ATTR_SEED, -1))
        return Episode(
            actions=g[K.ACTIONS][()], states=g[K.STATES][()],
            obs={k: v[()] for k, v in g[K.OBS].items()},
            eef_pose=di[K.EEF_POSE][()], target_pose=di[K.TARGET_POSE][()],
            gripper_action=di[K.GRIPPER_ACTION][()],
            object_poses={k: v[()] for k, v in di[K.OBJECT_POSES].items()},
            observed_object_poses={k: v[()] for k, v in di[K.OBSERVED_OBJECT_POSES].items()},
            subtask_term_signals={k: v[()] for k, v in di[K.SUBTASK_TERM_SIGNALS].items()},
            intervention=di[K.INTERVENTION][()] if K.INTERVENTION in di else None,
            success=bool(info.pop("success", True)), seed=None if seed < 0 else seed,
            operator=str(g.attrs.get(K.ATTR_OPERATOR, "")) or None,
            weight=float(g.attrs.get(K.ATTR_WEIGHT, 1.0)), info=info,
        )
    except KeyError as exc:
        raise DatasetError(f"{g.name}: missing key {exc}") from exc


def file_attrs(path: str) -> dict[str, Any]:
    """``env_args``, provenance and source list of a dataset file (parsed JSON)."""
    with h5py.File(path, "r") as f:
        data = f[K.DATA]
        return {
            K.ATTR_ENV_ARGS: json.loads(data.attrs.get(K.ATTR_ENV_ARGS, "{}")),
            K.ATTR_PROVENANCE: json.loads(data.attrs.get(K.ATTR_PROVENANCE, "{}")),
            K.ATTR_SOURCES: json.loads(data.attrs.get(K.ATTR_SOURCES, "[]")),
            K.ATTR_TOTAL: int(data.attrs.get(K.ATTR_TOTAL, 0)),
        }


def read_episodes(path: str, demos: list[str] | None = None) -> list[Episode]:
    """All (or the named) demos of a file, in numeric order."""
    with h5py.File(path, "r") as f:
        data = f[K.DATA]
        names = demos if demos is not None else sorted_demos(data)
        return [read_episode(data[n]) for n in names]
