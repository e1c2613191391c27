"""Mistake detector: pure rules, and MuJoCo contacts on constructed states (qpos of cube/fingers set directly)."""

import numpy as np
import pytest

from imgen_core import mistakes as M
from imgen_core import se3
from tests.sim.helpers import constructed_state

HALF = 0.025


def state(**kw):
    c = kw.pop("contacts", M.GripperContacts())
    base = dict(gripper_width=0.08, gripper_cmd=-1.0, cube_in_tcp=np.zeros(3))
    base.update(kw)
    return M.GraspState(contacts=c, **base)


@pytest.mark.parametrize("st, reason", [
    (state(), None),
    (state(contacts=M.GripperContacts(gripper_table=True)), M.GRIPPER_TABLE),
    (state(contacts=M.GripperContacts(left_cube=True, finger_on_top=True)), M.FINGER_ON_TOP),
    (state(contacts=M.GripperContacts(palm_cube=True)), M.PALM_ON_CUBE),
    (state(gripper_width=0.02, gripper_cmd=1.0), M.CLOSED_ON_AIR),
    (state(gripper_width=0.02, gripper_cmd=-1.0), None),  # opening: not a grasp attempt
    (state(gripper_width=0.049, gripper_cmd=1.0, contacts=M.GripperContacts(True, True)), None),  # firm grasp
    (state(gripper_width=0.07, gripper_cmd=1.0, contacts=M.GripperContacts(left_cube=True),
           cube_in_tcp=np.array([0.0, 0.03, -0.01])), M.ONE_FINGER),
    (state(gripper_width=0.07, gripper_cmd=1.0, contacts=M.GripperContacts(left_cube=True),
           cube_in_tcp=np.array([0.0, 0.005, -0.01])), None),  # first touch of a centred grasp
    (state(gripper_width=0.05, gripper_cmd=1.0, contacts=M.GripperContacts(True, True),
           cube_in_tcp=np.array([0.022, 0.0, -0.01])), M.EDGE_GRASP),
    (state(cube_displacement=0.05), M.CUBE_KNOCKED),
    (state(cube_tilt=0.6), M.CUBE_KNOCKED),
])
def test_rules(st, reason):
    assert M.block_grasp_mistake(st) == reason


# ---------------------------------------------------------------- on constructed MuJoCo states
def tcp_point(adapter, p_tcp):
    """A point given in the TCP frame, in the base frame."""
    return (adapter.eef_pose() @ np.append(p_tcp, 1.0))[:3]


def cube_at(p_base):
    return se3.make_pose(p_base, np.eye(3))


@pytest.mark.sim
def test_clean_start_has_no_mistake(fresh):
    assert fresh.mistake() is None
    c = fresh.contacts()
    assert not (c.left_cube or c.right_cube or c.gripper_table or c.palm_cube)


@pytest.mark.sim
def test_firm_grasp_is_no_mistake_and_lifted_grasp_is_success(fresh):
    # cube centred between the pads (pad centre 1 cm above the TCP), fingers squeezing it (joint width 4.9 cm)
    centre = tcp_point(fresh, [0.0, 0.0, -0.0105])
    fresh.reset_to(constructed_state(fresh, fingers=[0.0245, -0.0245], cube_base=cube_at(centre)))
    c = fresh.contacts()
    assert c.left_cube and c.right_cube and not c.finger_on_top
    assert fresh.subtask_signals() == {"grasp": True}
    assert fresh.mistake() is None
    assert fresh.is_success()  # the home pose holds the cube ~18 cm above its rest height


@pytest.mark.sim
def test_finger_landing_on_the_cube_top(fresh):
    tip = tcp_point(fresh, [0.0, 0.052, 0.0023])  # lowest point of the left finger, open gripper
    fresh.reset_to(constructed_state(fresh, cube_base=cube_at(tip - np.array([0.0, 0.0, HALF - 0.001]))))
    assert fresh.contacts().finger_on_top
    assert fresh.mistake() == M.FINGER_ON_TOP


@pytest.mark.sim
def test_gripper_closed_on_air(fresh):
    far = fresh.object_poses()["cube"]  # cube stays on the table, gripper closed high above it
    fresh.reset_to(constructed_state(fresh, fingers=[0.01, -0.01], cube_base=far))
    assert fresh.robot.gripper_width() == pytest.approx(0.02)
    assert fresh.mistake() == M.CLOSED_ON_AIR


@pytest.mark.sim
def test_one_finger_pushing_the_cube(fresh):
    # left pad (inner face at TCP y = 3.95 cm) pressing on the side of a cube whose centre is 1.8 cm off-axis
    centre = tcp_point(fresh, [0.0, 0.0395 - HALF + 0.003, -0.0105])
    fresh.reset_to(constructed_state(fresh, fingers=[0.04, -0.03], cube_base=cube_at(centre)))
    c = fresh.contacts()
    assert c.left_cube and not c.right_cube and not c.finger_on_top
    assert fresh.mistake() == M.ONE_FINGER


@pytest.mark.sim
def test_gripper_touching_the_table(fresh):
    target = fresh.eef_pose()
    target[:2, 3] = [0.5, 0.2] if fresh.object_poses()["cube"][1, 3] < 0 else [0.5, -0.2]
    target[2, 3] = -0.125  # 1.3 cm below the table surface (base z = -0.112)
    reason = None
    for _ in range(120):
        fresh.step(fresh.target_pose_to_action(target, -1.0))
        reason = fresh.mistake()
        if reason:
            break
    assert reason == M.GRIPPER_TABLE


@pytest.mark.sim
def test_cube_knocked_away(fresh):
    moved = fresh.object_poses()["cube"]
    moved[1, 3] += 0.05
    fresh.set_object_pose("cube", moved)
    assert fresh.mistake() == M.CUBE_KNOCKED
