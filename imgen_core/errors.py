"""One exception hierarchy for the whole project. Messages say what was wrong and what is valid."""


class ImgenError(Exception):
    """Base class of every error raised on purpose by imgen."""


class ConfigError(ImgenError, ValueError):
    """A configuration value or argument is invalid (the message names the valid range/choices)."""


class DatasetError(ImgenError):
    """A dataset file is missing, malformed, or incompatible with the request."""


class CheckpointError(ImgenError):
    """A policy checkpoint is unsafe, corrupt, or incompatible with the task."""


class SafetyError(ImgenError):
    """A command was refused by a safety check (NaN action, workspace violation, ...)."""


class RobotError(ImgenError):
    """The robot (or its simulator) reported an error."""


def check_choice(name: str, value: object, choices: "list[str] | tuple[str, ...] | set[str]") -> None:
    """Raise ConfigError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not valid; choose one of: {', '.join(sorted(map(str, choices)))}")


def check_range(name: str, value: float, lo: float, hi: float) -> None:
    """Raise ConfigError unless ``lo <= value <= hi`` (and finite)."""
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}={value!r} is not a number; valid range is [{lo}, {hi}]") from exc
    if not (lo <= v <= hi):
        raise ConfigError(f"{name}={value!r} is out of range; valid range is [{lo}, {hi}]")
