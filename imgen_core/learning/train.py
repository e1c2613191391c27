"""Training BC-RNN-GMM with robomimic's own model, dataset class and epoch loop on imgen datasets."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from imgen_core import keys as K
from imgen_core.dataset import assert_valid, merge, sorted_demos
from imgen_core.errors import ConfigError, DatasetError, check_range
from imgen_core.learning.checkpoint import save_checkpoint
from imgen_core.learning.presets import TrainPreset
from imgen_core.obs import add_derived_to_file, object_position_keys, relative_key, standardize_file

log = logging.getLogger(__name__)


def dataset_obs_keys(path: str) -> dict[str, int]:
    """Policy observation keys and their sizes, read from the first demo of a dataset."""
    with h5py.File(path, "r") as f:
        demos = sorted_demos(f[K.DATA])
        if not demos:
            raise DatasetError(f"{path} has no demos")
        obs = f[K.DATA][demos[0]][K.OBS]
        return {k: int(np.prod(obs[k].shape[1:])) for k in sorted(obs)}


def robomimic_config(preset: TrainPreset, data_path: str, obs_keys: list[str], seed: int) -> Any:
    """robomimic BC config with RNN + GMM enabled and the preset's sizes (seq_length = RNN horizon)."""
    from robomimic.config import config_factory

    config = config_factory("bc")
    with config.values_unlocked():
        config.train.data = data_path
        config.train.output_dir = None
        config.train.seq_length = preset.seq_length
        config.train.batch_size = preset.batch_size
        config.train.num_epochs = preset.epochs
        config.train.hdf5_load_next_obs = False
        config.train.hdf5_cache_mode = "all"
        config.train.hdf5_use_swmr = True
        config.train.cuda = False
        config.train.seed = seed
        config.experiment.epoch_every_n_steps = preset.steps_per_epoch
        config.experiment.rollout.enabled = False
        config.experiment.validate = False
        config.algo.optim_params.policy.learning_rate.initial = preset.lr
        config.algo.actor_layer_dims = list(preset.actor_layer_dims)
        config.algo.rnn.enabled = True
        config.algo.rnn.horizon = preset.seq_length
        config.algo.rnn.hidden_dim = preset.rnn_hidden
        config.algo.rnn.num_layers = preset.rnn_layers
        config.algo.gmm.enabled = True
        config.algo.gmm.num_modes = preset.gmm_modes
        config.observation.modalities.obs.low_dim = list(obs_keys)
        config.observation.modalities.obs.rgb = []
    return config


def build_model(config: Any, obs_key_shapes: dict[str, list[int]], ac_dim: int = K.ACTION_DIM) -> Any:
    """robomimic ``algo_factory`` on CPU, after registering the observation modalities."""
    import robomimic.utils.obs_utils as ObsUtils
    import torch
    from robomimic.algo import algo_factory

    ObsUtils.initialize_obs_utils_with_config(config)
    return algo_factory(config.algo_name, config, obs_key_shapes=obs_key_shapes, ac_dim=ac_dim,
                        device=torch.device("cpu"))


def sample_weights(dataset: Any, path: str) -> np.ndarray:
    """Per-sample weights from each demo's ``weight`` attribute (Weighted Src Int)."""
    with h5py.File(path, "r") as f:
        w = {n: float(f[K.DATA][n].attrs.get(K.ATTR_WEIGHT, 1.0)) for n in sorted_demos(f[K.DATA])}
    return np.array([w[dataset._index_to_demo_id[i]] for i in range(len(dataset))], dtype=np.float64)


@dataclass
class TrainResult:
    """Where the run's files are and how it went."""

    out_dir: str
    checkpoints: list[str] = field(default_factory=list)
    evals: dict[int, float] = field(default_factory=dict)
    best_epoch: int | None = None
    best_success: float | None = None
    samples_per_second: float = 0.0
    wall_seconds: float = 0.0


