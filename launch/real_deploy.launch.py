"""ROS 2 launch file of the imgen ``real_deploy`` graph (the definition is :mod:`imgen_ros.graph`).

    ros2 launch imgen real_deploy.launch.py [twin:=true [sim_robot:=true] [sim_poses:=true]] \
        checkpoint:=runs/imgen/best.pt [rviz:=true] [set:='node.param=value;...']

Without ROS's launch system (PyPI wheels only) the same graph starts with ``imgen launch real_deploy``.
"""

import os
import sys

# Running from a source checkout (launch/ next to imgen_ros/): make the definition importable.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(_ROOT, "imgen_ros")) and _ROOT not in sys.path:
    sys.path.append(_ROOT)  # appended: the checkout's launch/ folder must not shadow ROS's ``launch`` package

from imgen_ros.ros_launch import launch_description  # noqa: E402

GRAPH = "real_deploy"


def generate_launch_description():
    return launch_description(GRAPH, rviz_config=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                              "imgen.rviz"))
