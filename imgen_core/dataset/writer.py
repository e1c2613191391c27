"""Crash-safe, resumable dataset writer.

Each finished episode is first written to its own small HDF5 file in ``<out>.parts/`` (written to a
temporary name, fsynced, then atomically renamed), so after ``kill -9`` at any moment every episode is
either complete on disk or absent. The output file itself is only ever replaced atomically
(``os.replace``) by a consolidation that copies the previous output and appends the parts; a resumed
writer (``resume=True``) finds both, skips parts already consolidated, and continues numbering.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import h5py

from imgen_core import __version__
from imgen_core import keys as K
from imgen_core.dataset.episode import Episode
from imgen_core.dataset.hdf5io import demo_index, demo_name, sorted_demos, write_episode
from imgen_core.errors import DatasetError

REQUIRED_PROVENANCE = ("task", "operator")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_provenance(provenance: dict[str, Any]) -> dict[str, Any]:
    """Fill the provenance fields every file carries (version, command line, time) and check required ones."""
    missing = [k for k in REQUIRED_PROVENANCE if not provenance.get(k)]
    if missing:
        raise DatasetError(f"provenance is missing {missing}; every dataset must say its task and operator")
    out = {"imgen_version": __version__, "command": " ".join(sys.argv),
           "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    out.update(provenance)
    return out


class DatasetWriter:
    """Append episodes to a robomimic HDF5 file; use as a context manager (``close`` consolidates)."""

    def __init__(self, path: str | os.PathLike[str], env_args: dict[str, Any], provenance: dict[str, Any],
                 resume: bool = False, overwrite: bool = False, consolidate_every: int = 50) -> None:
        self.path = Path(path)
        self.parts = Path(str(self.path) + ".parts")
        self.env_args = env_args
        self.consolidate_every = consolidate_every
        if not resume and (self.path.exists() or self.parts.exists()):
            if not overwrite:
                raise DatasetError(f"{self.path} already exists; pass resume (continue it) or overwrite")
            self.path.unlink(missing_ok=True)
            shutil.rmtree(self.parts, ignore_errors=True)
        self.provenance = make_provenance(provenance)
        if self.path.exists():
            with h5py.File(self.path, "r") as f:
                old = json.loads(f[K.DATA].attrs.get(K.ATTR_PROVENANCE, "{}"))
                done = {demo_index(n) for n in sorted_demos(f[K.DATA])}
            for key in ("task", "operator", "corruption"):
                if key in old and key in provenance and old[key] != provenance[key]:
                    raise DatasetError(f"{self.path}: cannot resume, {key}={old[key]!r} in file but "
                                       f"{provenance[key]!r} requested")
            self.provenance["resumed_from"] = old.get("created")
        else:
            done = set()
        self.parts.mkdir(parents=True, exist_ok=True)
        part_ids = {demo_index(p.stem) for p in self.parts.glob(f"{K.DEMO_PREFIX}*.hdf5")}
        self._done = done
        self._pending = sorted(part_ids - done)
        self._next = max(done | part_ids, default=-1) + 1
        for stale in self.parts.glob("*.tmp"):
            stale.unlink()

    @property
    def num_demos(self) -> int:
        """Demos stored so far (consolidated + parts); a resumed writer continues from here."""
        return len(self._done) + len(self._pending)

    def add(self, ep: Episode) -> str:
        """Store one episode durably; returns its demo name."""
        name = demo_name(self._next)
        tmp = self.parts / f"{name}.tmp"
        with h5py.File(tmp, "w") as f:
            write_episode(f.create_group(K.DATA), name, ep)
            f.flush()
            os.fsync(f.id.get_vfd_handle())
        os.replace(tmp, self.parts / f"{name}.hdf5")
        _fsync_dir(self.parts)
        self._pending.append(self._next)
        self._next += 1
        if self.consolidate_every and len(self._pending) >= self.consolidate_every:
            self.consolidate()
        return name

    def consolidate(self) -> None:
        """Atomically replace the output with previous output + pending parts, then drop merged parts."""
        tmp = self.path.with_name(self.path.name + f".tmp{os.getpid()}")
        if self.path.exists():
            shutil.copyfile(self.path, tmp)
        with h5py.File(tmp, "a") as f:
            data = f.require_group(K.DATA)
            data.attrs[K.ATTR_ENV_ARGS] = json.dumps(self.env_args)
            data.attrs[K.ATTR_PROVENANCE] = json.dumps(self.provenance)
            if K.ATTR_SOURCES not in data.attrs:
                data.attrs[K.ATTR_SOURCES] = json.dumps([])
            for idx in self._pending:
                name = demo_name(idx)
                if name in data:
                    continue
                with h5py.File(self.parts / f"{name}.hdf5", "r") as part:
                    part.copy(part[K.DATA][name], data, name=name)
            data.attrs[K.ATTR_TOTAL] = sum(int(data[n].attrs[K.ATTR_NUM_SAMPLES]) for n in sorted_demos(data))
            f.flush()
            os.fsync(f.id.get_vfd_handle())
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)
        for idx in self._pending:
            (self.parts / f"{demo_name(idx)}.hdf5").unlink(missing_ok=True)
        self._done |= set(self._pending)
        self._pending = []

    def close(self) -> None:
        """Consolidate and remove the parts folder."""
        self.consolidate()
        shutil.rmtree(self.parts, ignore_errors=True)

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
