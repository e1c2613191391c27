"""Keyboard teleop driven by programmatic key events; SpaceMouse reports a missing device clearly."""

import numpy as np
import pytest
from pynput.keyboard import KeyCode

from imgen_core.errors import ConfigError
from sim.collect import record_intervention
from sim.operators import KeyboardDevice, TeleopOperator, make_scripted_policy


def press(dev, ch):
    dev.on_press(KeyCode.from_char(ch))


def release(dev, ch):
    dev.on_release(KeyCode.from_char(ch))


def test_keyboard_keys_map_to_twist_gripper_and_takeover():
    dev = KeyboardDevice(speed=0.08)
    st = dev.read()
    assert not st.twist.any() and st.gripper == -1 and not st.takeover
    press(dev, "w")
    press(dev, "r")
    np.testing.assert_allclose(dev.read().twist, [0.08, 0, 0.08, 0, 0, 0])
    release(dev, "w")
    np.testing.assert_allclose(dev.read().twist, [0, 0, 0.08, 0, 0, 0])
    press(dev, "g")
    assert dev.read().gripper == -1  # toggles act on release
    release(dev, "g")
    assert dev.read().gripper == 1
    release(dev, "t")
    assert dev.read().takeover
    release(dev, "t")
    assert not dev.read().takeover
    release(dev, "q")
    assert dev.read().abort


class ScriptedKeys:
    """A keyboard whose keys are pressed programmatically at given read counts (a stand-in human)."""

    name = "keyboard"

    def __init__(self, events):
        self.kb = KeyboardDevice()
        self.events = events  # {read index: [("press"|"release", char), ...]}
        self.n = 0

    def reset(self):
        self.kb.reset()
        self.n = 0

    def read(self):
        for kind, ch in self.events.get(self.n, []):
            (press if kind == "press" else release)(self.kb, ch)
        self.n += 1
        return self.kb.read()


@pytest.mark.sim
def test_keyboard_operator_moves_the_arm(fresh):
    dev = ScriptedKeys({0: [("press", "a")]})
    op = TeleopOperator(fresh, dev)
    op.realtime = False
    op.reset(0)
    op.take_over()
    start = fresh.eef_pose()[:3, 3].copy()
    for _ in range(20):
        action, target = op.act()
        fresh.step(action)
    moved = fresh.eef_pose()[:3, 3] - start
    assert moved[1] > 0.03 and abs(moved[0]) < 0.01  # 'a' = +y at 8 cm/s for 1 s, OSC lag included
    assert op.label == "human/keyboard"


@pytest.mark.sim
def test_keyboard_takeover_records_robot_and_human_segments(adapter):
    # judge() and wants_hand_back() read the device once per step: press t after 10 steps, lift with r later
    dev = ScriptedKeys({10: [("release", "t")], 12: [("press", "r")]})
    op = TeleopOperator(adapter, dev)
    op.realtime = False
    policy = make_scripted_policy("observed_grasp", adapter)
    res = record_intervention(adapter, policy, op, seed=8, max_steps=30)
    m = res.episode.intervention
    assert m is not None and not m[:5].any() and m[-5:].all()
    assert res.takeovers[0]["reason"] == "human_takeover"
    assert res.episode.operator == "human/keyboard"


def test_spacemouse_without_device_is_a_clear_error():
    from sim.operators import SpaceMouseDevice

    class FakeEnv:  # only what robosuite's Device base reads before opening the HID device
        robots = []

    with pytest.raises(ConfigError, match="SpaceMouse"):
        SpaceMouseDevice(FakeEnv())
