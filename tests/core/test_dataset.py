import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from imgen_core import dataset
from imgen_core import keys as K
from imgen_core.errors import DatasetError
from tests.core.synthetic import ENV_ARGS, PROVENANCE, make_episode


def write(path, n=3, intervention=False, **kw):
    with dataset.DatasetWriter(path, ENV_ARGS, PROVENANCE, **kw) as w:
        for i in range(n):
            w.add(make_episode(T=10 + i, seed=i, intervention=intervention))
    return path


def test_round_trip_preserves_every_array(tmp_path):
    path = write(tmp_path / "d.hdf5", n=2, intervention=True)
    eps = dataset.read_episodes(str(path))
    ref = make_episode(T=11, seed=1, intervention=True)
    got = eps[1]
    np.testing.assert_array_equal(got.actions, ref.actions)
    np.testing.assert_array_equal(got.eef_pose, ref.eef_pose)
    np.testing.assert_array_equal(got.intervention, ref.intervention)
    np.testing.assert_array_equal(got.object_poses["cube"], ref.object_poses["cube"])
    assert got.seed == 1 and got.operator == "scripted_oracle" and got.info["corruption"] == {"name": "none"}
    assert dataset.validate_file(path, require_intervention=True) == []
    with h5py.File(path) as f:
        prov = json.loads(f["data"].attrs[K.ATTR_PROVENANCE])
        assert prov["operator"] == "scripted_oracle" and prov["task"] == "block_grasp"
        assert prov["imgen_version"] and "command" in prov
        assert f["data"].attrs["total"] == 10 + 11
        assert f["data/demo_1/rewards"][-1] == 1.0 and f["data/demo_1/dones"][-1] == 1


def test_provenance_is_required(tmp_path):
    with pytest.raises(DatasetError, match="operator"):
        dataset.DatasetWriter(tmp_path / "x.hdf5", ENV_ARGS, {"task": "block_grasp"})


def test_refuses_to_clobber_and_resume_continues_numbering(tmp_path):
    path = write(tmp_path / "d.hdf5", n=2)
    with pytest.raises(DatasetError, match="already exists"):
        dataset.DatasetWriter(path, ENV_ARGS, PROVENANCE)
    with dataset.DatasetWriter(path, ENV_ARGS, PROVENANCE, resume=True) as w:
        assert w.num_demos == 2
        assert w.add(make_episode(seed=7)) == "demo_2"
    assert dataset.info(path)["demos"] == 3
    with pytest.raises(DatasetError, match="corruption"):
        dataset.DatasetWriter(path, ENV_ARGS, {**PROVENANCE, "corruption": "block"}, resume=True)


def _corrupt(path, how):
    with h5py.File(path, "a") as f:
        g = f["data/demo_1"]
        if how == "missing_key":
            del g["datagen_info/eef_pose"]
        elif how == "shape":
            a = g["obs/cube_pos"][()]
            del g["obs/cube_pos"]
            g["obs/cube_pos"] = a[:-2]
        elif how == "nan":
            g["actions"][3, 2] = np.nan


@pytest.mark.parametrize("how, expected", [
    ("missing_key", "demo_1: missing key 'datagen_info/eef_pose'"),
    ("shape", "demo_1: obs/cube_pos has 9 rows, expected 11"),
    ("nan", "demo_1: actions contain NaN/inf (first at step 3)"),
])
def test_validate_names_file_demo_and_problem(tmp_path, how, expected):
    path = write(tmp_path / "d.hdf5")
    _corrupt(path, how)
    problems = dataset.validate_file(path)
    assert problems and problems[0] == f"{path}: {expected}"


