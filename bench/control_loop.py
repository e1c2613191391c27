"""Benchmark: the FR3 controller's 20 Hz loop against the franky-sim twin (loopback, libfranka protocol).

A policy stand-in submits actions at 20 Hz on the wall clock (smooth sinusoidal deltas that keep the arm in the
workspace) to a started :class:`control.franka_controller.FrankaController` for ``--seconds``; then it stops
sending and the watchdog must stop the arm. Reported (JSON on stdout and in ``--out``):

* ``tick_period_jitter_ms``: |tick period - 50 ms| of the fixed-rate loop (observation, error polling, gripper),
  p50/p99/max; ``tick_lateness_ms``: lateness of each tick against its schedule;
* ``action_to_command_latency_ms``: from ``submit_action`` to the velocity command handed to franky, p50/p99/max
  (includes the response model step: robosuite's OSC on a Panda by default);
* ``watchdog``: delay from the last action to the stop command (wall clock) and braking time to rest (robot clock;
  the twin runs slower than real time on a loaded machine, on hardware both clocks agree);
* the twin's real-time factor and the machine load, since both shape the figures.

    MUJOCO_GL=osmesa .venv/bin/python bench/control_loop.py --out results/bench/control_loop.json
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from _common import emit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _stats(x: np.ndarray) -> dict[str, float]:
    return {"p50": float(np.percentile(x, 50)), "p99": float(np.percentile(x, 99)), "max": float(np.max(x)),
            "mean": float(np.mean(x)), "n": int(x.size)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=20.0, help="duration of the action stream (wall clock)")
    p.add_argument("--model", default="robosuite_osc", choices=("robosuite_osc", "fitted", "ideal"))
    p.add_argument("--out", default="results/bench/control_loop.json")
    args = p.parse_args(argv)
    os.environ.setdefault("MUJOCO_GL", "osmesa")

    from control.franka_controller import FrankaController
    from control.twin import TwinProcess, twin_controller_config
    from imgen_core.control_model import PANDA_HOME_Q, fr3_base_T_tcp

    with TwinProcess() as twin:
        ctl = FrankaController(twin_controller_config(twin.hostname, response_model=args.model))
        ctl.connect()
        try:
            ctl.move_to_joints(PANDA_HOME_Q)
            ctl.start()
            period = ctl.config.period_s
            n = int(round(args.seconds / period))
            t0 = time.monotonic()
            for k in range(n):
                time.sleep(max(0.0, t0 + k * period - time.monotonic()))
                ph = 2 * np.pi * k * period
                ctl.submit_action([0.3 * np.sin(ph / 2.0), 0.3 * np.sin(ph / 3.0), 0.25 * np.cos(ph / 2.5),
                                   0.0, 0.0, 0.05 * np.sin(ph / 4.0), -1.0])
            t_last = time.monotonic()
            samples = []
            while time.monotonic() < t_last + 0.8:  # the watchdog must stop the arm
                obs = ctl.refresh(gripper=False)
                v = np.linalg.norm(fr3_base_T_tcp(obs.q + 1e-4 * obs.dq)[:3, 3] - obs.base_T_tcp[:3, 3]) / 1e-4
                samples.append((obs.robot_time_s, v))
                time.sleep(0.002)
            ticks = np.array(list(ctl.tick_times))
            cmds = list(ctl.commands)
            events = ctl.events
        finally:
            ctl.close()
        twin_status = twin.status()

    ticks = ticks[(ticks > ticks[0] + 0.5)]  # skip the start-up transient
    periods = np.diff(ticks)
    lateness = (ticks - ticks[0]) - np.round((ticks - ticks[0]) / period) * period
    latency = np.array([c.t_sent - c.t_received for c in cmds[5:]])
    stop = events.last("watchdog_stop")
    hold = events.last("hold")
    s = np.array(samples)
    moving = np.flatnonzero(s[:, 1] >= 0.01)
    t_rest = s[moving[-1] + 1, 0] if moving.size and moving[-1] + 1 < len(s) else s[0, 0]
    watchdog = None
    if stop is not None and hold is not None:
        fire = stop.t - t_last
        brake = float(t_rest - hold.data["robot_time"])
        watchdog = {"fire_after_last_action_ms": 1e3 * fire, "braking_to_rest_ms_robot_clock": 1e3 * max(brake, 0.0),
                    "total_ms": 1e3 * (fire + max(brake, 0.0)), "target_ms": 150.0,
                    "rest_threshold_mps": 0.01}
    result = {
        "rate_hz": 1.0 / period,
        "response_model": args.model,
        "tick_period_jitter_ms": _stats(np.abs(periods - period) * 1e3),
        "tick_lateness_ms": _stats(np.abs(lateness) * 1e3),
        "target_p99_jitter_ms": 2.0,
        "pass_jitter": bool(np.percentile(np.abs(periods - period) * 1e3, 99) <= 2.0),
        "action_to_command_latency_ms": _stats(latency * 1e3),
        "n_actions": len(cmds),
        "watchdog": watchdog,
        "events": events.counts(),
        "twin": twin_status,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_avg": list(os.getloadavg()),
                    "switch_interval_s": sys.getswitchinterval()},
    }
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
