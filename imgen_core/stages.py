"""Content-addressed stage cache for multi-step experiments.

A stage's key is a hash of its name, its parameters and the *content digests* of its input files, so a
re-run skips finished work and any change upstream (a new source file, a different preset) recomputes
exactly what depends on it. A stage is finished when its ``done.json`` exists (written last, atomically).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
_DIGESTS: dict[tuple[str, float, int], str] = {}


def file_digest(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes (memoised on path, mtime and size)."""
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_mtime, st.st_size)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def stage_key(name: str, params: dict[str, Any], inputs: list[str]) -> str:
    blob = json.dumps({"name": name, "params": params, "inputs": [file_digest(p) for p in inputs]}, sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


class StageCache:
    """Runs stages under ``root/<name>-<key>/`` once; returns the stage's result dict (stored in done.json)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.ran: list[str] = []
        self.skipped: list[str] = []
        self.seconds: dict[str, float] = {}  # compute time of every stage used (cached ones: when they ran)

    def run(self, name: str, params: dict[str, Any], inputs: list[str],
            fn: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
        """``fn(stage_dir) -> result`` runs only when no finished stage with the same key exists."""
        d = self.root / f"{name}-{stage_key(name, params, inputs)}"
        done = d / "done.json"
        if done.exists():
            self.skipped.append(name)
            log.info("stage %s: cached (%s)", name, d)
            record = json.loads(done.read_text())
            self.seconds[d.name] = float(record.get("seconds", 0.0))
            return dict(record["result"])
        d.mkdir(parents=True, exist_ok=True)
        log.info("stage %s: running in %s", name, d)
        t0 = time.time()
        result = fn(d)
        self.seconds[d.name] = time.time() - t0
        tmp = d / "done.json.tmp"
        tmp.write_text(json.dumps({"name": name, "params": params, "inputs": inputs, "result": result,
                                   "seconds": self.seconds[d.name]}, indent=2, default=str))
        os.replace(tmp, done)
        self.ran.append(name)
        return result
