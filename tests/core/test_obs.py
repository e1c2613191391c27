"""Derived observations and the training file's standardisation (imgen_core.obs), and their use by the runtime."""

import h5py
import numpy as np
import pytest

from imgen_core import dataset
from imgen_core import obs as O
from imgen_core.errors import ConfigError
from tests.core.synthetic import ENV_ARGS, PROVENANCE, make_episode


def test_relative_position_is_object_minus_eef_and_only_for_object_positions():
    obs = {"robot0_eef_pos": np.array([0.5, 0.1, 0.2]), "cube_pos": np.array([0.55, 0.05, 0.0]),
           "peg_contact_pos": np.zeros(3), "robot0_gripper_width": np.array([0.08])}
    assert O.derived_keys(obs) == ["eef_to_cube_pos"]
    np.testing.assert_allclose(O.derive("eef_to_cube_pos", obs), [0.05, -0.05, -0.2])
    assert O.input_keys(["eef_to_cube_pos", "cube_quat"]) == ["cube_pos", "cube_quat", "robot0_eef_pos"]
    with pytest.raises(ConfigError, match="eef_to_<object>_pos"):
        O.derive("cube_quat", obs)
    with pytest.raises(ConfigError, match="peg_pos"):
        O.derive("eef_to_peg_pos", obs)


def test_contact_position_is_relative_to_the_eef_and_zero_until_the_contact():
    eef = np.array([[0.5, 0.1, 0.2], [0.52, 0.1, 0.15], [0.53, 0.12, 0.14]])
    obs = {"robot0_eef_pos": eef, "peg_pos": np.tile([0.6, 0.0, 0.1], (3, 1)),
           "peg_contact_flag": np.array([[0.0], [1.0], [1.0]]),
           "peg_contact_pos": np.array([[0.0, 0.0, 0.0], [0.55, 0.08, 0.12], [0.55, 0.08, 0.12]])}
    assert O.derived_keys(obs) == ["eef_to_peg_pos", "eef_to_peg_contact_pos"]
    rel = O.derive("eef_to_peg_contact_pos", obs)
    np.testing.assert_allclose(rel[0], 0.0)  # no contact yet: zeros, not -eef
    np.testing.assert_allclose(rel[1:], obs["peg_contact_pos"][1:] - eef[1:])
    assert O.input_keys(["eef_to_peg_contact_pos"]) == ["peg_contact_flag", "peg_contact_pos", "robot0_eef_pos"]
    # without its flag a contact key is not derivable, and the error names the missing input
    unflagged = {k: v for k, v in obs.items() if k != "peg_contact_flag"}
    assert O.derived_keys(unflagged) == ["eef_to_peg_pos"]
    with pytest.raises(ConfigError, match="peg_contact_flag"):
        O.derive("eef_to_peg_contact_pos", unflagged)
    done = O.complete({k: v[2] for k, v in obs.items()}, ["eef_to_peg_contact_pos"])
    np.testing.assert_allclose(done["eef_to_peg_contact_pos"], [0.02, -0.04, -0.02], atol=1e-12)


def test_complete_adds_only_missing_derivable_keys():
    obs = {"robot0_eef_pos": np.zeros(3), "cube_pos": np.ones(3)}
    out = O.complete(obs, ["eef_to_cube_pos", "eef_to_peg_pos", "cube_pos"])
    np.testing.assert_allclose(out["eef_to_cube_pos"], np.ones(3))
    assert "eef_to_peg_pos" not in out and "eef_to_cube_pos" not in obs  # input untouched
    kept = O.complete({**obs, "eef_to_cube_pos": np.full(3, 7.0)}, ["eef_to_cube_pos"])
    np.testing.assert_allclose(kept["eef_to_cube_pos"], 7.0)


def test_training_file_gets_derived_keys_and_standardised_observations(tmp_path):
    path = tmp_path / "d.hdf5"
    eps = [make_episode(T=20, seed=i) for i in range(3)]
    with dataset.DatasetWriter(path, ENV_ARGS, PROVENANCE) as w:
        for ep in eps:
            w.add(ep)
    assert O.add_derived_to_file(path) == ["eef_to_cube_pos"]
    with h5py.File(path) as f:
        rel = np.concatenate([f["data"][d]["obs"]["eef_to_cube_pos"][()] for d in dataset.sorted_demos(f["data"])])
    raw = np.concatenate([ep.obs["cube_pos"] - ep.obs["robot0_eef_pos"] for ep in eps])
    np.testing.assert_allclose(rel, raw)
    stats = O.standardize_file(path)
    assert set(stats) == {"cube_pos", "cube_quat", "eef_to_cube_pos", "robot0_eef_pos", "robot0_eef_quat",
                          "robot0_gripper_width"}
    with h5py.File(path) as f:
        z = np.concatenate([f["data"][d]["obs"]["eef_to_cube_pos"][()] for d in dataset.sorted_demos(f["data"])])
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(z * np.array(stats["eef_to_cube_pos"]["std"]) + stats["eef_to_cube_pos"]["mean"], raw)
    np.testing.assert_allclose(np.array(stats["eef_to_cube_pos"]["std"]), raw.std(axis=0) + 1e-3)
