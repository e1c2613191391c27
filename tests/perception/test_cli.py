"""``imgen perceive`` and ``imgen calibrate`` end to end (sim D415 → software device → recording → playback)."""

import json

import numpy as np
import pytest

from imgen_cli.main import main
from imgen_core import se3
from perception.extrinsics import CameraExtrinsics

pytestmark = pytest.mark.sim


def test_perceive_sim_records_saves_and_the_recording_replays(tmp_path, capsys):
    rec, png = tmp_path / "sim.db3", tmp_path / "ann.png"
    assert main(["perceive", "--source", "sim", "--frames", "4", "--move-every", "2", "--json",
                 "--record", str(rec), "--save", str(png), "--seed", "3"]) == 0
    lines = [json.loads(s) for s in capsys.readouterr().out.splitlines()]
    assert [r["state"] for r in lines] == ["tracking"] * 4
    assert [r["mode"] for r in lines] == ["init", "track", "init", "track"]  # moved at frame 2: re-initialised
    assert all(r["err_mm"] < 1.0 and r["yaw_err_deg"] < 1.0 for r in lines)
    assert all(-45 <= r["yaw_deg"] < 45 and abs(np.linalg.norm(r["quaternion_xyzw"]) - 1) < 1e-3 for r in lines)
    assert png.stat().st_size > 20_000 and rec.stat().st_size > 100_000
    # replay the recording with the sim's exact extrinsics written as a file
    from sim.d415 import CubeScene, SimD415

    scene = CubeScene()
    cam = SimD415(scene.model, scene.CAMERA)
    ext = CameraExtrinsics(cam.base_T_camera(scene.data)).save(tmp_path / "ext.json")
    cam.close()
    assert main(["perceive", "--source", str(rec), "--extrinsics", str(ext), "--frames", "10", "--json"]) == 0
    out = capsys.readouterr().out.splitlines()
    replay = [json.loads(s) for s in out]
    poses = [r for r in replay if "position_m" in r]
    assert [r["frame"] for r in poses] == [0, 1, 2, 3]
    for live, again in zip(lines, poses, strict=True):  # same frames, same poses
        np.testing.assert_allclose(live["position_m"], again["position_m"], atol=2e-4)
    assert replay[-1].get("capture") == "end_of_stream"


def test_perceive_live_without_a_camera_or_extrinsics_fails_cleanly(tmp_path, capsys):
    assert main(["perceive", "--source", "live", "--extrinsics", str(tmp_path / "none.json")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["perceive", "--source", "clip.mp4", "--extrinsics", str(tmp_path / "none.json")]) == 1


def test_calibrate_solve_and_show(tmp_path, capsys):
    rng = np.random.default_rng(4)
    truth = se3.make_pose([1.1, 0.3, 0.55], se3.axisangle_to_mat([-2.0, 0.4, 1.2]))
    base = np.c_[rng.uniform(0.46, 0.66, 10), rng.uniform(-0.15, 0.15, 10), rng.choice([0.025, 0.1], 10)]
    cam = (base - truth[:3, 3]) @ truth[:3, :3] + rng.normal(0, 0.0003, base.shape)
    samples = tmp_path / "samples.json"
    samples.write_text(json.dumps({"samples": [{"base_p_cube": list(b), "camera_p_cube": list(c)}
                                               for b, c in zip(base, cam, strict=True)]}))
    out = tmp_path / "ext.json"
    assert main(["calibrate", "solve", "--samples", str(samples), "--serial", "8123", "--out", str(out)]) == 0
    ext = CameraExtrinsics.load(out)
    assert np.linalg.norm(ext.base_T_camera[:3, 3] - truth[:3, 3]) < 0.003
    assert ext.serial == "8123" and ext.calibration["n_inliers"] == 10
    assert "rmse" in capsys.readouterr().out
    assert main(["calibrate", "show", str(out)]) == 0
    assert "base_T_camera_color_optical_frame" in capsys.readouterr().out


def test_calibrate_sim_recovers_the_twins_extrinsics(tmp_path, capsys):
    out = tmp_path / "ext_sim.json"
    assert main(["calibrate", "sim", "--n", "8", "--out", str(out)]) == 0
    cal = CameraExtrinsics.load(out).calibration
    assert cal["err_vs_truth_rotation_deg"] < 0.3
    assert cal["err_vs_truth_translation_m"] < 0.004  # camera position; at the workspace this is < 1 mm
    assert "initial guess off by 10.0 mm" in capsys.readouterr().out
