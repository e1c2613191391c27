import os

os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")

# The whole suite in one process loads rclpy, torch, MuJoCo/osmesa, open3d, librealsense and Ray; one of their
# C extensions can crash during interpreter finalisation *after* every test has run and the summary is printed
# (seen as a segfault at exit of full runs only). Leave with pytest's own exit status once it is final, so a
# finalisation crash cannot turn a green run red or a red run green. IMGEN_PYTEST_HARD_EXIT=0 disables this.
_SESSION: dict[str, int] = {}


def pytest_sessionfinish(session, exitstatus):
    _SESSION["status"] = int(exitstatus)


def pytest_unconfigure(config):
    import sys

    if "status" in _SESSION and os.environ.get("IMGEN_PYTEST_HARD_EXIT", "1") == "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_SESSION["status"])
