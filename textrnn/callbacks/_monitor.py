"""Whether a monitored quantity should go down or up (`mode="auto"`), as Keras infers it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textrnn import checks
from textrnn.training.metrics import direction_of

if TYPE_CHECKING:
    from textrnn.training.trainer import Trainer


def check_mode(mode: object) -> str:
    return str(checks.choice("mode", mode, ("auto", "min", "max")))


def resolve_mode(mode: str, monitor: str, model: Trainer | None, owner: str) -> str:
    """'min' or 'max' for `monitor`; raises when `mode="auto"` cannot tell."""
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    direction = None
    if model is not None:
        for metric in getattr(model, "compiled_metrics", []):
            if metric.name == name:
                direction = metric.direction
    if direction is None:
        direction = direction_of(name)
    if direction is None:
        raise ValueError(
            f"{owner} received monitor={monitor!r} but cannot tell whether it should be maximized "
            "or minimized. "
            "Pass `mode='max'` to keep the highest value or `mode='min'` to keep the lowest."
        )
    return "max" if direction == "up" else "min"
