"""The franky-sim twin of the real cell: FR3 + Franka Hand, a table, a 5 cm red cube and a D415, on loopback.

franky-sim speaks the libfranka network protocol, so :class:`~control.franka_controller.FrankaController` (and
``franky`` itself) talk to the twin exactly as to the robot: ``franky.Robot(twin.hostname)``.

Scene (:class:`TwinSceneConfig`, base frame = MuJoCo world, the robot sits at the origin): the Block Grasp twin's
geometry — table top at base z = -0.112 m (robosuite mounts the Panda 0.112 m above its 0.8 m table), table centre
0.56 m in front of the base, a 5 cm red cube (free joint, 500 kg/m^3, the sim's friction) resting on it — and a D415
body with camera ``d415`` and site ``camera_color_optical_frame`` whose pose is the named extrinsics
``base_T_camera_color_optical_frame`` (:meth:`FrankySimTwin.extrinsics`, written in the
``perception.extrinsics`` JSON format by :meth:`FrankySimTwin.write_extrinsics`).

Two ways to run it:

* :class:`FrankySimTwin` — in this process (franky-sim's embedded server in a thread); ``twin.sim.model/data`` give
  direct MuJoCo access (e.g. for :class:`sim.d415.SimD415`). The server thread shares the GIL with the caller.
* :class:`TwinProcess` — the same twin in a child process (its own GIL, so franky-sim keeps its 1 kHz better);
  ``cube_pose()``, ``set_cube_pose()``, ``inject_reflex()`` etc. go over a pipe. Tests and benchmarks use this.

Beyond franky-sim (which "does not produce control errors"), the twin emulates the robot's **collision reflex**:
when the arm presses on the table with more than ``reflex_force_n`` (or on :meth:`inject_reflex`) the running motion
is aborted with libfranka's ``kReflexAborted`` status, the robot reports mode ``Reflex`` and ``cartesian_reflex``
in its error flags until ``automatic_error_recovery`` — what a real FR3 does — so error handling is tested through
the real protocol.

franky-sim 1.0.4 calls ``pinocchio.Frame.parentJoint`` (pinocchio >= 3); the lock pins ``pin`` 2.7, whose name is
``parent``: :func:`ensure_franky_sim_compat` adds the alias before franky-sim builds a robot.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from imgen_core import se3
from imgen_core.control_model import PANDA_HOME_Q
from imgen_core.errors import ConfigError, RobotError, check_range

F64 = NDArray[np.float64]
log = logging.getLogger(__name__)

MJCAM_T_OPTICAL = np.diag([1.0, -1.0, -1.0, 1.0])  # MuJoCo camera (looks along -z, y up) → optical (z fwd, y down)
CARTESIAN_REFLEX_INDEX = 7  # libfranka Errors: ..., joint_reflex (6), cartesian_reflex (7), ...
N_ERRORS = 41
REFLEX_REARM_STEPS = 300  # [ms] after an error recovery the contact reflex re-arms (the arm settles off the obstacle)


def ensure_franky_sim_compat() -> None:
    """Alias ``pinocchio.Frame.parentJoint`` → ``parent`` on pinocchio 2.x (franky-sim expects pinocchio 3)."""
    import pinocchio as pin

    if not hasattr(pin.Frame, "parentJoint"):
        pin.Frame.parentJoint = property(lambda self: self.parent)


@dataclass(frozen=True)
class TwinSceneConfig:
    """The twin cell. Lengths in metres, base frame; camera eye/target z are *above the table top*."""

    initial_q: tuple[float, ...] = PANDA_HOME_Q
    initial_gripper_width: float = 0.08
    table_top_z: float = -0.112
    table_center_xy: tuple[float, float] = (0.56, 0.0)
    table_half_size: tuple[float, float, float] = (0.4, 0.4, 0.025)
    table_friction: tuple[float, float, float] = (1.0, 5e-3, 1e-4)
    cube_size: float = 0.05
    cube_xy: tuple[float, float] = (0.56, 0.0)
    cube_yaw: float = 0.0
    cube_density: float = 500.0
    cube_friction: tuple[float, float, float] = (1.0, 5e-3, 1e-4)
    camera_eye: tuple[float, float, float] = (1.10, 0.30, 0.55)
    camera_target: tuple[float, float, float] = (0.55, 0.0, 0.02)
    camera_fovy_deg: float = 42.5
    reflex_force_n: float | None = 60.0

    def __post_init__(self) -> None:
        if len(self.initial_q) != 7:
            raise ConfigError(f"initial_q needs 7 joint positions; got {len(self.initial_q)}")
        check_range("initial_gripper_width", self.initial_gripper_width, 0.0, 0.08)
        check_range("table_top_z", self.table_top_z, -1.0, 0.5)
        check_range("cube_size", self.cube_size, 0.01, 0.075)
        check_range("cube_density", self.cube_density, 10.0, 20000.0)
        check_range("camera_fovy_deg", self.camera_fovy_deg, 10.0, 120.0)
        if self.reflex_force_n is not None:
            check_range("reflex_force_n", self.reflex_force_n, 1.0, 1000.0)

    def base_T_cube_rest(self) -> F64:
        """The cube's initial pose ``(4,4)`` (resting on the table)."""
        c, s = math.cos(self.cube_yaw), math.sin(self.cube_yaw)
        return se3.make_pose([self.cube_xy[0], self.cube_xy[1], self.table_top_z + self.cube_size / 2],
                             [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])

    def base_T_camera(self) -> F64:
        """``base_T_camera_color_optical_frame`` ``(4,4)`` of the D415 (z forward, x right, y down)."""
        eye = np.array(self.camera_eye) + [0.0, 0.0, self.table_top_z]
        target = np.array(self.camera_target) + [0.0, 0.0, self.table_top_z]
        z = target - eye
        z /= np.linalg.norm(z)
        x = np.cross(z, [0.0, 0.0, 1.0])  # image x points right, y down (MuJoCo look-at with z up)
        x /= np.linalg.norm(x)
        y = np.cross(z, x)
        return se3.make_pose(eye, np.stack([x, y, z], axis=1))


