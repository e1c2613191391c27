import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from imgen_core import se3

finite = st.floats(-2.0, 2.0, allow_nan=False)
vec3 = arrays(np.float64, (3,), elements=finite)
quat = arrays(np.float64, (4,), elements=st.floats(-1, 1, allow_nan=False)).filter(lambda q: np.linalg.norm(q) > 0.1)


def pose_from(p, q):
    return se3.pos_quat_to_pose(p, q)


@settings(max_examples=60, deadline=None)
@given(vec3, quat, vec3, quat, vec3, quat)
def test_group_axioms(p1, q1, p2, q2, p3, q3):
    a, b, c = pose_from(p1, q1), pose_from(p2, q2), pose_from(p3, q3)
    assert se3.is_pose(se3.compose(a, b))
    np.testing.assert_allclose(se3.compose(se3.compose(a, b), c), se3.compose(a, se3.compose(b, c)), atol=1e-9)
    np.testing.assert_allclose(se3.compose(a, se3.pose_inv(a)), np.eye(4), atol=1e-9)
    np.testing.assert_allclose(se3.compose(se3.identity(), a), a, atol=1e-12)
    np.testing.assert_allclose(se3.pose_inv(se3.compose(a, b)), se3.compose(se3.pose_inv(b), se3.pose_inv(a)),
                               atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(vec3, quat)
def test_pos_quat_round_trip_and_xyzw_order(p, q):
    pose = pose_from(p, q)
    p2, q2 = se3.pose_to_pos_quat(pose)
    qn = q / np.linalg.norm(q)
    np.testing.assert_allclose(p2, p)
    assert np.allclose(q2, qn, atol=1e-9) or np.allclose(q2, -qn, atol=1e-9)
    assert q2[3] >= 0  # canonical sign on w, which is last (xyzw)
    np.testing.assert_allclose(se3.quat_wxyz_to_xyzw(se3.quat_xyzw_to_wxyz(q)), q)


def test_quaternion_order_is_xyzw():
    # 90 degrees about z: xyzw = (0, 0, sin45, cos45)
    rot = se3.quat_xyzw_to_mat([0, 0, np.sin(np.pi / 4), np.cos(np.pi / 4)])
    np.testing.assert_allclose(rot @ [1, 0, 0], [0, 1, 0], atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, (3,), elements=st.floats(-3.0, 3.0)))
def test_axisangle_round_trip(aa):
    if np.linalg.norm(aa) >= np.pi - 1e-6:
        aa = aa / np.linalg.norm(aa) * (np.pi - 1e-3)
    np.testing.assert_allclose(se3.mat_to_axisangle(se3.axisangle_to_mat(aa)), aa, atol=1e-7)


@settings(max_examples=60, deadline=None)
@given(vec3, quat, vec3, arrays(np.float64, (3,), elements=st.floats(-1.5, 1.5)))
def test_delta_pose_inverts_apply_delta(p, q, dp, dr):
    a = pose_from(p, q)
    b = se3.apply_delta(a, dp, dr)
    dp2, dr2 = se3.delta_pose(a, b)
    np.testing.assert_allclose(dp2, dp, atol=1e-9)
    np.testing.assert_allclose(se3.axisangle_to_mat(dr2), se3.axisangle_to_mat(dr), atol=1e-9)


def test_batched_shapes():
    rng = np.random.default_rng(0)
    poses = se3.make_pose(rng.normal(size=(5, 3)), se3.axisangle_to_mat(rng.normal(size=(5, 3))))
    assert se3.pose_inv(poses).shape == (5, 4, 4)
    assert se3.pose_to_pos_quat(poses)[1].shape == (5, 4)
    np.testing.assert_allclose(se3.compose(poses, se3.pose_inv(poses)), np.tile(np.eye(4), (5, 1, 1)), atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(vec3, quat, vec3, quat, st.integers(2, 30))
def test_interpolation_endpoints_and_monotone(p1, q1, p2, q2, n):
    a, b = pose_from(p1, q1), pose_from(p2, q2)
    path = se3.interpolate_poses(a, b, n)
    assert path.shape == (n, 4, 4) and se3.is_pose(path)
    np.testing.assert_allclose(path[0], a)
    np.testing.assert_allclose(path[-1], b)
    # position is linear: equal steps
    steps = np.linalg.norm(np.diff(path[:, :3, 3], axis=0), axis=1)
    np.testing.assert_allclose(steps, steps[0], atol=1e-9)
    # rotation angle to the start grows monotonically (slerp along the geodesic)
    ang = se3.rotation_angle(np.swapaxes(path[:, :3, :3], -1, -2) @ a[:3, :3])
    assert np.all(np.diff(ang) >= -1e-6)  # arccos resolution near 0 is ~1e-8


@settings(max_examples=40, deadline=None)
@given(vec3, quat, vec3, quat, vec3, quat)
def test_object_centric_transform_preserves_relative_pose(pe, qe, po, qo, pn, qn):
    eef = pose_from(pe, qe)[None]
    obj, new_obj = pose_from(po, qo), pose_from(pn, qn)
    new_eef = se3.transform_source_segment(eef, obj, new_obj)
    np.testing.assert_allclose(se3.relative_pose(new_obj, new_eef[0]), se3.relative_pose(obj, eef[0]), atol=1e-9)
