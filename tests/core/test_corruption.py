import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgen_core import corruption, se3
from imgen_core.errors import ConfigError

seeds = st.integers(0, 2**32 - 1)
EPS = 1e-12


@settings(max_examples=300, deadline=None)
@given(seeds)
def test_block_ranges(seed):
    off = corruption.sample("block", seed).offset_array
    assert abs(off[0]) <= 0.01 + EPS
    assert 0.025 - EPS <= abs(off[1]) <= 0.07 + EPS
    assert off[2] == 0.0


@settings(max_examples=300, deadline=None)
@given(seeds, st.sampled_from([("peg", 0.02), ("receptacle", 0.01)]))
def test_box_ranges_with_minimum_on_one_axis(seed, spec):
    name, min_abs = spec
    off = corruption.sample(name, seed).offset_array
    assert np.all(np.abs(off) <= 0.04 + EPS)
    assert np.max(np.abs(off)) >= min_abs - EPS


@settings(max_examples=300, deadline=None)
@given(seeds)
def test_coffee_radial_is_horizontal_between_2_and_4_cm(seed):
    off = corruption.sample("coffee_radial", seed).offset_array
    assert off[2] == 0.0
    assert 0.02 - EPS <= np.hypot(off[0], off[1]) <= 0.04 + EPS


@settings(max_examples=100, deadline=None)
@given(seeds, st.sampled_from(sorted(corruption.registry)))
def test_samples_are_deterministic_and_round_trip_through_json(seed, name):
    a = corruption.sample(name, seed)
    b = corruption.get(name).sample(np.random.default_rng(seed))
    assert a == b
    back = corruption.CorruptionSample.from_dict(json.loads(json.dumps(a.to_dict())))
    assert back == a and back.name == name


@settings(max_examples=100, deadline=None)
@given(seeds, st.floats(-1, 1), st.floats(-1, 1), st.floats(-np.pi, np.pi))
def test_apply_translates_in_base_frame_and_keeps_rotation(seed, x, y, yaw):
    s = corruption.sample("block", seed)
    rot = se3.axisangle_to_mat(np.array([0.0, 0.0, yaw]))
    pose = se3.make_pose(np.array([x, y, 0.1]), rot)
    obs = s.apply(pose)
    np.testing.assert_allclose(obs[:3, :3], rot)
    np.testing.assert_allclose(obs[:3, 3] - pose[:3, 3], s.offset_array, atol=1e-12)
    assert pose[0, 3] == x  # input untouched


def test_none_and_geometry_swap():
    pose = se3.make_pose(np.array([0.5, 0.0, 0.0]), np.eye(3))
    np.testing.assert_array_equal(corruption.sample("none", 3).apply(pose), pose)
    flags = [corruption.sample("geometry_swap", s).geometry_swap for s in range(200)]
    assert 60 < sum(flags) < 140
    assert all(corruption.sample("geometry_swap", s).offset == (0.0, 0.0, 0.0) for s in range(5))


def test_distribution_covers_both_signs_and_whole_range():
    offs = np.array([corruption.sample("block", s).offset_array for s in range(2000)])
    assert (offs[:, 1] > 0).mean() == pytest.approx(0.5, abs=0.05)
    assert offs[:, 1].max() > 0.068 and offs[:, 1].min() < -0.068
    assert np.abs(offs[:, 1]).min() < 0.027


def test_unknown_name_lists_valid_choices():
    with pytest.raises(ConfigError, match="block.*coffee_radial"):
        corruption.get("gaussian")
