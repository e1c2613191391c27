"""Source segment selection: nearest by the EE pose in the object frame (MimicGen's strategy), with a slack."""

import numpy as np
import pytest

from imgen_core import se3
from imgen_core.errors import ConfigError
from imgen_core.generation import GenerationConfig
from imgen_core.generation.mimicgen import select_segment
from imgen_core.generation.segments import Span
from imgen_core.generation.sources import Segment

DOWN = se3.axisangle_to_mat(np.array([np.pi, 0.0, 0.0]))


def _pose(xyz, rot=DOWN):
    return se3.make_pose(np.asarray(xyz, dtype=float), rot)


def _segment(source, cube_xy, ee_offset_y):
    """A recovery that started with the EE ``ee_offset_y`` beside a cube at ``cube_xy`` (finger on its top)."""
    cube = _pose([*cube_xy, 0.02], np.eye(3))
    ee = _pose([cube_xy[0], cube_xy[1] + ee_offset_y, 0.05])
    return Segment(targets=ee[None].repeat(3, axis=0), gripper=-np.ones(3), world_T_obj=cube, object_ref="cube",
                   subtask=0, source=source, span=Span(0, 3), eef_start=ee)


# eight sources started on the +y side of their cube, two on the -y side; the cubes sit anywhere
SOURCES = [_segment(i, (0.5 + 0.01 * i, -0.1 + 0.02 * i), 0.03 + 0.005 * i) for i in range(8)]
SOURCES += [_segment(8, (0.6, 0.1), -0.045), _segment(9, (0.45, -0.05), -0.06)]


def _picks(cfg, cube, eef, n=300):
    rng = np.random.default_rng(0)
    return [select_segment(SOURCES, cube, cfg, rng, eef).source for _ in range(n)]


def test_nearest_picks_a_recovery_that_started_on_the_same_side_of_the_object():
    cube = _pose([0.55, 0.0, 0.02], np.eye(3))
    eef = _pose([0.55, -0.05, 0.05])  # a finger on the cube's top, EE on the -y side
    picks = _picks(GenerationConfig(select="nearest", nearest_k=3), cube, eef)
    assert set(picks) == {8, 9}  # the third nearest (+y side) is 8 cm away: beyond the slack
    # uniform among the kept ones
    assert 0.35 < picks.count(8) / len(picks) < 0.65


def test_random_selection_ignores_the_state_and_crosses_sides():
    cube = _pose([0.55, 0.0, 0.02], np.eye(3))
    eef = _pose([0.55, -0.05, 0.05])
    picks = _picks(GenerationConfig(select="random"), cube, eef)
    assert len(set(picks)) == 10


def test_nearest_compares_the_relation_to_the_object_not_world_positions():
    # the same EE-to-cube relation anywhere on the table selects the same sources
    for cube_xy in ((0.45, -0.15), (0.65, 0.15)):
        cube = _pose([*cube_xy, 0.02], np.eye(3))
        eef = _pose([cube_xy[0], cube_xy[1] + 0.031, 0.05])
        picks = set(_picks(GenerationConfig(select="nearest", nearest_k=3, nearest_slack=1.0), cube, eef, 100))
        assert picks == {0, 1, 2}


def test_the_slack_keeps_k_candidates_when_they_are_alike_and_rotation_counts():
    cube = _pose([0.55, 0.0, 0.02], np.eye(3))
    eef = _pose([0.55, 0.05, 0.05])
    picks = set(_picks(GenerationConfig(select="nearest", nearest_k=3), cube, eef, 100))
    assert picks == {3, 4, 5}  # offsets 4.5, 5.0, 5.5 cm
    # a yawed EE (90 deg) is far in pose even at the same position: a rotated start loses to an aligned one
    yawed = SOURCES[4]
    turned = Segment(yawed.targets, yawed.gripper, yawed.world_T_obj, "cube", 0, 42, Span(0, 3),
                     eef_start=yawed.eef_start @ _pose([0, 0, 0], se3.axisangle_to_mat(np.array([0, 0, np.pi / 2]))))
    rng = np.random.default_rng(0)
    cfg = GenerationConfig(select="nearest", nearest_k=1)
    assert select_segment([turned, SOURCES[3]], cube, cfg, rng, eef).source == 3


def test_selection_settings_are_validated():
    with pytest.raises(ConfigError, match="nearest_slack"):
        GenerationConfig(nearest_slack=-0.1)
    with pytest.raises(ConfigError, match="select"):
        GenerationConfig(select="closest")