def _fmt(v: Any) -> str:
    return " ".join(f"{float(x):.9g}" for x in np.asarray(v).reshape(-1))


FRANKY_SIM_GRIPPER_WIDTH_OFFSET_M = 0.004  # franky-sim pads: 1.5 mm outside each finger; robosuite's: 0.5 mm in


def twin_controller_config(hostname: str, **overrides: Any) -> Any:
    """A :class:`control.config.ControllerConfig` for this twin (its address, franky-sim's gripper-width offset)."""
    from control.config import ControllerConfig

    values: dict[str, Any] = {"robot_ip": hostname, "gripper_width_offset_m": FRANKY_SIM_GRIPPER_WIDTH_OFFSET_M,
                              "realtime_config": "ignore"}
    values.update(overrides)
    return ControllerConfig(**values)


def add_twin_scene(sim: Any, cfg: TwinSceneConfig) -> None:
    """Append table, cube and camera to a (not yet started) franky-sim ``MujocoSimulator`` scene."""
    wb = sim.worldbody
    floor_z = cfg.table_top_z - 0.8
    for g in wb.findall("geom"):
        if g.get("name") == "ground":
            g.set("pos", f"0 0 {floor_z:.6f}")
    half = (-floor_z - 0.01) / 2  # a visual pedestal from the floor to just under link0
    ET.SubElement(wb, "geom", name="pedestal", type="cylinder", size=f"0.1 {half:.6f}",
                  pos=f"-0.05 0 {floor_z + half:.6f}", rgba="0.3 0.3 0.3 1", contype="0", conaffinity="0")
    hx, hy, hz = cfg.table_half_size
    ET.SubElement(wb, "geom", name="table", type="box", size=_fmt((hx, hy, hz)),
                  pos=_fmt((cfg.table_center_xy[0], cfg.table_center_xy[1], cfg.table_top_z - hz)),
                  friction=_fmt(cfg.table_friction), rgba="0.62 0.58 0.52 1")
    pose = cfg.base_T_cube_rest()
    pos, q = se3.pose_to_pos_quat(pose)
    h = cfg.cube_size / 2
    cube = ET.SubElement(wb, "body", name="cube", pos=_fmt(pos), quat=_fmt(se3.quat_xyzw_to_wxyz(q)))
    ET.SubElement(cube, "freejoint", name="cube_joint")
    ET.SubElement(cube, "geom", name="cube", type="box", size=_fmt((h, h, h)), density=f"{cfg.cube_density}",
                  friction=_fmt(cfg.cube_friction), condim="4", rgba="0.85 0.05 0.05 1")
    world_T_optical = cfg.base_T_camera()
    world_T_mjcam = world_T_optical @ MJCAM_T_OPTICAL
    _, qcam = se3.pose_to_pos_quat(world_T_mjcam)
    body = ET.SubElement(wb, "body", name="d415", pos=_fmt(world_T_mjcam[:3, 3]),
                         quat=_fmt(se3.quat_xyzw_to_wxyz(qcam)))
    ET.SubElement(body, "camera", name="d415", fovy=f"{cfg.camera_fovy_deg}")
    ET.SubElement(body, "site", name="camera_color_optical_frame", quat="0 1 0 0", size="0.005")
    ET.SubElement(body, "geom", type="box", size="0.0495 0.0125 0.0115", pos="0 0 0.012", rgba="0.1 0.1 0.1 1",
                  contype="0", conaffinity="0")


