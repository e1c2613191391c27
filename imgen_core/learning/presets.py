"""Training presets: ``paper`` (the paper's configuration) and ``cpu`` (sized for a 2-core machine)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from imgen_core.errors import check_choice, check_range


@dataclass(frozen=True)
class TrainPreset:
    """BC-RNN-GMM hyper-parameters (robomimic low-dim defaults unless the paper says otherwise).

    ``paper``: robomimic BC-RNN defaults (LSTM 400x2, GMM 5 modes, seq/horizon 10, batch 100,
    100 gradient steps per epoch) with the paper's learning rate 1e-3, 2000 epochs, eval every 50.
    ``cpu``: the same model family, shrunk to fit a 2-core CPU: LSTM 128x2 (≈8x fewer FLOPs),
    200 epochs of 50 steps (20x fewer samples), checkpoints evaluated every 50 epochs on 20 trials.
    (60 epochs proved too few: that base policy grasped 0/20 even without corruption, 200 epochs 20/20;
    see results/table4_cpu_60ep.md.)
    Everything else (GMM, seq_length 10, lr 1e-3, batch 100) is identical.

    Observations (every preset): the recorded keys plus the derived ``eef_to_<obj>_pos`` (``imgen_core.obs``: the
    observed object position relative to the EE, as robosuite's ``gripper_to_cube_pos``), each standardised with the
    training file's mean/std (``imgen_core.obs.standardize_file``; the statistics travel in the checkpoint). Without
    them the ``cpu``-size policy missed the cube by 3-11 cm in x before any corruption mattered
    (Block Grasp, 2026-12-06).
    """

    name: str
    rnn_hidden: int = 400
    rnn_layers: int = 2
    seq_length: int = 10
    gmm_modes: int = 5
    batch_size: int = 100
    lr: float = 1e-3
    epochs: int = 2000
    steps_per_epoch: int = 100
    eval_every: int = 50
    eval_trials: int = 50
    actor_layer_dims: tuple[int, ...] = ()
    derived_obs: bool = True
    normalize_obs: bool = True

    def __post_init__(self) -> None:
        check_range("rnn_hidden", self.rnn_hidden, 8, 4096)
        check_range("rnn_layers", self.rnn_layers, 1, 8)
        check_range("seq_length", self.seq_length, 1, 100)
        check_range("epochs", self.epochs, 1, 100_000)
        check_range("steps_per_epoch", self.steps_per_epoch, 1, 100_000)
        check_range("eval_every", self.eval_every, 1, 100_000)
        check_range("lr", self.lr, 1e-7, 1.0)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["actor_layer_dims"] = list(self.actor_layer_dims)
        return d


PRESETS: dict[str, TrainPreset] = {
    "paper": TrainPreset("paper"),
    "cpu": TrainPreset("cpu", rnn_hidden=128, epochs=200, steps_per_epoch=50, eval_every=50, eval_trials=20),
    "tiny": TrainPreset("tiny", rnn_hidden=32, rnn_layers=1, gmm_modes=2, batch_size=32, epochs=4,
                        steps_per_epoch=10, eval_every=2, eval_trials=3),
}


def get_preset(name: str, **overrides: Any) -> TrainPreset:
    """A preset by name (``paper``, ``cpu``, ``tiny`` for tests), optionally with fields overridden."""
    check_choice("preset", name, tuple(PRESETS))
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})
