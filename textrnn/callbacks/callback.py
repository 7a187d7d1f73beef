"""`Callback`, the base of everything `fit` calls back into, and the list that dispatches to them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textrnn import checks

if TYPE_CHECKING:
    from textrnn.training.trainer import Trainer

Logs = dict[str, float]


class Callback:
    """Base class for objects that `fit`, `evaluate` and `predict` call at fixed points.

    Override any of Keras's hooks: `on_train_begin/end(logs)`, `on_epoch_begin/end(epoch, logs)`,
    `on_train_batch_begin/end(batch, logs)`, `on_test_begin/end(logs)`,
    `on_test_batch_begin/end(batch, logs)`, `on_predict_begin/end(logs)`,
    `on_predict_batch_begin/end(batch, logs)`. `self.model` is the model being trained; set
    `self.model.stop_training = True` to stop after the current batch.

    Epoch logs hold `loss`, the compiled metrics and, with validation, their `val_` twins, as floats.
    Batch logs hold the running averages of the epoch so far. Batch hooks that are not overridden
    cost nothing: the loop only gathers batch logs (a device sync) for callbacks that override them.

    Example:
        >>> class PrintLoss(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print(epoch, logs["loss"])
        >>> model.fit(x, y, callbacks=[PrintLoss()])
    """

    # Hooks a callback overrides but needs not be called for, as configured (TensorBoard logging
    # only epochs): the loop then skips gathering their batch logs.
    _idle_hooks: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.model: Trainer | None = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Trainer) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: Logs | None = None) -> None: ...
    def on_train_end(self, logs: Logs | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_test_begin(self, logs: Logs | None = None) -> None: ...
    def on_test_end(self, logs: Logs | None = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_predict_begin(self, logs: Logs | None = None) -> None: ...
    def on_predict_end(self, logs: Logs | None = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...

    def _require_model(self) -> Trainer:
        if self.model is None:
            raise RuntimeError(
                f"{type(self).__name__} is not attached to a model: pass it to `fit(callbacks=[...])`."
            )
        return self.model


def _overrides(cb: Callback, hook: str) -> bool:
    return getattr(type(cb), hook) is not getattr(Callback, hook) and hook not in cb._idle_hooks


class CallbackList:
    """Calls a hook on every callback, in order; knows which batch hooks anyone overrides."""

    def __init__(self, callbacks: Iterable[Callback], model: Trainer, params: dict[str, Any]) -> None:
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                expected = "`textrnn.callbacks.Callback` objects"
                raise checks.invalid("callbacks", expected, cb, error=TypeError)
            cb.set_model(model)
            cb.set_params(params)

    def wants(self, hook: str) -> bool:
        return any(_overrides(cb, hook) for cb in self.callbacks)

    def call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)
