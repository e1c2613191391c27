"""What every benchmark does with its figures: print them as JSON and write the same JSON to ``--out``.

Imported by the scripts of this folder as ``from _common import emit`` (a script's own folder is on its path).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def emit(figures: dict[str, Any], out: str | Path | None, indent: int = 2) -> None:
    """Print ``figures`` and, when ``out`` is given, write them there (its folder is created)."""
    text = json.dumps(figures, indent=indent)
    print(text)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text + "\n")
