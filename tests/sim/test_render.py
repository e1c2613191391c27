"""Offscreen rendering with the ghost (observed) cube."""

import imageio.v2 as imageio
import numpy as np
import pytest

from sim.render import EpisodeRenderer, write_mp4

pytestmark = pytest.mark.sim


def test_ghost_cube_is_drawn_where_the_robot_believes_the_cube_is(adapter, tmp_path):
    adapter.reset(2)
    r = EpisodeRenderer(adapter, 160, 120)
    try:
        plain = r.frame()
        ghost = r.frame(adapter.observed_object_poses()["cube"])
        same = r.frame(adapter.object_poses()["cube"])  # a ghost inside the real cube barely shows
        assert plain.shape == (120, 160, 3) and plain.dtype == np.uint8
        changed = np.abs(ghost.astype(int) - plain.astype(int)).sum(axis=2) > 30
        assert changed.sum() > 20
        assert (np.abs(same.astype(int) - plain.astype(int)).sum(axis=2) > 30).sum() < changed.sum()
        band = r.frame(None, human=True)
        assert tuple(band[0, 0]) == (255, 150, 0)
        n = write_mp4(iter([plain, ghost, band]), str(tmp_path / "x.mp4"), fps=5)
        assert n == 3
        assert len(list(imageio.get_reader(str(tmp_path / "x.mp4")).iter_data())) == 3
    finally:
        r.close()


def test_robomimic_render_of_another_task_draws_its_corrupted_object():
    """The ghost follows whichever object the task corrupts (Coffee: the machine), not a hard-wired cube."""
    from sim.robomimic_env import ImgenRobomimicEnv

    env = ImgenRobomimicEnv(task="coffee", corruption="coffee_radial", seed=3)
    try:
        env.reset()
        a = env.adapter
        seen, true = a.observed_object_poses(), a.object_poses()
        corrupted = [n for n in seen if not np.allclose(seen[n], true[n])]
        assert corrupted == ["machine"]
        img = env.render(mode="rgb_array", height=240, width=320)
        plain = env._renderer.frame()
        assert img.shape == (240, 320, 3)
        assert (np.abs(img.astype(int) - plain.astype(int)).sum(axis=2) > 30).sum() > 25
    finally:
        if env._renderer is not None:
            env._renderer.close()
        a.close()
