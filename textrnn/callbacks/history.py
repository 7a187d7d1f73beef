"""`History`: what `fit` returns, the per-epoch logs as lists."""

from __future__ import annotations

from textrnn.callbacks.callback import Callback, Logs


class History(Callback):
    """Records the epoch logs; `fit` returns it and stores it on `model.history`.

    Attributes:
        history: `{"loss": [...], "acc": [...], "val_loss": [...], "val_acc": [...]}`, one entry
            per epoch run (keys as the metrics were named in `compile`).
        epoch: the indices of the epochs run (0-based, from `initial_epoch`).
        params: `{"verbose", "epochs", "steps"}` of the `fit` call.
        model: the model trained.

    Example:
        >>> history = model.fit(x, y, epochs=10, validation_split=0.2)
        >>> history.history["val_acc"][-1]
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            # a list stays a list (a per-class metric: `F1Score(average=None)`)
            kept = [float(v) for v in value] if isinstance(value, (list, tuple)) else float(value)
            self.history.setdefault(key, []).append(kept)
        if self.model is not None:
            self.model.history = self

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"
