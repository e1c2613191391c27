"""Mistake rules (paper §2.2: a contact-based state classifier ends policy execution), pure numpy.

The simulator summarises MuJoCo contacts and a few geometric quantities into a :class:`GraspState`;
:func:`block_grasp_mistake` turns it into a short reason string, or ``None`` when nothing is wrong. The
same rules can run on the real robot from its own contact/force estimates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Reasons (stable strings: they are counted in generation/eval statistics).
GRIPPER_TABLE = "gripper_table_contact"
FINGER_ON_TOP = "finger_on_cube_top"
PALM_ON_CUBE = "palm_on_cube"
CLOSED_ON_AIR = "closed_on_air"
ONE_FINGER = "one_finger_contact"
EDGE_GRASP = "edge_grasp"
CUBE_KNOCKED = "cube_knocked"
REASONS = (GRIPPER_TABLE, FINGER_ON_TOP, PALM_ON_CUBE, CLOSED_ON_AIR, ONE_FINGER, EDGE_GRASP, CUBE_KNOCKED)


@dataclass(frozen=True)
class GripperContacts:
    """Which parts of a two-finger gripper touch what.

    Attributes:
        left_cube, right_cube: a left/right finger (or its pad) touches the cube.
        finger_on_top: a finger touches the cube's top face from above (vertical normal, near the top).
        palm_cube: a non-finger gripper geom (palm/hand) touches the cube.
        gripper_table: any gripper geom touches the table.
    """

    left_cube: bool = False
    right_cube: bool = False
    finger_on_top: bool = False
    palm_cube: bool = False
    gripper_table: bool = False

    @property
    def both_fingers(self) -> bool:
        return self.left_cube and self.right_cube

    @property
    def one_finger(self) -> bool:
        return self.left_cube != self.right_cube


@dataclass(frozen=True)
class GraspState:
    """Everything the Block Grasp mistake rules look at (lengths in metres, angles in radians).

    Attributes:
        contacts: contact summary.
        gripper_width: finger-to-finger distance.
        gripper_cmd: last gripper command (+1 close, -1 open).
        cube_in_tcp: ``(3,)`` cube centre in the TCP frame (y = finger closing axis, z = approach axis).
        cube_size: cube side.
        cube_displacement: horizontal distance the cube moved since the episode start.
        cube_tilt: angle between the cube's z axis and the vertical.
        open_width: gripper width when fully open.
    """

    contacts: GripperContacts
    gripper_width: float
    gripper_cmd: float
    cube_in_tcp: np.ndarray
    cube_size: float = 0.05
    cube_displacement: float = 0.0
    cube_tilt: float = 0.0
    open_width: float = 0.08

    @property
    def closing(self) -> bool:
        return self.gripper_cmd > 0.0


def block_grasp_mistake(s: GraspState, knock_distance: float = 0.03, tilt: float = np.deg2rad(25.0)) -> str | None:
    """First matching rule, or ``None``.

    Rules, in order: a gripper geom on the table; a finger pressing on the cube's top face (the grasp was
    aimed beside the cube); the palm on the cube; the gripper closing on nothing (closed narrower than the
    cube without both fingers on it); one finger pushing the cube sideways while closing (cube centre more
    than 1.5 cm off the gripper's centre line); both fingers on the cube but only its edge between the pads
    (cube centre more than 2 cm off along the pad width); the cube knocked away or tipped without a grasp.
    """
    c = s.contacts
    half = s.cube_size / 2
    if c.gripper_table:
        return GRIPPER_TABLE
    if c.finger_on_top:
        return FINGER_ON_TOP
    if c.palm_cube:
        return PALM_ON_CUBE
    if s.closing and s.gripper_width < s.cube_size - 0.01 and not c.both_fingers:
        return CLOSED_ON_AIR
    if s.closing and c.one_finger and abs(float(s.cube_in_tcp[1])) > 0.015:
        return ONE_FINGER
    if c.both_fingers and s.gripper_width < s.open_width - 0.005 and abs(float(s.cube_in_tcp[0])) > half - 0.005:
        return EDGE_GRASP
    if not c.both_fingers and (s.cube_displacement > knock_distance or s.cube_tilt > tilt):
        return CUBE_KNOCKED
    return None
