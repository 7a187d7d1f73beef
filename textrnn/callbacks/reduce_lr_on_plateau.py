"""`ReduceLROnPlateau`: lower the learning rate when a monitored quantity stops improving."""

from __future__ import annotations

import warnings

import numpy as np

from textrnn import checks
from textrnn.callbacks._monitor import check_mode, resolve_mode
from textrnn.callbacks.callback import Callback, Logs


class ReduceLROnPlateau(Callback):
    """Multiplies the optimizer's learning rate by `factor` after `patience` epochs without
    improvement of `monitor` (Keras's rule, epoch by epoch).

    An epoch improves when the value beats the best so far by more than `min_delta`. After a
    reduction the count restarts and `cooldown` epochs pass before counting again; the rate never
    goes below `min_lr`. Like Keras's, the callback adds the epoch's `learning_rate` to the logs.

    Args:
        monitor: the quantity, default `"val_loss"`.
        factor: the multiplier, below 1, default 0.1.
        patience: epochs without improvement before a reduction, default 10.
        verbose: 1 prints a line at each reduction, default 0.
        mode: `"auto"` (default: from the name), `"min"` or `"max"`. Keras falls back to "auto"
            with a warning for another value; textrnn raises.
        min_delta: the smallest change that counts as an improvement, default 1e-4.
        cooldown: epochs to wait after a reduction, default 0.
        min_lr: the lowest learning rate, default 0.0.

    Raises:
        ValueError: for `factor >= 1` (Keras's message) or an invalid argument.

    Example:
        >>> reduce_lr = ReduceLROnPlateau(factor=0.5, patience=2)
        >>> model.fit(x, y, validation_split=0.2, callbacks=[reduce_lr])
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__()
        self.monitor = checks.string("monitor", monitor)
        factor = checks.finite_number("factor", factor)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.factor = factor
        self.patience = checks.non_negative_int("patience", patience)
        self.verbose = checks.non_negative_int("verbose", verbose)
        self.mode = check_mode(mode)
        self.min_delta = abs(checks.finite_number("min_delta", min_delta))
        self.cooldown = checks.non_negative_int("cooldown", cooldown)
        if isinstance(min_lr, bool) or not isinstance(min_lr, (int, float)) or not min_lr >= 0:
            raise checks.invalid("min_lr", "a non-negative number", min_lr)
        self.min_lr = float(min_lr)
        self._reset()
        self._direction: str | None = None

    def _reset(self) -> None:
        self.best: float | None = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_improvement(self, value: float) -> bool:
        if self.best is None:
            return True
        if self._direction == "min":
            return value + self.min_delta < self.best
        return value - self.min_delta > self.best

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        model = self._require_model()
        if model.optimizer is None:
            raise RuntimeError("ReduceLROnPlateau needs a compiled model; call `compile` before `fit`.")
        if self._direction is None:
            self._direction = resolve_mode(self.mode, self.monitor, model, "ReduceLROnPlateau")
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(model.optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` "
                "which is not available. "
                f"Available metrics are: {','.join(logs)}.",
                stacklevel=2,
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(float(current)):
            self.best = float(current)
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce(model.optimizer, epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce(self, optimizer: object, epoch: int) -> bool:
        old = float(optimizer.learning_rate)  # type: ignore[attr-defined]
        if not old > np.float32(self.min_lr):  # Keras compares against the float32 value
            return False
        new = max(old * self.factor, self.min_lr)
        if new <= 0:
            return False  # textrnn's optimizers need a positive rate: stay at the current one
        optimizer.learning_rate = new  # type: ignore[attr-defined]
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
        return True