class FrankySimTwin:
    """franky-sim with the twin scene, served on loopback from this process.

    Example::

        with FrankySimTwin() as twin:
            robot = franky.Robot(twin.hostname, realtime_config=franky.RealtimeConfig.Ignore)
            print(twin.cube_pose())

    Args:
        config: the scene.
        hostname: loopback address to bind (default: the first free one of 127.0.0.1, 127.0.0.2, ...).
        realtime: franky-sim's pacing (True: 1 kHz wall clock; a float scales it; False: as fast as possible).
        run_thread: serve from a background thread (False: the owner calls :meth:`run_once`).
    """

    def __init__(self, config: TwinSceneConfig | None = None, hostname: str | None = None,
                 realtime: bool | float = True, run_thread: bool = True) -> None:
        self.config = config or TwinSceneConfig()
        self._hostname_req = hostname
        self.realtime = realtime
        self.run_thread = run_thread
        self.sim: Any = None
        self.server: Any = None
        self.robot_model: Any = None
        self._lock = threading.Lock()
        self._pending: list[tuple[str, Any]] = []
        self._reflex_active = False
        self._reflex_count = 0
        self._reflex_armed_at = 0
        self._steps = 0
        self._t_start = 0.0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> str:
        """Build the scene, bind the servers, start serving; returns the robot hostname."""
        ensure_franky_sim_compat()
        from franky_sim.mujoco_simulator import MujocoSimulator

        cfg = self.config
        self.sim = MujocoSimulator()
        self.sim.init()
        self.robot_model = self.sim.add_robot(initial_q=cfg.initial_q, initial_hand_width=cfg.initial_gripper_width)
        add_twin_scene(self.sim, cfg)
        server_cls = _reflex_server_class()
        candidates = [self._hostname_req] if self._hostname_req else None
        self.server = server_cls(self.sim, self, candidates)
        self.server.init()
        import mujoco

        m = self.sim.model
        self._cube_qpos = int(m.jnt_qposadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, "cube_joint")])
        self._table_geom = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "table")
        self._robot_bodies = {i for i in range(m.nbody) if (mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, i)
                                                                or "").startswith("robot0_")}
        self.sim.register_pre_step_callback(lambda _s: self._apply_pending())
        self.sim.register_post_step_callback(lambda _s: self._post_step())
        self._t_start = time.monotonic()
        if self.run_thread:
            self.server.run_async(self.realtime)
        log.info("franky-sim twin serving on %s", self.hostname)
        return self.hostname

    def run_once(self) -> None:
        """One 1 ms tick (when not serving from a thread)."""
        self.server.run_once(self.realtime)

    def close(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            self.server = None
        if self.sim is not None and self.sim.is_initialized and not self.sim.is_cleaned_up:
            self.sim.cleanup()
        self.sim = None

    def __enter__(self) -> FrankySimTwin:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def hostname(self) -> str:
        return str(self.robot_model.hostname)

    # ------------------------------------------------------------------ world access
    def _apply_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for kind, arg in pending:
            if kind == "cube":
                pos, quat = se3.pose_to_pos_quat(arg)
                a = self._cube_qpos
                self.sim.data.qpos[a:a + 3] = pos
                self.sim.data.qpos[a + 3:a + 7] = se3.quat_xyzw_to_wxyz(quat)
                self.sim.data.qvel[self._cube_dof():self._cube_dof() + 6] = 0.0
            elif kind == "reflex":
                self._reflex_active = True

    def _cube_dof(self) -> int:
        import mujoco

        m = self.sim.model
        return int(m.jnt_dofadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, "cube_joint")])

    def _post_step(self) -> None:
        self._steps += 1
        limit = self.config.reflex_force_n
        if limit is None or self._reflex_active or self._steps % 5 or self._steps < self._reflex_armed_at:
            return
        force = self.table_contact_force()
        if force > limit:
            log.warning("twin: the arm presses %.0f N on the table (> %.0f N): cartesian reflex", force, limit)
            self._reflex_active = True

    def table_contact_force(self) -> float:
        """Total normal force [N] the robot exerts on the table now."""
        import mujoco

        m, d = self.sim.model, self.sim.data
        total = 0.0
        f6 = np.zeros(6)
        for i in range(d.ncon):
            c = d.contact[i]
            g1, g2 = int(c.geom1), int(c.geom2)
            if self._table_geom not in (g1, g2):
                continue
            other = g2 if g1 == self._table_geom else g1
            if int(m.geom_bodyid[other]) not in self._robot_bodies:
                continue
            mujoco.mj_contactForce(m, d, i, f6)
            total += abs(float(f6[0]))
        return total

    def cube_pose(self) -> F64:
        """True ``base_T_cube`` ``(4,4)``."""
        q = np.array(self.sim.data.qpos[self._cube_qpos:self._cube_qpos + 7])
        return se3.pos_quat_to_pose(q[:3], se3.quat_wxyz_to_xyzw(q[3:]))

    def set_cube_pose(self, base_T_cube: F64) -> None:
        """Teleport the cube (at rest) before the next physics step."""
        with self._lock:
            self._pending.append(("cube", np.asarray(base_T_cube, dtype=np.float64).copy()))

    def joint_positions(self) -> F64:
        """True arm joint positions ``(7,)`` (MuJoCo qpos)."""
        return np.array(self.robot_model.inner_state.q)

    def gripper_width(self) -> float:
        return float(self.robot_model.hand_width)

    def inject_reflex(self) -> None:
        """Raise a cartesian reflex now (as a real FR3 does on a collision)."""
        with self._lock:
            self._pending.append(("reflex", None))

    def status(self) -> dict[str, Any]:
        """Sim time [s], wall time since start [s], steps, realtime factor, reflex state."""
        wall = time.monotonic() - self._t_start
        return {"sim_time_s": self._steps * 1e-3, "wall_s": wall, "steps": self._steps,
                "realtime_factor": self._steps * 1e-3 / wall if wall > 0 else 0.0,
                "reflex_active": self._reflex_active, "reflex_count": self._reflex_count}

    def extrinsics(self) -> F64:
        """``base_T_camera_color_optical_frame`` ``(4,4)`` of the twin's D415."""
        return self.config.base_T_camera()

    def write_extrinsics(self, path: str | Path) -> Path:
        """Save the camera extrinsics in the ``perception.extrinsics`` JSON format."""
        from perception.extrinsics import CameraExtrinsics

        ext = CameraExtrinsics(self.extrinsics(), serial="SIM-D415-TWIN",
                               calibration={"method": "exact (franky-sim twin scene)", "scene": asdict(self.config)})
        return ext.save(path)


