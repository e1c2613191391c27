import numpy as np
import pytest

from imgen_core import se3
from imgen_core.errors import DatasetError
from imgen_core.generation.segments import Span, first_rise, human_spans, intervention_spans, subtask_spans
from imgen_core.generation.sources import intervention_sources
from imgen_core.task import SubtaskSpec
from tests.core.synthetic import make_episode


def test_first_rise():
    assert first_rise(np.array([0, 0, 1, 1, 0, 1])) == 2
    assert first_rise(np.array([1, 1, 0])) == 0
    assert first_rise(np.zeros(4)) is None


def test_subtask_spans_cut_at_rise_plus_offset():
    subtasks = (SubtaskSpec("nut", "grasp"), SubtaskSpec("peg", None))
    sig = {"grasp": np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1], dtype=float)}
    assert subtask_spans(sig, subtasks, 10) == [Span(0, 4), Span(4, 10)]
    assert subtask_spans(sig, subtasks, 10, offsets=[2, 0]) == [Span(0, 6), Span(6, 10)]
    with pytest.raises(DatasetError, match="never rises"):
        subtask_spans({"grasp": np.zeros(10)}, subtasks, 10)
    with pytest.raises(DatasetError, match="missing"):
        subtask_spans({}, subtasks, 10)


def test_intervention_spans_alternate_robot_and_human():
    mask = np.array([0, 0, 1, 1, 1, 0, 1, 1], dtype=bool)
    assert intervention_spans(mask) == [(Span(0, 2), False), (Span(2, 5), True), (Span(5, 6), False),
                                        (Span(6, 8), True)]
    assert human_spans(mask, min_len=3) == [Span(2, 5)]


def test_intervention_sources_carry_true_object_pose_at_recovery_start():
    ep = make_episode(T=12, seed=3, intervention=True)  # human from row 6 on
    (src,) = intervention_sources([ep], (SubtaskSpec("cube", None),))
    (rec,) = src.recoveries
    (mis,) = src.mistakes
    assert rec.span == Span(6, 12) and mis.span == Span(0, 6)
    np.testing.assert_array_equal(rec.world_T_obj, ep.object_poses["cube"][6])
    np.testing.assert_array_equal(rec.targets, ep.target_pose[6:])
    # transforming to the same object pose is the identity, to a shifted pose shifts every target
    np.testing.assert_allclose(rec.transformed(rec.world_T_obj), rec.targets, atol=1e-12)
    shift = se3.make_pose([0.1, -0.2, 0.0], np.eye(3)) @ rec.world_T_obj
    np.testing.assert_allclose(rec.transformed(shift)[:, :3, 3] - rec.targets[:, :3, 3],
                               np.tile([0.1, -0.2, 0.0], (6, 1)), atol=1e-12)


def test_demos_without_mask_are_rejected_for_imgen():
    with pytest.raises(DatasetError, match="no intervention mask"):
        intervention_sources([make_episode(intervention=False)], (SubtaskSpec("cube", None),))


def test_a_recovery_that_crosses_subtasks_is_replayed_piece_by_piece_in_each_objects_frame():
    """A human run from re-grasping the nut to placing it on the peg: the placing part follows the peg."""
    from dataclasses import replace

    ep = make_episode(T=12, seed=4, intervention=True)  # human from row 6 on; "grasp" rises at row 7
    peg = make_episode(T=12, seed=5).object_poses["cube"]
    ep = replace(ep, object_poses={"nut": ep.object_poses["cube"], "peg": peg})
    subtasks = (SubtaskSpec("nut", "grasp"), SubtaskSpec("peg", None))
    (src,) = intervention_sources([ep], subtasks)
    first, second = src.recoveries
    assert (first.span, first.object_ref, first.subtask) == (Span(6, 8), "nut", 0)
    assert (second.span, second.object_ref, second.subtask) == (Span(8, 12), "peg", 1)
    assert first.continuation == (second,) and second.continuation == ()
    np.testing.assert_array_equal(second.world_T_obj, peg[8])
    # moving the nut moves only the grasping piece; the placing piece moves with the peg alone
    shift = se3.make_pose([0.1, 0.0, 0.0], np.eye(3))
    np.testing.assert_allclose(second.transformed(second.world_T_obj), ep.target_pose[8:], atol=1e-12)
    np.testing.assert_allclose(second.transformed(shift @ peg[8])[:, :3, 3] - ep.target_pose[8:, :3, 3],
                               np.tile([0.1, 0.0, 0.0], (4, 1)), atol=1e-12)
    # a piece shorter than min_len is not offered as a recovery of its own subtask
    (src,) = intervention_sources([ep], subtasks, min_len=3)
    (only,) = src.recoveries
    assert only.span == Span(8, 12)
