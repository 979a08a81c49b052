"""Helpers of the argument dataclasses: a field with its help text, and the checks that refuse a bad flag before any
work, naming it."""

from __future__ import annotations

from dataclasses import MISSING, field


def option(default=MISSING, help: str = "", *, default_factory=MISSING):
    """A dataclass field with its `--help` text (`HfArgumentParser` reads `metadata["help"]`)."""
    return field(default=default, default_factory=default_factory, metadata={"help": help})


def check_choices(arguments, **allowed: tuple[str, ...]) -> None:
    """Refuse a flag whose value is not one of its choices, naming it."""
    for name, choices in allowed.items():
        if getattr(arguments, name) not in choices:
            raise ValueError(f"--{name} must be one of {choices}, got {getattr(arguments, name)!r}")


def check_numbers(arguments, *, at_least_1="", at_least_0="", positive="", fraction="") -> None:
    """Refuse a numeric flag out of its range, naming it (None = unset, allowed); each rule lists field names."""
    rules = [
        (at_least_1, lambda v: v >= 1, ">= 1"),
        (at_least_0, lambda v: v >= 0, ">= 0"),
        (positive, lambda v: v > 0, "> 0"),
        (fraction, lambda v: 0 <= v <= 1, "in [0, 1]"),
    ]
    for names, valid, expected in rules:
        for name in names.split():
            value = getattr(arguments, name)
            if value is not None and not valid(value):
                raise ValueError(f"--{name} must be {expected}, got {value}")
