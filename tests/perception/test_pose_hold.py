"""PoseHold: holds through gaps, rejects single-frame jumps, accepts confirmed moves, never outlives max_hold_s."""

import numpy as np
import pytest

from imgen_core.errors import ConfigError
from perception.pose_hold import PoseHold, PoseHoldConfig


def at(x, y=0.0, z=0.0):
    t = np.eye(4)
    t[:3, 3] = (x, y, z)
    return t


def test_first_estimate_is_fresh_and_small_motion_is_tracked():
    h = PoseHold()
    r = h.update(at(0.5), 0.0)
    assert r.state == "fresh" and np.allclose(r.pose, at(0.5))
    r = h.update(at(0.51), 0.2)
    assert r.state == "fresh" and np.allclose(r.pose[:3, 3], (0.51, 0, 0))


def test_gap_reports_the_held_pose_until_max_hold():
    h = PoseHold(PoseHoldConfig(max_hold_s=1.0))
    h.update(at(0.5, 0.1), 10.0)
    r = h.update(None, 10.5, "lost: occluded")
    assert r.state == "held" and np.allclose(r.pose, at(0.5, 0.1)) and r.reason == "lost: occluded"
    assert r.held_age_s == pytest.approx(0.5)
    r = h.update(None, 11.2, "lost: occluded")
    assert r.state == "none" and r.pose is None and "older than 1.0 s" in r.reason


def test_no_estimate_before_any_pose_is_none():
    r = PoseHold().update(None, 0.0, "no_cube")
    assert r.state == "none" and r.pose is None


def test_single_outlier_is_rejected_and_the_track_continues():
    h = PoseHold()
    h.update(at(0.5), 0.0)
    r = h.update(at(0.5, 0.18), 0.2)  # a bad fit 18 cm away
    assert r.state == "held" and np.allclose(r.pose, at(0.5)) and "candidate 1/3" in r.reason
    r = h.update(at(0.505), 0.4)
    assert r.state == "fresh" and np.allclose(r.pose[:3, 3], (0.505, 0, 0))


def test_scattered_outliers_never_confirm():
    h = PoseHold()
    h.update(at(0.5), 0.0)
    for k, y in enumerate((0.1, -0.1, 0.15, -0.05, 0.12)):
        r = h.update(at(0.5, y), 0.2 * (k + 1))
        assert r.state == "held" and np.allclose(r.pose, at(0.5))


def test_a_real_move_is_accepted_after_confirm_frames():
    h = PoseHold(PoseHoldConfig(confirm_frames=3))
    h.update(at(0.5), 0.0)
    states = [h.update(at(0.5, 0.06 + 0.002 * k), 0.2 * (k + 1)).state for k in range(3)]
    assert states == ["held", "held", "fresh"]
    assert np.allclose(h.held[:3, 3], (0.5, 0.064, 0))


def test_reset_forgets_the_track():
    h = PoseHold()
    h.update(at(0.5), 0.0)
    h.reset()
    assert h.held is None
    r = h.update(at(0.7), 0.1)
    assert r.state == "fresh" and np.allclose(r.pose, at(0.7))


def test_bad_input_is_rejected():
    with pytest.raises(ConfigError, match="finite"):
        PoseHold().update(np.full((4, 4), np.nan), 0.0)
    with pytest.raises(ConfigError, match="confirm_frames"):
        PoseHoldConfig(confirm_frames=0)