def prepare_data(datasets: list[str], weights: list[float] | None, out_dir: Path, derived_obs: bool = False,
                 normalize_obs: bool = False) -> tuple[str, dict[str, dict[str, list[float]]] | None]:
    """One training file and its observation statistics (``None`` when not standardised).

    The file is the dataset itself, or a merge (with per-source weights) cached in ``out_dir``. With ``derived_obs``
    or ``normalize_obs`` it is always a copy in ``out_dir``, with :mod:`imgen_core.obs`'s derived keys added and/or
    every observation standardised (statistics kept beside it); the inputs are never modified.
    """
    if not datasets:
        raise ConfigError("give at least one --dataset")
    for d in datasets:
        assert_valid(d)
    if len(datasets) == 1 and not weights and not derived_obs and not normalize_obs:
        return datasets[0], None
    merged = out_dir / "train_data.hdf5"
    stats_path = out_dir / "train_data.obs_stats.json"
    if not merged.exists():
        tmp = out_dir / "train_data.hdf5.tmp"
        merge(datasets, tmp, weights=weights, overwrite=True)
        if derived_obs:
            add_derived_to_file(tmp)
        stats = standardize_file(tmp) if normalize_obs else None
        stats_path.write_text(json.dumps(stats))
        os.replace(tmp, merged)
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else None
    return str(merged), stats


class ObjectPositionNoise:
    """Batches of ``loader`` with Gaussian noise on every observed object position (training-time augmentation).

    One draw ``e ~ N(0, sigma_m^2)`` per object, step and axis [m] is added to ``<obj>_pos`` and to its derived
    ``eef_to_<obj>_pos`` (the same error, as a pose estimate's error enters both); on standardised files it is
    divided by each key's std. A policy trained so cannot key its decisions on sub-millimetre motion of the
    estimate, which the simulator's contact physics shows and a camera pipeline does not.
    """

    def __init__(self, loader: Any, keys: list[str], sigma_m: float,
                 stats: dict[str, dict[str, list[float]]] | None) -> None:
        import torch

        check_range("object_pos_noise_m", sigma_m, 0.0, 0.05)
        self.loader = loader
        self.groups: list[list[tuple[str, Any]]] = []
        for src in object_position_keys(keys):
            group = [k for k in (src, relative_key(src.removesuffix("_pos"))) if k in keys]
            scale = [torch.tensor(sigma_m / np.asarray(stats[k]["std"], dtype=np.float32) if stats and k in stats
                                  else np.full(3, sigma_m, dtype=np.float32)) for k in group]
            self.groups.append(list(zip(group, scale, strict=True)))

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Any:
        import torch

        for batch in self.loader:
            for group in self.groups:
                e = torch.randn_like(batch["obs"][group[0][0]])
                for k, scale in group:
                    batch["obs"][k] = batch["obs"][k] + e * scale
            yield batch


