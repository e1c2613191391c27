"""Scripted oracle of the Coffee task (label ``scripted_oracle``): stands in for a human teleoperator.

The episode starts with the pod in the closed gripper. Script: turn top-down and carry the pod above the holder
(pod bottom 3-5 cm above the rim) → pause now and then → descend slowly until the pod bottom is 1-4 mm above
the holder floor → settle → open the gripper → rise. Targets are placed so that the **pod centre** (measured in
the TCP frame at the start of the script, as a person sees where the pod sits in the hand) lines up with the
holder axis, with a small aiming error. Motion is a carrot target at bounded speed with ramps, a slight wobble
and random hesitations (``sim.operators.motion.segment``).

``pose_source="observed"`` aims at the holder of the *observed* (corrupted) machine pose and never recovers.

Intervention mode: :meth:`CoffeeOracle.judge` takes over when the adapter's detector fires (pod on the rim,
misaligned contact, pod dropped, arm or gripper on the machine), when the pod goes below the rim off the holder axis,
when the gripper opens with the pod off the holder, or when the policy stalls. :meth:`CoffeeOracle.take_over`
recovers from the current state: if the pod is still in the hand it lifts it clear of the rim, otherwise it opens,
rises and re-grasps the pod where it lies (upright within 35°, two attempts; else it aborts), then re-aims at the TRUE
holder and inserts and releases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imgen_core import se3
from sim.operators.base import CLOSE, OPEN, OracleBase, Script
from sim.tasks.coffee import ALIGN_TOL
from sim.tasks.coffee_env import HOLDER_WALL_HEIGHT, POD_HEIGHT, POD_IN_TCP_Z


@dataclass(frozen=True)
class CoffeeOracleConfig:
    """Motion style (lengths in metres, speeds are peak speeds in m/s)."""

    free_speed: tuple[float, float] = (0.08, 0.10)
    descend_speed: tuple[float, float] = (0.04, 0.06)
    lift_speed: tuple[float, float] = (0.05, 0.07)
    clearance: tuple[float, float] = (0.03, 0.05)  # pod bottom above the rim before descending
    release_height: tuple[float, float] = (0.001, 0.004)  # pod bottom above the holder floor at release
    aim_noise: float = 0.0015  # std of the xy aiming error (clipped at 2.5 std)
    yaw_noise: float = np.deg2rad(2.0)
    wobble: float = 0.002
    pause_prob: float = 0.35
    pause_steps: tuple[int, int] = (2, 6)
    converge_tol: float = 0.003
    max_settle: int = 20
    open_steps: int = 10  # PandaGripper needs 10 steps to ramp its command fully open
    close_steps: int = 10
    retreat: float = 0.06
    regrasp_max_tilt: float = np.deg2rad(35.0)
    regrasp_attempts: int = 2
    takeover_stall_steps: int = 220


class CoffeeOracle(OracleBase[CoffeeOracleConfig]):
    """Scripted stand-in for a human operator of the Coffee task.

    Args:
        adapter: a :class:`sim.tasks.coffee.CoffeeAdapter`.
        config: motion style.
        pose_source: ``"true"`` (oracle) or ``"observed"`` (acts on the corrupted machine pose; no recovery).
    """

    config_cls = CoffeeOracleConfig

    def _new_episode(self) -> None:
        self._aborted = False

    def aborted(self) -> bool:
        """True when the recovery gave up (the pod lies on its side and cannot be re-grasped)."""
        return self._aborted

    def _task_mistake(self) -> str | None:
        """Pod below the rim off the holder axis, or the gripper opening with the pod off the holder."""
        a = self.adapter
        err, bottom = a.pod_holder_offset()
        if err > ALIGN_TOL and bottom < HOLDER_WALL_HEIGHT - 0.003 and err < 0.08:
            return "pod_below_rim_off_axis"
        width = a.observation()["robot0_gripper_width"][0]
        if a.last_gripper_command < 0 and width < 0.07 and (err > ALIGN_TOL or bottom > 0.015):
            return "releasing_off_holder"
        return None

    # ------------------------------------------------------------------ helpers
    def _holder(self) -> np.ndarray:
        return self.adapter.holder_pose(observed=self.pose_source == "observed")

    # ------------------------------------------------------------------ script
    def _regrasp(self) -> Script:
        """Open, rise, and grasp the pod where it lies (it must be roughly upright)."""
        a, cfg = self.adapter, self.cfg
        here = a.eef_pose()
        self.carrot = here
        up = here.copy()
        up[2, 3] += 0.01
        yield from self._open_at(up)
        pod = a.object_poses()["pod"]
        if pod[2, 2] < np.cos(cfg.regrasp_max_tilt):
            self._aborted = True
            self.phase = "aborted"
            while True:
                yield up, OPEN
        rot = self._top_down_rot()
        grasp = self._tcp_for_point(pod[:3, 3], rot, np.array([0.0, 0.0, POD_IN_TCP_Z]))
        above = grasp.copy()
        above[2, 3] = max(up[2, 3], grasp[2, 3] + self._u(cfg.clearance))
        lift = up.copy()
        lift[2, 3] = above[2, 3]
        yield from self._move(lift, self._u(cfg.lift_speed), OPEN, wobble=0.0)
        yield from self._move(above, self._u(cfg.free_speed), OPEN)
        yield from self._move(grasp, self._u(cfg.descend_speed), OPEN, wobble=self.cfg.wobble / 2)
        yield from self._settle(grasp, OPEN)
        yield from self._hold(grasp, CLOSE, cfg.close_steps + 1, cfg.close_steps + 3)

    def _recover(self) -> Script:
        """Get the pod back into the hand (if needed) and clear of the holder rim."""
        self.phase = "recover"
        a, cfg = self.adapter, self.cfg
        c = a.contacts()
        in_hand = (c.left_pod or c.right_pod) and a.last_gripper_command > 0 and self._gripper_width() < 0.05
        for _ in range(cfg.regrasp_attempts):
            if in_hand:
                break
            yield from self._regrasp()
            in_hand = a.contacts().held
        if not in_hand:
            self._aborted = True
            self.phase = "aborted"
            stay = a.eef_pose()
            while True:
                yield stay, OPEN
        here = a.eef_pose()
        self.carrot = here
        yield from self._maybe_pause(here, CLOSE)
        rim = a.holder_pose()[2, 3] + HOLDER_WALL_HEIGHT
        pod_bottom = a.object_poses()["pod"][2, 3] - POD_HEIGHT / 2
        up = here.copy()
        up[2, 3] += max(0.03, rim + self._u(cfg.clearance) - pod_bottom)
        yield from self._move(up, self._u(cfg.lift_speed), CLOSE, wobble=0.0)

    def _run(self, recover: bool) -> Script:
        cfg, a = self.cfg, self.adapter
        if recover:
            yield from self._recover()
        self.phase = "approach"
        tcp, pod = a.eef_pose(), a.object_poses()["pod"]
        pod_in_tcp = (se3.pose_inv(tcp) @ pod[:, 3])[:3]
        holder = self._holder()
        rot = self._top_down_rot()
        aim = self._noise(cfg.aim_noise, size=2)
        centre = holder[:3, 3] + np.array([aim[0], aim[1], POD_HEIGHT / 2])
        insert = self._tcp_for_point(centre + np.array([0.0, 0.0, self._u(cfg.release_height)]), rot, pod_in_tcp)
        above = self._tcp_for_point(centre + np.array([0.0, 0.0, HOLDER_WALL_HEIGHT + self._u(cfg.clearance)]),
                                    rot, pod_in_tcp)
        yield from self._maybe_pause(tcp, CLOSE)
        yield from self._move(above, self._u(cfg.free_speed), CLOSE)
        yield from self._maybe_pause(above, CLOSE)
        self.phase = "descend"
        yield from self._move(insert, self._u(cfg.descend_speed), CLOSE, wobble=cfg.wobble / 2)
        yield from self._settle(insert, CLOSE)
        yield from self._maybe_pause(insert, CLOSE)
        self.phase = "release"
        yield from self._hold(insert, OPEN, cfg.open_steps + 1, cfg.open_steps + 3)
        yield from self._rise_and_hold(insert, cfg.retreat, self._u(cfg.lift_speed), OPEN, "retreat")
