"""A motion into the table triggers the twin's collision reflex (libfranka ``kReflexAborted``, robot in Reflex mode,
``cartesian_reflex`` set — as on a real FR3); the controller reports it, calls ``recover_from_errors()``, re-syncs its
target on the measured pose, and motion resumes."""

import numpy as np
import pytest

from imgen_core.control_model import WorkspaceLimits
from tests.control.conftest import make_controller, reset_cell, stream_until

pytestmark = pytest.mark.sim


def test_pushing_into_the_table_reflexes_and_is_recovered(twin):
    # the 'ideal' response model has no table (robosuite's model arm would stop on its own table, as the sim arm
    # does), and the workspace floor is below the table top: the arm is driven into the table on purpose
    floor = twin.config.table_top_z - 0.05
    ctl = make_controller(twin, response_model="ideal",
                          workspace=WorkspaceLimits(pos_min=(0.25, -0.4, floor), pos_max=(0.85, 0.4, 0.45)))
    try:
        reset_cell(ctl, twin)
        ctl.start()
        x_clear = 0.40  # clear of the cube (it sits at x = 0.56)
        clear = np.array([x_clear, -0.15])
        stream_until(ctl, lambda k, o: np.r_[np.clip((np.r_[clear, o.tcp_pos[2]] - o.tcp_pos) / 0.05, -1, 1),
                                             0, 0, 0, -1], lambda o: np.linalg.norm(o.tcp_pos[:2] - clear) < 0.01, 3.0)
        # down at 20 Hz, into the table, until the robot stops us
        stream_until(ctl, lambda k, o: [0, 0, -1.0, 0, 0, 0, -1], lambda o: ctl.events.last("robot_error") is not None,
                     4.0)
        ctl.wait_robot_until(ctl.robot_time() + 0.2)
        kinds = [e.kind for e in ctl.events.since(0)]
        assert "robot_error" in kinds, "the arm should have been stopped by a collision reflex"
        err = next(e for e in ctl.events.since(0) if e.kind == "robot_error")
        assert "reflex" in err.message.lower()
        assert kinds.index("recovered") > kinds.index("robot_error")
        assert twin.status()["reflex_count"] >= 1
        # the fingertips never went through the table (the reflex stopped the push)
        assert ctl.refresh().tcp_pos[2] > twin.config.table_top_z - 0.005
        # motion resumes: up and away
        z0 = ctl.refresh().tcp_pos[2]
        assert stream_until(ctl, lambda k, o: [0, 0, 0.8, 0, 0, 0, -1], lambda o: o.tcp_pos[2] > z0 + 0.03, 2.0)
        assert ctl.mode.value in ("running", "holding")
        assert not twin.status()["reflex_active"]
    finally:
        ctl.close()
