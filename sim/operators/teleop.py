"""Real teleoperation devices (keyboard, SpaceMouse) as operators for ``imgen collect``.

A device produces a twist (linear [m/s], angular [rad/s], both in the robot base frame), a gripper command
and a takeover toggle. :class:`TeleopOperator` integrates the twist into a target TCP pose (kept within
4 cm / 0.3 rad of the actual EE so it never runs away) and converts it every 20 Hz step with
``adapter.target_pose_to_action``, i.e. the same 7-D action as every other operator.

Keyboard (pynput; focus-free global listener, needs an X display or ``PYNPUT_BACKEND``):
    w/s  +x/-x    a/d  +y/-y    r/f  +z/-z    z/x  yaw +/-    g (or space)  toggle gripper
    t    take over from the policy / hand control back        esc (or q)  abort the episode
SpaceMouse (robosuite's ``SpaceMouse`` over hidapi): push/twist the cap to move; hold the left button to close
the gripper; the right button toggles takeover / hand-back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from imgen_core import se3
from imgen_core.errors import ConfigError
from imgen_core.keys import OPERATOR_HUMAN_PREFIX

log = logging.getLogger(__name__)
DT = 0.05
MAX_LEAD_POS = 0.04  # [m] target may lead the EE by at most this
MAX_LEAD_ROT = 0.3  # [rad]


@dataclass
class DeviceState:
    """One reading of a teleop device."""

    twist: np.ndarray  # (6,) [vx, vy, vz, wx, wy, wz] in the base frame
    gripper: float  # -1 open, +1 close
    takeover: bool  # True while the human wants control
    abort: bool = False


class KeyboardDevice:
    """Keyboard teleop. Feed pynput key events to :meth:`on_press` / :meth:`on_release` (or :meth:`start`)."""

    name = "keyboard"
    AXES = {"w": (0, 1.0), "s": (0, -1.0), "a": (1, 1.0), "d": (1, -1.0), "r": (2, 1.0), "f": (2, -1.0),
            "z": (5, 1.0), "x": (5, -1.0)}

    def __init__(self, speed: float = 0.08, yaw_speed: float = 0.5) -> None:
        self.speed = speed
        self.yaw_speed = yaw_speed
        self._held: set[str] = set()
        self._gripper = -1.0
        self._takeover = False
        self._abort = False
        self._listener: Any = None

    @staticmethod
    def _key_name(key: Any) -> str | None:
        char = getattr(key, "char", None)
        if char:
            return str(char).lower()
        name = getattr(key, "name", None)
        return str(name) if name else None

    def on_press(self, key: Any) -> None:
        """pynput press handler."""
        k = self._key_name(key)
        if k in self.AXES:
            self._held.add(k)

    def on_release(self, key: Any) -> None:
        """pynput release handler (toggles act on release, so auto-repeat does not flicker them)."""
        k = self._key_name(key)
        if k in self.AXES:
            self._held.discard(k)
        elif k in ("g", "space"):
            self._gripper = -self._gripper
        elif k == "t":
            self._takeover = not self._takeover
        elif k in ("esc", "q"):
            self._abort = True

    def start(self) -> None:
        """Start a global pynput listener thread."""
        try:
            from pynput import keyboard
        except Exception as exc:  # pynput raises ImportError or its own errors without a display
            raise ConfigError(f"keyboard teleop needs pynput with a display (set DISPLAY, or PYNPUT_BACKEND=uinput "
                              f"as root): {exc}") from exc
        self._listener = keyboard.Listener(on_press=self.on_press, on_release=self.on_release)
        self._listener.start()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def reset(self) -> None:
        """New episode: gripper open, policy in control, nothing held."""
        self._held.clear()
        self._gripper = -1.0
        self._takeover = False
        self._abort = False

    def read(self) -> DeviceState:
        twist = np.zeros(6)
        for k in self._held:
            axis, sign = self.AXES[k]
            twist[axis] += sign * (self.speed if axis < 3 else self.yaw_speed)
        return DeviceState(twist=twist, gripper=self._gripper, takeover=self._takeover, abort=self._abort)


class SpaceMouseDevice:
    """3Dconnexion SpaceMouse through robosuite's ``SpaceMouse`` reader thread (hidapi)."""

    name = "spacemouse"

    def __init__(self, env: Any, speed: float = 0.10, rot_speed: float = 0.6, **robosuite_kwargs: Any) -> None:
        try:
            from robosuite.devices import SpaceMouse
        except ImportError as exc:  # hidapi or pynput missing
            raise ConfigError(f"SpaceMouse support (robosuite.devices: hidapi, pynput) cannot be imported: "
                              f"{exc}") from exc
        try:
            self._dev = SpaceMouse(env, **robosuite_kwargs)
        except OSError as exc:
            raise ConfigError(f"no SpaceMouse found ({exc}); plug in a 3Dconnexion device and check udev "
                              f"permissions for hidraw") from exc
        self.speed = speed
        self.rot_speed = rot_speed
        self._takeover = False
        self._dev.start_control()

    def reset(self) -> None:
        self._takeover = False
        self._dev.start_control()

    def start(self) -> None:
        """The reader thread starts with the device; nothing to do."""

    def stop(self) -> None:
        """robosuite's reader thread is a daemon; nothing to stop."""

    def read(self) -> DeviceState:
        dev = self._dev
        if dev._reset_state:  # right button: robosuite's "reset", used here as the takeover toggle
            self._takeover = not self._takeover
            dev.start_control()
        c = np.clip(dev.control, -1.0, 1.0)
        # robosuite's own mapping (Device.input2action): dpos = control[:3]; drot = (pitch, roll, -yaw)
        twist = np.concatenate([c[:3] * self.speed, np.array([c[4], c[3], -c[5]]) * self.rot_speed])
        return DeviceState(twist=twist, gripper=1.0 if dev.control_gripper > 0 else -1.0, takeover=self._takeover)


