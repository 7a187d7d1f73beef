"""`ModelCheckpoint`: save the model (or its weights) after epochs, optionally only the best."""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

from textrnn import checks
from textrnn.callbacks._monitor import check_mode, resolve_mode
from textrnn.callbacks.callback import Callback, Logs


class ModelCheckpoint(Callback):
    """Save the model at the end of each epoch, or only when `monitor` improves.

    `filepath` may hold Python format fields filled from the epoch (1-based) and its logs, e.g.
    `"checkpoints/model-{epoch:02d}-{val_loss:.2f}"`. The full model is saved as a textrnn model
    folder (see `Sequential.save`); with `save_weights_only=True` the weights go to one safetensors
    file (see `Sequential.save_weights`; a name ending in `.weights.safetensors` is customary).
    Every write is atomic, so a crash never leaves a half-written checkpoint.

    Args:
        filepath: where to save; may contain `{epoch}` and log keys.
        monitor: quantity compared for `save_best_only`, default `"val_loss"`.
        verbose: 1 prints a line per save, default 0.
        save_best_only: only save when `monitor` beats the best value so far, default False.
        save_weights_only: save only the weights, default False.
        mode: `"auto"`, `"min"` or `"max"` (see `EarlyStopping`).
        save_freq: only `"epoch"` is supported.
        initial_value_threshold: the value the first save has to beat, default None.

    Example:
        >>> ckpt = ModelCheckpoint("best_model", monitor="val_acc", save_best_only=True)
        >>> model.fit(x, y, epochs=10, validation_split=0.2, callbacks=[ckpt])
    """

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str = "epoch",
        initial_value_threshold: float | None = None,
    ) -> None:
        super().__init__()
        self.filepath = os.fspath(checks.path("filepath", filepath))
        if save_freq != "epoch":
            raise checks.invalid("save_freq", "'epoch'", save_freq)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = check_mode(mode)
        self.save_freq = save_freq
        self.initial_value_threshold = checks.optional_number(
            "initial_value_threshold", initial_value_threshold
        )
        self._op: str | None = None
        self.best = math.nan

    def on_train_begin(self, logs: Logs | None = None) -> None:
        if self._op is None and self.save_best_only:
            self._op = resolve_mode(self.mode, self.monitor, self.model, "ModelCheckpoint")
            if self.initial_value_threshold is not None:
                self.best = float(self.initial_value_threshold)
            else:
                self.best = math.inf if self._op == "min" else -math.inf

    def _path(self, epoch: int, logs: Logs) -> Path:
        try:
            return Path(self.filepath.format(epoch=epoch + 1, **logs))
        except KeyError as err:
            raise KeyError(
                f"ModelCheckpoint `filepath` {self.filepath!r} refers to {err}, which is not in the logs "
                f"(available: epoch, {', '.join(logs)})."
            ) from None

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        model = self._require_model()
        logs = logs or {}
        path = self._path(epoch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                message = f"Can save best model only with `{self.monitor}` available, skipping."
                warnings.warn(message, stacklevel=2)
                return
            better = current < self.best if self._op == "min" else current > self.best
            if not better:
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose > 0:
                print(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} "
                    f"to {current:.5f}, "
                    f"saving model to {path}"
                )
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            model.save_weights(path)
        else:
            model.save(path)
