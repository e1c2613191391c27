"""colcon / ament_python entry of package ``imgen``: the project's Python packages (symlinked here) + ROS data.

``colcon build`` in ``ros2_ws`` installs the node executables to ``lib/imgen/`` (``setup.cfg``), the launch files
and RViz config to ``share/imgen/launch/``, and registers the package in the ament index, so
``ros2 run imgen policy_server`` and ``ros2 launch imgen real_deploy.launch.py`` work on a ROS machine.
Python dependencies come from the project's lock file (``make setup``), not from here.
"""

from glob import glob
from pathlib import Path

from setuptools import find_namespace_packages, setup

HERE = Path(__file__).resolve().parent
ENTRY_POINTS = HERE.parents[1] / "entry_points.txt"  # ros2_ws/entry_points.txt (symlinks resolved)
if not ENTRY_POINTS.is_file():
    ENTRY_POINTS = Path(__file__).absolute().parents[2] / "entry_points.txt"


def console_scripts() -> list[str]:
    lines = [ln.split("#", 1)[0].strip() for ln in ENTRY_POINTS.read_text().splitlines()]
    return [ln for ln in lines if ln] + ["imgen = imgen_cli.main:main"]


setup(
    name="imgen",
    version="0.1.0",
    packages=find_namespace_packages(include=["imgen_core*", "imgen_ros*", "imgen_cli*", "sim*", "perception*",
                                              "control*"], exclude=["*__pycache__*"]),
    package_data={"": ["*.xml", "*.json", "*.stl", "*.obj"]},
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/imgen"]),
        ("share/imgen", ["package.xml"]),
        ("share/imgen/launch", sorted(glob("launch/*.launch.py") + glob("launch/*.rviz"))),
    ],
    zip_safe=False,
    entry_points={"console_scripts": console_scripts()},
)
