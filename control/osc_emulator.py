"""The sim's own arm controller as the real controller's reference model: robosuite's OSC on a Panda, in-process.

:class:`RobosuiteOscModel` keeps a robosuite ``Lift`` env (Panda, default ``OSC_POSE`` part controller, 20 Hz,
``lite_physics`` like the Block Grasp twin, its cube made non-colliding and weightless) and steps it with every
action the real robot receives. Its TCP trajectory is therefore *exactly* what the sim arm does for the same actions
from the same joint configuration — including what no per-axis fit captures: robosuite's goal is re-set from the
measured pose every step, so the position/orientation cross-coupling of its uncoupled OSC (a 3°/step rotation
about x drifts the TCP by ~15 mm) accumulates and is never corrected. The real arm is then commanded to follow it.

The model is re-anchored to the real arm with :meth:`resync` (joint positions copied — the FR3 and the Panda share
their kinematics, so the same ``q`` is the same TCP), after start-up, errors, stops and when the arm cannot follow.
Its table stands where the Block Grasp table stands, so a model pushed into the table is blocked as the sim arm is.

Same interface as :class:`imgen_core.control_model.SimMatchedModel` (``apply_action``, ``base_T_tcp``,
``tcp_twist``, ``rest_tcp``, ``resync``). One step costs a robosuite env step (a few ms).
"""

from __future__ import annotations

import logging
from typing import Any

import mujoco
import numpy as np
from numpy.typing import ArrayLike, NDArray

from control import sim_reference as ref
from imgen_core import se3
from imgen_core.control_model import PANDA_HOME_Q, ResponseParams, validate_action

F64 = NDArray[np.float64]
log = logging.getLogger(__name__)


class RobosuiteOscModel:
    """robosuite's OSC_POSE on a simulated Panda, stepped once per action (see the module doc).

    Args:
        q0: initial joint positions ``(7,)`` (default: the Panda home).
        nullspace_q: the OSC's nullspace posture target (the Block Grasp twin uses the home configuration).
    """

    def __init__(self, q0: ArrayLike | None = None, nullspace_q: ArrayLike = PANDA_HOME_Q) -> None:
        self.env = ref.make_reference_env(lite_physics=True)
        self._nullspace_q = np.asarray(nullspace_q, dtype=np.float64)
        m, d = self.env.sim.model._model, self.env.sim.data._data
        self._m, self._d = m, d
        cube = getattr(self.env, "cube", None)
        if cube is not None:  # keep the arm alone with the table: the real cube is elsewhere
            bid = self.env.sim.model.body_name2id(cube.root_body)
            m.body_gravcomp[bid] = 1.0
            for g in range(m.ngeom):
                if m.geom_bodyid[g] == bid:
                    m.geom_contype[g] = 0
                    m.geom_conaffinity[g] = 0
        self._link7 = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, ref.LINK7_BODY)
        self._base = ref.robosuite_world_T_base(self.env)
        self._base_inv = se3.pose_inv(self._base)
        self._coast = ResponseParams.ideal_osc().coast_factor()
        self._jacp = np.zeros((3, m.nv))
        self._jacr = np.zeros((3, m.nv))
        self.resync(PANDA_HOME_Q if q0 is None else q0)

    def resync(self, q: ArrayLike, gripper_width: float | None = None) -> None:
        """Put the model arm at joint positions ``q (7,)`` at rest and restart its controller there."""
        ref.set_robosuite_configuration(self.env, q, gripper_width)
        robot = self.env.robots[0]
        ctrl = robot.composite_controller.get_controller("right")
        ctrl.update_initial_joints(self._nullspace_q)
        robot.composite_controller.reset()

    def apply_action(self, action: ArrayLike) -> None:
        """Apply one normalised 7-D action for one control period (exactly as the sim does)."""
        self.env.step(validate_action(action))

    @property
    def base_T_tcp(self) -> F64:
        return ref.robosuite_base_T_tcp(self.env)

    @property
    def q(self) -> F64:
        return ref.robosuite_joint_positions(self.env)

    def tcp_twist(self) -> F64:
        """TCP twist ``(6,)`` in the base frame (linear at the TCP point [m/s], angular [rad/s])."""
        m, d = self._m, self._d
        point = (self._base @ self.base_T_tcp)[:3, 3]
        mujoco.mj_jac(m, d, self._jacp, self._jacr, point, self._link7)
        r = self._base[:3, :3].T
        return np.concatenate([r @ (self._jacp @ d.qvel), r @ (self._jacr @ d.qvel)])

    def rest_tcp(self) -> F64:
        """Where the TCP would come to rest with zero deltas from now (ideal-OSC coasting estimate)."""
        tw = self.tcp_twist() * self._coast
        return se3.apply_delta(self.base_T_tcp, tw[:3], tw[3:])

    def close(self) -> None:
        self.env.close()


def make_response_model(kind: str, base_T_tcp: F64, q: F64, params_path: str | None = None) -> Any:
    """``"robosuite_osc"`` → :class:`RobosuiteOscModel`; ``"fitted"``/``"ideal"`` → ``SimMatchedModel``."""
    from imgen_core.control_model import SimMatchedModel

    if kind == "robosuite_osc":
        return RobosuiteOscModel(q0=q)
    if kind == "ideal":
        params = ResponseParams.ideal_osc(tcp_T_site=ref_tcp_T_site())
    else:
        from control.config import DEFAULT_RESPONSE_PATH

        params = ResponseParams.load(params_path or DEFAULT_RESPONSE_PATH)
    return SimMatchedModel(params, base_T_tcp)


def ref_tcp_T_site() -> F64:
    """robosuite's eef site in the TCP frame (7 mm up the hand, x/y swapped by the gripper mount)."""
    rz = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    return se3.make_pose(np.array([0.0, 0.0, -0.0069]), rz)
