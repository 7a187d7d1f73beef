"""`Sequential`: a stack of layers with Keras's `compile` / `fit` / `evaluate` / `predict`.

`fit` checks and converts the whole dataset once (`textrnn.training.data`), moves it to the
model's device once, and hands the loops in `textrnn.training.loop` a batcher's plans
(`textrnn.training.batching`): batches are sliced out with index tensors, so nothing runs per
sample in Python.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from textrnn.backend import default_device, to_numpy
from textrnn.callbacks.callback import Callback, CallbackList
from textrnn.callbacks.history import History
from textrnn.errors import NotCompiledError
from textrnn.layers.base import Layer, Shape
from textrnn.layers.dense import Dense
from textrnn.layers.embedding import Embedding
from textrnn.training import loop
from textrnn.training import losses as losses_mod
from textrnn.training import metrics as metrics_mod
from textrnn.training import optimizers as optimizers_mod
from textrnn.training.batching import Batcher, BucketBatcher, EpochPlan, padding_spans
from textrnn.training.data import (
    check_inputs,
    check_targets,
    check_validation_split,
    split_validation,
)
from textrnn.training.progress import ProgressBar, print_epoch_header, resolve_verbose

#: rows per batch for validation, `evaluate` and `predict` when no batch size is given: results do
#: not depend on it, and large batches keep the device busy.
INFERENCE_BATCH_SIZE = 1024


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"Received an invalid value for argument `{name}`, expected a positive integer, got {value!r}.")
    return int(value)


def _non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"Received an invalid value for argument `{name}`, expected a non-negative integer, got {value!r}.")
    return int(value)


class Sequential(Layer):
    """A linear stack of layers, trained with Keras's workflow.

    Args:
        layers: layers to add, in order.
        trainable: whether the model's weights are updated by training.
        name: model name; `"sequential"`, `"sequential_1"`, ... by default.

    Input sizes are inferred layer by layer: a model whose first layer is an `Embedding` is built
    for `(batch, steps)` integer input at once, so `summary()` works before any data is seen;
    other models are built by `build(input_shape)` or their first call / `fit`.

    Example:
        >>> model = Sequential([Embedding(10000, 32), SimpleRNN(32), Dense(1, activation="sigmoid")])
        >>> model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
        >>> history = model.fit(x_train, y_train, epochs=10, batch_size=128, validation_split=0.2)
        >>> model.predict(x_test).shape
        (25000, 1)
    """

    def __init__(self, layers: Sequence[Layer] | None = None, *, trainable: bool = True, name: str | None = None) -> None:
        super().__init__(name=name, trainable=trainable)
        self._layer_list = nn.ModuleList()
        self._input_shape: Shape | None = None
        self._output_shapes: list[Any] = []
        self.stop_training = False
        self.history: History | None = None
        self.optimizer: optimizers_mod.Optimizer | None = None
        self.loss: losses_mod.Loss | None = None
        self._loss_identifier: Any = None
        self._metric_identifiers: list[Any] = []
        self._metrics: list[metrics_mod.Metric] | None = None
        self.mixed_precision = False
        self._device_target: torch.device | None = None
        if layers is not None:
            if isinstance(layers, Layer) or not isinstance(layers, (list, tuple)):
                raise TypeError(f"Received an invalid value for argument `layers`, expected a list of layers, got {layers!r}.")
            for layer in layers:
                self.add(layer)

    # ================================================================== structure
    @property
    def layers(self) -> list[Layer]:
        """The layers, in order."""
        return list(self._layer_list)  # type: ignore[arg-type]

    def add(self, layer: Layer) -> None:
        """Append a layer on top of the stack.

        Raises:
            TypeError: if `layer` is not a textrnn layer.
            ValueError: if a layer of the same name is already in the model.
        """
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Only textrnn layers can be added to a Sequential model, got {layer!r}. "
                "Use the layers from `textrnn.layers` (Embedding, SimpleRNN, LSTM, GRU, Dense, ...)."
            )
        if layer is self:
            raise ValueError("A Sequential model cannot be added to itself.")
        names = [existing.name for existing in self.layers]
        if layer.name in names:
            raise ValueError(
                f"All layers added to a Sequential model should have unique names, but `{layer.name}` is already "
                f"in model `{self.name}` (layers: {', '.join(names)}). Give the new layer another `name`."
            )
        self._layer_list.append(layer)
        self.built = False
        self._output_shapes = []
        self._metrics = None

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if len(self._layer_list) == 0:
            raise TypeError("There are no layers in the model to pop.")
        layer = self._layer_list[-1]
        del self._layer_list[-1]
        self.built = False
        self._output_shapes = []
        self._metrics = None
        return layer  # type: ignore[return-value]

    def _default_input_shape(self) -> Shape | None:
        if self._input_shape is not None:
            return self._input_shape
        layers = self.layers
        if not layers:
            return None
        if isinstance(layers[0], Embedding):
            return (None, None)
        if layers[0].built and layers[0]._build_input_shape is not None:
            return tuple(layers[0]._build_input_shape)
        return None

    def build(self, input_shape: Sequence[int | None] | None = None) -> None:
        """Build every layer for inputs of `input_shape` (batch first, e.g. `(None, 500)`).

        Without `input_shape`, a model starting with an `Embedding` builds for `(None, None)`.

        Raises:
            ValueError: if the model has no layers, or the input shape cannot be inferred.
        """
        if not self._layer_list:
            raise ValueError(f"Model `{self.name}` has no layers: add some with `model.add(...)` before building it.")
        if input_shape is None:
            input_shape = self._default_input_shape()
            if input_shape is None:
                raise ValueError(
                    f"Model `{self.name}` cannot infer its input shape: its first layer is not an Embedding. Call "
                    "`model.build((None, num_features))`, or call the model on data (e.g. `fit`) first."
                )
        shape: Any = tuple(input_shape)
        shapes = []
        for layer in self.layers:
            layer.maybe_build(shape)
            shape = layer.compute_output_shape(shape)
            shapes.append(shape)
        self._input_shape = tuple(input_shape)
        self._build_input_shape = self._input_shape
        self._output_shapes = shapes
        self.built = True
        if self._device_target is not None:
            nn.Module.to(self, self._device_target)

    def maybe_build(self, input_shape: Sequence[int | None]) -> None:
        if not self.built:
            default = self._default_input_shape()
            self.build(default if default is not None else tuple(input_shape))

    def _ensure_built(self, what: str) -> None:
        if not self.built:
            if self._default_input_shape() is None:
                raise ValueError(
                    f"Model `{self.name}` is not built yet, so `{what}` cannot run. Call `model.build((None, num_features))` "
                    "or call the model on data first."
                )
            self.build()

    def compute_output_shape(self, input_shape: Shape) -> Any:
        shape: Any = tuple(input_shape)
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return shape

    @property
    def output_shape(self) -> Any:
        """The output shape of the last layer (after building)."""
        self._ensure_built("output_shape")
        return self._output_shapes[-1]

    @property
    def layer_output_shapes(self) -> list[Any]:
        """Each layer's output shape, in order (after building)."""
        self._ensure_built("layer_output_shapes")
        return list(self._output_shapes)

    # ================================================================== calling
    def call(self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any) -> Any:
        h = inputs
        for layer in self.layers:
            out = layer(h, mask=mask, training=training)
            mask = layer.compute_mask(h, mask)
            h = out
        return h

    def compute_mask(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor | None:
        return None

    def _forward(self, x: torch.Tensor, training: bool, logits: bool) -> torch.Tensor:
        """The model's output, or, with `logits`, the last Dense layer's pre-activation output."""
        h: Any = x
        mask: torch.Tensor | None = None
        layers = self.layers
        last = len(layers) - 1
        for i, layer in enumerate(layers):
            if logits and i == last:
                return layer.logits(h)  # type: ignore[operator, no-any-return]
            out = layer(h, mask=mask, training=training)
            mask = layer.compute_mask(h, mask)
            h = out
        return h  # type: ignore[no-any-return]

    # ================================================================== device
    def to(self, *args: Any, **kwargs: Any) -> Sequential:  # type: ignore[override]
        device = torch._C._nn._parse_to(*args, **kwargs)[0]
        if device is not None:
            self._device_target = torch.device(device)
        return super().to(*args, **kwargs)  # type: ignore[return-value]

    def cuda(self, device: Any = None) -> Sequential:  # type: ignore[override]
        self._device_target = torch.device("cuda" if device is None else device if not isinstance(device, int) else f"cuda:{device}")
        return super().cuda(device)  # type: ignore[return-value]

    def cpu(self) -> Sequential:  # type: ignore[override]
        self._device_target = torch.device("cpu")
        return super().cpu()  # type: ignore[return-value]

    @property
    def device(self) -> torch.device:
        """Where the model computes: the device it was moved to, else CUDA when available, else CPU."""
        return self._device_target if self._device_target is not None else default_device()

    def _place(self) -> torch.device:
        device = self.device
        nn.Module.to(self, device)
        return device

    # ================================================================== weights
    @property
    def weights(self) -> list[nn.Parameter]:
        """All layers' weights, in Keras's order."""
        return [w for layer in self.layers for w in layer.weights]

    def get_weights(self) -> list[np.ndarray]:
        """All weights as NumPy arrays in Keras's layout and order (as `keras.Model.get_weights`)."""
        if not self.built and self._default_input_shape() is not None:
            self.build()
        return [w.detach().cpu().numpy().copy() for w in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Set all weights from arrays in the order `get_weights` returns them.

        Raises:
            ValueError: if the number of arrays or a shape does not match.
        """
        if not self.built and self._default_input_shape() is not None:
            self.build()
        weights = list(weights)
        expected = len(self.weights)
        if len(weights) != expected:
            raise ValueError(
                f"Model `{self.name}` expects {expected} weight arrays (in `get_weights()` order), got {len(weights)}."
            )
        pos = 0
        for layer in self.layers:
            n = len(layer.weights)
            layer.set_weights(weights[pos : pos + n])
            pos += n

    def count_params(self) -> int:
        """The number of weights (scalars) in the model."""
        self._ensure_built("count_params")
        return int(sum(w.numel() for w in self.weights))

    # ================================================================== summary
    def summary_text(self, explain: bool = False) -> str:
        """The text `summary()` prints (see `summary`)."""
        from textrnn.models.summary import summary_text

        self._ensure_built("summary")
        return summary_text(self, explain=explain)

    def summary(self, explain: bool = False, print_fn: Any = None) -> None:
        """Print Keras's summary table: each layer's name, type, output shape and parameter count.

        Args:
            explain: also show each layer's parameter arithmetic, e.g.
                `SimpleRNN: (32 + 32 + 1) × 32 = 2,080`.
            print_fn: called with the whole text instead of `print`.
        """
        text = self.summary_text(explain=explain)
        (print_fn or print)(text)

    # ================================================================== compile
    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        metrics: Sequence[Any] | None = None,
        *,
        mixed_precision: bool = False,
    ) -> None:
        """Configure the model for training.

        Args:
            optimizer: a Keras name (`"rmsprop"`, `"adam"`, `"sgd"`) or a `textrnn.optimizers` object.
            loss: a Keras name (`"binary_crossentropy"`, `"categorical_crossentropy"`,
                `"sparse_categorical_crossentropy"`, `"mse"`, `"mae"`) or a `textrnn.losses` object.
            metrics: a list of metric names (`"acc"`/`"accuracy"`, `"binary_accuracy"`, ...). The
                history and logs use the names as written.
            mixed_precision: run the forward pass under bfloat16 autocast (useful on recent GPUs;
                weights, losses and optimizer state stay float32). Default False.

        Raises:
            ValueError, TypeError: for an unknown or malformed optimizer, loss or metric.

        Example:
            >>> model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
        """
        opt = optimizers_mod.get(optimizer)
        loss_obj = losses_mod.get(loss)
        if metrics is None:
            metric_ids: list[Any] = []
        elif isinstance(metrics, (list, tuple)):
            metric_ids = list(metrics)
        else:
            raise TypeError(
                f"Received an invalid value for argument `metrics`, expected a list such as ['acc'], got {metrics!r}."
            )
        names = [m.name if isinstance(m, metrics_mod.Metric) else m for m in metric_ids]
        for m in metric_ids:
            if not isinstance(m, (str, metrics_mod.Metric)):
                raise TypeError(
                    f"Received an invalid value in argument `metrics`, expected metric names such as 'acc', got {m!r}."
                )
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes or "loss" in names:
            raise ValueError(f"Metric names must be unique and differ from 'loss', got {names}.")
        self.optimizer = opt
        self.loss = loss_obj
        self._loss_identifier = loss
        self._metric_identifiers = metric_ids
        self._metrics = None
        self.mixed_precision = bool(mixed_precision)
        if self.built:
            self._resolve_metrics()

    @property
    def compiled(self) -> bool:
        return self.loss is not None and self.optimizer is not None

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise NotCompiledError(
                f"You must call `compile()` before `{what}()`, e.g. "
                "`model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['acc'])`."
            )

    def _output_units(self) -> int:
        shape = self._output_shapes[-1]
        if not isinstance(shape, tuple) or len(shape) != 2 or shape[-1] is None:
            raise ValueError(
                f"Model `{self.name}` outputs shape {shape}, but training needs one vector per sample, shape "
                "(batch, units). End the model with a layer that drops the time axis (an RNN with "
                "`return_sequences=False`, or pooling) followed by `Dense`."
            )
        return int(shape[-1])

    def _resolve_metrics(self) -> list[metrics_mod.Metric]:
        if self._metrics is None:
            assert self.loss is not None  # guarded by _require_compiled
            units = self._output_units()
            self._metrics = [metrics_mod.get(m, self.loss, units) for m in self._metric_identifiers]
        return self._metrics

    @property
    def compiled_metrics(self) -> list[metrics_mod.Metric]:
        """The compiled metrics, resolved for this model's output (after building)."""
        if not self.compiled or not self.built:
            return []
        return self._resolve_metrics()

    @property
    def metrics_names(self) -> list[str]:
        """`["loss", *metric names]`, the order `evaluate` returns values in."""
        return ["loss", *[m.name if isinstance(m, metrics_mod.Metric) else str(m) for m in self._metric_identifiers]]

    def get_compile_config(self) -> dict[str, Any] | None:
        """The `compile` arguments as JSON (kept when saving), or None if not compiled."""
        if not self.compiled:
            return None
        assert self.loss is not None and self.optimizer is not None
        metric_names = []
        for m in self._metric_identifiers:
            if isinstance(m, str):
                metric_names.append(m)
            else:
                warnings.warn(f"Metric object {m!r} cannot be saved in the compile config; it is left out.", stacklevel=2)
        return {
            "optimizer": optimizers_mod.serialize(self.optimizer),
            "loss": losses_mod.serialize(self.loss, self._loss_identifier),
            "metrics": metric_names,
            "mixed_precision": self.mixed_precision,
        }

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Compile with arguments from `get_compile_config()`."""
        self.compile(
            optimizer=config["optimizer"],
            loss=config["loss"],
            metrics=config.get("metrics") or None,
            mixed_precision=bool(config.get("mixed_precision", False)),
        )

    # ================================================================== data checks
    def _first_layer(self) -> Layer:
        if not self._layer_list:
            raise ValueError(f"Model `{self.name}` has no layers: add some with `model.add(...)`.")
        return self.layers[0]

    def _inputs(self, x: Any, argument: str = "x") -> torch.Tensor:
        return check_inputs(x, self._first_layer(), self._input_shape if self.built else None, argument)

    def _targets(self, y: Any, n: int, argument: str = "y", x_argument: str = "x") -> torch.Tensor:
        assert self.loss is not None
        return check_targets(y, n, self.loss, self._output_units(), argument, x_argument)

    def _build_for(self, x: torch.Tensor) -> None:
        """Build (if needed) for data like `x`: the default input shape, else `x`'s."""
        if not self.built:
            default = self._default_input_shape()
            self.build(default if default is not None else (None, *x.shape[1:]))

    def _bucketing_spans(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        first = self._first_layer()
        if not (isinstance(first, Embedding) and first.mask_zero):
            raise ValueError(
                "`bucket_by_length=True` trims padding columns, which only leaves results unchanged when the model "
                "masks padding: its first layer must be `Embedding(..., mask_zero=True)`"
                + (f", but `{first.name}` has mask_zero=False." if isinstance(first, Embedding) else f", got {type(first).__name__}.")
                + " Set `mask_zero=True` or use `bucket_by_length=False`."
            )
        self._output_units()  # the output must not keep the (trimmed) time axis
        return padding_spans(x)

    # ================================================================== steps
    def _autocast(self, device: torch.device) -> contextlib.AbstractContextManager[Any]:
        if not self.mixed_precision:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)

    def _use_logits(self) -> bool:
        assert self.loss is not None
        last = self.layers[-1]
        return (
            not self.loss.from_logits
            and self.loss.logits_activation is not None
            and isinstance(last, Dense)
            and last._activation_name == self.loss.logits_activation
        )

    def _probabilities(self, out: torch.Tensor, logits: bool) -> torch.Tensor:
        assert self.loss is not None
        if logits:
            return self.layers[-1].activation(out)  # type: ignore[operator, no-any-return]
        if self.loss.from_logits:
            return torch.sigmoid(out) if self.loss.logits_activation == "sigmoid" else torch.softmax(out, dim=-1)
        return out

    def _plan(self, x: torch.Tensor, batch_size: int, bucket: bool) -> EpochPlan:
        """One pass over `x` in order (length-sorted when bucketing), for evaluation and prediction."""
        batcher = BucketBatcher(*self._bucketing_spans(x), batch_size, shuffle=False) if bucket else Batcher(int(x.shape[0]), batch_size, shuffle=False)
        return batcher.plan()

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
        *,
        initial_epoch: int = 0,
        validation_batch_size: int | None = None,
        bucket_by_length: bool = False,
    ) -> History:
        """Train the model for `epochs` epochs over `(x, y)`.

        Args:
            x: token ids `(samples, steps)` for a model starting with an Embedding (pad them with
                `pad_sequences`), else features `(samples, features)`. NumPy array, list or tensor.
            y: labels, in the layout the loss expects (0/1 for `binary_crossentropy`).
            batch_size: samples per gradient step, default 32.
            epochs: index of the last epoch (training runs epochs `initial_epoch .. epochs - 1`).
            verbose: `"auto"` (= 1), 0 silent, 1 progress bar, 2 one line per epoch.
            callbacks: `textrnn.callbacks.Callback` objects.
            validation_split: fraction in [0, 1) of the data held out for validation: the LAST
                samples of `x`/`y`, taken before shuffling (as Keras). Ignored when
                `validation_data` is given.
            validation_data: `(x_val, y_val)` to evaluate at the end of each epoch.
            shuffle: reshuffle the training samples before each epoch (PyTorch's generator, so
                `textrnn.utils.set_random_seed` makes runs repeatable).
            initial_epoch: epoch to start from (to resume a run).
            validation_batch_size: batch size for validation; default `batch_size`, as in Keras
                (it does not change the results; larger batches are a little faster but keep
                more activations in memory: 1024 doubles the tutorial LSTM's peak memory).
            bucket_by_length: batch samples of similar length together and drop each batch's
                all-padding columns, which speeds up recurrent layers. Needs
                `Embedding(mask_zero=True)`, which makes the trimming exact.

        Returns:
            A `History`: `history.history` maps `loss`, each metric, and their `val_` versions to
            per-epoch values (sample-weighted means over the epoch's batches).

        Raises:
            NotCompiledError: if `compile` was not called.
            ValueError, TypeError: for malformed data or arguments; the message says what to fix.

        Example:
            >>> history = model.fit(x_train, y_train, epochs=10, batch_size=128, validation_split=0.2)
            >>> sorted(history.history)
            ['acc', 'loss', 'val_acc', 'val_loss']
        """
        self._require_compiled("fit")
        assert self.loss is not None and self.optimizer is not None
        batch_size = 32 if batch_size is None else _positive_int("batch_size", batch_size)
        val_batch = batch_size if validation_batch_size is None else _positive_int("validation_batch_size", validation_batch_size)
        epochs = _non_negative_int("epochs", epochs)
        initial_epoch = _non_negative_int("initial_epoch", initial_epoch)
        verbose = resolve_verbose(verbose)
        if not isinstance(shuffle, bool):
            raise TypeError(f"Received an invalid value for argument `shuffle`, expected True or False, got {shuffle!r}.")
        validation_split = check_validation_split(validation_split)
        if x is None:
            raise ValueError("Received no training data: pass `x` (and `y`) to `fit`.")

        # Check and convert everything once, before the first step.
        x_all = self._inputs(x)
        self._build_for(x_all)
        y_all = self._targets(y, int(x_all.shape[0]))
        x_val = y_val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                got = type(validation_data).__name__
                if isinstance(validation_data, (tuple, list)):
                    got += f" of length {len(validation_data)}"
                raise ValueError(
                    "Received an invalid value for argument `validation_data`, expected a tuple `(x_val, y_val)`, "
                    f"got {got}. Sample weights are not supported."
                )
            x_val = self._inputs(validation_data[0], "validation_data[0]")
            y_val = self._targets(validation_data[1], int(x_val.shape[0]), "validation_data[1]", "validation_data[0]")
            x_train, y_train = x_all, y_all
        elif validation_split > 0:
            x_train, y_train, x_val, y_val = split_validation(x_all, y_all, validation_split)
        else:
            x_train, y_train = x_all, y_all

        device = self._place()
        if not self.optimizer.is_built_for(self.parameters()):
            self.optimizer.build(self.parameters())
        if bucket_by_length:
            batcher: Batcher = BucketBatcher(*self._bucketing_spans(x_train), batch_size, shuffle=shuffle)
        else:
            batcher = Batcher(int(x_train.shape[0]), batch_size, shuffle=shuffle)
        # The data move to the device once; batches are index_select-ed from them.
        xd, yd = x_train.to(device), y_train.to(device)
        val = None
        if x_val is not None and y_val is not None:
            xvd = x_val.to(device)
            val = (xvd, y_val.to(device), self._plan(xvd, val_batch, bucket_by_length))

        history = History()
        params = {"verbose": verbose, "epochs": epochs, "steps": len(batcher)}
        cbs = CallbackList([*(callbacks or []), history], self, params)
        history.params = params
        self.stop_training = False
        cbs.call("on_train_begin", None)
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            cbs.call("on_epoch_begin", epoch, None)
            print_epoch_header(epoch, epochs, verbose)
            bar = ProgressBar(len(batcher), verbose)
            try:
                logs = loop.train_epoch(self, xd, yd, batcher.plan(), device, cbs, bar)
                if val is not None:
                    cbs.call("on_test_begin", None)
                    val_logs = loop.evaluate(self, *val, device, cbs)
                    cbs.call("on_test_end", val_logs)
                    logs.update({f"val_{k}": v for k, v in val_logs.items()})
                bar.finish(logs)
            finally:
                bar.close()
            cbs.call("on_epoch_end", epoch, logs)
            if self.stop_training:
                break
        if initial_epoch < epochs:
            self.optimizer.finalize_variable_values()  # Keras: the EMA goes in before on_train_end
        cbs.call("on_train_end", logs)
        self.eval()
        self.history = history
        return history

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
        bucket_by_length: bool = False,
    ) -> Any:
        """The loss and metrics on `(x, y)`, in eval mode without gradients.

        Args:
            x, y: as in `fit`.
            batch_size: samples per batch; default a large batch (1024), which does not change the
                results (Keras's default is 32).
            verbose: `"auto"` (= 1), 0 or 1 (a progress bar), 2 (one line).
            callbacks: callbacks whose `on_test_*` hooks are called.
            return_dict: return `{"loss": ..., "acc": ...}` instead of a list.
            bucket_by_length: evaluate length-sorted, padding-trimmed batches (see `fit`).

        Returns:
            `[loss, *metrics]` in `metrics_names` order (the loss alone if there are no metrics), or
            a dict with `return_dict=True`.

        Example:
            >>> loss, acc = model.evaluate(x_test, y_test)
        """
        self._require_compiled("evaluate")
        bs = INFERENCE_BATCH_SIZE if batch_size is None else _positive_int("batch_size", batch_size)
        verbose = resolve_verbose(verbose)
        xt = self._inputs(x)
        self._build_for(xt)
        yt = self._targets(y, int(xt.shape[0]))
        device = self._place()
        xd = xt.to(device)
        plan = self._plan(xd, bs, bucket_by_length)
        cbs = CallbackList(list(callbacks or []), self, {"verbose": verbose, "steps": len(plan)})
        cbs.call("on_test_begin", None)
        logs = loop.evaluate(self, xd, yt.to(device), plan, device, cbs, verbose)
        cbs.call("on_test_end", logs)
        if return_dict:
            return {"loss": logs["loss"], **{k: v for k, v in logs.items() if k != "loss"}}
        values = [logs[k] for k in ["loss", *[m.name for m in self.compiled_metrics]]]
        return values[0] if len(values) == 1 else values

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        callbacks: Sequence[Callback] | None = None,
        *,
        bucket_by_length: bool = False,
    ) -> np.ndarray:
        """The model's outputs (probabilities after a sigmoid/softmax) for `x`, as a NumPy array.

        Args:
            x: as in `fit`.
            batch_size: samples per batch; default a large batch (1024), which does not change the
                results.
            verbose: `"auto"` (= 1), 0, 1 or 2.
            callbacks: callbacks whose `on_predict_*` hooks are called.
            bucket_by_length: predict length-sorted, padding-trimmed batches (see `fit`); the
                outputs come back in the order of `x`.

        Returns:
            float32 array of shape `(samples, units)`.

        Example:
            >>> model.predict(x_test[:3]).shape
            (3, 1)
        """
        bs = INFERENCE_BATCH_SIZE if batch_size is None else _positive_int("batch_size", batch_size)
        verbose = resolve_verbose(verbose)
        xt = self._inputs(x)
        self._build_for(xt)
        device = self._place()
        xd = xt.to(device)
        plan = self._plan(xd, bs, bucket_by_length)
        cbs = CallbackList(list(callbacks or []), self, {"verbose": verbose, "steps": len(plan)})
        cbs.call("on_predict_begin", None)
        out = loop.predict(self, xd, plan, device, cbs, verbose)
        cbs.call("on_predict_end", None)
        return to_numpy(out)

    # ================================================================== config and saving
    def get_config(self) -> dict[str, Any]:
        """`{"name", "trainable", "layers": [{"class_name", "config"}, ...], "build_input_shape"}`."""
        shape = self._default_input_shape()
        return {
            **super().get_config(),
            "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()} for layer in self.layers],
            "build_input_shape": list(shape) if shape is not None else None,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """Rebuild a model (untrained) from `get_config()`; layer classes are looked up in `textrnn.layers`."""
        from textrnn.models.registry import layer_from_config

        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError(f"A Sequential config must be a dict with a `layers` list, got {config!r:.200}.")
        model = cls(
            [layer_from_config(entry) for entry in config["layers"]],
            name=config.get("name"),
            trainable=bool(config.get("trainable", True)),
        )
        shape = config.get("build_input_shape")
        if shape is not None:
            model.build(tuple(shape))
        elif model._default_input_shape() is not None:
            model.build()
        return model

    def save(self, filepath: str | os.PathLike[str], overwrite: bool = True, *, metadata: dict[str, Any] | None = None) -> None:
        """Save the model (config, compile config, weights, optional metadata) to a folder.

        See `textrnn.models.saving.save_model`.
        """
        from textrnn.models.saving import save_model

        save_model(self, filepath, overwrite=overwrite, metadata=metadata)

    def save_weights(self, filepath: str | os.PathLike[str]) -> None:
        """Save only the weights, to one safetensors file (atomically)."""
        from textrnn.models.saving import save_weights

        save_weights(self, filepath)

    def load_weights(self, filepath: str | os.PathLike[str]) -> None:
        """Load weights saved by `save_weights` (or a saved model folder), strictly."""
        from textrnn.models.saving import load_weights

        load_weights(self, filepath)

    def extra_repr(self) -> str:
        return f"name={self.name!r}"
