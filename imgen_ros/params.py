"""Typed, validated ROS parameter declarations (pure Python: no rclpy import).

One :class:`ParamSpec` per parameter: its type, default, description and valid range or choices. The node base
class turns them into ``rcl_interfaces/ParameterDescriptor`` s (with ``FloatingPointRange`` / ``IntegerRange``);
the graph definition and ``imgen launch --set`` use the same specs to parse and check values before any process
starts, so a bad value fails early with a message that names the valid range.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from imgen_core.errors import ConfigError

ParamValue = bool | int | float | str
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*")  # YAML reads these back as the same string
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "nan", "inf"}
_TYPES: dict[type, str] = {bool: "bool", int: "int", float: "float", str: "string"}


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter.

    Attributes:
        name: parameter name (ROS style, ``snake_case``).
        type: ``bool``, ``int``, ``float`` or ``str``.
        default: default value (must itself be valid).
        description: one line shown in ``--help`` and the ROS parameter descriptor.
        range: inclusive ``(lo, hi)`` for ``int``/``float``.
        choices: allowed values for ``str``.
        required: a ``str`` that must not be empty.
    """

    name: str
    type: type
    default: ParamValue
    description: str
    range: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None
    required: bool = False

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ConfigError(f"parameter {self.name}: unsupported type {self.type}")
        if self.range is not None and self.type not in (int, float):
            raise ConfigError(f"parameter {self.name}: a range needs an int or float parameter")
        if not self.required:
            self.validate(self.default)

    @property
    def type_name(self) -> str:
        return _TYPES[self.type]

    def valid_text(self) -> str:
        """Human-readable statement of what is valid, e.g. ``a float in [1.0, 100.0]``."""
        if self.choices:
            return f"one of: {', '.join(self.choices)}"
        if self.range is not None:
            lo, hi = self.range
            if self.type is int:
                return f"an int in [{int(lo)}, {int(hi)}]"
            return f"a float in [{lo}, {hi}]"
        if self.required:
            return "a non-empty string"
        return f"a {self.type_name}"

    def validate(self, value: Any) -> ParamValue:
        """Coerce ``value`` to the declared type and check it; raise :class:`ConfigError` naming the valid range."""
        where = f"parameter {self.name}={value!r}"
        v: ParamValue
        if self.type is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{where} is not a bool; valid: true or false")
            v = value
        elif self.type is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{where} is not an int; valid: {self.valid_text()}")
            v = value
        elif self.type is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{where} is not a number; valid: {self.valid_text()}")
            v = float(value)
            if not math.isfinite(v):
                raise ConfigError(f"{where} is not finite; valid: {self.valid_text()}")
        else:
            if not isinstance(value, str):
                raise ConfigError(f"{where} is not a string; valid: {self.valid_text()}")
            v = value
            if self.required and not v:
                raise ConfigError(f"parameter {self.name} is required (a non-empty string): {self.description}")
            if self.choices and v not in self.choices:
                raise ConfigError(f"{where} is not valid; valid: {self.valid_text()}")
        if self.range is not None:
            lo, hi = self.range
            if not (lo <= float(v) <= hi):
                raise ConfigError(f"{where} is out of range; valid: {self.valid_text()}")
        return v

    def parse(self, text: str) -> ParamValue:
        """Parse a command-line string (``--set node.param=value``) into a valid value."""
        v: Any
        if self.type is bool:
            low = text.strip().lower()
            if low not in ("true", "false", "1", "0", "yes", "no"):
                raise ConfigError(f"parameter {self.name}={text!r} is not a bool; valid: true or false")
            v = low in ("true", "1", "yes")
        elif self.type is int:
            try:
                v = int(text)
            except ValueError:
                raise ConfigError(f"parameter {self.name}={text!r} is not an int; valid: {self.valid_text()}") from None
        elif self.type is float:
            try:
                v = float(text)
            except ValueError:
                raise ConfigError(f"parameter {self.name}={text!r} is not a number; "
                                  f"valid: {self.valid_text()}") from None
        else:
            v = text
        return self.validate(v)


def ros_arg_value(value: ParamValue) -> str:
    """Format a value for ``--ros-args -p name:=VALUE`` so that ROS's YAML parser reads back the same type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    plain = _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS
    return value if plain else "'" + value.replace("'", "''") + "'"


def spec_table(specs: tuple[ParamSpec, ...]) -> str:
    """Plain-text table of parameters (for ``--help``)."""
    lines = []
    for s in specs:
        default = ros_arg_value(s.default) if not (s.required and not s.default) else "(required)"
        lines.append(f"  {s.name} ({s.type_name}, default {default}): {s.description}; {s.valid_text()}")
    return "\n".join(lines)
