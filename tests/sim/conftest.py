import os

import pytest

os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
os.environ.setdefault("PYNPUT_BACKEND", "dummy")  # headless: key objects only, no listener


@pytest.fixture(scope="session")
def adapter():
    """One Block Grasp adapter for the whole session (building one costs ~3 s); tests reset it themselves."""
    from sim.tasks import make_task

    a = make_task("block_grasp", corruption="block")
    yield a
    a.close()


@pytest.fixture
def fresh(adapter):
    """The shared adapter, reset to seed 0 with no corruption."""
    adapter.reset(0)
    adapter.set_corruption(None)
    return adapter
