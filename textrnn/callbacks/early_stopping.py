"""`EarlyStopping`: stop when a monitored quantity stops improving (Keras 3's semantics)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from textrnn import checks
from textrnn.callbacks._monitor import check_mode, resolve_mode
from textrnn.callbacks.callback import Callback, Logs


class EarlyStopping(Callback):
    """Stop training when `monitor` has not improved for `patience` epochs.

    An epoch improves when its value beats the best so far by more than `min_delta`. With a
    `baseline`, the patience counter only restarts on epochs that also beat the baseline. With
    `restore_best_weights=True` the weights of the best epoch are put back when training ends,
    whether or not it stopped early (Keras 3 behaviour); if no epoch was monitored nothing is
    restored.

    Args:
        monitor: quantity to watch, default `"val_loss"`.
        min_delta: smallest change that counts as an improvement, default 0.
        patience: epochs without improvement before stopping, default 0.
        verbose: 1 prints when it stops and restores, default 0.
        mode: `"auto"` (from the name: losses go down, accuracies up), `"min"` or `"max"`.
        baseline: a value the monitored quantity has to beat, default None.
        restore_best_weights: restore the best epoch's weights at the end, default False.
        start_from_epoch: epochs to wait before monitoring, default 0.

    Raises:
        ValueError: for a negative `patience`/`start_from_epoch`, an unknown `mode`.

    Example:
        >>> stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
        >>> model.fit(x, y, epochs=50, validation_split=0.2, callbacks=[stop])
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__()
        self.monitor = checks.string("monitor", monitor)
        self.min_delta = abs(checks.finite_number("min_delta", min_delta))
        self.patience = checks.non_negative_int("patience", patience)
        self.verbose = verbose
        self.mode = check_mode(mode)
        self.baseline = checks.optional_number("baseline", baseline)
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = checks.non_negative_int("start_from_epoch", start_from_epoch)
        self._op: str | None = None
        self.best = math.nan
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights: list[np.ndarray] | None = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None
        self._op = None

    def _improves(self, value: float, reference: float) -> bool:
        if self._op == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        model = self._require_model()
        if self._op is None:
            self._op = resolve_mode(self.mode, self.monitor, model, "EarlyStopping")
            self.best = math.inf if self._op == "min" else -math.inf
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(
                f"EarlyStopping is conditioned on `{self.monitor}`, which is not in the logs. "
                f"Available keys: {', '.join(logs or {})}. Pass validation data for `val_` keys.",
                stacklevel=2,
            )
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._improves(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = model.get_weights()
            if self.baseline is None or self._improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            model.stop_training = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self._require_model().set_weights(self.best_weights)

    def get_config(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "min_delta": self.min_delta,
            "patience": self.patience,
            "verbose": self.verbose,
            "mode": self.mode,
            "baseline": self.baseline,
            "restore_best_weights": self.restore_best_weights,
            "start_from_epoch": self.start_from_epoch,
        }
