"""Class labels: normalising what readers find, naming classes, mapping names to indices."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from textrnn.errors import DatasetError

# A decimal number as people write one in a file: `1`, `-2`, `1.0`, `.5`, `2.5e3` (not `nan`,
# `inf` or `1_000`, which Python's float() also reads).
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def normalize_label(value: Any) -> str | None:
    """A label as the string it is stored under, or None when the value is missing.

    Strings are stripped; numbers, and strings that read as a decimal number, are numbers:
    integral ones become their decimal digits and others their shortest float form (so `1`,
    `1.0`, `"1"` and `"1.0"` are one class, whether read from CSV, JSON Lines or Parquet);
    booleans become `"true"`/`"false"`; empty strings, None and NaN are missing.

    Example:
        >>> [normalize_label(v) for v in ("1.0", " 0 ", 1.0, "2.50", "pos", "")]
        ['1', '0', '1', '2.5', 'pos', None]
    """
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isnan(f):
            return None
        return str(int(f)) if f.is_integer() else repr(f)
    if isinstance(value, str):
        s = value.strip()
        if _NUMBER.fullmatch(s):
            return normalize_label(float(s)) if not s.lstrip("+-").isdigit() else str(int(s))
        return s or None
    raise DatasetError(
        f"Expected a label that is a string or a number, got {type(value).__name__} {value!r}."
    )


def _numeric(name: str) -> float | None:
    try:
        return float(name)
    except ValueError:
        return None


def label_names_of(labels: Sequence[str]) -> list[str]:
    """The sorted distinct labels: numerically if every label is a number, else alphabetically.

    The order fixes the class indices; with two classes, index 1 is the positive class of the
    sigmoid output (`"1"` for 0/1 labels, `"pos"` for neg/pos).
    """
    names = sorted(set(labels))
    values = [_numeric(n) for n in names]
    if all(v is not None for v in values):
        names = [n for _, n in sorted(zip(values, names, strict=True), key=lambda t: (t[0], t[1]))]
    return names


def encode_labels(
    labels: Sequence[str], label_names: Sequence[str], *, source: str = "the data"
) -> np.ndarray:
    """Class indices of `labels` under `label_names`, shape `(samples,)`, dtype int64.

    Raises:
        DatasetError: naming the first label that is not one of `label_names`.
    """
    index = {name: i for i, name in enumerate(label_names)}
    out = np.empty(len(labels), dtype=np.int64)
    for i, label in enumerate(labels):
        j = index.get(label)
        if j is None:
            raise DatasetError(
                f"Label {label!r} in {source} is not one of the model's labels {list(label_names)}. "
                "Use data labelled with the same classes the model was trained on."
            )
        out[i] = j
    return out