def test_validate_truncated_and_non_hdf5(tmp_path):
    path = write(tmp_path / "d.hdf5")
    data = path.read_bytes()
    trunc = tmp_path / "t.hdf5"
    trunc.write_bytes(data[: len(data) // 2])
    (p,) = dataset.validate_file(trunc)
    assert str(trunc) in p and ("truncated" in p or "not an HDF5" in p)
    txt = tmp_path / "notes.hdf5"
    txt.write_text("hello")
    assert dataset.validate_file(txt) == [f"{txt}: not an HDF5 file"]


def test_cli_validate_exit_codes(tmp_path):
    good = write(tmp_path / "g.hdf5")
    bad = write(tmp_path / "b.hdf5")
    _corrupt(bad, "nan")
    from imgen_cli.main import main
    assert main(["dataset", "validate", str(good)]) == 0
    assert main(["dataset", "validate", str(good), str(bad)]) == 1


def test_merge_keeps_provenance_and_weights(tmp_path):
    a = write(tmp_path / "a.hdf5", n=2)
    b = tmp_path / "b.hdf5"
    with dataset.DatasetWriter(b, ENV_ARGS, {**PROVENANCE, "operator": "human/keyboard"}) as w:
        w.add(make_episode(seed=5, intervention=True))
    out = tmp_path / "m.hdf5"
    assert dataset.merge([str(a), str(b)], out, weights=[1.0, 4.0]) == 3
    summary = dataset.info(out)
    assert [s["provenance"]["operator"] for s in summary["sources"]] == ["scripted_oracle", "human/keyboard"]
    eps = dataset.read_episodes(str(out))
    assert [e.weight for e in eps] == [1.0, 1.0, 4.0]
    with h5py.File(out) as f:
        assert f["data/demo_2"].attrs["source"] == 1
    other = tmp_path / "o.hdf5"
    with dataset.DatasetWriter(other, {**ENV_ARGS, "env_name": "Other"}, PROVENANCE) as w:
        w.add(make_episode())
    with pytest.raises(DatasetError, match="different envs"):
        dataset.merge([str(a), str(other)], tmp_path / "x.hdf5")


def test_split_writes_robomimic_masks(tmp_path):
    path = write(tmp_path / "d.hdf5", n=10)
    assert dataset.split(path, valid_fraction=0.2, seed=1) == {"train": 8, "valid": 2}
    with h5py.File(path) as f:
        train = {x.decode() for x in f["mask/train"][()]}
        valid = {x.decode() for x in f["mask/valid"][()]}
    assert not train & valid and len(train | valid) == 10
    assert dataset.validate_file(path) == []


def test_robomimic_sequence_dataset_loads_our_file(tmp_path):
    import robomimic.utils.obs_utils as ObsUtils
    from robomimic.utils.dataset import SequenceDataset

    path = write(tmp_path / "d.hdf5", n=3)
    obs_keys = ["robot0_eef_pos", "robot0_eef_quat", "robot0_gripper_width", "cube_pos", "cube_quat"]
    ObsUtils.initialize_obs_modality_mapping_from_dict({"low_dim": obs_keys})
    ds = SequenceDataset(hdf5_path=str(path), obs_keys=obs_keys, dataset_keys=["actions"], load_next_obs=False,
                         seq_length=10, pad_seq_length=True, frame_stack=1, hdf5_cache_mode="all",
                         hdf5_use_swmr=True, hdf5_normalize_obs=False, filter_by_attribute=None)
    assert len(ds) == 10 + 11 + 12
    item = ds[0]
    assert item["actions"].shape == (10, 7)
    assert item["obs"]["cube_quat"].shape == (10, 4)
    assert item["obs"]["robot0_gripper_width"].shape == (10, 1)


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from imgen_core import dataset
    from tests.core.synthetic import ENV_ARGS, PROVENANCE, make_episode
    w = dataset.DatasetWriter({path!r}, ENV_ARGS, PROVENANCE, resume=True, consolidate_every=3)
    i = w.num_demos
    while True:
        w.add(make_episode(T=40, seed=i, state_dim=400)); i += 1
        print(i, flush=True)
""")


def test_kill_9_never_leaves_a_partial_demo(tmp_path):
    path = tmp_path / "k.hdf5"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = KILL_SCRIPT.format(root=root, path=str(path))
    rng = np.random.default_rng(0)
    for _round in range(4):
        p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert p.stdout is not None
        p.stdout.readline()  # at least one demo written
        time.sleep(float(rng.uniform(0.05, 0.6)))
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        if path.exists():
            assert dataset.validate_file(path) == []
    with dataset.DatasetWriter(path, ENV_ARGS, PROVENANCE, resume=True) as w:
        n = w.num_demos
    assert n >= 4
    assert dataset.validate_file(path) == []
    eps = dataset.read_episodes(str(path))
    assert len(eps) == n
    for ep in eps:  # numbering continued across kills, every demo complete and the right one
        np.testing.assert_array_equal(ep.actions, make_episode(T=40, seed=ep.seed, state_dim=400).actions)
    assert sorted(e.seed for e in eps) == list(range(n))