def _reflex_server_class() -> type:
    """``SimulationServer`` whose robot server can abort motions with a cartesian reflex (built lazily)."""
    from franky_sim import SimulationServer
    from franky_sim.franka_robot_protocol import BaseCommand, MoveStatus, RobotCommand, RobotMode
    from franky_sim.franka_robot_server import FrankaRobotServer
    from franky_sim.simulation_server import LocalHostnames

    class ReflexRobotServer(FrankaRobotServer):
        def __init__(self, robot: Any, candidates: Any, twin: FrankySimTwin) -> None:
            self._twin = twin
            self._in_reflex = False
            super().__init__(robot, candidates)

        def _post_process_commands(self) -> None:
            if self._twin._reflex_active and not self._in_reflex:
                self._in_reflex = True
                self._twin._reflex_count += 1
                motion_id = self.current_motion_id
                self.stop_motion(send_preemption_signal=False)
                # a real FR3 stops where it is: hold the measured configuration, not the (colliding) desired one
                self._FrankaRobotServer__holding_q = tuple(self.robot.inner_state.q)
                if motion_id:
                    BaseCommand.send_response(self._tcp_socket, RobotCommand.kMove, motion_id,
                                              MoveStatus.kReflexAborted)
                    self.reset_current_motion_id()
            super()._post_process_commands()

        def start_motion(self, controller_mode: Any, motion_generator_mode: Any, motion_id: int) -> None:
            if self._in_reflex:  # a real FR3 rejects motions until error recovery
                BaseCommand.send_response(self._tcp_socket, RobotCommand.kMove, motion_id,
                                          MoveStatus.kCommandRejectedDueToActivatedSafetyFunctions)
                return
            super().start_motion(controller_mode, motion_generator_mode, motion_id)

        def recover(self) -> None:
            if self._in_reflex:  # hold where the arm is now (it may have sprung back from the obstacle)
                self._FrankaRobotServer__holding_q = tuple(self.robot.inner_state.q)
            self._in_reflex = False
            self._twin._reflex_active = False
            self._twin._reflex_armed_at = self._twin._steps + REFLEX_REARM_STEPS

        @property
        def robot_state(self) -> Any:
            state = super().robot_state
            if not self._in_reflex:
                return state
            errors = tuple(i == CARTESIAN_REFLEX_INDEX for i in range(N_ERRORS))
            return state.replace(robot_mode=RobotMode.kReflex, errors=errors, reflex_reason=errors)

    class ReflexSimulationServer(SimulationServer):
        def __init__(self, sim: Any, twin: FrankySimTwin, candidates: Any) -> None:
            super().__init__(sim, candidates if candidates else LocalHostnames())
            self._twin = twin

        def init(self) -> None:
            for robot in self.sim.robots:
                rs = ReflexRobotServer(robot, self._remaining_hostname_candidates, self._twin)
                rs.init()
                self.robot_servers.append(rs)
            self.sim.start()

    _patch_recovery()
    return ReflexSimulationServer


