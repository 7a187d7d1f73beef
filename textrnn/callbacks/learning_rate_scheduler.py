"""`LearningRateScheduler`: set the learning rate at the start of each epoch from a function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from textrnn import checks
from textrnn.callbacks.callback import Callback, Logs


class LearningRateScheduler(Callback):
    """Calls `schedule(epoch, learning_rate)` (0-based epoch, the current rate) at the start of
    each epoch and sets the optimizer's rate to its result, as Keras does; a one-argument
    `schedule(epoch)` is accepted too (Keras's older form). The epoch's rate is added to the logs
    as `learning_rate`.

    Args:
        schedule: the function; it must return a float.
        verbose: 1 prints the new rate each epoch, default 0.

    Raises:
        ValueError: when `schedule` returns something other than a float (Keras's message).

    Example:
        >>> def schedule(epoch, lr):
        ...     return lr if epoch < 10 else lr * 0.9
        >>> model.fit(x, y, epochs=20, callbacks=[LearningRateScheduler(schedule)])
    """

    def __init__(self, schedule: Callable[..., Any], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise checks.invalid(
                "schedule", "a function schedule(epoch, lr) -> float", schedule, error=TypeError
            )
        self.schedule = schedule
        self.verbose = checks.non_negative_int("verbose", verbose)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        model = self._require_model()
        if model.optimizer is None:
            raise RuntimeError("LearningRateScheduler needs a compiled model; call `compile` before `fit`.")
        current = float(model.optimizer.learning_rate)
        try:
            lr = self.schedule(epoch, current)
        except TypeError:  # Keras's older one-argument schedule(epoch)
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr}")
        model.optimizer.learning_rate = float(lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(lr)}.")

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if logs is not None and self.model is not None and self.model.optimizer is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
