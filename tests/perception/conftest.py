import os

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")

BLOCK_GRASP_X = (0.46, 0.66)  # Block Grasp placement region in the base frame [m] (sim/tasks/block_grasp_env.py)
BLOCK_GRASP_Y = (-0.15, 0.15)


@pytest.fixture(scope="module")
def rig():
    """The self-contained test scene (table, cube, distractor, fingers) with a simulated D415 (noise on)."""
    from sim.d415 import CubeScene, SimD415

    scene = CubeScene()
    cam = SimD415(scene.model, scene.CAMERA, seed=11)
    yield scene, cam
    cam.close()


@pytest.fixture
def scene_cam(rig):
    scene, cam = rig
    scene.set_fingers(None)
    scene.set_distractor(None)
    return scene, cam


def random_placement(rng: np.random.Generator) -> tuple[float, float, float]:
    return rng.uniform(*BLOCK_GRASP_X), rng.uniform(*BLOCK_GRASP_Y), rng.uniform(-np.pi, np.pi)
