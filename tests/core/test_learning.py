import pickle

import numpy as np
import pytest
import torch

from imgen_core import dataset
from imgen_core.errors import CheckpointError, ConfigError
from imgen_core.learning.checkpoint import load_checkpoint
from imgen_core.learning.presets import get_preset
from imgen_core.learning.train import sample_weights, select_best, train
from imgen_core.policy import load_policy
from tests.core.synthetic import ENV_ARGS, PROVENANCE, make_episode


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("learn")
    path = d / "data.hdf5"
    with dataset.DatasetWriter(path, ENV_ARGS, PROVENANCE) as w:
        for i in range(4):
            w.add(make_episode(T=30, seed=i))
    calls = []

    def fake_eval(ckpt, epoch):  # a deterministic scorer: exercises selection, not policy quality
        calls.append(epoch)
        return {2: 0.4, 4: 0.7}[epoch]

    res = train([str(path)], get_preset("tiny"), d / "run", evaluate=fake_eval, show_progress=False)
    return d, path, res, calls


def test_training_writes_checkpoints_and_selects_best(trained):
    d, _, res, calls = trained
    assert calls == [2, 4]
    assert res.best_epoch == 4 and res.best_success == 0.7
    assert (d / "run" / "best.pt").exists() and (d / "run" / "last.pt").exists()
    _, meta = load_checkpoint(d / "run" / "best.pt")
    assert meta["epoch"] == 4
    assert meta["robomimic_config"]["train"]["seq_length"] == 10
    assert meta["robomimic_config"]["algo"]["rnn"]["horizon"] == 10


def test_select_best_ties_pick_latest():
    assert select_best({50: 0.5, 100: 0.9, 150: 0.9}) == 150
    assert select_best({50: 0.5, 100: 0.9, 150: 0.7}) == 100
    with pytest.raises(ConfigError):
        select_best({})


def test_policy_runtime_acts_and_validates_inputs(trained):
    d, _, _, _ = trained
    pol = load_policy(d / "run" / "best.pt")
    ep = make_episode(T=3, seed=9)
    obs = {k: v[0] for k, v in ep.obs.items()}
    pol.reset()
    a = pol.act(obs)
    assert a.shape == (7,) and np.all(np.abs(a) <= 1.0)
    bad = dict(obs)
    bad["cube_pos"] = np.array([np.nan, 0, 0])
    with pytest.raises(ConfigError, match="NaN"):
        pol.act(bad)
    del bad["cube_pos"]
    with pytest.raises(ConfigError, match=r"lacks \['cube_pos'\]"):
        pol.act(bad)
    bad = dict(obs)
    bad["robot0_eef_quat"] = np.zeros(3)
    with pytest.raises(ConfigError, match="expected 4"):
        pol.act(bad)


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_tampered_checkpoints_are_rejected(trained, tmp_path):
    d, _, _, _ = trained
    payload = torch.load(d / "run" / "best.pt", weights_only=True)
    key = next(iter(payload["state"]))
    payload["state"][key] = payload["state"][key] + 1.0
    edited = tmp_path / "edited.pt"
    torch.save(payload, edited)
    with pytest.raises(CheckpointError, match="digest mismatch"):
        load_policy(edited)
    evil = tmp_path / "evil.pt"
    torch.save({"format": "imgen-bc-rnn/1", "x": Evil()}, evil)
    with pytest.raises(CheckpointError, match="refused to load"):
        load_policy(evil)
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(CheckpointError):
        load_policy(raw)


def test_weighted_sampling_follows_demo_weights(tmp_path):
    import robomimic.utils.train_utils as TrainUtils

    from imgen_core.learning.train import build_model, dataset_obs_keys, robomimic_config

    a, b = tmp_path / "a.hdf5", tmp_path / "b.hdf5"
    for p, n in ((a, 4), (b, 1)):
        with dataset.DatasetWriter(p, ENV_ARGS, PROVENANCE) as w:
            for i in range(n):
                w.add(make_episode(T=20, seed=i))
    merged = tmp_path / "m.hdf5"
    dataset.merge([str(a), str(b)], merged, weights=[1.0, 4.0])
    keys = list(dataset_obs_keys(str(merged)))
    cfg = robomimic_config(get_preset("tiny"), str(merged), keys, 0)
    build_model(cfg, {k: [3] for k in keys})  # registers obs modalities
    ds = TrainUtils.dataset_factory(cfg, keys)
    w = sample_weights(ds, str(merged))
    assert w.shape == (len(ds),) and set(np.unique(w)) == {1.0, 4.0}
    # the one weighted demo gets as much total mass as the four others together
    assert w[w == 4.0].sum() == pytest.approx(w[w == 1.0].sum())


