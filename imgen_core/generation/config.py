"""Typed, validated generation settings (one dataclass, exposed 1:1 on the CLI)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from imgen_core.errors import check_choice, check_range


@dataclass(frozen=True)
class GenerationConfig:
    """Knobs of MimicGen / I-MG episode generation.

    Attributes:
        interp_steps: steps of the linear/slerp interpolation segment prepended to each replayed segment.
        action_noise: std of Gaussian noise added to the arm part of replayed actions (paper: 0.05).
        select: source segment selection: ``random`` or ``nearest`` (object pose closest to the new one).
        nearest_k: with ``nearest``, pick uniformly among the k nearest (EE pose in the object frame).
        nearest_slack: with ``nearest``, skip candidates farther than the nearest one by more than this [m].
        policy_steps: step budget of one closed-loop policy execution before a recovery is forced.
        max_recoveries: most mistake/recovery rounds in one I-MG episode (Algorithm 1 allows several).
        settle_steps: extra steps holding the last target at the end, stopping as soon as the task succeeds.
        min_recovery_len: shortest human span that counts as a recovery segment.
    """

    interp_steps: int = 5
    action_noise: float = 0.05
    select: str = "nearest"
    nearest_k: int = 3
    nearest_slack: float = 0.03
    policy_steps: int = 120
    max_recoveries: int = 2
    settle_steps: int = 15
    min_recovery_len: int = 3

    def __post_init__(self) -> None:
        check_range("interp_steps", self.interp_steps, 2, 200)
        check_range("action_noise", self.action_noise, 0.0, 1.0)
        check_choice("select", self.select, ("random", "nearest"))
        check_range("nearest_k", self.nearest_k, 1, 1000)
        check_range("nearest_slack", self.nearest_slack, 0.0, 10.0)
        check_range("policy_steps", self.policy_steps, 1, 10_000)
        check_range("max_recoveries", self.max_recoveries, 1, 20)
        check_range("settle_steps", self.settle_steps, 0, 1000)
        check_range("min_recovery_len", self.min_recovery_len, 1, 1000)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
