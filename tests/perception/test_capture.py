"""Capture through real librealsense: its software device, its recorder and its playback (no camera, no mocks)."""

import time

import numpy as np
import pytest

from imgen_core.errors import ConfigError
from perception.camera_model import CameraIntrinsics
from perception.capture import CaptureConfig, CaptureError, CaptureStatus, D415Capture, FilterConfig
from perception.software_device import SoftwareD415

# deliberately unusual numbers: everything downstream must come from the frames, not from defaults
INTR = CameraIntrinsics(96, 72, 81.5, 82.25, 47.3, 35.9)
DEPTH_SCALE = 0.0001  # 0.1 mm units instead of the D415's usual 1 mm


def _images(k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(k)
    color = rng.integers(0, 255, (72, 96, 3), dtype=np.uint8)
    vv, uu = np.mgrid[0:72, 0:96]
    depth = (6000 + 10 * uu + 7 * vv + 100 * k).astype(np.uint16)  # a tilted plane (what rs.align expects)
    depth[:5, :5] = 0  # invalid pixels stay invalid
    return color, depth


def test_software_device_frames_arrive_unchanged_with_their_own_intrinsics_and_scale():
    dev = SoftwareD415(INTR, depth_scale=DEPTH_SCALE)
    with D415Capture(CaptureConfig(timeout_ms=500), software=dev) as cap:
        for k in range(4):
            color, depth = _images(k)
            dev.push(color, depth, timestamp_ms=100.0 + 40 * k)
            got = cap.read()
            assert got.status is CaptureStatus.OK, got.message
            f = got.frame
            np.testing.assert_array_equal(f.color, color)
            np.testing.assert_array_equal(f.depth, depth)  # depth already has the colour geometry
            assert f.depth_scale == pytest.approx(DEPTH_SCALE, rel=1e-6)
            assert (f.intrinsics.fx, f.intrinsics.ppy) == pytest.approx((81.5, 35.9), rel=1e-6)
            assert f.timestamp_ms == pytest.approx(100.0 + 40 * k)
            assert f.frame_number == k
            assert f.depth_m()[0, 0] == 0.0


def test_depth_with_its_own_geometry_is_aligned_to_colour_by_librealsense():
    depth_intr = CameraIntrinsics(48, 36, 40.75, 41.125, 23.4, 17.7)  # half-resolution depth imager
    shift = np.eye(4)
    shift[0, 3] = -0.015  # depth optical frame 15 mm to the side of the colour one
    dev = SoftwareD415(INTR, depth_intrinsics=depth_intr, color_T_depth=shift)
    with D415Capture(software=dev) as cap:
        dev.push(_images(0)[0], np.full((36, 48), 800, np.uint16))
        f = cap.read().frame
    assert f.depth.shape == (72, 96) and f.intrinsics.width == 96  # resampled onto the colour grid
    # a fronto-parallel plane 0.8 m away keeps its depth; the 15 mm baseline shifts it by fx*0.015/0.8 ≈ 1.5 px
    valid = f.depth > 0
    assert valid.mean() > 0.8
    assert np.all(f.depth[valid] == 800)
    assert not valid[:, -1].any() or not valid[:, 0].any()  # the uncovered strip is on one side


def test_a_silent_camera_gives_a_no_frames_status_then_recovers():
    dev = SoftwareD415(INTR)
    with D415Capture(CaptureConfig(timeout_ms=150), software=dev) as cap:
        dev.push(*_images(0))
        assert cap.read().status is CaptureStatus.OK
        t0 = time.monotonic()
        got = cap.read()  # nothing pushed: the "camera" dropped
        assert got.status is CaptureStatus.NO_FRAMES
        assert got.frame is None
        assert "no frames for" in got.message and got.ms_since_last_frame >= 140
        assert time.monotonic() - t0 < 1.0
        dev.push(*_images(1))  # and it comes back
        assert cap.read().status is CaptureStatus.OK


def test_recorded_db3_plays_back_every_frame_in_order(tmp_path):
    path = tmp_path / "rec.db3"
    frames = []  # what the live capture returned: playback must give exactly the same
    dev = SoftwareD415(INTR, depth_scale=DEPTH_SCALE, record_to=path)
    with D415Capture(CaptureConfig(timeout_ms=500), software=dev) as cap:
        for k in range(25):
            dev.push(*_images(k))
            got = cap.read()
            assert got.status is CaptureStatus.OK
            frames.append((got.frame.color, got.frame.depth))
    assert path.stat().st_size > 10_000
    for _ in range(2):  # twice: playback is deterministic and lossless
        seen = []
        with D415Capture(CaptureConfig(source=str(path), timeout_ms=500)) as cap:
            assert "D415" in cap.device_name
            while (got := cap.read()).status is CaptureStatus.OK:
                k = got.frame.frame_number
                np.testing.assert_array_equal(got.frame.color, frames[k][0])
                np.testing.assert_array_equal(got.frame.depth, frames[k][1])
                assert got.frame.depth_scale == pytest.approx(DEPTH_SCALE, rel=1e-6)
                assert got.frame.intrinsics.fy == pytest.approx(82.25, rel=1e-6)
                seen.append(k)
        assert got.status is CaptureStatus.END_OF_STREAM
        assert seen == list(range(25))


def test_stopping_early_in_a_long_recording_does_not_hang(tmp_path):
    path = tmp_path / "long.db3"
    dev = SoftwareD415(INTR, record_to=path)
    with D415Capture(software=dev) as cap:
        for k in range(60):
            dev.push(*_images(k))
            cap.read()
    t0 = time.monotonic()
    with D415Capture(CaptureConfig(source=str(path))) as cap:
        assert [cap.read().frame.frame_number for _ in range(5)] == [0, 1, 2, 3, 4]
    assert time.monotonic() - t0 < 5.0


def test_filters_run_and_depth_stays_aligned_to_colour():
    dev = SoftwareD415(INTR)
    cfg = CaptureConfig(filters=FilterConfig(decimation=2, spatial=True, temporal=True, hole_filling=True))
    with D415Capture(cfg, software=dev) as cap:
        color, _ = _images(0)
        depth = np.full((72, 96), 7000, np.uint16)
        depth[30:34, 40:44] = 0  # a hole the hole-filling filter closes
        for _ in range(3):
            dev.push(color, depth)
            got = cap.read()
        f = got.frame
        assert f.depth.shape == (72, 96) and f.intrinsics.width == 96  # aligned back to colour resolution
        inner = f.depth[10:-10, 10:-10]
        assert np.all(inner > 0) and np.median(inner) == pytest.approx(7000, abs=5)


def test_bad_configs_and_missing_sources_fail_clearly(tmp_path):
    with pytest.raises(ConfigError, match="must be 'live' or a recording"):
        CaptureConfig(source="camera.mp4")
    with pytest.raises(ConfigError, match=r"\.db3"):
        CaptureConfig(record_to="out.bag")
    with pytest.raises(ConfigError, match="decimation"):
        FilterConfig(decimation=9)
    with pytest.raises(CaptureError, match="does not exist"):
        D415Capture(CaptureConfig(source=str(tmp_path / "nope.db3"))).start()
    bad = tmp_path / "bad.db3"
    bad.write_bytes(b"not a recording")
    with pytest.raises(CaptureError, match="cannot play"):
        D415Capture(CaptureConfig(source=str(bad))).start()
    dev = SoftwareD415(INTR)
    with pytest.raises(ConfigError, match="before start"):
        dev.push(*_images(0))
    with dev, pytest.raises(ConfigError, match="uint16"):
        dev.push(_images(0)[0], np.zeros((72, 96), np.float32))
