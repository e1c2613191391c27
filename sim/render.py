"""Offscreen rendering of recorded episodes (MuJoCo ``Renderer``; ``MUJOCO_GL=osmesa`` on CPU).

The observed (corrupted) cube is drawn as a translucent ghost; a thin band at the top of each frame shows who
is in control (blue: robot policy, orange: human) for interventions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

GHOST_RGBA = np.array([1.0, 0.25, 0.25, 0.35], dtype=np.float32)
DEFAULT_GHOST_HALF = 0.025  # [m] half side of the ghost box drawn for objects other than the Block Grasp cube
ROBOT_RGB = np.array([40, 110, 230], dtype=np.uint8)
HUMAN_RGB = np.array([255, 150, 0], dtype=np.uint8)


class EpisodeRenderer:
    """Renders adapter states with an optional ghost cube (observed pose) from a fixed viewpoint.

    Args:
        adapter: a task adapter (its MuJoCo model/data are used directly; the simulation is not stepped).
        width, height: frame size [px] (capped by the model's offscreen buffer).
        camera: a model camera name (e.g. ``frontview``, ``agentview``) or ``None`` for a free camera that
            frames the table from the front-left.
    """

    def __init__(self, adapter: Any, width: int = 640, height: int = 480, camera: str | None = None) -> None:
        os.environ.setdefault("MUJOCO_GL", "osmesa")
        import mujoco

        self._mj = mujoco
        self.adapter = adapter
        self.m, self.d = adapter.robot.model, adapter.robot.data
        width = min(width, int(self.m.vis.global_.offwidth))
        height = min(height, int(self.m.vis.global_.offheight))
        self.renderer = mujoco.Renderer(self.m, height, width)
        if camera is None:
            cam = mujoco.MjvCamera()
            cam.type = mujoco.mjtCamera.mjCAMERA_FREE
            cam.lookat[:] = adapter.robot.world_T_base[:3, 3] + np.array([0.45, 0.0, -0.05])
            cam.distance, cam.azimuth, cam.elevation = 1.25, 150.0, -25.0
            self.camera: Any = cam
        else:
            self.camera = camera
        self.half = float(getattr(adapter.env, "cube_size", 2 * DEFAULT_GHOST_HALF)) / 2
        self.option = mujoco.MjvOption()
        self.option.geomgroup[0] = 0  # robosuite: group 0 = collision geoms, group 1 = visual meshes
        self.option.sitegroup[:] = 0  # hide robosuite's grip-site markers

    def set_state(self, state: np.ndarray) -> None:
        """Write a flattened ``[time, qpos, qvel]`` state and recompute kinematics (no stepping)."""
        m, d = self.m, self.d
        d.time = state[0]
        d.qpos[:] = state[1:1 + m.nq]
        d.qvel[:] = state[1 + m.nq:1 + m.nq + m.nv]
        self._mj.mj_forward(m, d)

    def frame(self, base_T_ghost: np.ndarray | list[np.ndarray] | None = None, human: bool | None = None
              ) -> np.ndarray:
        """RGB ``(H,W,3)`` uint8 of the current state, with a ghost box at each pose of ``base_T_ghost``
        (one ``(4,4)`` pose or a list of them; the cube's size for Block Grasp, a 5 cm box for other objects)."""
        mj = self._mj
        r = self.renderer
        r.update_scene(self.d, self.camera, self.option)
        ghosts = [] if base_T_ghost is None else (
            [base_T_ghost] if isinstance(base_T_ghost, np.ndarray) and base_T_ghost.ndim == 2 else list(base_T_ghost))
        scn = r.scene
        for g in ghosts:
            if scn.ngeom >= scn.maxgeom:
                break
            world = self.adapter.robot.world_T_base @ np.asarray(g)
            mj.mjv_initGeom(scn.geoms[scn.ngeom], mj.mjtGeom.mjGEOM_BOX, np.full(3, self.half),
                            world[:3, 3], world[:3, :3].reshape(-1), GHOST_RGBA)
            scn.ngeom += 1
        img = r.render().copy()
        if human is not None:
            img[:8] = HUMAN_RGB if human else ROBOT_RGB
        return img

    def episode_frames(self, ep: Any, every: int = 1) -> Iterator[np.ndarray]:
        """Frames of a recorded :class:`~imgen_core.dataset.Episode` (a ghost at every observed object pose that
        differs from the true one)."""
        for t in range(0, len(ep), every):
            self.set_state(ep.states[t])
            human = None if ep.intervention is None else bool(ep.intervention[t])
            ghosts = [seen[t] for name, seen in ep.observed_object_poses.items()
                      if name in ep.object_poses and not np.allclose(seen[t], ep.object_poses[name][t])]
            yield self.frame(ghosts, human)

    def close(self) -> None:
        self.renderer.close()


def write_mp4(frames: Iterator[np.ndarray], out: str, fps: int = 20) -> int:
    """Encode frames to an H.264 MP4 with imageio-ffmpeg; returns the frame count."""
    import imageio.v2 as imageio

    n = 0
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with imageio.get_writer(out, fps=fps, codec="libx264", quality=7, macro_block_size=8) as w:
        for f in frames:
            w.append_data(f)  # type: ignore[attr-defined]
            n += 1
    return n
