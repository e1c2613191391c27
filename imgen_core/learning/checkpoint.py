"""Safe checkpoints: tensors + JSON only, loaded with ``torch.load(weights_only=True)`` and a content digest.

A checkpoint never contains pickled Python objects; anything else (a crafted pickle, an edited tensor,
a truncated file) is rejected with :class:`~imgen_core.errors.CheckpointError`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from imgen_core.errors import CheckpointError

FORMAT = "imgen-bc-rnn/1"


def _digest(state: dict[str, Any], meta_json: str) -> str:
    h = hashlib.sha256(meta_json.encode())
    for k in sorted(state):
        h.update(k.encode())
        h.update(state[k].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def save_checkpoint(path: str | os.PathLike[str], state_dict: dict[str, Any], meta: dict[str, Any]) -> None:
    """Write ``{format, meta (JSON string), state (tensors), digest}`` atomically."""
    import torch

    meta_json = json.dumps(meta, sort_keys=True)
    state = {k: v.detach().cpu() for k, v in state_dict.items()}
    payload = {"format": FORMAT, "meta": meta_json, "state": state, "digest": _digest(state, meta_json)}
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(state_dict, meta)``; raise CheckpointError for anything unsafe or inconsistent."""
    import pickle

    import torch

    if not os.path.exists(path):
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: refused to load (not a safe imgen checkpoint: {first[:200]})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an imgen checkpoint (expected format {FORMAT!r})")
    meta_json, state = payload.get("meta"), payload.get("state")
    if not isinstance(meta_json, str) or not isinstance(state, dict):
        raise CheckpointError(f"{path}: malformed checkpoint (meta/state missing)")
    if _digest(state, meta_json) != payload.get("digest"):
        raise CheckpointError(f"{path}: content digest mismatch (file was modified after it was written)")
    return state, json.loads(meta_json)
