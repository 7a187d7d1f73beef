"""`textrnn.runs.recorder`: which epoch is better, and JSON-safe figures."""

from __future__ import annotations

import math

from textrnn.runs.recorder import better, json_float


def test_better_follows_the_monitors_direction():
    assert better("val_loss", 0.4, None) and better("val_loss", 0.4, 0.5) and not better("val_loss", 0.6, 0.5)
    assert better("val_acc", 0.9, 0.8) and not better("val_acc", 0.7, 0.8)
    assert better("loss", 0.1, math.nan)  # nothing real to beat
    assert not better("val_loss", math.nan, 0.5)


def test_json_float():
    assert json_float(None) is None and json_float(math.nan) is None and json_float(math.inf) is None
    assert json_float(0.25) == 0.25 and isinstance(json_float(1), float)