def _patch_recovery() -> None:
    """Make franky-sim's AutomaticErrorRecovery clear the twin's reflex (it only acknowledges by default)."""
    from franky_sim import franka_robot_protocol as proto

    cls = proto.AutomaticErrorRecoveryCommand
    if getattr(cls, "_imgen_patched", False):
        return
    original = cls.handle

    def handle(self: Any, server: Any) -> None:
        if hasattr(server, "recover"):
            server.recover()
        original(self, server)

    cls.handle = handle
    cls._imgen_patched = True


# ---------------------------------------------------------------------------------------------- child process
def _twin_main(conn: Any) -> None:
    """Child-process entry: receive the arguments, serve the twin, answer calls between 5 ms batches of ticks."""
    logging.basicConfig(level=logging.WARNING)
    config, hostname, realtime = conn.recv()
    try:
        twin = FrankySimTwin(config, hostname=hostname, realtime=realtime, run_thread=False)
        host = twin.start()
    except Exception as exc:  # report start-up failures to the parent
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", host))
    calls: dict[str, Callable[..., Any]] = {
        "cube_pose": twin.cube_pose, "set_cube_pose": twin.set_cube_pose, "joint_positions": twin.joint_positions,
        "gripper_width": twin.gripper_width, "inject_reflex": twin.inject_reflex, "status": twin.status,
        "table_contact_force": twin.table_contact_force}
    try:
        while True:
            for _ in range(5):
                twin.run_once()
            while conn.poll():
                name, args = conn.recv()
                if name == "close":
                    conn.send(("ok", None))
                    return
                try:
                    conn.send(("ok", calls[name](*args)))
                except Exception as exc:
                    conn.send(("error", f"{type(exc).__name__}: {exc}"))
    except (EOFError, BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        pass
    finally:
        twin.close()


def _child_entry() -> None:
    from multiprocessing.connection import Connection

    _twin_main(Connection(int(sys.argv[1])))


class TwinProcess:
    """The franky-sim twin in a child process (same API as :class:`FrankySimTwin`, over a pipe).

    Example::

        with TwinProcess() as twin:
            ctl = FrankaController(ControllerConfig(robot_ip=twin.hostname, ...))
    """

    def __init__(self, config: TwinSceneConfig | None = None, hostname: str | None = None,
                 realtime: bool | float = True, start_timeout_s: float = 60.0) -> None:
        self.config = config or TwinSceneConfig()
        self._hostname_req = hostname
        self.realtime = realtime
        self.start_timeout_s = start_timeout_s
        self._proc: Any = None
        self._conn: Any = None
        self._lock = threading.Lock()
        self.hostname = ""

    def start(self) -> str:
        """Spawn the child (a fresh interpreter: no fork of this process's threads), wait until it serves."""
        from multiprocessing.connection import Connection

        ours, theirs = socket.socketpair()
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self._proc = subprocess.Popen(
            [sys.executable, "-c", "from control.twin import _child_entry; _child_entry()", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), env=env, cwd=root)
        theirs.close()
        self._conn = Connection(ours.detach())
        self._conn.send((self.config, self._hostname_req, self.realtime))
        if not self._conn.poll(self.start_timeout_s):
            self.close()
            raise RobotError(f"franky-sim twin did not start within {self.start_timeout_s} s")
        kind, value = self._conn.recv()
        if kind != "ready":
            self.close()
            raise RobotError(f"franky-sim twin failed to start: {value}")
        self.hostname = str(value)
        return self.hostname

    @property
    def pid(self) -> int | None:
        """Process id of the child (None when not running)."""
        return None if self._proc is None else int(self._proc.pid)

    def _call(self, name: str, *args: Any) -> Any:
        with self._lock:
            if self._conn is None:
                raise RobotError("the twin process is not running")
            self._conn.send((name, args))
            if not self._conn.poll(10.0):
                raise RobotError(f"the twin process did not answer {name!r} within 10 s")
            kind, value = self._conn.recv()
        if kind != "ok":
            raise RobotError(f"twin {name}: {value}")
        return value

    def cube_pose(self) -> F64:
        """True ``base_T_cube`` ``(4,4)``."""
        return np.asarray(self._call("cube_pose"))

    def set_cube_pose(self, base_T_cube: F64) -> None:
        self._call("set_cube_pose", np.asarray(base_T_cube, dtype=np.float64))

    def joint_positions(self) -> F64:
        return np.asarray(self._call("joint_positions"))

    def gripper_width(self) -> float:
        return float(self._call("gripper_width"))

    def inject_reflex(self) -> None:
        self._call("inject_reflex")

    def table_contact_force(self) -> float:
        return float(self._call("table_contact_force"))

    def status(self) -> dict[str, Any]:
        return dict(self._call("status"))

    def extrinsics(self) -> F64:
        return self.config.base_T_camera()

    def close(self) -> None:
        if self._conn is not None:
            try:
                with self._lock:
                    self._conn.send(("close", ()))
                    self._conn.poll(5.0)
            except (OSError, EOFError, BrokenPipeError):
                pass
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10.0)
            except subprocess.TimeoutExpired:
                self._proc.terminate()
                self._proc.wait(timeout=5.0)
            self._proc = None

    def __enter__(self) -> TwinProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