class TeleopOperator:
    """Human operator through a device; same interface as :class:`~sim.operators.oracle.ScriptedOracle`."""

    realtime = True  # sessions run at the control rate so the human can follow

    def __init__(self, adapter: Any, device: Any) -> None:
        self.adapter = adapter
        self.device = device
        self.label = OPERATOR_HUMAN_PREFIX + device.name
        self.target: np.ndarray | None = None

    def reset(self, seed: int | None = None) -> None:
        self.device.reset()
        self.target = None

    def judge(self, policy_steps: int) -> str | None:
        """``"human_takeover"`` when the human toggled takeover."""
        return "human_takeover" if self.device.read().takeover else None

    def wants_hand_back(self) -> bool:
        """True when the human toggled control back to the policy."""
        return not self.device.read().takeover

    def aborted(self) -> bool:
        return bool(self.device.read().abort)

    def take_over(self) -> None:
        self.target = self.adapter.eef_pose()

    def act(self) -> tuple[np.ndarray, np.ndarray]:
        """Next ``(action (7,), target_pose (4,4))`` from the device."""
        st = self.device.read()
        ee = self.adapter.eef_pose()
        if self.target is None:
            self.target = ee
        t = se3.apply_delta(self.target, st.twist[:3] * DT, st.twist[3:] * DT)
        lead = t[:3, 3] - ee[:3, 3]
        n = float(np.linalg.norm(lead))
        if n > MAX_LEAD_POS:
            t[:3, 3] = ee[:3, 3] + lead * (MAX_LEAD_POS / n)
        rlead = se3.mat_to_axisangle(t[:3, :3] @ ee[:3, :3].T)
        ang = float(np.linalg.norm(rlead))
        if ang > MAX_LEAD_ROT:
            t[:3, :3] = se3.axisangle_to_mat(rlead * (MAX_LEAD_ROT / ang)) @ ee[:3, :3]
        self.target = t
        action = np.asarray(self.adapter.target_pose_to_action(t, st.gripper), dtype=np.float64)
        return action, self.adapter.action_to_target_pose(action)


def make_device(name: str, adapter: Any) -> Any:
    """``keyboard`` or ``spacemouse`` (started, ready to read)."""
    if name == "keyboard":
        dev: Any = KeyboardDevice()
    elif name == "spacemouse":
        dev = SpaceMouseDevice(adapter.env)
    else:
        raise ConfigError(f"device={name!r} is not valid; choose one of: keyboard, spacemouse")
    dev.start()
    return dev
