"""`CosineDecay`: a per-step warmup and cosine learning-rate schedule, as a callback."""

from __future__ import annotations

import math

from textrnn import checks
from textrnn.callbacks.callback import Callback, Logs


class CosineDecay(Callback):
    """Sets the optimizer's learning rate before every training step: a linear warmup to
    `initial_learning_rate`, then a cosine decay to `alpha × initial_learning_rate` at the last
    step of the last planned epoch (the schedule of Keras's `optimizers.schedules.CosineDecay`
    with `warmup_steps`, driven from `fit`'s own step count).

    The schedule covers `epochs × steps` steps as `fit` plans them, and the step is recomputed at
    each epoch's start, so a run resumed at `initial_epoch` continues the same curve. Early stopping
    simply ends the curve early.

    Args:
        initial_learning_rate: the peak learning rate, reached after the warmup.
        warmup_fraction: fraction of all steps spent warming up from near 0, default 0 (none).
        alpha: the final learning rate as a fraction of the peak, default 0.0.

    Raises:
        ValueError: for a non-positive `initial_learning_rate`, or a fraction outside [0, 1].

    Example:
        >>> model.fit(x, y, epochs=4, callbacks=[CosineDecay(2e-3, warmup_fraction=0.05)])
    """

    def __init__(
        self, initial_learning_rate: float, warmup_fraction: float = 0.0, alpha: float = 0.0
    ) -> None:
        super().__init__()
        self.initial_learning_rate = checks.positive_number("initial_learning_rate", initial_learning_rate)
        self.warmup_fraction = checks.number_in("warmup_fraction", warmup_fraction, 0.0, 1.0)
        self.alpha = checks.number_in("alpha", alpha, 0.0, 1.0)
        self._step = 0

    def learning_rate_at(self, step: int, total_steps: int) -> float:
        """The learning rate of (0-based) step `step` out of `total_steps`."""
        warmup = int(self.warmup_fraction * total_steps)
        if step < warmup:
            return self.initial_learning_rate * (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.initial_learning_rate * (self.alpha + (1.0 - self.alpha) * cosine)

    def _total(self) -> int:
        return int(self.params.get("steps") or 1) * int(self.params.get("epochs") or 1)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._step = epoch * int(self.params.get("steps") or 1)

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        model = self._require_model()
        if model.optimizer is None:
            raise RuntimeError("CosineDecay needs a compiled model; call `compile` before `fit`.")
        model.optimizer.learning_rate = self.learning_rate_at(self._step, self._total())
        self._step += 1
