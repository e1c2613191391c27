"""Whole-file dataset operations: info, merge (provenance kept per source) and train/valid split."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from imgen_core import keys as K
from imgen_core.dataset.hdf5io import demo_name, file_attrs, sorted_demos
from imgen_core.dataset.validate import assert_valid
from imgen_core.dataset.writer import make_provenance
from imgen_core.errors import DatasetError


def info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Summary: demos, steps, lengths, operators, intervention fraction, provenance, env."""
    assert_valid(path)
    attrs = file_attrs(str(path))
    with h5py.File(path, "r") as f:
        data = f[K.DATA]
        demos = sorted_demos(data)
        lengths = [int(data[n].attrs[K.ATTR_NUM_SAMPLES]) for n in demos]
        ops = Counter(str(data[n].attrs.get(K.ATTR_OPERATOR, "")) for n in demos)
        human = total = 0
        for n in demos:
            di = data[n][K.DATAGEN_INFO]
            if K.INTERVENTION in di:
                m = di[K.INTERVENTION][()]
                human += int(m.sum())
                total += m.size
        obs_keys = sorted(data[demos[0]][K.OBS].keys()) if demos else []
        masks = {k: len(v) for k, v in f[K.MASK].items()} if K.MASK in f else {}
    return {
        "file": str(path), "demos": len(demos), "steps": int(sum(lengths)),
        "length_min": min(lengths, default=0), "length_mean": float(np.mean(lengths)) if lengths else 0.0,
        "length_max": max(lengths, default=0), "operators": dict(ops), "obs_keys": obs_keys,
        "human_step_fraction": (human / total) if total else None, "masks": masks,
        "env_name": attrs[K.ATTR_ENV_ARGS].get("env_name"), "provenance": attrs[K.ATTR_PROVENANCE],
        "sources": attrs[K.ATTR_SOURCES],
    }


def _atomic_output(out: Path) -> Path:
    return out.with_name(out.name + f".tmp{os.getpid()}")


def merge(inputs: list[str], out: str | os.PathLike[str], weights: list[float] | None = None,
          overwrite: bool = False) -> int:
    """Concatenate datasets of one env into ``out``; each demo records its ``source`` index and ``weight``.

    The output's ``imgen_sources`` attribute lists every input's file name and provenance.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise DatasetError(f"{out} already exists (pass overwrite)")
    if weights is not None and len(weights) != len(inputs):
        raise DatasetError(f"{len(weights)} weights for {len(inputs)} inputs; give one weight per input")
    metas = []
    for p in inputs:
        assert_valid(p)
        metas.append(file_attrs(p))
    envs = {m[K.ATTR_ENV_ARGS].get("env_name") for m in metas}
    if len(envs) != 1:
        raise DatasetError(f"cannot merge datasets of different envs: {sorted(map(str, envs))}")
    tmp = _atomic_output(out)
    n = 0
    with h5py.File(tmp, "w") as f:
        data = f.create_group(K.DATA)
        sources = []
        for i, p in enumerate(inputs):
            sources.append({"file": os.path.basename(p), "provenance": metas[i][K.ATTR_PROVENANCE],
                            "sources": metas[i][K.ATTR_SOURCES]})
            with h5py.File(p, "r") as src:
                for name in sorted_demos(src[K.DATA]):
                    new = demo_name(n)
                    src.copy(src[K.DATA][name], data, name=new)
                    data[new].attrs[K.ATTR_SOURCE] = i
                    if weights is not None:
                        data[new].attrs[K.ATTR_WEIGHT] = float(weights[i])
                    n += 1
        data.attrs[K.ATTR_ENV_ARGS] = json.dumps(metas[0][K.ATTR_ENV_ARGS])
        tasks = sorted({str(m[K.ATTR_PROVENANCE].get("task")) for m in metas})
        operators = sorted({str(m[K.ATTR_PROVENANCE].get("operator")) for m in metas})
        data.attrs[K.ATTR_PROVENANCE] = json.dumps(make_provenance(
            {"task": "+".join(tasks), "operator": "+".join(operators), "merged_from": len(inputs)}))
        data.attrs[K.ATTR_SOURCES] = json.dumps(sources)
        data.attrs[K.ATTR_TOTAL] = sum(int(data[d].attrs[K.ATTR_NUM_SAMPLES]) for d in sorted_demos(data))
    os.replace(tmp, out)
    return n


def split(path: str | os.PathLike[str], valid_fraction: float = 0.1, seed: int = 0) -> dict[str, int]:
    """Write robomimic ``mask/train`` and ``mask/valid`` (atomically: copy, edit, replace)."""
    if not 0.0 <= valid_fraction < 1.0:
        raise DatasetError(f"valid_fraction={valid_fraction} must be in [0, 1)")
    assert_valid(path)
    path = Path(path)
    tmp = _atomic_output(path)
    shutil.copyfile(path, tmp)
    with h5py.File(tmp, "a") as f:
        demos = sorted_demos(f[K.DATA])
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(demos))
        n_valid = int(round(valid_fraction * len(demos)))
        if valid_fraction > 0 and len(demos) > 1:
            n_valid = max(n_valid, 1)
        valid = sorted((demos[i] for i in order[:n_valid]), key=lambda s: int(s.split("_")[1]))
        train = sorted((demos[i] for i in order[n_valid:]), key=lambda s: int(s.split("_")[1]))
        mask = f.require_group(K.MASK)
        for key, names in (("train", train), ("valid", valid)):
            if key in mask:
                del mask[key]
            mask.create_dataset(key, data=np.array(names, dtype="S"))
    os.replace(tmp, path)
    return {"train": len(train), "valid": len(valid)}
