"""``imgen collect`` and ``imgen render`` end to end (real MuJoCo, real files)."""

import json

import h5py
import imageio.v2 as imageio
import numpy as np
import pytest

from imgen_cli.main import main
from imgen_core import keys as K
from imgen_core.dataset import assert_valid, file_attrs, read_episodes

pytestmark = pytest.mark.sim


def test_collect_demos_then_resume_without_repeating_a_scene(tmp_path, capsys):
    out = str(tmp_path / "demos.hdf5")
    assert main(["collect", "demos", "--n", "1", "--out", out, "--seed", "3"]) == 0
    assert main(["collect", "demos", "--n", "2", "--out", out, "--seed", "3", "--resume"]) == 0
    assert_valid(out)
    eps = read_episodes(out)
    assert len(eps) == 2 and all(e.success for e in eps)
    assert eps[0].seed != eps[1].seed
    attrs = file_attrs(out)
    prov = attrs[K.ATTR_PROVENANCE]
    assert prov["operator"] == "scripted_oracle" and prov["corruption"] == "none" and prov["kind"] == "demos"
    assert attrs[K.ATTR_ENV_ARGS]["env_name"] == "ImgenBlockGrasp"
    log = [json.loads(line) for line in (tmp_path / "demos.collect.jsonl").read_text().splitlines()]
    assert [r["attempt"] for r in log] == [0, 1]
    with h5py.File(out, "r") as f:
        assert f["data/demo_0/obs/robot0_gripper_width"].shape[1] == 1
        assert f["data/demo_0/datagen_info/eef_pose"].shape[1:] == (4, 4)


def test_collect_interventions_with_the_weak_policy_and_render(tmp_path, capsys):
    out = str(tmp_path / "int.hdf5")
    rc = main(["collect", "interventions", "--policy", "scripted:observed_grasp", "--corruption", "block",
               "--n", "2", "--out", out, "--seed", "1"])
    assert rc == 0
    assert_valid(out, require_intervention=True)
    eps = read_episodes(out)
    for ep in eps:
        m = ep.intervention
        assert m is not None and m.any() and (~m).any()  # robot and human segments
        assert ep.success and ep.info["takeovers"]
        off = ep.observed_object_poses["cube"][:, :3, 3] - ep.object_poses["cube"][:, :3, 3]
        assert np.all(np.abs(off[:, 1]) >= 0.025 - 1e-9)  # the robot believed a corrupted pose throughout
    prov = file_attrs(out)[K.ATTR_PROVENANCE]
    assert prov["corruption"] == "block" and prov["policy"] == "scripted:observed_grasp"

    mp4 = str(tmp_path / "int0.mp4")
    assert main(["render", out, "--demo", "0", "--out", mp4, "--every", "10", "--width", "160",
                 "--height", "120"]) == 0
    frames = list(imageio.get_reader(mp4).iter_data())
    assert len(frames) == len(range(0, len(eps[0]), 10))
    assert frames[0].shape[:2] == (120, 160)


def test_interventions_need_a_policy(tmp_path, capsys):
    assert main(["collect", "interventions", "--n", "1", "--out", str(tmp_path / "x.hdf5")]) == 1
    assert "--policy" in capsys.readouterr().err


def test_render_names_missing_demo(tmp_path, capsys):
    out = str(tmp_path / "d.hdf5")
    assert main(["collect", "demos", "--n", "1", "--out", out, "--max-steps", "250"]) == 0
    assert main(["render", out, "--demo", "7", "--out", str(tmp_path / "x.mp4")]) == 1
    assert "no demo_7" in capsys.readouterr().err