def train(datasets: list[str], preset: TrainPreset, out_dir: str | os.PathLike[str],
          weights: list[float] | None = None, seed: int = 0, resume: bool = False,
          evaluate: Callable[[str, int], float] | None = None, show_progress: bool = True,
          extra_meta: dict[str, Any] | None = None, object_pos_noise_m: float = 0.0) -> TrainResult:
    """Train one policy; ``evaluate(ckpt_path, epoch) -> success`` is called every ``eval_every`` epochs.

    ``object_pos_noise_m`` > 0 adds :class:`ObjectPositionNoise` to the training batches (recorded in the
    checkpoint's metadata). Files in ``out_dir``: ``epoch_<N>.pt`` checkpoints, ``best.pt`` (highest evaluated
    success; the last checkpoint when no evaluator is given), ``last.pt``, ``resume.pt``, ``log.jsonl``,
    ``summary.json``.
    """
    import robomimic.utils.log_utils as LogUtils
    import robomimic.utils.train_utils as TrainUtils
    import torch
    from torch.utils.data import DataLoader, WeightedRandomSampler
    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data_path, obs_stats = prepare_data(datasets, weights, out, derived_obs=preset.derived_obs,
                                        normalize_obs=preset.normalize_obs)
    obs_dims = dataset_obs_keys(data_path)
    obs_keys = list(obs_dims)
    torch.manual_seed(seed)
    np.random.seed(seed)
    config = robomimic_config(preset, data_path, obs_keys, seed)
    model = build_model(config, {k: [d] for k, d in obs_dims.items()})
    trainset = TrainUtils.dataset_factory(config, obs_keys)
    weighted = weights is not None and len(set(weights)) > 1
    if weighted:
        sampler = WeightedRandomSampler(sample_weights(trainset, data_path).tolist(),
                                        num_samples=preset.steps_per_epoch * preset.batch_size, replacement=True)
        loader = DataLoader(trainset, sampler=sampler, batch_size=preset.batch_size, num_workers=0, drop_last=True)
    else:
        loader = DataLoader(trainset, shuffle=True, batch_size=preset.batch_size, num_workers=0, drop_last=True)
    batches: Any = loader
    if object_pos_noise_m > 0.0:
        batches = ObjectPositionNoise(loader, obs_keys, object_pos_noise_m, obs_stats)
    meta = {"robomimic_config": json.loads(config.dump()), "obs_key_shapes": {k: [d] for k, d in obs_dims.items()},
            "ac_dim": K.ACTION_DIM, "preset": preset.to_dict(), "datasets": [os.path.abspath(d) for d in datasets],
            "weights": weights, "seed": seed, "obs_normalization_stats": obs_stats,
            "object_pos_noise_m": object_pos_noise_m,
            "env_args": json.loads(h5py.File(data_path, "r")[K.DATA].attrs[
                K.ATTR_ENV_ARGS]), **(extra_meta or {})}
    result = TrainResult(str(out))
    start_epoch = 1
    resume_path = out / "resume.pt"
    if resume and resume_path.exists():
        state = torch.load(resume_path, map_location="cpu", weights_only=True)
        model.nets.load_state_dict(state["model"])
        for name, opt in model.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        start_epoch = int(state["epoch"]) + 1
        result.evals = {int(k): float(v) for k, v in json.loads(state["evals"]).items()}
        torch.set_rng_state(state["torch_rng"])
        log.info("resuming %s at epoch %d", out, start_epoch)
    LogUtils.custom_tqdm = lambda it, **_: it  # run_epoch's own per-step bar; ours covers epochs
    t0 = time.time()
    samples = 0
    bar = tqdm(range(start_epoch, preset.epochs + 1), desc=f"train {out.name}", disable=not show_progress,
               initial=start_epoch - 1, total=preset.epochs)
    with (out / "log.jsonl").open("a") as logf:
        for epoch in bar:
            step_log = TrainUtils.run_epoch(model=model, data_loader=batches, epoch=epoch,
                                            num_steps=preset.steps_per_epoch)
            model.on_epoch_end(epoch)
            samples += preset.steps_per_epoch * preset.batch_size
            loss = float(step_log.get("Loss", np.nan))
            rec: dict[str, Any] = {"epoch": epoch, "loss": loss, "time": time.time() - t0}
            if epoch % preset.eval_every == 0 or epoch == preset.epochs:
                ckpt = out / f"epoch_{epoch}.pt"
                save_checkpoint(ckpt, model.nets.state_dict(), {**meta, "epoch": epoch})
                result.checkpoints.append(str(ckpt))
                if evaluate is not None:
                    result.evals[epoch] = float(evaluate(str(ckpt), epoch))
                    rec["success"] = result.evals[epoch]
                torch.save({"model": model.nets.state_dict(), "epoch": epoch, "evals": json.dumps(result.evals),
                            "optimizers": {n: o.state_dict() for n, o in model.optimizers.items()},
                            "torch_rng": torch.get_rng_state()}, resume_path)
            bar.set_postfix(loss=f"{loss:.3f}", **({"success": f"{rec['success']:.2f}"} if "success" in rec else {}))
            logf.write(json.dumps(rec) + "\n")
            logf.flush()
    result.wall_seconds = time.time() - t0
    result.samples_per_second = samples / result.wall_seconds if result.wall_seconds else 0.0
    last = out / f"epoch_{preset.epochs}.pt"
    if last.exists():
        shutil.copyfile(last, out / "last.pt")
    best_epoch = select_best(result.evals) if result.evals else preset.epochs
    result.best_epoch = best_epoch
    result.best_success = result.evals.get(best_epoch) if result.evals else None
    if (out / f"epoch_{best_epoch}.pt").exists():
        shutil.copyfile(out / f"epoch_{best_epoch}.pt", out / "best.pt")
    (out / "summary.json").write_text(json.dumps({
        "best_epoch": best_epoch, "best_success": result.best_success, "evals": result.evals,
        "selection": "highest success over evaluated checkpoints (ties: latest)" if result.evals else "last",
        "samples_per_second": result.samples_per_second, "wall_seconds": result.wall_seconds,
        "preset": preset.to_dict(), "datasets": datasets, "weights": weights,
        "object_pos_noise_m": object_pos_noise_m}, indent=2))
    return result


def select_best(evals: dict[int, float]) -> int:
    """The paper's model selection: the epoch with the highest success rate (the latest, most trained, on ties)."""
    if not evals:
        raise ConfigError("no evaluations to select from")
    return max(evals, key=lambda e: (evals[e], e))