def test_wilson_interval_known_values():
    from imgen_core.learning.evaluate import wilson_interval

    lo, hi = wilson_interval(45, 50)
    assert lo == pytest.approx(0.7864, abs=1e-3) and hi == pytest.approx(0.9565, abs=1e-3)
    lo, hi = wilson_interval(0, 50)
    assert lo == 0.0 and hi == pytest.approx(0.0714, abs=1e-3)
    assert wilson_interval(50, 50)[1] == 1.0 and wilson_interval(0, 50)[0] == 0.0  # exact: plots need hi >= p
    for n in (1, 3, 20, 50, 100, 1000):
        for k in range(n + 1):
            lo, hi = wilson_interval(k, n)
            assert 0.0 <= lo <= k / n <= hi <= 1.0, (k, n, lo, hi)
    with pytest.raises(ConfigError):
        wilson_interval(3, 2)


def test_runtime_derives_relative_position_and_standardises_like_the_training_file(trained):
    """The checkpoint carries the training file's statistics; the runtime feeds the model exactly what it trained on."""
    d, _, _, _ = trained
    pol = load_policy(d / "run" / "best.pt")
    assert "eef_to_cube_pos" in pol.obs_keys and "eef_to_cube_pos" not in pol.input_keys
    stats = pol.meta["obs_normalization_stats"]
    assert set(stats) == set(pol.obs_keys)
    ep = make_episode(T=3, seed=9)
    obs = {k: v[0] for k, v in ep.obs.items()}
    t = pol._tensors(obs)
    rel = obs["cube_pos"] - obs["robot0_eef_pos"]
    want = (rel - np.array(stats["eef_to_cube_pos"]["mean"])) / np.array(stats["eef_to_cube_pos"]["std"])
    np.testing.assert_allclose(t["eef_to_cube_pos"].numpy()[0], want, rtol=1e-5, atol=1e-5)
    missing = {k: v for k, v in obs.items() if k != "robot0_eef_pos"}
    with pytest.raises(ConfigError, match=r"lacks \['robot0_eef_pos'\]"):
        pol.act(missing)


def test_object_position_noise_moves_the_estimate_and_its_relative_key_together():
    from imgen_core.learning.train import ObjectPositionNoise

    keys = ["cube_pos", "eef_to_cube_pos", "robot0_eef_pos", "robot0_gripper_width"]
    stats = {"cube_pos": {"mean": [0, 0, 0], "std": [0.05, 0.1, 0.01]},
             "eef_to_cube_pos": {"mean": [0, 0, 0], "std": [0.04, 0.03, 0.06]},
             "robot0_eef_pos": {"mean": [0, 0, 0], "std": [0.1, 0.1, 0.1]}}
    batch = {"obs": {"cube_pos": torch.zeros(4000, 10, 3), "eef_to_cube_pos": torch.zeros(4000, 10, 3),
                     "robot0_eef_pos": torch.zeros(4000, 10, 3), "robot0_gripper_width": torch.zeros(4000, 10, 1)}}
    noisy = ObjectPositionNoise([batch], keys, 0.002, stats)
    assert len(noisy) == 1
    out = next(iter(noisy))["obs"]
    e_cube = out["cube_pos"].numpy() * np.array(stats["cube_pos"]["std"])  # back to metres
    e_rel = out["eef_to_cube_pos"].numpy() * np.array(stats["eef_to_cube_pos"]["std"])
    np.testing.assert_allclose(e_cube, e_rel, atol=1e-7)  # one estimate error, seen in both keys
    np.testing.assert_allclose(e_cube.reshape(-1, 3).std(axis=0), 0.002, rtol=0.05)
    assert not out["robot0_eef_pos"].any() and not out["robot0_gripper_width"].any()
    with pytest.raises(ConfigError, match="object_pos_noise_m"):
        ObjectPositionNoise([batch], keys, 0.5, stats)
