"""`Trainer`: Keras's `compile` / `fit` / `evaluate` / `predict` for a model that holds layers.

Keras splits a model in two: `keras.Sequential` (and the functional `keras.Model`) hold the layers,
and `keras.src.trainers.trainer.Trainer` trains them, joined as `class Model(Trainer, Layer)`.
textrnn does the same: `Sequential(Trainer, Layer)` is the layer stack, and this module is all of
the training: compiling, checking user data once (`textrnn.training.data`), choosing the batcher
(`textrnn.training.batching.make_batcher`), and the public steps `train_step`, `test_step` and
`predict_step` that the loops in `textrnn.training.loop` call once per batch.

`fit` checks and converts the whole dataset once, moves it to the model's device once, and hands
the loops a batcher's plans: batches are sliced out with index tensors, so nothing runs per
sample in Python, and everything a step needs is settled once per pass, not per batch.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from textrnn import activations, checks
from textrnn.backend import to_numpy
from textrnn.callbacks.callback import Callback, CallbackList
from textrnn.callbacks.history import History
from textrnn.errors import NotCompiledError
from textrnn.layers.base import Layer, Shape
from textrnn.layers.embedding import Embedding
from textrnn.layers.text_vectorization import TextVectorization, is_text
from textrnn.training import loop, multi_io
from textrnn.training import losses as losses_mod
from textrnn.training import metrics as metrics_mod
from textrnn.training import optimizers as optimizers_mod
from textrnn.training.batching import (
    BatcherFactory,
    Plan,
    StreamBatcher,
    StreamPlan,
    is_batch_stream,
    make_batcher,
    make_stream_batcher,
    warn_ran_out,
)
from textrnn.training.data import (
    check_inputs,
    check_sample_weight,
    check_targets,
    check_validation_split,
    class_weight_to_sample_weight,
    split_validation,
)
from textrnn.training.progress import ProgressBar, print_epoch_header, resolve_verbose

#: rows per batch for validation, `evaluate` and `predict` when no batch size is given: results do
#: not depend on it, and large batches keep the device busy.
INFERENCE_BATCH_SIZE = 1024

#: the batch a step gets: `(inputs, targets)` for `train_step` / `test_step`, inputs for
#: `predict_step`, each cut out of the checked data on the model's device.
Batch = tuple[torch.Tensor, torch.Tensor]

_NO_AUTOCAST = contextlib.nullcontext()


def _count(name: str, value: Any, minimum: int) -> int:
    """A positive (`minimum=1`) or non-negative (`minimum=0`) count; NumPy integers are accepted."""
    if isinstance(value, np.integer):
        value = int(value)
    if minimum == 1:
        return checks.positive_int(name, value)
    return checks.non_negative_int(name, value)


@dataclass(frozen=True)
class StepSettings:
    """What every step of one pass uses, settled once before its first batch.

    Attributes:
        loss: the compiled loss (None when not compiled: only `predict_step` may run).
        optimizer: the compiled optimizer (None when not compiled).
        metrics: the compiled metrics, resolved for the model's output.
        logits: whether the loss takes the last layer's pre-activation output (see
            `Trainer.logits_activation`).
        probabilities: turns the output the loss saw into probabilities for the metrics.
        precision: returns the context the forward pass runs in (bfloat16 autocast or none).
    """

    loss: losses_mod.Loss | None
    optimizer: optimizers_mod.Optimizer | None
    metrics: list[metrics_mod.Metric]
    logits: bool
    probabilities: Callable[[torch.Tensor], torch.Tensor]
    precision: Callable[[], contextlib.AbstractContextManager[Any]]


def _unpack(batch: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    if len(batch) == 3:
        return batch[0], batch[1], batch[2]
    x, y = batch
    return x, y, None


def _identity(out: torch.Tensor) -> torch.Tensor:
    return out


def _no_autocast() -> contextlib.AbstractContextManager[Any]:
    return _NO_AUTOCAST


class Trainer(Layer):
    """Keras's training API for a model that holds layers (Keras's `Trainer`).

    A model class inherits it beside its layer container, as Keras's `Model(Trainer, Layer)`:
    `Sequential(Trainer, Layer)`. The trainer keeps the compile state (`optimizer`, `loss`,
    metrics, `mixed_precision`), `stop_training`, `history` and `batcher_factory`.

    The container interface: what the trainer asks of the model, so that any container (the
    `Sequential` stack, or a functional model) shares this trainer unchanged. Beside what every
    `Layer` has (`name`, `built`, `parameters()`, `train()` / `eval()`, `get_weights()` /
    `set_weights()`), a container provides:

    - `compute_output(x, *, training, logits=False)`: the forward pass on a batch, with dropout
      on when `training`; with `logits`, the last layer's pre-activation output.
    - `logits_activation`: the Keras name of the last layer's activation when `compute_output`
      can stop before it (a final `Dense`), else None. When it is the activation the loss pairs
      with (`sigmoid` for binary, `softmax` for categorical crossentropy), the loss is computed
      from logits, which is exact and numerically stable.
    - `first_layer`: the layer the inputs go into; an `Embedding` means token id inputs (checked
      against its `input_dim`; length bucketing needs its `mask_zero=True`); a
      `TextVectorization` means strings, turned into its token ids once per dataset (the layer
      takes ids during a pass: `TextVectorization.taking_ids`).
    - `input_shape`: the input shape the model is built for, batch first, None before building.
    - `output_shape`: the output shape once built; training needs `(batch, units)`.
    - `build_for(x)`: build the model, if it is not built yet, for data like `x`.
    - `device`: where the model computes; the trainer moves the model and the data there.
    - `save(filepath, overwrite=True, *, metadata=None)` and `save_weights(filepath)`: used by
      `ModelCheckpoint` only.

    A container with several inputs or outputs (the functional model) also overrides
    `multi_input_names` / `multi_output_names` (None by default: one of each), `first_layers`
    (one per input) and `output_dict_keys`; `x`, `y` and sample weights are then tuples of
    tensors, one per input or output, and `compute_output` returns a list (see
    `textrnn.training.multi_io`).

    Per batch, the loops call `train_step`, `test_step` and `predict_step`; override them to
    change what a step does (e.g. to log or transform each batch) and call `super()` to keep the
    default.

    Attributes:
        batcher_factory: a `textrnn.training.batching.BatcherFactory` that makes every batcher
            of `fit` / `evaluate` / `predict`; None (the default) uses
            `textrnn.training.batching.default_batcher`.
        distribution: None for one process, or a `textrnn.distributed.DataParallel` (set by
            `textrnn.distributed.strategy`) that `fit` asks for this rank's share of each batch,
            the DDP forward pass, the loss scale and the global epoch logs.
    """

    def __init__(self, *, name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        self.stop_training = False
        self.history: History | None = None
        self.optimizer: optimizers_mod.Optimizer | None = None
        self.loss: losses_mod.Loss | None = None
        self.mixed_precision = False
        self.batcher_factory: BatcherFactory | None = None
        self.distribution: Any = None
        self._loss_identifier: Any = None
        self._metric_identifiers: list[Any] = []
        self._outputs: multi_io.Outputs | None = None  # compiled for several outputs
        self._metrics: list[metrics_mod.Metric] | None = None
        self._metrics_units: int | None = None
        self._steps: StepSettings | None = None
        self._warned_logits = False
        # The first epoch of the `fit` in progress; `on_train_begin` may move it on (Keras's
        # `_initial_epoch`: `BackupAndRestore` resumes from its backup).
        self._initial_epoch = 0

    # ================================================================== the container's part
    def _missing(self, member: str) -> NotImplementedError:
        return NotImplementedError(
            f"{type(self).__name__} uses the Trainer but does not provide `{member}`; see the "
            "container interface in `textrnn.training.trainer.Trainer`."
        )

    def compute_output(self, x: torch.Tensor, *, training: bool, logits: bool = False) -> torch.Tensor:
        """The model's output on a batch; with `logits`, its last layer's pre-activation output."""
        raise self._missing("compute_output")

    @property
    def logits_activation(self) -> str | None:
        """The last layer's activation when `compute_output(logits=True)` can skip it, else None."""
        raise self._missing("logits_activation")

    @property
    def first_layer(self) -> Layer:
        """The layer the inputs go into."""
        raise self._missing("first_layer")

    @property
    def first_layers(self) -> list[Layer]:
        """For each input, the layer its data are checked for (one input: `first_layer`)."""
        return [self.first_layer]

    @property
    def multi_input_names(self) -> list[str] | None:
        """The input names of a model with several inputs (`x` is then one array per input),
        else None."""
        return None

    @property
    def output_dict_keys(self) -> list[str] | None:
        """The keys of a model made with a dict of outputs (`predict` then returns a dict), else
        None."""
        return None

    @property
    def multi_output_names(self) -> list[str] | None:
        """The output names of a model with several outputs (`compute_output` then returns a
        list, and `y` is one array per output), else None."""
        return None

    @property
    def input_shape(self) -> Shape | None:
        """The input shape the model is built for (batch first), None before building."""
        raise self._missing("input_shape")

    @property
    def output_shape(self) -> Any:
        """The model's output shape (after building)."""
        raise self._missing("output_shape")

    @property
    def device(self) -> torch.device:
        """Where the model computes."""
        raise self._missing("device")

    def build_for(self, x: torch.Tensor) -> None:
        """Build the model, if it is not built yet, for data like `x`."""
        raise self._missing("build_for")

    def save(
        self,
        filepath: str | os.PathLike[str],
        overwrite: bool = True,
        *,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Save the model (used by `ModelCheckpoint`)."""
        raise self._missing("save")

    def save_weights(self, filepath: str | os.PathLike[str]) -> None:
        """Save the weights (used by `ModelCheckpoint(save_weights_only=True)`)."""
        raise self._missing("save_weights")

    # ================================================================== compile
    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        metrics: Any = None,
        *,
        loss_weights: Any = None,
        mixed_precision: bool = False,
    ) -> None:
        """Configure the model for training.

        Args:
            optimizer: a Keras name (`"rmsprop"`, `"adam"`, `"sgd"`) or a `textrnn.optimizers`
                object.
            loss: a Keras name (`"binary_crossentropy"`, `"categorical_crossentropy"`,
                `"sparse_categorical_crossentropy"`, `"mse"`, `"mae"`) or a `textrnn.losses` object.
            metrics: a list of metric names (`"acc"`/`"accuracy"`, `"binary_accuracy"`, `"auc"`,
                `"precision"`, `"recall"`, `"f1_score"`, ...) or `textrnn.metrics` objects
                (`AUC()`, `Precision(thresholds=0.7)`, ...). The history and logs use the names
                as written (an object's `name`).
            loss_weights: for a model with several outputs, a list or dict with one weight per
                output: the trained loss is the weighted sum of the outputs' losses.
            mixed_precision: run the forward pass under bfloat16 autocast (useful on recent GPUs;
                weights, losses and optimizer state stay float32). Default False.

        A model with several outputs (a functional `Model(inputs, [out_1, out_2])`) follows
        Keras 3: `loss` is one loss for every output, a list (one per output) or a dict keyed by
        output name; `metrics` a list with one entry (a metric or a list) per output, or a dict
        keyed by output name (see `textrnn.training.multi_io`).

        Raises:
            ValueError, TypeError: for an unknown or malformed optimizer, loss or metric.

        Example:
            >>> model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
        """
        opt = optimizers_mod.get(optimizer)
        names = self.multi_output_names
        if names is not None:
            self._outputs = multi_io.compile_outputs(loss, loss_weights, metrics, names)
            self.optimizer = opt
            self.loss = None
            self._loss_identifier = loss
            self._metric_identifiers = []
            self._metrics = None
            self._steps = None
            self.mixed_precision = bool(mixed_precision)
            if self.built:
                self._resolve_metrics()  # an unknown metric fails here, not in `fit`
            return
        if loss_weights is not None:
            raise ValueError(
                "`loss_weights` weighs the losses of a model's several outputs; this model has one "
                "output. Leave `loss_weights` out (scale the learning rate instead)."
            )
        self._outputs = None
        loss_obj = losses_mod.get(loss)
        if metrics is None:
            metric_ids: list[Any] = []
        elif isinstance(metrics, (list, tuple)):
            metric_ids = list(metrics)
        else:
            raise checks.invalid("metrics", "a list such as ['acc']", metrics, error=TypeError)
        names = [m.name if isinstance(m, metrics_mod.Metric) else m for m in metric_ids]
        for m in metric_ids:
            if not isinstance(m, (str, metrics_mod.Metric)):
                raise TypeError(
                    "Received an invalid value in argument `metrics`, expected metric names "
                    f"such as 'acc', got {m!r}."
                )
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes or "loss" in names:
            raise ValueError(f"Metric names must be unique and differ from 'loss', got {names}.")
        self.optimizer = opt
        self.loss = loss_obj
        self._loss_identifier = loss
        self._metric_identifiers = metric_ids
        self._metrics = None
        self._steps = None
        self.mixed_precision = bool(mixed_precision)
        if self.built:
            self._resolve_metrics()

    @property
    def compiled(self) -> bool:
        return (self.loss is not None or self._outputs is not None) and self.optimizer is not None

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise NotCompiledError(
                f"You must call `compile()` before `{what}()`, e.g. "
                "`model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['acc'])`."
            )

    def _output_units(self) -> int:
        shape = self.output_shape
        if not isinstance(shape, tuple) or len(shape) != 2 or shape[-1] is None:
            raise ValueError(
                f"Model `{self.name}` outputs shape {shape}, but training needs one vector per "
                "sample, shape (batch, units). End the model with a layer that drops the time axis "
                "(an RNN with `return_sequences=False`, or pooling) followed by `Dense`."
            )
        return int(shape[-1])

    def _units_per_output(self) -> list[int]:
        shapes = self.output_shape
        units = []
        for name, shape in zip(self.multi_output_names or [], shapes, strict=True):
            if not isinstance(shape, tuple) or len(shape) != 2 or shape[-1] is None:
                raise ValueError(
                    f"Output {name!r} of model `{self.name}` has shape {shape}, but training needs "
                    "one vector per sample, shape (batch, units): end it with pooling or an RNN "
                    "with `return_sequences=False`, then `Dense`."
                )
            units.append(int(shape[-1]))
        return units

    def _resolve_metrics(self) -> list[metrics_mod.Metric]:
        if self._outputs is not None:
            self._outputs.resolve_metrics(self._units_per_output())
            return self._outputs.flat_metrics()
        # Metrics depend on the loss (compile resets them) and the output size (the layers).
        units = self._output_units()
        if self._metrics is None or self._metrics_units != units:
            assert self.loss is not None  # guarded by _require_compiled
            self._metrics = [metrics_mod.get(m, self.loss, units) for m in self._metric_identifiers]
            self._metrics_units = units
        return self._metrics

    @property
    def compiled_metrics(self) -> list[metrics_mod.Metric]:
        """The compiled metrics, resolved for this model's output (after building)."""
        if not self.compiled or not self.built:
            return []
        return self._resolve_metrics()

    @property
    def log_entries(self) -> list[metrics_mod.Metric | str]:
        """What a step's sums hold, before the loss: the compiled metrics, then (several
        outputs) each output's loss name."""
        if self._outputs is None:
            return list(self.compiled_metrics)
        return [*self.compiled_metrics, *self._outputs.loss_names]

    @property
    def metrics_names(self) -> list[str]:
        """`["loss", *metric names]`, the order `evaluate` returns values in (several outputs:
        `loss`, each output's loss, then the metrics sorted by name, as Keras 3)."""
        if self._outputs is not None:
            self._resolve_metrics()
            return self._outputs.evaluate_order()
        ids = self._metric_identifiers
        return ["loss", *[m.name if isinstance(m, metrics_mod.Metric) else str(m) for m in ids]]

    def get_compile_config(self) -> dict[str, Any] | None:
        """The `compile` arguments as JSON (kept when saving), or None if not compiled."""
        if not self.compiled:
            return None
        if self._outputs is not None:
            return self._outputs_compile_config()
        assert self.loss is not None and self.optimizer is not None
        metric_names = []
        for m in self._metric_identifiers:
            if isinstance(m, str):
                metric_names.append(m)
            else:
                warnings.warn(
                    f"Metric object {m!r} cannot be saved in the compile config; it is left out.",
                    stacklevel=2,
                )
        return {
            "optimizer": optimizers_mod.serialize(self.optimizer),
            "loss": losses_mod.serialize(self.loss, self._loss_identifier),
            "metrics": metric_names,
            "mixed_precision": self.mixed_precision,
        }

    def _outputs_compile_config(self) -> dict[str, Any]:
        outs = self._outputs
        assert outs is not None and self.optimizer is not None

        def loss_entry(i: int, name: str) -> Any:
            given = outs.loss_ids
            original = (
                given.get(name)
                if isinstance(given, dict)
                else given[i]
                if isinstance(given, (list, tuple))
                else given
            )
            return losses_mod.serialize(outs.losses[i], original)

        names = outs.names
        loss: Any = {n: loss_entry(i, n) for i, n in enumerate(names)}
        if not isinstance(outs.loss_ids, dict):
            loss = list(loss.values())

        def metric_names(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: metric_names(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [metric_names(v) for v in value]
            if value is None or isinstance(value, str):
                return value
            warnings.warn(
                f"Metric object {value!r} cannot be saved in the compile config; it is left out.",
                stacklevel=4,
            )
            return None

        return {
            "optimizer": optimizers_mod.serialize(self.optimizer),
            "loss": loss,
            "loss_weights": outs.weight_ids,
            "metrics": metric_names(outs.metric_ids),
            "mixed_precision": self.mixed_precision,
        }

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Compile with arguments from `get_compile_config()`."""
        self.compile(
            optimizer=config["optimizer"],
            loss=config["loss"],
            metrics=config.get("metrics") or None,
            loss_weights=config.get("loss_weights"),
            mixed_precision=bool(config.get("mixed_precision", False)),
        )

    # ================================================================== steps
    def _step_settings(self, what: str) -> StepSettings:
        """What the steps of a pass use (`what` names it for errors: "fit", "predict_step", ...).

        `fit` / `evaluate` / `predict` settle it once per pass (`fit` once per epoch); a step
        called outside them settles it itself.

        Raises:
            NotCompiledError: for anything but prediction on a model that is not compiled.
        """
        if what in ("predict", "predict_step"):
            return StepSettings(None, None, [], False, _identity, self._precision())
        self._require_compiled(what)
        optimizer = self.optimizer
        assert optimizer is not None
        if what == "train_step" and not optimizer.is_built_for(self.parameters()):
            optimizer.build(self.parameters())  # a step outside `fit`, which builds it first
        if self._outputs is not None:  # several outputs: each loss on its output's values
            return StepSettings(None, optimizer, self.compiled_metrics, False, _identity, self._precision())
        loss = self.loss
        assert loss is not None
        logits = False
        probabilities: Callable[[torch.Tensor], torch.Tensor] = _identity
        pair = loss.logits_activation  # the activation whose logits the loss can take
        if loss.from_logits:
            self._warn_logit_metrics()  # Keras: the metrics see the logits the model outputs
        elif pair is not None and self.logits_activation == pair:
            logits = True
            probabilities = activations.get(pair)
        return StepSettings(loss, optimizer, self.compiled_metrics, logits, probabilities, self._precision())

    def _warn_logit_metrics(self) -> None:
        thresholded = [
            m.name
            for m in self.compiled_metrics
            if m.fn in (metrics_mod.binary_accuracy,)
            or isinstance(m, (metrics_mod.BinaryAccuracy, metrics_mod.StatefulMetric))
            and not getattr(m, "from_logits", False)
        ]
        if thresholded and not self._warned_logits:
            self._warned_logits = True
            warnings.warn(
                f"The loss has `from_logits=True`, so the metrics {thresholded} receive the "
                "model's logits and threshold them at 0.5 as Keras does (not at probability "
                "0.5). For accuracy at probability 0.5 use "
                "`metrics=[textrnn.metrics.BinaryAccuracy(threshold=0.0)]`, or give the last "
                "layer `activation='sigmoid'` and a loss without `from_logits`.",
                stacklevel=4,
            )

    def _precision(self) -> Callable[[], contextlib.AbstractContextManager[Any]]:
        if not self.mixed_precision:
            return _no_autocast
        device_type = self.device.type

        def autocast() -> contextlib.AbstractContextManager[Any]:
            return torch.autocast(device_type=device_type, dtype=torch.bfloat16)

        return autocast

    @contextlib.contextmanager
    def _settled(self, what: str) -> Iterator[None]:
        """Settle the steps for a pass, and restore the outer pass's (a callback may predict)."""
        outer = self._steps
        self._steps = self._step_settings(what)
        try:
            with contextlib.ExitStack() as stack:
                for first in self.first_layers:
                    if isinstance(first, TextVectorization):
                        stack.enter_context(first.taking_ids())
                yield
        finally:
            self._steps = outer

    def train_step(self, batch: Batch) -> torch.Tensor:
        """One gradient step on `batch = (x, y)` or `(x, y, sample_weight)`.

        With sample weights the step's loss is Keras's `sum(weight * loss) / batch size`
        (`reduction="sum_over_batch_size"`); the metrics are not weighted (Keras's `metrics=`).

        Returns:
            The batch's sums on the device, shape `(len(metrics) + 1,)`: each compiled metric's
            sum over the batch's samples, then the loss times the batch size (the loop keeps
            running sums, so nothing waits for the device here).
        """
        x, y, w = _unpack(batch)
        steps = self._steps if self._steps is not None else self._step_settings("train_step")
        if self._outputs is not None:
            return self._outputs_train_step(x, y, w, steps)
        loss_fn, optimizer = steps.loss, steps.optimizer
        assert loss_fn is not None and optimizer is not None  # _step_settings checked compile
        optimizer.zero_grad()
        dist = self.distribution
        with steps.precision():
            if dist is None:
                out = self.compute_output(x, training=True, logits=steps.logits)
            else:
                out = dist.forward(x, training=True, logits=steps.logits)
        out = out.float()  # the loss in float32, also under mixed precision
        each = loss_fn(y, out, from_logits=steps.logits)
        if w is not None:
            each = each * w  # Keras: sum(w * loss) / batch size
        if dist is None:
            loss = each.sum() / int(y.shape[0])
            loss.backward()
            total = loss.detach() * int(y.shape[0])
        else:  # this rank's slice of the global batch (which may be empty)
            dist.scale_loss(each).backward()
            total = each.detach().sum()
        optimizer.step()
        with torch.no_grad():
            probs = steps.probabilities(out.detach())
            sums = [m(y, probs).sum() for m in steps.metrics]
            return torch.stack([*sums, total])

    def test_step(self, batch: Batch) -> torch.Tensor:
        """The loss and metrics on `batch = (x, y)` or `(x, y, sample_weight)`, in the mode and
        grad state the caller set.

        Returns:
            As `train_step`: each metric's sum, then the (weighted) loss's sum over the batch.
        """
        x, y, w = _unpack(batch)
        steps = self._steps if self._steps is not None else self._step_settings("test_step")
        if self._outputs is not None:
            with steps.precision():
                outs = self.compute_output(x, training=False)
            return self._outputs_sums(y, outs, w, steps)[0]
        loss_fn = steps.loss
        assert loss_fn is not None  # _step_settings checked compile
        with steps.precision():
            out = self.compute_output(x, training=False, logits=steps.logits).float()
        probs = steps.probabilities(out)
        sums = [m(y, probs).sum() for m in steps.metrics]
        each = loss_fn(y, out, from_logits=steps.logits)
        return torch.stack([*sums, (each if w is None else each * w).sum()])

    def predict_step(self, batch: torch.Tensor) -> torch.Tensor:
        """The model's outputs (float32) for a batch of inputs (a list for several outputs)."""
        steps = self._steps if self._steps is not None else self._step_settings("predict_step")
        with steps.precision():
            out = self.compute_output(batch, training=False, logits=False)
        if isinstance(out, list):
            return [o.float() for o in out]  # type: ignore[return-value]
        return out.float()

    def _outputs_sums(
        self, y: Any, outs: Any, w: Any, steps: StepSettings
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Several outputs: `(sums, trained loss)`; the sums are each metric's, each output's
        loss (not weighted by `loss_weights`), then the weighted total, over the batch's rows."""
        spec = self._outputs
        assert spec is not None
        n = int(outs[0].shape[0])
        total: Any = 0.0
        loss_sums = []
        for k, (loss_fn, weight) in enumerate(zip(spec.losses, spec.weights, strict=True)):
            each = loss_fn(y[k], outs[k].float())
            if w is not None:
                each = each * w[k]  # Keras: sum(w * loss) / batch size, output by output
            part = each.sum()
            loss_sums.append(part)
            total = total + weight * part
        trained = total / n
        with torch.no_grad():
            metric_sums = [
                m(y[k], outs[k].detach().float()).sum()
                for k, per in enumerate(spec.metrics or [])
                for m in per
            ]
            sums = torch.stack([*metric_sums, *[s.detach() for s in loss_sums], total.detach()])
        return sums, trained

    def _outputs_train_step(self, x: Any, y: Any, w: Any, steps: StepSettings) -> torch.Tensor:
        optimizer = steps.optimizer
        assert optimizer is not None
        if self.distribution is not None:
            raise ValueError("Distributed training of a model with several outputs is not supported.")
        optimizer.zero_grad()
        with steps.precision():
            outs = self.compute_output(x, training=True)
        sums, trained = self._outputs_sums(y, outs, w, steps)
        trained.backward()
        optimizer.step()
        return sums

    # ================================================================== data and batches
    def _inputs(self, x: Any, argument: str = "x") -> Any:
        names = self.multi_input_names
        if names is None:
            return check_inputs(x, self.first_layer, self.input_shape, argument)
        values = multi_io.by_name(x, names, argument, "input")
        shapes: Any = self.input_shape  # one shape per input
        tensors = tuple(
            check_inputs(v, first, shape, multi_io.entry_argument(argument, name))
            for v, first, shape, name in zip(values, self.first_layers, shapes, names, strict=True)
        )
        multi_io.check_same_rows(tensors, names, argument)
        return tensors

    def _targets(self, y: Any, n: int, argument: str = "y", x_argument: str = "x") -> Any:
        spec = self._outputs
        if spec is None:
            assert self.loss is not None
            return check_targets(y, n, self.loss, self._output_units(), argument, x_argument)
        if y is None:
            raise ValueError(f"Received no labels: pass `{argument}` (one array per output {spec.names}).")
        values = multi_io.by_name(y, spec.names, argument, "output")
        units = self._units_per_output()
        return tuple(
            check_targets(v, n, loss, u, multi_io.entry_argument(argument, name), x_argument)
            for v, loss, u, name in zip(values, spec.losses, units, spec.names, strict=True)
        )

    def _check_bucketing(self) -> None:
        if self.multi_input_names is not None:
            raise ValueError(
                "`bucket_by_length=True` is not supported for a model with several inputs; use "
                "`bucket_by_length=False`."
            )
        first = self.first_layer
        if not (isinstance(first, Embedding) and first.mask_zero):
            if isinstance(first, Embedding):
                got = f", but `{first.name}` has mask_zero=False."
            else:
                got = f", got {type(first).__name__}."
            raise ValueError(
                "`bucket_by_length=True` trims padding columns, which only leaves results "
                "unchanged when the model masks padding: its first layer must be "
                "`Embedding(..., mask_zero=True)`"
                + got
                + " Set `mask_zero=True` or use `bucket_by_length=False`."
            )
        if self._outputs is None:
            self._output_units()  # the output must not keep the (trimmed) time axis
        else:
            self._units_per_output()

    def _plan(self, x: Any, batch_size: int, bucket: bool) -> Plan:
        """One pass over `x` in order (length-sorted when bucketing), to evaluate or predict."""
        if bucket:
            self._check_bucketing()
        batcher = make_batcher(
            _planned(x), batch_size, shuffle=False, bucket_by_length=bucket, factory=self.batcher_factory
        )
        return batcher.plan()

    def _place(self) -> torch.device:
        device = self.device
        nn.Module.to(self, device)
        return device

    def _arrays(
        self,
        x: Any,
        y: Any,
        sample_weight: Any,
        class_weight: Any,
        argument: str = "x",
        y_argument: str = "y",
        w_argument: str = "sample_weight",
    ) -> tuple[Any, Any, Any]:
        """`(x, y, weights or None)` checked and converted (CPU tensors, or tuples of them for
        several inputs or outputs); builds the model."""
        xt = self._inputs(x, argument)
        self.build_for(xt)
        n = multi_io.rows(xt)
        yt = self._targets(y, n, y_argument, argument)
        if class_weight is not None and sample_weight is not None:
            raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
        spec = self._outputs
        wt: Any = None
        if spec is not None:
            if class_weight is not None:
                raise ValueError("`class_weight` is only supported for Models with a single output.")
            if isinstance(sample_weight, (list, tuple, dict)):  # one array per output
                values = multi_io.by_name(sample_weight, spec.names, w_argument, "output")
                wt = tuple(
                    check_sample_weight(v, n, multi_io.entry_argument(w_argument, name))
                    for v, name in zip(values, spec.names, strict=True)
                )
            elif sample_weight is not None:  # Keras: the same weights for every output
                wt = (check_sample_weight(sample_weight, n, w_argument),) * len(spec.names)
        elif sample_weight is not None:
            wt = check_sample_weight(sample_weight, n, w_argument)
        elif class_weight is not None:
            wt = class_weight_to_sample_weight(yt, class_weight)
        return xt, yt, wt

    def _stream(
        self,
        dataset: Any,
        steps: int | None,
        class_weight: Any,
        device: torch.device,
        *,
        targets: bool = True,
        argument: str = "x",
    ) -> StreamBatcher:
        """A planner over the user's `(x, y[, sample_weight])` batches, each checked and moved
        to `device` as it comes (`targets=False`: `predict`'s inputs, a label is ignored)."""

        several = self.multi_input_names is not None

        def convert(raw: Any) -> Any:
            if isinstance(raw, dict) and not (several and not targets):
                raise TypeError(f"`{argument}` yielded a dict; yield `(x, y)` tuples of arrays.")
            if not targets:
                if several:  # inputs alone (a list or dict of arrays), or `(x, y)` with x one
                    nested = isinstance(raw, (tuple, list)) and isinstance(raw[0], (tuple, list, dict))
                    xb = raw[0] if nested else raw
                else:
                    xb = (
                        raw[0]
                        if isinstance(raw, (tuple, list))
                        and len(raw) in (1, 2, 3)
                        and (isinstance(raw[0], (np.ndarray, torch.Tensor, list, tuple)) and not is_text(raw))
                        else raw
                    )
                xt = self._inputs(xb, f"a batch of `{argument}`")
                self.build_for(xt)
                return multi_io.to(xt, device)
            if not isinstance(raw, (tuple, list)) or len(raw) not in (2, 3):
                got = type(raw).__name__
                raise ValueError(
                    f"Each batch of `{argument}` must be a tuple `(x, y)` or "
                    f"`(x, y, sample_weight)`, got {got}"
                    + (f" of length {len(raw)}" if isinstance(raw, (tuple, list)) else "")
                    + "."
                )
            w = raw[2] if len(raw) == 3 else None
            xt, yt, wt = self._arrays(
                raw[0],
                raw[1],
                w,
                class_weight,
                f"a batch of `{argument}`",
                f"the labels of a batch of `{argument}`",
                "a batch's sample weights",
            )
            out = (multi_io.to(xt, device), multi_io.to(yt, device))
            return out if wt is None else (*out, multi_io.to(wt, device))

        return make_stream_batcher(dataset, convert, steps)

    def _first_batch_build(self, stream: StreamBatcher) -> None:
        """Build the model (and so its metrics) from a stream's first batch, before any step."""
        if not self.built:
            stream.first()

    # ================================================================== fit
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: Sequence[Callback] | None = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: dict[int, float] | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int | list[int] = 1,
        *,
        bucket_by_length: bool = False,
    ) -> History:
        """Train the model for `epochs` epochs over `(x, y)`.

        Args:
            x: token ids `(samples, steps)` for a model starting with an Embedding (pad them with
                `pad_sequences`), strings for a model starting with `TextVectorization`, else
                features `(samples, features)`. NumPy array, list or tensor; or a dataset: any
                iterable of `(x, y)` / `(x, y, sample_weight)` batches (a generator, a
                `torch.utils.data.DataLoader`, a list of tuples,
                `textrnn.utils.text_dataset_from_directory`), with `y` left None.
                A model with several inputs takes a list or tuple of arrays (one per input, in
                the model's order) or a dict keyed by input name.
            y: labels, in the layout the loss expects (0/1 for `binary_crossentropy`); for
                several outputs a list (one array per output) or a dict keyed by output name.
            batch_size: samples per gradient step, default 32 (not for datasets: their batches
                are their own).
            epochs: index of the last epoch (training runs epochs `initial_epoch .. epochs - 1`).
            verbose: `"auto"` (= 1), 0 silent, 1 progress bar, 2 one line per epoch.
            callbacks: `textrnn.callbacks.Callback` objects.
            validation_split: fraction in [0, 1) of the data held out for validation: the LAST
                samples of `x`/`y`, taken before shuffling (as Keras). Arrays only. Ignored when
                `validation_data` is given.
            validation_data: `(x_val, y_val)`, `(x_val, y_val, sample_weight_val)`, or a dataset
                of batches, evaluated at the end of each epoch (see `validation_freq`).
            shuffle: reshuffle the training samples before each epoch (PyTorch's generator, so
                `textrnn.utils.set_random_seed` makes runs repeatable). Arrays only.
            class_weight: `{class index: weight}`; each sample's loss is weighted by its class's
                weight (1.0 for classes left out), as Keras. Not with `sample_weight`, nor for
                a model with several outputs.
            sample_weight: one weight per sample of `x` (arrays only; a dataset's batches carry
                their own as a third element). A step's loss is `sum(weight * loss) / batch
                size`, as Keras's default reduction; metrics are not weighted. For several
                outputs, one array for all of them or one per output (a list or dict).
            initial_epoch: epoch to start from (to resume a run).
            steps_per_epoch: batches per epoch. For arrays, at most the batches in the data
                (None: all). For a dataset, taken from one iterator kept across epochs (None:
                the whole dataset each epoch); a dataset that runs out stops training with
                Keras's warning.
            validation_steps: validation batches per evaluation (None: all).
            validation_batch_size: batch size for validation; default `batch_size`, as in Keras
                (it does not change the results; larger batches are a little faster but keep
                more activations in memory: 1024 doubles the tutorial LSTM's peak memory).
            validation_freq: validate every `validation_freq` epochs (an int), or after the
                epochs listed (1-based, a list), as Keras.
            bucket_by_length: batch samples of similar length together and drop each batch's
                all-padding columns, which speeds up recurrent layers. Needs
                `Embedding(mask_zero=True)`, which makes the trimming exact. Arrays only.

        Returns:
            A `History`: `history.history` maps `loss`, each metric, and their `val_` versions to
            per-epoch values (sample-weighted means over the epoch's batches; stateful metrics
            such as `auc` over the epoch's counts).

        Raises:
            NotCompiledError: if `compile` was not called.
            ValueError, TypeError: for malformed data or arguments; the message says what to fix.

        Example:
            >>> history = model.fit(x_train, y_train, epochs=10, batch_size=128,
            ...                     validation_split=0.2)
            >>> sorted(history.history)
            ['acc', 'loss', 'val_acc', 'val_loss']
        """
        self._require_compiled("fit")
        assert self.optimizer is not None
        batch_size = 32 if batch_size is None else _count("batch_size", batch_size, 1)
        if validation_batch_size is None:
            val_batch = batch_size
        else:
            val_batch = _count("validation_batch_size", validation_batch_size, 1)
        epochs = _count("epochs", epochs, 0)
        initial_epoch = _count("initial_epoch", initial_epoch, 0)
        verbose = resolve_verbose(verbose)
        checks.boolean("shuffle", shuffle)
        validation_split = check_validation_split(validation_split)
        if steps_per_epoch is not None:
            steps_per_epoch = _count("steps_per_epoch", steps_per_epoch, 1)
        if validation_steps is not None:
            validation_steps = _count("validation_steps", validation_steps, 1)
        _check_validation_freq(validation_freq)
        if x is None:
            raise ValueError("Received no training data: pass `x` (and `y`) to `fit`.")

        streamed = is_batch_stream(x)
        dist = self.distribution
        if dist is not None and (self.multi_input_names or self._outputs is not None):
            raise ValueError(
                "Distributed training takes models with one input and one output; this model has "
                "several. Train it in one process."
            )
        if dist is not None and streamed:
            raise ValueError(
                "Distributed training needs arrays to shard, not a dataset of batches: pass "
                "`x` and `y` as arrays."
            )
        # Check and convert everything once, before the first step (a stream: batch by batch).
        train: StreamBatcher | tuple[Any, Any, Any, Any]
        if streamed:
            _stream_only_args(y, sample_weight, validation_split, validation_data, "x")
            if bucket_by_length:
                raise ValueError("`bucket_by_length=True` needs arrays, not a dataset of batches.")
            device = self._place()
            train = self._stream(x, steps_per_epoch, class_weight, device)
            self._first_batch_build(train)
            x_val = y_val = w_val = None
        else:
            x_all, y_all, w_all = self._arrays(x, y, sample_weight, class_weight)
            device = self._place()
            x_val = y_val = w_val = None
            if validation_data is not None:
                x_train, y_train, w_train = x_all, y_all, w_all
            elif validation_split > 0:
                x_train, y_train, x_val, y_val = split_validation(x_all, y_all, validation_split)
                w_train = w_all
                if w_all is not None:
                    at = multi_io.rows(x_train)
                    w_train, w_val = multi_io.cut(w_all, None, at), multi_io.cut(w_all, at, None)
            else:
                x_train, y_train, w_train = x_all, y_all, w_all
            if bucket_by_length:
                self._check_bucketing()
            batcher = make_batcher(
                _planned(x_train),
                batch_size,
                shuffle=shuffle,
                bucket_by_length=bucket_by_length,
                factory=self.batcher_factory,
            )
            if dist is not None:  # this rank's share of every batch; rank 0 alone shows progress
                batcher = dist.shard(batcher)
                verbose = verbose if dist.is_main else 0
            # The data move to the device once; batches are index_select-ed from them.
            train = (
                batcher,
                multi_io.to(x_train, device),
                multi_io.to(y_train, device),
                None if w_train is None else multi_io.to(w_train, device),
            )

        val: StreamBatcher | tuple[Any, ...] | None = None
        if validation_data is not None:
            if is_batch_stream(validation_data):
                val = self._stream(
                    validation_data, validation_steps, None, device, argument="validation_data"
                )
            else:
                if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                    got = type(validation_data).__name__
                    if isinstance(validation_data, (tuple, list)):
                        got += f" of length {len(validation_data)}"
                    raise checks.invalid(
                        "validation_data",
                        "a tuple `(x_val, y_val)` or `(x_val, y_val, val_sample_weight)`, or a "
                        "dataset of batches",
                        validation_data,
                        got=got,
                    )
                x_val, y_val, w_val = self._arrays(
                    validation_data[0],
                    validation_data[1],
                    validation_data[2] if len(validation_data) == 3 else None,
                    None,
                    "validation_data[0]",
                    "validation_data[1]",
                    "validation_data[2]",
                )
        if x_val is not None and y_val is not None:
            xvd = multi_io.to(x_val, device)
            plan = self._plan(xvd, val_batch, bucket_by_length)
            if validation_steps is not None:
                plan = _first_batches(plan, validation_steps)
            wvd = None if w_val is None else multi_io.to(w_val, device)
            val = (plan, xvd, multi_io.to(y_val, device), wvd)

        if not self.optimizer.is_built_for(self.parameters()):
            self.optimizer.build(self.parameters())
        if isinstance(train, StreamBatcher):
            steps = len(train)
        else:
            steps = len(train[0]) if steps_per_epoch is None else min(steps_per_epoch, len(train[0]))
            if steps_per_epoch is not None and steps_per_epoch > len(train[0]):
                warn_ran_out()
        history = History()
        params = {"verbose": verbose, "epochs": epochs, "steps": steps}
        cbs = CallbackList([*(callbacks or []), history], self, params)
        history.params = params
        self.stop_training = False
        self._initial_epoch = initial_epoch
        cbs.call("on_train_begin", None)
        initial_epoch = self._initial_epoch  # BackupAndRestore may have restored a later epoch
        logs: dict[str, Any] = {}
        for epoch in range(initial_epoch, epochs):
            cbs.call("on_epoch_begin", epoch, None)
            print_epoch_header(epoch, epochs, verbose)
            bar = ProgressBar(steps, verbose)
            empty = False
            try:
                with self._settled("fit"):
                    if isinstance(train, StreamBatcher):
                        feed: Any = train.plan()
                    else:
                        plan = train[0].plan()
                        if steps_per_epoch is not None:
                            plan = _first_batches(plan, steps_per_epoch)
                        feed = loop.array_batches(plan, device, *train[1:])
                    epoch_logs = loop.train_epoch(self, feed, cbs, bar, device)
                    if dist is not None:
                        epoch_logs = dist.reduce_logs(epoch_logs)
                    if isinstance(feed, StreamPlan) and feed.ran_out:
                        # Keras: warn, end this epoch on the batches it had; an epoch that
                        # gets none ends training (the last epoch's logs stand).
                        warn_ran_out()
                        empty = feed.count == 0
                    if not empty:
                        logs = epoch_logs
                    if not empty and val is not None and _should_eval(epoch, validation_freq):
                        cbs.call("on_test_begin", None)
                        val_logs = self._run_evaluate(val, device, cbs, 0)
                        cbs.call("on_test_end", val_logs)
                        logs.update({f"val_{k}": v for k, v in val_logs.items()})
                bar.finish(logs)
            finally:
                bar.close()
            if empty:
                break
            cbs.call("on_epoch_end", epoch, logs)
            if dist is not None:
                self.stop_training = dist.agree(self.stop_training)
            if self.stop_training:
                break
        if initial_epoch < epochs:
            self.optimizer.finalize_variable_values()  # Keras: the EMA goes in before on_train_end
        cbs.call("on_train_end", logs)
        self.eval()
        self.history = history
        return history

    def _run_evaluate(
        self,
        data: StreamBatcher | tuple[Any, ...],
        device: torch.device,
        cbs: CallbackList | None,
        verbose: int,
    ) -> dict[str, Any]:
        if isinstance(data, StreamBatcher):
            feed = data.plan()
            logs = loop.evaluate(self, feed, len(data), device, cbs, verbose)
            if feed.count == 0:
                raise ValueError(
                    "The validation or evaluation dataset gave no batches. A generator is spent "
                    "after one pass: pass a list or a DataLoader, which can be read again, or "
                    "an endless generator with `validation_steps`."
                )
            return logs
        plan = data[0]
        return loop.evaluate(
            self, loop.array_batches(plan, device, *data[1:]), len(plan), device, cbs, verbose
        )

    # ================================================================== evaluate / predict
    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        callbacks: Sequence[Callback] | None = None,
        return_dict: bool = False,
        *,
        sample_weight: Any = None,
        steps: int | None = None,
        bucket_by_length: bool = False,
    ) -> Any:
        """The loss and metrics on `(x, y)`, in eval mode without gradients.

        Args:
            x, y: as in `fit` (arrays, strings, or a dataset of batches with `y` None).
            batch_size: samples per batch; default a large batch (1024), which does not change the
                results (Keras's default is 32).
            verbose: `"auto"` (= 1), 0 or 1 (a progress bar), 2 (one line).
            callbacks: callbacks whose `on_test_*` hooks are called.
            return_dict: return `{"loss": ..., "acc": ...}` instead of a list.
            sample_weight: one weight per sample: the loss is `sum(weight * loss) / samples`.
            steps: batches to evaluate (None: all).
            bucket_by_length: evaluate length-sorted, padding-trimmed batches (see `fit`).

        Returns:
            `[loss, *metrics]` in `metrics_names` order (the loss alone if there are no metrics), or
            a dict with `return_dict=True`.

        Example:
            >>> loss, acc = model.evaluate(x_test, y_test)
        """
        self._require_compiled("evaluate")
        bs = INFERENCE_BATCH_SIZE if batch_size is None else _count("batch_size", batch_size, 1)
        if steps is not None:
            steps = _count("steps", steps, 1)
        verbose = resolve_verbose(verbose)
        data: StreamBatcher | tuple[Any, ...]
        if is_batch_stream(x):
            _stream_only_args(y, sample_weight, 0.0, None, "x")
            device = self._place()
            data = self._stream(x, steps, None, device)
            self._first_batch_build(data)
            n_steps = len(data)
        else:
            xt, yt, wt = self._arrays(x, y, sample_weight, None)
            device = self._place()
            xd = multi_io.to(xt, device)
            plan = self._plan(xd, bs, bucket_by_length)
            if steps is not None:
                plan = _first_batches(plan, steps)
            data = (plan, xd, multi_io.to(yt, device), None if wt is None else multi_io.to(wt, device))
            n_steps = len(plan)
        cbs = CallbackList(list(callbacks or []), self, {"verbose": verbose, "steps": n_steps})
        cbs.call("on_test_begin", None)
        with self._settled("evaluate"):
            logs = self._run_evaluate(data, device, cbs, verbose)
        cbs.call("on_test_end", logs)
        if return_dict:
            return {"loss": logs["loss"], **{k: v for k, v in logs.items() if k != "loss"}}
        if self._outputs is not None:
            names = self.metrics_names
        else:
            names = ["loss", *[m.name for m in self.compiled_metrics]]
        values = [logs[k] for k in names]
        return values[0] if len(values) == 1 else values

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        callbacks: Sequence[Callback] | None = None,
        *,
        steps: int | None = None,
        bucket_by_length: bool = False,
    ) -> np.ndarray:
        """The model's outputs (probabilities after a sigmoid/softmax) for `x`, as a NumPy array.

        Args:
            x: as in `fit`; a dataset's batches may be inputs alone or `(x, y)` tuples (the
                labels are ignored).
            batch_size: samples per batch; default a large batch (1024), which does not change the
                results.
            verbose: `"auto"` (= 1), 0, 1 or 2.
            callbacks: callbacks whose `on_predict_*` hooks are called.
            steps: batches to predict (None: all).
            bucket_by_length: predict length-sorted, padding-trimmed batches (see `fit`); the
                outputs come back in the order of `x`.

        Returns:
            float32 array of shape `(samples, units)`; for several outputs a list of them, or a
            dict for a model made with a dict of outputs.

        Example:
            >>> model.predict(x_test[:3]).shape
            (3, 1)
        """
        bs = INFERENCE_BATCH_SIZE if batch_size is None else _count("batch_size", batch_size, 1)
        if steps is not None:
            steps = _count("steps", steps, 1)
        verbose = resolve_verbose(verbose)
        rows: int | None
        if is_batch_stream(x):
            device = self._place()
            stream = self._stream(x, steps, None, device, targets=False)
            feed: Any = stream.plan()
            n_steps, rows = len(stream), None
        else:
            xt = self._inputs(x)
            self.build_for(xt)
            device = self._place()
            xd = multi_io.to(xt, device)
            plan = self._plan(xd, bs, bucket_by_length)
            rows = multi_io.rows(xd)
            if steps is not None:
                plan = _first_batches(plan, steps)
                rows = None  # only the first batches' rows: in order, concatenated
                if bucket_by_length:
                    raise ValueError("`steps` with `bucket_by_length=True` is not supported.")
            feed = loop.array_batches(plan, device, xd)
            n_steps = len(plan)
        cbs = CallbackList(list(callbacks or []), self, {"verbose": verbose, "steps": n_steps})
        cbs.call("on_predict_begin", None)
        with self._settled("predict"):
            out = loop.predict(self, feed, n_steps, rows, device, cbs, verbose)
        cbs.call("on_predict_end", None)
        if isinstance(out, list):  # several outputs: a list, or a dict for a dict of outputs
            arrays = [to_numpy(o) for o in out]
            keys = self.output_dict_keys
            return dict(zip(keys, arrays, strict=True)) if keys else arrays  # type: ignore[return-value]
        return to_numpy(out)


def _planned(x: Any) -> torch.Tensor:
    """The tensor a batcher plans rows from: the inputs, or the first of several."""
    return x if isinstance(x, torch.Tensor) else x[0]


def _first_batches(plan: Plan, steps: int) -> Plan:
    """The first `steps` batches of `plan`."""
    return plan.first(steps)


def _check_validation_freq(validation_freq: Any) -> None:
    if isinstance(validation_freq, bool) or not isinstance(validation_freq, (int, list)):
        raise ValueError(
            "Expected `validation_freq` to be a list or int. "
            f"Received: validation_freq={validation_freq} of the type {type(validation_freq)}."
        )
    if isinstance(validation_freq, int) and validation_freq < 1:
        raise checks.invalid("validation_freq", "a positive integer or a list", validation_freq)


def _should_eval(epoch: int, validation_freq: int | list[int]) -> bool:
    """Keras's rule: the 1-based epoch divisible by an int freq, or in the list."""
    if isinstance(validation_freq, int):
        return (epoch + 1) % validation_freq == 0
    return (epoch + 1) in validation_freq


def _stream_only_args(
    y: Any, sample_weight: Any, validation_split: float, validation_data: Any, argument: str
) -> None:
    if y is not None:
        raise ValueError(
            f"When `{argument}` is a dataset of batches, its batches carry the labels: `y` must "
            "not be given (Keras: the `y` argument is not supported when using a dataset)."
        )
    if sample_weight is not None:
        raise ValueError(
            "`sample_weight` is not supported with a dataset of batches: yield "
            "`(x, y, sample_weight)` batches instead."
        )
    if validation_split:
        raise ValueError(
            "Argument `validation_split` is only supported for tensors or NumPy arrays, not for "
            "a dataset of batches; pass `validation_data=` instead."
        )
