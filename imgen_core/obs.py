"""Derived policy observations: quantities computed from the recorded ones, in one place.

A policy sees the EE pose, the finger width and the object poses as the robot believes them (DESIGN §4). Learning
from *absolute* base-frame positions alone makes a small BC-RNN compute ``object − EE`` itself, and it does so
poorly (centimetres off across a 20×30 cm workspace). robosuite's own low-dim observations add that difference
(``gripper_to_cube_pos``); imgen does the same, from the observed (possibly corrupted) object position:

    ``eef_to_<obj>_pos`` (3,) [m] = ``<obj>_pos − robot0_eef_pos``, robot base frame

A contact-revealed position (``<obj>_contact_pos``: with ``partial`` observability e.g. the mean first nut–peg contact,
with ``full`` the true pose) gets the same treatment, gated by its flag, because before the contact it holds zeros:

    ``eef_to_<obj>_contact_pos`` (3,) [m] = ``<obj>_contact_flag · (<obj>_contact_pos − robot0_eef_pos)``

Each carries no new information (it is a function of the recorded keys), so it is derived where a policy needs it:
the training file gets it per demo (:func:`add_derived_to_file`), the policy runtime computes it from an observation
that lacks it (:func:`complete`), so datasets, the sim twin and the ROS graph keep their recorded keys unchanged.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

from imgen_core import keys as K
from imgen_core.errors import ConfigError

_REL = re.compile(r"^eef_to_(?P<obj>.+)_pos$")
_CONTACT = re.compile(r"^(?P<obj>.+)_contact_pos$")


def relative_key(obj: str) -> str:
    """Observation key of ``obj``'s observed position relative to the EE (base-frame axes)."""
    return f"eef_to_{obj}_pos"


def object_position_keys(keys: Any) -> list[str]:
    """The object-position keys among ``keys`` (``<obj>_pos``; not the robot's, not contact-revealed ones)."""
    return sorted(k for k in keys if k.endswith("_pos") and not k.startswith("robot0_") and not _CONTACT.search(k)
                  and not _REL.match(k))


def contact_position_keys(keys: Any) -> list[str]:
    """The contact-revealed position keys among ``keys`` that come with their flag (``<obj>_contact_pos``)."""
    return sorted(k for k in keys if not _REL.match(k) and (m := _CONTACT.match(k))
                  and _flag_key(m.group("obj")) in keys)


def _flag_key(obj: str) -> str:
    return f"{obj}_contact_flag"


def derived_keys(keys: Any) -> list[str]:
    """The derived keys an observation with ``keys`` supports (one per object and per flagged contact position)."""
    return [relative_key(k.removesuffix("_pos")) for k in object_position_keys(keys) + contact_position_keys(keys)]


def _sources(key: str) -> tuple[str, ...] | None:
    """The recorded keys a derived ``key`` is computed from, or ``None`` if ``key`` is not a derived key."""
    m = _REL.match(key)
    if m is None:
        return None
    src = K.obs_object_pos(m.group("obj"))
    c = _CONTACT.match(src)
    return (src, K.OBS_EEF_POS, _flag_key(c.group("obj"))) if c else (src, K.OBS_EEF_POS)


def derive(key: str, obs: dict[str, Any]) -> np.ndarray:
    """Value of the derived ``key`` from ``obs`` (arrays ``(..., 3)``); :class:`ConfigError` if not derivable."""
    sources = _sources(key)
    if sources is None:
        raise ConfigError(f"{key!r} is not a derived observation key "
                          "(valid: eef_to_<object>_pos, eef_to_<object>_contact_pos)")
    missing = [k for k in sources if k not in obs]
    if missing:
        raise ConfigError(f"observation lacks {missing} needed to derive {key!r}")
    rel = np.asarray(obs[sources[0]], dtype=np.float64) - np.asarray(obs[K.OBS_EEF_POS], dtype=np.float64)
    if len(sources) == 3:  # contact-revealed: zero until the contact (the flag, (..., 1), is 0 or 1)
        rel = rel * (np.asarray(obs[sources[2]], dtype=np.float64) > 0.5)
    return rel


def input_keys(needed: list[str]) -> list[str]:
    """The recorded keys an observation must carry for a policy that needs ``needed`` (derived keys → their inputs)."""
    out: set[str] = set()
    for k in needed:
        out.update(_sources(k) or (k,))
    return sorted(out)


def complete(obs: dict[str, Any], needed: list[str]) -> dict[str, Any]:
    """``obs`` plus every derived key in ``needed`` that it lacks and can derive (recorded keys are never overwritten).

    A key whose inputs are missing stays missing, so the caller's own check names what the observation lacks.
    """
    out = dict(obs)
    for k in needed:
        sources = _sources(k)
        if k not in out and sources and all(s in out for s in sources):
            out[k] = derive(k, out)
    return out


def add_derived_to_file(path: str | os.PathLike[str]) -> list[str]:
    """Write every derived key into each demo's ``obs/`` group of the HDF5 file at ``path`` (in place).

    Returns the derived keys. Demos that already hold a key keep it.
    """
    import h5py

    from imgen_core.dataset import sorted_demos

    added: set[str] = set()
    with h5py.File(path, "r+") as f:
        data = f[K.DATA]
        for name in sorted_demos(data):
            obs = data[name][K.OBS]
            for key in derived_keys(obs.keys()):
                if key not in obs:
                    obs.create_dataset(key, data=derive(key, obs))  # reads only its input datasets
                added.add(key)
    return sorted(added)


def standardize_file(path: str | os.PathLike[str], floor: float = 1e-3) -> dict[str, dict[str, list[float]]]:
    """Standardise every ``obs/`` key of the HDF5 training file at ``path`` in place; return the statistics.

    Per key and dimension over all samples of all demos: ``x ← (x − mean) / std`` with ``std`` = population standard
    deviation + ``floor`` (robomimic's own ``hdf5_normalize_obs`` rule, which its 0.3.0 ``SequenceDataset`` cannot
    apply to sequences). A policy applies the same statistics to its inputs (:class:`imgen_core.policy.PolicyRuntime`).
    """
    import h5py

    from imgen_core.dataset import sorted_demos

    with h5py.File(path, "r+") as f:
        data = f[K.DATA]
        demos = sorted_demos(data)
        if not demos:
            raise ConfigError(f"{path} has no demos to standardise")
        keys = sorted(data[demos[0]][K.OBS].keys())
        stats: dict[str, dict[str, list[float]]] = {}
        for key in keys:
            x = np.concatenate([data[d][K.OBS][key][()].reshape(len(data[d][K.OBS][key]), -1) for d in demos])
            mean, std = x.mean(axis=0), x.std(axis=0) + floor
            for d in demos:
                ds = data[d][K.OBS][key]
                ds[...] = ((ds[()].reshape(len(ds), -1) - mean) / std).reshape(ds.shape)
            stats[key] = {"mean": mean.tolist(), "std": std.tolist()}
    return stats
