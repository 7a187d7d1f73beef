"""Argument checks shared by every part of textrnn: raise with Keras's wording, never clamp.

Each check returns the value it accepted, so a constructor reads
`self.units = checks.positive_int("units", units)`. Messages follow Keras's shape:
"Received an invalid value for argument `units`, expected a positive integer, got 0."
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable
from typing import Any


def invalid(
    name: str,
    expected: str,
    value: Any,
    fix: str = "",
    *,
    error: type = ValueError,
    flag: str = "",
    got: str = "",
) -> Exception:
    """The error for argument `name`: what was expected, what was received, and the fix if any.

    `flag` is the command-line flag of the argument (`--units`), named beside it when given.
    `got` describes the value in place of its repr, for values too long to print (an array's
    shape, a type's name).
    """
    argument = f"`{name}`" + (f" (`{flag}`)" if flag else "")
    message = f"Received an invalid value for argument {argument}, expected {expected}, "
    message += f"got {got or repr(value)}."
    return error(message + (f" {fix}" if fix else ""))


def _is_int(value: Any) -> bool:
    """A Python or NumPy integer; True and False are not integers here."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def positive_int(name: str, value: Any, fix: str = "") -> int:
    """An integer of at least 1."""
    if not _is_int(value) or value <= 0:
        raise invalid(name, "a positive integer", value, fix)
    return int(value)


def non_negative_int(name: str, value: Any, fix: str = "") -> int:
    """An integer of at least 0."""
    if not _is_int(value) or value < 0:
        raise invalid(name, "a non-negative integer", value, fix)
    return int(value)


def int_at_least(name: str, value: Any, minimum: int, fix: str = "") -> int:
    """An integer of at least `minimum`."""
    if not _is_int(value) or value < minimum:
        raise invalid(name, f"an integer of at least {minimum}", value, fix)
    return int(value)


def optional_positive_int(name: str, value: Any, fix: str = "") -> int | None:
    """None or an integer of at least 1."""
    if value is None:
        return None
    if not _is_int(value) or value <= 0:
        raise invalid(name, "None or a positive integer", value, fix)
    return int(value)


def optional_non_negative_int(name: str, value: Any, fix: str = "") -> int | None:
    """None or an integer of at least 0."""
    if value is None:
        return None
    if not _is_int(value) or value < 0:
        raise invalid(name, "None or a non-negative integer", value, fix)
    return int(value)


def rate(name: str, value: Any) -> float:
    """A float in [0, 1): a dropout rate or a held-out fraction that may be zero."""
    if not _is_number(value) or math.isnan(value) or not 0.0 <= float(value) < 1.0:
        raise invalid(name, "a float in [0, 1)", value)
    return float(value)


def number_in(
    name: str, value: Any, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> float:
    """A finite number in the interval from `low` to `high` (closed unless `*_open`)."""
    ok = _is_number(value) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise invalid(name, f"a number in {interval}", value)
    return float(value)


def positive_number(name: str, value: Any) -> float:
    """A finite number above 0."""
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise invalid(name, "a positive number", value)
    return float(value)


def finite_number(name: str, value: Any) -> float:
    """Any finite number, negative included."""
    if not _is_number(value) or not math.isfinite(value):
        raise invalid(name, "a finite number", value)
    return float(value)


def optional_number(name: str, value: Any) -> float | None:
    """None or a number (infinite allowed, NaN refused)."""
    if value is None:
        return None
    if not _is_number(value) or math.isnan(value):
        raise invalid(name, "None or a number", value)
    return float(value)


def path(name: str, value: Any) -> str | os.PathLike[str]:
    """A non-empty `str` or `os.PathLike` (a TypeError otherwise)."""
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise invalid(name, "a path", value, error=TypeError)
    return value


def boolean(name: str, value: Any) -> bool:
    """True or False (a TypeError otherwise: 0 and 1 are not accepted)."""
    if not isinstance(value, bool):
        raise invalid(name, "True or False", value, error=TypeError)
    return value


def choice(name: str, value: Any, choices: Iterable[Any], fix: str = "") -> Any:
    """One of `choices`, compared with `==`."""
    options = tuple(choices)
    if value not in options:
        raise invalid(name, "one of " + ", ".join(repr(c) for c in options), value, fix)
    return value


def string(name: str, value: Any, *, empty: bool = False) -> str:
    """A string (non-empty unless `empty`)."""
    if not isinstance(value, str):
        raise invalid(name, "a string", value, error=TypeError)
    if not empty and not value:
        raise invalid(name, "a non-empty string", value)
    return value
