"""`Sequential`: a linear stack of layers, as in `keras.Sequential`.

This module is the layer container: adding layers, building them, calling them, configs, the
summary, weights, devices and saving. Training (`compile` / `fit` / `evaluate` / `predict`) comes
from `textrnn.training.trainer.Trainer`, which `Sequential` inherits as Keras's
`Model(Trainer, Layer)` does; the methods below marked "container interface" are what the
trainer needs from it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import torch
from torch import nn

import textrnn.models.saving as saving
from textrnn import checks
from textrnn.backend import default_device
from textrnn.layers.base import Layer, Shape
from textrnn.layers.dense import Dense
from textrnn.layers.embedding import Embedding
from textrnn.layers.input_layer import InputLayer
from textrnn.layers.keras_tensor import KerasTensor
from textrnn.models.registry import layer_from_config, register_model
from textrnn.models.summary import summary_text as render_summary
from textrnn.training.trainer import Trainer


@register_model
class Sequential(Trainer, Layer):
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

    def __init__(
        self,
        layers: Sequence[Layer] | None = None,
        *,
        trainable: bool = True,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name, trainable=trainable)
        self._layer_list = nn.ModuleList()
        self._input_shape: Shape | None = None
        self._input_layer: InputLayer | None = None
        self._output_shapes: list[Any] = []
        self._device_target: torch.device | None = None
        if layers is not None:
            if isinstance(layers, Layer) or not isinstance(layers, (list, tuple)):
                raise checks.invalid("layers", "a list of layers", layers, error=TypeError)
            for layer in layers:
                self.add(layer)

    # ================================================================== structure
    @property
    def layers(self) -> list[Layer]:
        """The layers, in order."""
        return list(self._layer_list)  # type: ignore[arg-type]

    def add(self, layer: Layer | KerasTensor) -> None:
        """Append a layer on top of the stack (first, an `Input` may give the input shape).

        Raises:
            TypeError: if `layer` is not a textrnn layer.
            ValueError: if a layer of the same name is already in the model.
        """
        if isinstance(layer, KerasTensor):
            origin = layer.keras_history.layer
            if not isinstance(origin, InputLayer):
                raise ValueError(
                    "Only input tensors may be passed as positional arguments to a Sequential "
                    f"model; {layer!r} comes from layer `{origin.name}`."
                )
            layer = origin
        if isinstance(layer, InputLayer):
            if self._layer_list or self._input_layer is not None:
                raise ValueError(
                    f"An `Input` can only be the first layer of Sequential model `{self.name}`: "
                    "it already has layers or an input."
                )
            self._input_layer = layer
            self._input_shape = layer.batch_shape
            self.built = False
            return
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
                f"All layers added to a Sequential model should have unique names, but `{layer.name}` is "
                "already "
                f"in model `{self.name}` (layers: {', '.join(names)}). Give the new layer another `name`."
            )
        self._layer_list.append(layer)
        self.built = False
        self._output_shapes = []
        if self._input_layer is not None:  # Keras builds as it goes once an Input gave the shape
            self.build()

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if len(self._layer_list) == 0:
            raise TypeError("There are no layers in the model to pop.")
        layer = self._layer_list[-1]
        del self._layer_list[-1]
        self.built = False
        self._output_shapes = []
        return layer  # type: ignore[return-value]

    def _default_input_shape(self) -> Shape | None:
        if self._input_shape is not None:
            return self._input_shape
        layers = self.layers
        if not layers:
            return None
        if layers[0].input_shape_arg is not None:
            return (None, *layers[0].input_shape_arg)
        if isinstance(layers[0], Embedding):
            return (None, None)
        if layers[0].built and layers[0].build_input_shape is not None:
            return tuple(layers[0].build_input_shape)
        return None

    def build(self, input_shape: Sequence[int | None] | None = None) -> None:
        """Build every layer for inputs of `input_shape` (batch first, e.g. `(None, 500)`).

        Without `input_shape`, a model starting with an `Embedding` builds for `(None, None)`.

        Raises:
            ValueError: if the model has no layers, or the input shape cannot be inferred.
        """
        if not self._layer_list:
            raise ValueError(
                f"Model `{self.name}` has no layers: add some with `model.add(...)` before building it."
            )
        if input_shape is None:
            input_shape = self._default_input_shape()
            if input_shape is None:
                raise ValueError(
                    f"Model `{self.name}` cannot infer its input shape: its first layer is not an Embedding. "
                    "Call "
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

    def ensure_built(self, what: str) -> None:
        """Build the model if it can infer its input shape; else say how to build it."""
        if not self.built:
            if self._default_input_shape() is None:
                raise ValueError(
                    f"Model `{self.name}` is not built yet, so `{what}` cannot run. Call `model.build((None, "
                    "num_features))` "
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
        self.ensure_built("output_shape")
        return self._output_shapes[-1]

    @property
    def layer_output_shapes(self) -> list[Any]:
        """Each layer's output shape, in order (after building)."""
        self.ensure_built("layer_output_shapes")
        return list(self._output_shapes)

    # ================================================================== calling
    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> Any:
        h = inputs
        for layer in self.layers:
            out = layer(h, mask=mask, training=training)
            mask = layer.compute_mask(h, mask)
            h = out
        return h

    def compute_mask(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor | None:
        return None

    # ================================================================== container interface
    def compute_output(self, x: torch.Tensor, *, training: bool, logits: bool = False) -> torch.Tensor:
        """The model's output on a batch; with `logits`, the last (Dense) layer's pre-activation
        output (the trainer asks for it only when `logits_activation` is not None)."""
        h: Any = x
        mask: torch.Tensor | None = None
        layers = self.layers
        last = len(layers) - 1
        first = 0
        folded = self._embedded_recurrence(x, training) if last >= 2 else None
        if folded is not None:
            h, mask = folded
            first = 2
        for i, layer in enumerate(layers[first:], start=first):
            if logits and i == last:
                return layer.logits(h)  # type: ignore[operator, no-any-return]
            out = layer(h, mask=mask, training=training)
            mask = layer.compute_mask(h, mask)
            h = out
        return h  # type: ignore[no-any-return]

    def _embedded_recurrence(self, x: Any, training: bool) -> tuple[Any, torch.Tensor | None] | None:
        """The output and mask of the first two layers when they are an `Embedding` and a
        `SimpleRNN`, `LSTM` or `GRU` (not a subclass) that can run as one, the lookup folded into
        the recurrence's input projection (`BaseRNN.call_embedded`); else None. Only for integer
        ids, and never where a hook watches either layer (explanations do)."""
        from textrnn.layers import GRU, LSTM, SimpleRNN
        from textrnn.layers.recurrent import BaseRNN

        emb, rnn = self.layers[0], self.layers[1]
        if type(emb) is not Embedding or type(rnn) not in (SimpleRNN, LSTM, GRU) or not rnn.built:
            return None
        if not isinstance(x, torch.Tensor) or x.dim() != 2:
            return None
        if x.dtype not in (torch.int32, torch.int64) or x.device.type != "cpu" or x.numel() == 0:
            return None
        if _hooked(emb) or _hooked(rnn):
            return None
        low, high = torch.aminmax(x)
        if int(low) < 0 or int(high) >= emb.input_dim:
            return None  # the Embedding's own call names the problem
        mask = emb.compute_mask(x)
        out = cast("BaseRNN", rnn).call_embedded(x.long(), emb.embeddings, mask, training)
        if out is None:
            return None
        return out, rnn.compute_mask(x, mask)

    @property
    def logits_activation(self) -> str | None:
        """The Keras name of the last layer's activation when it is a `Dense` (whose logits
        `compute_output(logits=True)` returns), else None."""
        layers = self.layers
        if not layers or not isinstance(layers[-1], Dense):
            return None
        return str(layers[-1].get_config()["activation"])

    @property
    def first_layer(self) -> Layer:
        """The first layer, which the inputs go into.

        Raises:
            ValueError: if the model has no layers.
        """
        if not self._layer_list:
            raise ValueError(f"Model `{self.name}` has no layers: add some with `model.add(...)`.")
        return self.layers[0]

    @property
    def input_shape(self) -> Shape | None:
        """The input shape the model is built for (batch first), None before building."""
        return self._input_shape if self.built else None

    def build_for(self, x: torch.Tensor) -> None:
        """Build (if needed) for data like `x`: the default input shape, else `x`'s."""
        if not self.built:
            default = self._default_input_shape()
            self.build(default if default is not None else (None, *x.shape[1:]))

    # ================================================================== device
    def to(self, *args: Any, **kwargs: Any) -> Sequential:  # type: ignore[override]
        device = torch._C._nn._parse_to(*args, **kwargs)[0]
        if device is not None:
            self._device_target = torch.device(device)
        return super().to(*args, **kwargs)  # type: ignore[return-value]

    def cuda(self, device: Any = None) -> Sequential:  # type: ignore[override]
        self._device_target = torch.device(
            "cuda" if device is None else device if not isinstance(device, int) else f"cuda:{device}"
        )
        return super().cuda(device)  # type: ignore[return-value]

    def cpu(self) -> Sequential:  # type: ignore[override]
        self._device_target = torch.device("cpu")
        return super().cpu()  # type: ignore[return-value]

    @property
    def device(self) -> torch.device:
        """Where the model computes: the device it was moved to, else CUDA when available, else CPU."""
        return self._device_target if self._device_target is not None else default_device()

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
                f"Model `{self.name}` expects {expected} weight arrays (in `get_weights()` order), got "
                f"{len(weights)}."
            )
        pos = 0
        for layer in self.layers:
            n = len(layer.weights)
            layer.set_weights(weights[pos : pos + n])
            pos += n

    def count_params(self) -> int:
        """The number of weights (scalars) in the model."""
        self.ensure_built("count_params")
        return int(sum(w.numel() for w in self.weights))

    # ================================================================== summary
    def summary_text(self, explain: bool = False) -> str:
        """The text `summary()` prints (see `summary`); before the model can be built, Keras 3's
        unbuilt table (`?` shapes and `0 (unbuilt)` counts)."""
        if not self.built and self._layer_list and self._default_input_shape() is not None:
            self.build()
        return render_summary(self, explain=explain)

    def summary(self, explain: bool = False, print_fn: Any = None) -> None:
        """Print Keras's summary table: each layer's name, type, output shape and parameter count.

        Args:
            explain: also show each layer's parameter arithmetic, e.g.
                `SimpleRNN: (32 + 32 + 1) × 32 = 2,080`.
            print_fn: called with the whole text instead of `print`.
        """
        text = self.summary_text(explain=explain)
        (print_fn or print)(text)

    # ================================================================== config and saving
    def get_config(self) -> dict[str, Any]:
        """`{"name", "trainable", "layers": [{"class_name", "config"}, ...], "build_input_shape"}`."""
        shape = self._default_input_shape()
        return {
            **super().get_config(),
            "layers": [
                {"class_name": type(layer).__name__, "config": layer.get_config()} for layer in self.layers
            ],
            "build_input_shape": list(shape) if shape is not None else None,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """Rebuild a model (untrained) from `get_config()`; layer classes are looked up in
        `textrnn.layers`."""
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

    def save(
        self,
        filepath: str | os.PathLike[str],
        overwrite: bool = True,
        *,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Save the model (config, compile config, weights, optional metadata) to a folder, or to
        Keras's file for a name ending in `.keras` or `.h5` (`textrnn.models.keras_files`).

        See `textrnn.models.saving.save_model`.
        """
        saving.save_model(self, filepath, overwrite=overwrite, metadata=metadata)

    def save_weights(self, filepath: str | os.PathLike[str]) -> None:
        """Save only the weights, to one safetensors file (atomically); Keras 3's HDF5 layout for a
        name ending in `.weights.h5`, Keras 2's for another `.h5`."""
        saving.save_weights(self, filepath)

    def load_weights(self, filepath: str | os.PathLike[str]) -> None:
        """Load weights saved by `save_weights` (or a saved model folder, or Keras's `.weights.h5`,
        `.h5` or `.keras` file), strictly."""
        saving.load_weights(self, filepath)

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


def _hooked(module: nn.Module) -> bool:
    """Whether forward hooks watch `module` (its own, or PyTorch's global ones)."""
    from torch.nn.modules import module as torch_module

    return bool(
        module._forward_hooks
        or module._forward_pre_hooks
        or torch_module._global_forward_hooks
        or torch_module._global_forward_pre_hooks
    )
