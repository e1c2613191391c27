import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from imgen_core import se3
from perception.extrinsics import (
    CalibrationError,
    CameraExtrinsics,
    ExtrinsicsError,
    calibrate_from_points,
    load_samples,
    solve_rigid,
)

BASE_T_CAMERA = se3.make_pose([1.1, 0.3, 0.55], Rotation.from_euler("xyz", [-130, 0, 120], degrees=True).as_matrix())


def test_save_load_round_trip_keeps_pose_frames_and_units(tmp_path):
    ext = CameraExtrinsics(BASE_T_CAMERA, serial="123", calibration={"method": "test"})
    path = ext.save(tmp_path / "cfg" / "extrinsics_d415.json")
    d = json.loads(path.read_text())
    assert d["transform"] == "base_T_camera_color_optical_frame"
    assert (d["parent_frame"], d["child_frame"]) == ("base", "camera_color_optical_frame")
    assert d["units"] == {"translation": "m", "rotation": "quaternion_xyzw"}
    assert d["quaternion_xyzw"][3] >= 0
    back = CameraExtrinsics.load(path)
    np.testing.assert_allclose(back.base_T_camera, BASE_T_CAMERA, atol=1e-12)
    assert back.serial == "123" and back.calibration["method"] == "test"


@pytest.mark.parametrize("edit, match", [
    (lambda d: d.update(format="imgen.camera_extrinsics/0"), "not supported"),
    (lambda d: d.update(child_frame="camera_depth_optical_frame"), "camera_color_optical_frame"),
    (lambda d: d.update(units={"translation": "mm", "rotation": "quaternion_xyzw"}), "units"),
    (lambda d: d.update(quaternion_xyzw=[0, 0, 0, 2]), "unit quaternion"),
    (lambda d: d.update(translation=[1100.0, 300.0, 550.0]), "not mm"),
    (lambda d: d.update(translation=[1.0, "x", 0.5]), "numbers"),
    (lambda d: d.update(translation=[1.0, 0.5]), "3 numbers"),
    (lambda d: d.pop("quaternion_xyzw"), "missing key"),
])
def test_invalid_files_are_refused_with_a_message_saying_what_is_valid(tmp_path, edit, match):
    d = CameraExtrinsics(BASE_T_CAMERA).to_dict()
    edit(d)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ExtrinsicsError, match=match):
        CameraExtrinsics.load(path)


def test_missing_and_non_json_files(tmp_path):
    with pytest.raises(ExtrinsicsError, match="imgen calibrate"):
        CameraExtrinsics.load(tmp_path / "none.json")
    (tmp_path / "x.json").write_text("{nope")
    with pytest.raises(ExtrinsicsError, match="not valid JSON"):
        CameraExtrinsics.load(tmp_path / "x.json")


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_solve_rigid_recovers_an_exact_transform(seed):
    rng = np.random.default_rng(seed)
    t = se3.make_pose(rng.uniform(-1, 1, 3), Rotation.random(random_state=seed).as_matrix())
    b = rng.uniform(-0.3, 0.3, (6, 3))
    a = b @ t[:3, :3].T + t[:3, 3]
    np.testing.assert_allclose(solve_rigid(a, b), t, atol=1e-9)


def _samples(rng, n=12, noise=0.0005):
    """Cube centres the robot placed (base) and what a camera at BASE_T_CAMERA measures, with noise."""
    base = np.c_[rng.uniform(0.46, 0.66, n), rng.uniform(-0.15, 0.15, n), rng.choice([0.025, 0.08, 0.12], n)]
    cam = (base - BASE_T_CAMERA[:3, 3]) @ BASE_T_CAMERA[:3, :3]
    return base + rng.normal(0, noise / 2, base.shape), cam + rng.normal(0, noise, cam.shape)


@pytest.mark.parametrize("seed", range(5))
def test_calibration_on_noisy_samples_with_an_outlier(seed):
    rng = np.random.default_rng(seed)
    base, cam = _samples(rng)
    cam[3] += [0.02, -0.01, 0.0]  # one bad observation (e.g. the cube slipped)
    res = calibrate_from_points(base, cam)
    assert not res.inliers[3] and res.n_inliers == 11
    assert res.residuals_m[3] > 0.015
    # what matters: where a point the camera sees in the workspace lands in the base frame
    ws = np.c_[rng.uniform(0.46, 0.66, 50), rng.uniform(-0.15, 0.15, 50), np.full(50, 0.025)]
    ws_cam = (ws - BASE_T_CAMERA[:3, 3]) @ BASE_T_CAMERA[:3, :3]
    mapped = ws_cam @ res.base_T_camera[:3, :3].T + res.base_T_camera[:3, 3]
    assert np.linalg.norm(mapped - ws, axis=1).max() < 0.0015
    err_r = np.degrees(se3.rotation_angle(res.base_T_camera[:3, :3].T @ BASE_T_CAMERA[:3, :3]))
    assert err_r < 0.3
    assert res.rmse_m < 0.0015


def test_degenerate_or_too_few_samples_are_refused():
    rng = np.random.default_rng(0)
    base, cam = _samples(rng, n=3)
    with pytest.raises(CalibrationError, match="at least 4"):
        calibrate_from_points(base, cam)
    line = np.c_[np.linspace(0.45, 0.65, 8), np.zeros(8), np.full(8, 0.025)]
    with pytest.raises(CalibrationError, match="spread"):
        calibrate_from_points(line, line @ BASE_T_CAMERA[:3, :3])
    base, cam = _samples(rng)
    with pytest.raises(CalibrationError, match="no consistent transform|inconsistent"):
        calibrate_from_points(base, rng.permutation(cam))  # wrong pairing


def test_samples_file_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    base, cam = _samples(rng, n=5)
    p = tmp_path / "s.json"
    p.write_text(json.dumps({"samples": [{"base_p_cube": list(b), "camera_p_cube": list(c)}
                                         for b, c in zip(base, cam, strict=True)]}))
    a, b = load_samples(p)
    np.testing.assert_allclose(a, base)
    np.testing.assert_allclose(b, cam)
