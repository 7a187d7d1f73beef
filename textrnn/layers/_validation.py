"""Argument checks shared by layer constructors (raise, never clamp)."""

from __future__ import annotations

from typing import Any


def positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"Received an invalid value for argument `{name}`, expected a positive integer, got {value!r}.")
    return value


def rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) < 1.0:
        raise ValueError(f"Received an invalid value for argument `{name}`, expected a float in [0, 1), got {value!r}.")
    return float(value)
