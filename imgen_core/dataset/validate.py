"""Dataset validation: one line per problem, naming the file, the demo and what is wrong."""

from __future__ import annotations

import json
import os

import h5py
import numpy as np

from imgen_core import keys as K
from imgen_core.dataset.hdf5io import DEMO_RE, sorted_demos
from imgen_core.errors import DatasetError

ACTION_BOUND = 1.0 + 1e-6


def _check_demo(g: h5py.Group, require_intervention: bool) -> list[str]:
    problems: list[str] = []
    for key in (K.ACTIONS, K.STATES, K.OBS, K.DATAGEN_INFO):
        if key not in g:
            problems.append(f"missing key '{key}'")
    if problems:
        return problems
    T = int(g.attrs.get(K.ATTR_NUM_SAMPLES, -1))
    actions = g[K.ACTIONS]
    if actions.ndim != 2 or actions.shape[1] != K.ACTION_DIM:
        problems.append(f"actions shape {actions.shape}, expected (T, {K.ACTION_DIM})")
        return problems
    if T != actions.shape[0]:
        problems.append(f"num_samples={T} but actions has {actions.shape[0]} rows")
    T = actions.shape[0]
    if T == 0:
        problems.append("demo has no steps")
        return problems
    a = actions[()]
    if not np.all(np.isfinite(a)):
        bad = int(np.argwhere(~np.isfinite(a))[0][0])
        problems.append(f"actions contain NaN/inf (first at step {bad})")
    elif np.abs(a).max() > ACTION_BOUND:
        problems.append(f"actions outside [-1, 1] (max |a| = {np.abs(a).max():.3f})")
    di = g[K.DATAGEN_INFO]
    expected: dict[str, tuple[int, ...] | None] = {K.STATES: None}
    rows: dict[str, h5py.Dataset] = {K.STATES: g[K.STATES]}
    for k, d in g[K.OBS].items():
        rows[f"obs/{k}"] = d
        expected[f"obs/{k}"] = None
    shape_specs: tuple[tuple[str, tuple[int, ...]], ...] = ((K.EEF_POSE, (4, 4)), (K.TARGET_POSE, (4, 4)),
                                                          (K.GRIPPER_ACTION, (1,)))
    for key, tail in shape_specs:
        if key not in di:
            problems.append(f"missing key '{K.DATAGEN_INFO}/{key}'")
        else:
            rows[f"{K.DATAGEN_INFO}/{key}"] = di[key]
            expected[f"{K.DATAGEN_INFO}/{key}"] = tail
    for grp, tail in ((K.OBJECT_POSES, (4, 4)), (K.OBSERVED_OBJECT_POSES, (4, 4)), (K.SUBTASK_TERM_SIGNALS, ())):
        if grp not in di:
            problems.append(f"missing key '{K.DATAGEN_INFO}/{grp}'")
            continue
        for k, d in di[grp].items():
            rows[f"{K.DATAGEN_INFO}/{grp}/{k}"] = d
            expected[f"{K.DATAGEN_INFO}/{grp}/{k}"] = tail
    if K.INTERVENTION in di:
        rows[f"{K.DATAGEN_INFO}/{K.INTERVENTION}"] = di[K.INTERVENTION]
        expected[f"{K.DATAGEN_INFO}/{K.INTERVENTION}"] = ()
    elif require_intervention:
        problems.append(f"missing key '{K.DATAGEN_INFO}/{K.INTERVENTION}' (interventions need the human mask)")
    for name, d in rows.items():
        if d.shape[0] != T:
            problems.append(f"{name} has {d.shape[0]} rows, expected {T}")
        elif expected[name] is not None and d.shape[1:] != expected[name]:
            problems.append(f"{name} shape {d.shape}, expected ({T}, {', '.join(map(str, expected[name] or ()))})")
        elif d.dtype.kind == "f" and not np.all(np.isfinite(d[()])):
            problems.append(f"{name} contains NaN/inf")
    return problems


def validate_file(path: str | os.PathLike[str], require_intervention: bool = False) -> list[str]:
    """Return every problem as ``"<file>: <demo>: <problem>"`` (empty list = valid)."""
    p = str(path)
    if not os.path.exists(p):
        return [f"{p}: file does not exist"]
    if not h5py.is_hdf5(p):
        return [f"{p}: not an HDF5 file"]
    out: list[str] = []
    try:
        with h5py.File(p, "r") as f:
            if K.DATA not in f:
                return [f"{p}: missing group '{K.DATA}'"]
            data = f[K.DATA]
            for attr in (K.ATTR_ENV_ARGS, K.ATTR_PROVENANCE):
                if attr not in data.attrs:
                    out.append(f"{p}: data: missing attribute '{attr}'")
                else:
                    try:
                        json.loads(data.attrs[attr])
                    except (TypeError, ValueError):
                        out.append(f"{p}: data: attribute '{attr}' is not JSON")
            if K.ATTR_PROVENANCE in data.attrs and not out:
                prov = json.loads(data.attrs[K.ATTR_PROVENANCE])
                for key in ("task", "operator"):
                    if not prov.get(key):
                        out.append(f"{p}: data: provenance lacks '{key}'")
            demos = sorted_demos(data)
            others = [n for n in data if not DEMO_RE.match(n)]
            for n in others:
                out.append(f"{p}: data/{n}: unexpected member (demos are named demo_<N>)")
            for n in demos:
                try:
                    out.extend(f"{p}: {n}: {msg}" for msg in _check_demo(data[n], require_intervention))
                except (OSError, KeyError, ValueError) as exc:
                    out.append(f"{p}: {n}: unreadable ({exc})")
            if K.MASK in f:
                names = set(demos)
                for mk, arr in f[K.MASK].items():
                    missing = [x.decode() if isinstance(x, bytes) else str(x) for x in arr[()]]
                    missing = [x for x in missing if x not in names]
                    if missing:
                        out.append(f"{p}: mask/{mk}: names demos that do not exist: {missing[:3]}")
    except OSError as exc:
        out.append(f"{p}: unreadable HDF5 (truncated or corrupt?): {str(exc).splitlines()[0]}")
    return out


def assert_valid(path: str | os.PathLike[str], require_intervention: bool = False) -> None:
    """Raise :class:`DatasetError` with the first problem (and a count of the others)."""
    problems = validate_file(path, require_intervention)
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DatasetError(problems[0] + more)
