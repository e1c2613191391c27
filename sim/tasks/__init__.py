"""Registry of task twins (imported lazily: this module imports no simulator).

``make_task(name, corruption=..., observability=...)`` returns a :class:`~imgen_core.task.TaskAdapter`;
``make_task_from_env_args(env_args)`` rebuilds the adapter a dataset was recorded with.
"""

from __future__ import annotations

import importlib
from typing import Any

from imgen_core.errors import ConfigError, check_choice

# task name -> (module, adapter class)
TASKS: dict[str, tuple[str, str]] = {
    "block_grasp": ("sim.tasks.block_grasp", "BlockGraspAdapter"),
    "coffee": ("sim.tasks.coffee", "CoffeeAdapter"),
    "nut_insertion": ("sim.tasks.nut_insertion", "NutInsertionAdapter"),
    "nut_peg_assembly": ("sim.tasks.nut_peg_assembly", "NutPegAssemblyAdapter"),
    "two_piece_assembly": ("sim.tasks.two_piece_assembly", "TwoPieceAssemblyAdapter"),
}


def make_task(name: str, corruption: str = "none", observability: str = "none", **kwargs: Any) -> Any:
    """Build the adapter of task ``name`` (``ConfigError`` lists the valid task names)."""
    check_choice("task", name, tuple(TASKS))
    module, cls = TASKS[name]
    return getattr(importlib.import_module(module), cls)(corruption=corruption, observability=observability,
                                                          **kwargs)


def make_task_from_env_args(env_args: dict[str, Any], corruption: str | None = None,
                            observability: str | None = None, **overrides: Any) -> Any:
    """Adapter matching a dataset's ``env_args`` (its ``imgen`` entry names the task; env kwargs are reused)."""
    meta = env_args.get("imgen")
    if not meta or "task" not in meta:
        raise ConfigError(f"env_args of env {env_args.get('env_name')!r} carry no imgen task entry; "
                          f"valid tasks: {', '.join(TASKS)}")
    kwargs = dict(env_args.get("env_kwargs", {}))
    kwargs.update(overrides)
    kwargs.pop("horizon", None)
    if "horizon" in meta:  # otherwise the task's own default
        kwargs["horizon"] = int(meta["horizon"])
    return make_task(meta["task"], corruption=corruption or meta.get("corruption", "none"),
                     observability=observability or meta.get("observability", "none"), **kwargs)
