"""Metrics by Keras name, computed per sample and averaged over the epoch.

`metrics=["acc"]` (or `"accuracy"`) means binary, categorical or sparse categorical accuracy, chosen
from the loss and output size as Keras does, and the history key is the name as written (`acc` or
`accuracy`). Metrics always see probabilities: when the model trains on logits, textrnn applies
the final activation first, so accuracy thresholds at 0.5 as the tutorial expects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from textrnn.training.losses import Loss

MetricFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def binary_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Per-sample share of outputs on the right side of `threshold`. Shapes `(batch, units)`."""
    return ((y_pred > threshold).to(y_true.dtype) == y_true).float().mean(dim=-1)


def categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """1 where the arg-max of the output matches the arg-max of the one-hot target."""
    return (y_pred.argmax(dim=-1) == y_true.argmax(dim=-1)).float()


def sparse_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """1 where the arg-max of the output equals the integer target."""
    return (y_pred.argmax(dim=-1) == y_true.reshape(-1).long()).float()


def _mse(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    return (y_pred - y_true.to(y_pred.dtype).reshape(y_pred.shape)).square().mean(dim=-1)


def _mae(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    return (y_pred - y_true.to(y_pred.dtype).reshape(y_pred.shape)).abs().mean(dim=-1)


class Metric:
    """A per-sample metric with a name (the history key) and a direction (`"up"` is better when higher).

    Args:
        name: the key in logs and history.
        fn: `fn(y_true, y_pred) -> (batch,)` values, averaged over samples.
        direction: `"up"` or `"down"`, used by `EarlyStopping`/`ModelCheckpoint` in `mode="auto"`.
    """

    def __init__(self, name: str, fn: MetricFn, direction: str = "up") -> None:
        if direction not in ("up", "down"):
            raise ValueError(f"Received an invalid value for argument `direction`, expected 'up' or 'down', got {direction!r}.")
        self.name = name
        self.fn = fn
        self.direction = direction

    def __call__(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return self.fn(y_true, y_pred)

    def __repr__(self) -> str:
        return f"Metric(name={self.name!r}, direction={self.direction!r})"


_NAMED: dict[str, tuple[MetricFn, str]] = {
    "binary_accuracy": (binary_accuracy, "up"),
    "categorical_accuracy": (categorical_accuracy, "up"),
    "sparse_categorical_accuracy": (sparse_categorical_accuracy, "up"),
    "mse": (_mse, "down"),
    "mean_squared_error": (_mse, "down"),
    "mae": (_mae, "down"),
    "mean_absolute_error": (_mae, "down"),
}


def get(identifier: Any, loss: Loss, units: int) -> Metric:
    """Resolve one entry of `compile(metrics=...)` for a model with `units` outputs trained with `loss`.

    Raises:
        ValueError: for an unknown name.
        TypeError: for anything that is not a name or a `Metric`.
    """
    if isinstance(identifier, Metric):
        return identifier
    if not isinstance(identifier, str):
        raise TypeError(
            f"Received an invalid value in argument `metrics`, expected metric names such as 'acc' or `Metric` "
            f"objects, got {identifier!r}."
        )
    key = identifier.lower()
    if key in ("acc", "accuracy"):
        if loss.accuracy == "binary_accuracy" and units > 1 and loss.logits_activation is None:
            kind = "categorical_accuracy"  # regression-style loss on several outputs: Keras's shape rule
        else:
            kind = loss.accuracy
        fn, direction = _NAMED[kind]
        return Metric(identifier, fn, direction)
    if key in _NAMED:
        fn, direction = _NAMED[key]
        return Metric(identifier, fn, direction)
    raise ValueError(
        f"Received an invalid value in argument `metrics`, expected one of {sorted(['acc', 'accuracy', *_NAMED])}, "
        f"got {identifier!r}."
    )


def direction_of(name: str) -> str | None:
    """`"up"`/`"down"` for a known metric name (without `val_`), None when unknown."""
    key = name.lower()
    if key in ("acc", "accuracy"):
        return "up"
    if key == "loss":
        return "down"
    return _NAMED[key][1] if key in _NAMED else None
