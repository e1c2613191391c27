"""Operators that produce 7-D actions for a task adapter.

* :class:`ScriptedOracle` (label ``scripted_oracle``): stands in for a human, sees true poses, moves like one.
* :class:`TeleopOperator` over :class:`KeyboardDevice` / :class:`SpaceMouseDevice` (labels ``human/keyboard``,
  ``human/spacemouse``).
* :class:`ObservedPoseGraspPolicy`: a weak scripted *policy* acting on the corrupted observation
  (``scripted:observed_grasp`` wherever a policy checkpoint is accepted).

Every operator offers ``reset(seed)``, ``judge(policy_steps) -> reason | None`` (take over now?),
``take_over()``, ``wants_hand_back()``, ``aborted()`` and ``act() -> (action (7,), target_pose (4,4))``.
"""

from __future__ import annotations

import importlib
from typing import Any

from imgen_core.errors import check_choice
from imgen_core.keys import OPERATOR_SCRIPTED
from sim.operators.oracle import OracleConfig, ScriptedOracle
from sim.operators.policies import SCRIPTED_POLICIES, ObservedPoseGraspPolicy, make_scripted_policy
from sim.operators.teleop import KeyboardDevice, SpaceMouseDevice, TeleopOperator, make_device

OPERATORS = (OPERATOR_SCRIPTED, "keyboard", "spacemouse")

# task name -> (module, class) of its scripted oracle (an ``OracleBase`` of sim.operators.base); every class takes
# ``(adapter, pose_source="true")``
ORACLES: dict[str, tuple[str, str]] = {
    "block_grasp": ("sim.operators.oracle", "ScriptedOracle"),
    "coffee": ("sim.operators.coffee_oracle", "CoffeeOracle"),
    "nut_insertion": ("sim.operators.nut_insertion_oracle", "NutInsertionOracle"),
    "nut_peg_assembly": ("sim.operators.nut_peg_assembly_oracle", "NutPegAssemblyOracle"),
    "two_piece_assembly": ("sim.operators.two_piece_assembly_oracle", "AssemblyOracle"),
}


def make_oracle(adapter: Any, pose_source: str = "true") -> Any:
    """The scripted oracle of ``adapter``'s task (``ConfigError`` lists the tasks that have one)."""
    check_choice("task with a scripted oracle", adapter.name, tuple(ORACLES))
    module, cls = ORACLES[adapter.name]
    return getattr(importlib.import_module(module), cls)(adapter, pose_source=pose_source)


def make_operator(name: str, adapter: Any) -> Any:
    """Operator by CLI name: ``scripted_oracle``, ``keyboard`` or ``spacemouse``."""
    check_choice("operator", name, OPERATORS)
    if name == OPERATOR_SCRIPTED:
        return make_oracle(adapter)
    return TeleopOperator(adapter, make_device(name, adapter))


__all__ = ["OPERATORS", "ORACLES", "SCRIPTED_POLICIES", "KeyboardDevice", "ObservedPoseGraspPolicy", "OracleConfig",
           "ScriptedOracle", "make_oracle", "SpaceMouseDevice", "TeleopOperator", "make_device", "make_operator",
           "make_scripted_policy"]
