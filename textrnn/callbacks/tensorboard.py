"""`TensorBoard`: the logs of `fit` as TensorBoard event files, in Keras's layout and tag names."""

from __future__ import annotations

import json
import os
import time
import warnings
from typing import Any

from textrnn import checks
from textrnn.callbacks.callback import Callback, Logs

_MISSING = (
    "The TensorBoard callback needs the `tensorboard` package, which is not installed: "
    "pip install 'textrnn[tensorboard]'."
)


def _summary_writer(folder: str) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch raises ImportError naming tensorboard when it is missing
        raise ImportError(_MISSING) from None
    return SummaryWriter(log_dir=folder)


class TensorBoard(Callback):
    """Write what `fit` logs as TensorBoard event files (through `torch.utils.tensorboard`).

    Keras's layout: one run folder for training, `log_dir/train`, and one for validation,
    `log_dir/validation`. After each epoch the epoch logs go in as scalars named `epoch_<key>`
    with the epoch (0-based) as step: `epoch_loss`, `epoch_acc`, ... in `train`, and the `val_`
    logs, prefix removed, in `validation`; the optimizer's learning rate is added to the training
    scalars as `epoch_learning_rate` (and `epoch_steps_per_second` with `write_steps_per_second`).
    After each validation pass, `evaluation_<key>_vs_iterations` goes in `validation` with the
    optimizer's step count as step. With `update_freq="batch"` (or an integer `N`) the running
    batch logs go in `train` as `batch_<key>` every (`N`-th) batch, with the global batch count
    (1-based, from the start of the `fit` call) as step.

    Args:
        log_dir: the folder to write in, default `"logs"`.
        histogram_freq: every how many epochs to write a histogram of each weight (tag
            `<model>/<layer>/<weight>/histogram`, as Keras's weight paths, step = epoch); 0 (default)
            writes none.
        write_graph: write the model's config as JSON (text summary `keras`, step 0) in `train`,
            default True. Keras writes the same config for its graph plugin and a traced graph
            only under TensorFlow; no op graph is written here.
        write_images: only False is supported (weights as images are not written).
        write_steps_per_second: add the training steps per second of each epoch
            (`epoch_steps_per_second`) and, with batch updates, of each batch
            (`batch_steps_per_second`), default False.
        update_freq: `"epoch"` (default), `"batch"` or a positive integer (see above).
        profile_batch: only 0 (no profiling) is supported; Keras too refuses profiling with its
            torch backend. A non-zero value raises ValueError.
        embeddings_freq: only 0 is supported (no embedding projector).
        embeddings_metadata: only None is supported.

    Raises:
        ImportError: when the `tensorboard` package is missing (at the start of training), naming
            `pip install 'textrnn[tensorboard]'`.

    Example:
        >>> tb = TensorBoard(log_dir="logs/run1", histogram_freq=1)
        >>> model.fit(x, y, epochs=5, validation_split=0.2, callbacks=[tb])
        >>> # then: tensorboard --logdir logs
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str] = "logs",
        histogram_freq: int = 0,
        write_graph: bool = True,
        write_images: bool = False,
        write_steps_per_second: bool = False,
        update_freq: str | int = "epoch",
        profile_batch: int = 0,
        embeddings_freq: int = 0,
        embeddings_metadata: Any = None,
    ) -> None:
        super().__init__()
        self.log_dir = os.fspath(checks.path("log_dir", log_dir))
        self.histogram_freq = checks.non_negative_int("histogram_freq", histogram_freq)
        self.write_graph = checks.boolean("write_graph", write_graph)
        if checks.boolean("write_images", write_images):
            raise checks.invalid("write_images", "False (weight images are not supported)", write_images)
        self.write_images = False
        self.write_steps_per_second = checks.boolean("write_steps_per_second", write_steps_per_second)
        if update_freq == "batch":
            update_freq = 1
        elif update_freq != "epoch":
            update_freq = checks.positive_int(
                "update_freq", update_freq, "Pass 'epoch', 'batch' or a positive number of batches."
            )
        self.update_freq: str | int = update_freq
        if update_freq == "epoch":
            self._idle_hooks = frozenset({"on_train_batch_begin", "on_train_batch_end"})
        if profile_batch != 0:
            raise checks.invalid(
                "profile_batch",
                "0 (profiling is not available with PyTorch, as with Keras's torch backend)",
                profile_batch,
                "Use `torch.profiler` around `fit` to profile.",
            )
        self.profile_batch = 0
        if embeddings_freq != 0:
            expected = "0 (the embedding projector is not supported)"
            raise checks.invalid("embeddings_freq", expected, embeddings_freq)
        if embeddings_metadata is not None:
            raise checks.invalid("embeddings_metadata", "None (not supported)", embeddings_metadata)
        self.embeddings_freq = 0
        self.embeddings_metadata = None
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers: dict[str, Any] = {}
        self._global_train_batch = 0
        self._batch_start = 0.0
        self._epoch_start = 0.0
        self._epoch_iterations = 0

    def _writer(self, kind: str) -> Any:
        # Created on first use, as Keras does, so no empty run folder appears.
        if kind not in self._writers:
            self._writers[kind] = _summary_writer(self._train_dir if kind == "train" else self._val_dir)
        return self._writers[kind]

    def _iterations(self) -> int:
        model = self._require_model()
        return 0 if model.optimizer is None else int(model.optimizer.iterations)

    def on_train_begin(self, logs: Logs | None = None) -> None:
        model = self._require_model()
        self._global_train_batch = 0
        self._close()
        self._writer("train")  # fails early, with the install hint, when tensorboard is missing
        if self.write_graph:
            try:
                config = json.dumps({"class_name": type(model).__name__, "config": model.get_config()})
            except (AttributeError, TypeError, ValueError, NotImplementedError) as e:
                warnings.warn(f"Model failed to serialize as JSON. Ignoring... {e}", stacklevel=2)
            else:
                self._writer("train").add_text("keras", config, global_step=0)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._epoch_start = time.perf_counter()
        self._epoch_iterations = self._iterations()

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self.update_freq == "epoch" or self._global_train_batch % int(self.update_freq) != 0:
            return
        writer = self._writer("train")
        step = self._global_train_batch
        if self.write_steps_per_second:
            elapsed = time.perf_counter() - self._batch_start
            writer.add_scalar("batch_steps_per_second", 1.0 / max(elapsed, 1e-12), step)
        for name, value in (logs or {}).items():
            if isinstance(value, (int, float)):
                writer.add_scalar(f"batch_{name}", float(value), step)

    def on_test_end(self, logs: Logs | None = None) -> None:
        model = self._require_model()
        if model.optimizer is None or not logs:
            return
        writer = self._writer("validation")
        for name, value in logs.items():
            if isinstance(value, (int, float)):
                writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value), self._iterations())
        writer.flush()  # `evaluate` alone ends no training to close the writer

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        model = self._require_model()
        logs = logs or {}
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        if model.optimizer is not None:
            train_logs["learning_rate"] = float(model.optimizer.learning_rate)
        if self.write_steps_per_second:
            elapsed = max(time.perf_counter() - self._epoch_start, 1e-12)
            train_logs["steps_per_second"] = (self._iterations() - self._epoch_iterations) / elapsed
        for kind, values in (("train", train_logs), ("validation", val_logs)):
            if not values:
                continue
            writer = self._writer(kind)
            for name, value in values.items():
                if isinstance(value, (int, float)):  # a per-class list metric has no scalar
                    writer.add_scalar(f"epoch_{name}", float(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for writer in self._writers.values():
            writer.flush()

    def _log_weights(self, epoch: int) -> None:
        model = self._require_model()
        writer = self._writer("train")
        top = getattr(model, "name", None) or type(model).__name__
        for layer in getattr(model, "layers", None) or [model]:
            prefix = f"{top}/{getattr(layer, 'name', None) or type(layer).__name__}"
            for name, weight in layer.named_parameters():
                tag = f"{prefix}/{name.replace('.', '/')}/histogram"  # Keras's weight.path + "/histogram"
                writer.add_histogram(tag, weight.detach().cpu().float(), epoch)

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._close()

    def _close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
