"""``imgen control``: the FR3 controller's tools — fit the sim-matched response model, run the franky-sim twin,
check a robot connection.

* ``imgen control fit-response [--out control/data/osc_response_panda_20hz.json]`` records robosuite's OSC response
  to per-axis calibration sequences (robosuite Lift, Panda, default OSC_POSE, 20 Hz) and fits the per-axis model of
  ``imgen_core.control_model`` (the ``fitted`` response model; the default ``robosuite_osc`` model needs no fit).
* ``imgen control twin [--hostname 127.0.0.1] [--extrinsics out.json]`` serves the franky-sim twin (FR3, table,
  5 cm red cube, D415) on loopback until Ctrl-C; connect any franky client to the printed address.
* ``imgen control check --robot-ip IP`` connects, prints the TCP pose, joint positions and gripper width.
"""

from __future__ import annotations

import argparse
import json
import logging
import time

log = logging.getLogger(__name__)


def _fit(args: argparse.Namespace) -> int:
    from control.config import DEFAULT_RESPONSE_PATH
    from control.sim_reference import fit_from_sim

    params = fit_from_sim(seed=args.seed)
    out = params.save(args.out or DEFAULT_RESPONSE_PATH)
    print(json.dumps({"out": str(out), "omega": params.omega, "zeta": params.zeta,
                      "rms_m": params.meta.get("rms_m"), "rms_rad": params.meta.get("rms_rad")}, indent=2))
    return 0


def _twin(args: argparse.Namespace) -> int:
    from control.twin import FrankySimTwin, TwinSceneConfig

    twin = FrankySimTwin(TwinSceneConfig(), hostname=args.hostname)
    host = twin.start()
    if args.extrinsics:
        twin.write_extrinsics(args.extrinsics)
    print(json.dumps({"robot_ip": host, "cube_pose": twin.cube_pose().tolist(),
                      "base_T_camera_color_optical_frame": twin.extrinsics().tolist()}), flush=True)
    try:
        deadline = time.monotonic() + args.seconds if args.seconds else None
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        twin.close()
    return 0


def _check(args: argparse.Namespace) -> int:
    from control.config import ControllerConfig
    from control.franka_controller import FrankaController

    ctl = FrankaController(ControllerConfig(robot_ip=args.robot_ip, response_model=args.response_model))
    ctl.connect()
    try:
        obs = ctl.refresh()
        print(json.dumps({"tcp_pos": obs.tcp_pos.tolist(), "tcp_quat_xyzw": obs.tcp_quat_xyzw.tolist(),
                          "q": obs.q.tolist(), "gripper_width": obs.gripper_width, "status": ctl.status()}, indent=2))
    finally:
        ctl.close()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("control", help="FR3 controller tools: fit the response model, franky-sim twin, check",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    f = actions.add_parser("fit-response", help="fit the per-axis OSC response model from robosuite recordings")
    f.add_argument("--out", default=None, help="output JSON (default: the shipped control/data file)")
    f.add_argument("--seed", type=int, default=0)
    f.set_defaults(func=_fit)
    t = actions.add_parser("twin", help="serve the franky-sim twin (table, cube, D415) on loopback")
    t.add_argument("--hostname", default=None, help="loopback address (default: first free 127.x.y.z)")
    t.add_argument("--extrinsics", default=None, help="write the twin camera extrinsics JSON here")
    t.add_argument("--seconds", type=float, default=0.0, help="serve this long (default: until Ctrl-C)")
    t.set_defaults(func=_twin)
    c = actions.add_parser("check", help="connect to a robot (or twin) and print its observation")
    c.add_argument("--robot-ip", required=True)
    c.add_argument("--response-model", default="ideal", choices=("robosuite_osc", "fitted", "ideal"))
    c.set_defaults(func=_check)
