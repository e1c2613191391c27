"""ControllerConfig validation: bad values fail with a message naming the valid range."""

import pytest

from control.config import ControllerConfig
from imgen_core.errors import ConfigError


def test_defaults_are_valid_and_20hz():
    c = ControllerConfig()
    assert c.period_s == pytest.approx(0.05) and c.watchdog_timeout_s == pytest.approx(0.1)


@pytest.mark.parametrize(("field", "value", "pattern"), [
    ("rate_hz", 0.0, r"rate_hz.*valid range is \[1.0, 100.0\]"),
    ("watchdog_periods", 0.5, r"watchdog_periods.*valid range"),
    ("max_step_translation_m", 0.5, r"max_step_translation_m.*\[0.001, 0.1\]"),
    ("gripper_force_n", 500, r"gripper_force_n.*\[1.0, 140.0\]"),
    ("response_model", "magic", "choose one of: fitted, ideal, robosuite_osc"),
    ("robot_ip", "", "robot_ip"),
    ("relative_dynamics_factor", float("nan"), "relative_dynamics_factor"),
])
def test_bad_values_name_the_valid_range(field, value, pattern):
    with pytest.raises(ConfigError, match=pattern):
        ControllerConfig(**{field: value})


def test_from_dict_round_trip_and_unknown_keys():
    c = ControllerConfig(robot_ip="127.0.0.1", max_step_translation_m=0.02)
    assert ControllerConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ConfigError, match="unknown controller parameters.*valid:"):
        ControllerConfig.from_dict({"robot_ipp": "x"})
    with pytest.raises(ConfigError, match="unknown workspace parameters"):
        ControllerConfig.from_dict({"workspace": {"zmin": 0}})
