"""The callbacks a run adds to `fit`: the recorder that commits every epoch, and `--ema`'s."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from textrnn.callbacks import Callback
from textrnn.evaluation import classification_metrics
from textrnn.runs.options import TrainOptions
from textrnn.runs.predictor import to_class_matrix
from textrnn.runs.prepare import PADDING, TRUNCATING, PreparedData
from textrnn.runs.run import SingleRun, history_keys, model_metadata
from textrnn.training.metrics import direction_of


def json_float(value: Any) -> float | None:
    """`value` as a float, None for a missing or non-finite one (JSON has no NaN)."""
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def better(monitor: str, value: float, best: float | None) -> bool:
    """Whether `value` of the figure `monitor` improves on `best` (None: nothing yet)."""
    if best is None or (isinstance(best, float) and math.isnan(best)):
        return True
    if math.isnan(value):
        return False
    name = monitor.removeprefix("val_")
    up = name == "macro_f1" or direction_of(name) == "up"
    return value > best if up else value < best


class AverageEachEpoch(Callback):
    """With `--ema`: the optimizer writes its weight average into the model after every epoch's
    last step, before validation (Keras's `ema_overwrite_frequency` set to the steps per epoch)."""

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        optimizer = self._require_model().optimizer
        assert optimizer is not None and optimizer.use_ema  # build_model sets use_ema from --ema
        optimizer.ema_overwrite_frequency = int(self.params["steps"])


class ValidationMacroF1(Callback):
    """Adds `val_macro_f1` to each epoch's logs: the macro F1 of the model on the validation
    split (the last `validation_split` of the training rows, as `fit` holds it out), for
    `--monitor val_macro_f1`. Put it before the recorder, which reads the logs."""

    def __init__(self, x_val: np.ndarray, y_val: np.ndarray, label_names: list[str], bucket: bool) -> None:
        super().__init__()
        self.x_val, self.y_val, self.names, self.bucket = x_val, y_val, label_names, bucket

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if logs is None:
            return
        model = self._require_model()
        y = model.predict(self.x_val, verbose=0, bucket_by_length=self.bucket)
        k = len(self.names)
        probs = to_class_matrix(np.asarray(y, dtype=np.float32), k)
        logs["val_macro_f1"] = classification_metrics(self.y_val, probs, self.names)["macro"]["f1"]


class RunRecorder(Callback):
    """Commits every finished epoch to the run (checkpoint with its history, best model, history
    files; the first one also publishes the run) and drives early stopping.

    Args:
        run: the run being written.
        options: its options (`monitor`, `early_stopping`).
        data: its data (the vocabulary and label names saved with the model).
        history: the history so far, updated in place.
    """

    def __init__(
        self, run: SingleRun, options: TrainOptions, data: PreparedData, history: dict[str, Any]
    ) -> None:
        super().__init__()
        self.run = run
        self.options = options
        self.history = history
        self._t0 = 0.0
        self.metadata = model_metadata(data.vocabulary, data.label_names, options.maxlen, PADDING, TRUNCATING)

    @property
    def monitor(self) -> str:
        return str(self.history["monitor"])

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        seconds = time.perf_counter() - self._t0
        logs = dict(logs or {})
        model = self._require_model()
        h = self.history
        h["epochs"].append(epoch + 1)
        for key in history_keys(h):
            h[key].append(json_float(seconds if key == "seconds" else logs.get(key)))
        value = float(logs.get(self.monitor, math.nan))
        improved = better(self.monitor, value, h.get("best_value"))
        if improved:
            h["best_epoch"] = epoch + 1
            h["best_value"] = json_float(value)
        patience = self.options.early_stopping
        if patience is not None and h["best_epoch"] is not None and (epoch + 1) - h["best_epoch"] >= patience:
            h["stop_reason"] = "early_stopping"
            model.stop_training = True
        self.run.commit_epoch(model, h, improved, self.metadata)


__all__ = ["AverageEachEpoch", "RunRecorder", "ValidationMacroF1", "better", "json_float"]
