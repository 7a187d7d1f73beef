"""Bidirectional: run a recurrent layer forwards and a copy backwards, then merge (Keras's wrapper)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from textrnn import checks
from textrnn.layers.base import Layer, Shape
from textrnn.layers.recurrent import BaseRNN, rnn_class

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _copy_layer(layer: BaseRNN, name: str, go_backwards: bool) -> BaseRNN:
    config = {**layer.get_config(), "name": name, "go_backwards": go_backwards}
    return type(layer).from_config(config)  # type: ignore[return-value]


def _strip(prefix: str, name: str) -> str:
    return name[len(prefix) :] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Runs `layer` over the sequence and a copy of it over the reversed sequence, and merges them.

    The forward layer is a fresh copy of `layer` named `forward_<name>`; the backward layer is a
    copy with `go_backwards=True` named `backward_<name>` (or `backward_layer`). With
    return_sequences the backward outputs are flipped back so both align in time, and masked steps
    output zeros in both (Keras's `zero_output_for_mask`). Masks go to both layers.

    Args:
        layer: a `SimpleRNN`, `LSTM` or `GRU` (its weights are not reused, as in Keras).
        merge_mode: `"concat"` (default), `"sum"`, `"mul"`, `"ave"`, or None for a list of the two
            outputs.
        backward_layer: optional recurrent layer for the backward direction; it must have
            `go_backwards=True` and the same `return_sequences` and `return_state` as `layer`.
        name, trainable: see `Layer`.

    Call arguments:
        inputs, mask, training: as for the wrapped layer.
        initial_state: a list: the forward layer's states, then the backward layer's.

    Returns:
        The merged output; with merge_mode None `[forward, backward]`; with return_state followed
        by the forward then the backward states: `[output, *forward_states, *backward_states]`.

    Raises:
        TypeError: if `layer` or `backward_layer` is not a recurrent layer.
        ValueError: for an unknown merge mode or mismatched layers.

    Weights: the forward layer's, then the backward layer's (Keras's order).

    Example:
        >>> bi = Bidirectional(LSTM(32))
        >>> bi(np.zeros((4, 10, 32), "float32")).shape
        torch.Size([4, 64])
        >>> bi.count_params()
        16640
    """

    supports_masking = True

    def __init__(
        self,
        layer: BaseRNN,
        merge_mode: str | None = "concat",
        backward_layer: BaseRNN | None = None,
        *,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        if not isinstance(layer, BaseRNN):
            raise checks.invalid("layer", "a SimpleRNN, LSTM or GRU instance", layer, error=TypeError)
        if backward_layer is not None and not isinstance(backward_layer, BaseRNN):
            raise checks.invalid(
                "backward_layer", "a SimpleRNN, LSTM or GRU instance or None", backward_layer, error=TypeError
            )
        if merge_mode not in _MERGE_MODES:
            raise checks.invalid("merge_mode", "one of 'concat', 'sum', 'mul', 'ave' or None", merge_mode)
        super().__init__(name=name, trainable=trainable)
        self.merge_mode = merge_mode
        self.forward_layer = _copy_layer(
            layer, "forward_" + _strip("forward_", layer.name), layer.go_backwards
        )
        if backward_layer is None:
            backward_layer = _copy_layer(layer, "backward_" + _strip("backward_", layer.name), True)
        self.backward_layer = backward_layer
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ValueError(
                "The forward and backward layers of a Bidirectional need different `go_backwards` "
                f"values, got {self.forward_layer.go_backwards} for both. Wrap a layer with "
                "go_backwards=False (and give `backward_layer` go_backwards=True)."
            )
        for attr in ("return_sequences", "return_state"):
            fwd, bwd = getattr(self.forward_layer, attr), getattr(self.backward_layer, attr)
            if fwd != bwd:
                raise ValueError(
                    f"The forward and backward layers of a Bidirectional need the same `{attr}`, got "
                    f"{fwd} for the forward layer and {bwd} for the backward layer."
                )
        self.return_sequences = self.forward_layer.return_sequences
        self.return_state = self.forward_layer.return_state
        for sub in (self.forward_layer, self.backward_layer):
            sub.zero_output_for_mask = self.return_sequences
        if not trainable:
            self.trainable = False

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        self.forward_layer.trainable = self._trainable
        self.backward_layer.trainable = self._trainable

    # ----------------------------------------------------------------- building
    def build(self, input_shape: Shape) -> None:
        self.forward_layer.maybe_build(input_shape)
        self.backward_layer.maybe_build(input_shape)
        super().build(input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Any:
        shape = self.forward_layer.compute_output_shape(input_shape)
        states: list[Shape] = []
        if self.return_state:
            shape, states = shape[0], list(shape[1:])
        if self.merge_mode == "concat":
            out: Any = (*shape[:-1], None if shape[-1] is None else 2 * shape[-1])
        elif self.merge_mode is None:
            out = [shape, shape]
        else:
            out = shape
        if self.return_state:
            outs = out if self.merge_mode is None else [out]
            return [*outs, *states, *states]
        return out

    def compute_mask(self, inputs: Any, mask: torch.Tensor | None = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        return [out, out] if self.merge_mode is None else out

    # ----------------------------------------------------------------- calling
    def call(
        self,
        inputs: Any,
        mask: torch.Tensor | None = None,
        training: bool = False,
        initial_state: Any = None,
        **kwargs: Any,
    ) -> Any:
        if kwargs:
            raise TypeError(
                f"Bidirectional `{self.name}` got unexpected call arguments: {', '.join(sorted(kwargs))}."
            )
        forward_state = backward_state = None
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            n = len(self.forward_layer.state_size) + len(self.backward_layer.state_size)
            if len(states) != n:
                raise ValueError(
                    f"Bidirectional `{self.name}` expects `initial_state` as a list of {n} tensors (the "
                    f"forward layer's states, then the backward layer's), got {len(states)}."
                )
            half = len(self.forward_layer.state_size)
            forward_state, backward_state = states[:half], states[half:]
        y = self.forward_layer(inputs, mask=mask, training=training, initial_state=forward_state)
        y_rev = self.backward_layer(inputs, mask=mask, training=training, initial_state=backward_state)
        states_out: list[torch.Tensor] = []
        if self.return_state:
            states_out = [*y[1:], *y_rev[1:]]
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = torch.flip(y_rev, dims=(1,))  # back to time order
        if self.merge_mode == "concat":
            output: Any = torch.cat([y, y_rev], dim=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            outs = output if self.merge_mode is None else [output]
            return [*outs, *states_out]
        return output

    # ----------------------------------------------------------------- weights
    @property
    def weights(self) -> list[nn.Parameter]:
        """The forward layer's weights, then the backward layer's."""
        return [*self.forward_layer.weights, *self.backward_layer.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Set the forward layer's weights, then the backward layer's (as `get_weights` returns them)."""
        if not self.built:
            raise ValueError(
                f"Bidirectional `{self.name}` is not built yet: call it once or build it first, then set its "
                "weights."
            )
        weights = list(weights)
        n = len(self.forward_layer.weights)
        if len(weights) != len(self.weights):
            raise ValueError(
                f"Bidirectional `{self.name}` expects {len(self.weights)} weight arrays ({n} for "
                f"`{self.forward_layer.name}`, then {len(self.weights) - n} for "
                f"`{self.backward_layer.name}`), got {len(weights)}."
            )
        self.forward_layer.set_weights([np.asarray(w) for w in weights[:n]])
        self.backward_layer.set_weights([np.asarray(w) for w in weights[n:]])

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "merge_mode": self.merge_mode,
            "layer": {
                "class_name": type(self.forward_layer).__name__,
                "config": self.forward_layer.get_config(),
            },
            "backward_layer": {
                "class_name": type(self.backward_layer).__name__,
                "config": self.backward_layer.get_config(),
            },
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Bidirectional:
        config = dict(config)
        layer = _layer_from_config(config.pop("layer"), "layer")
        backward = config.pop("backward_layer", None)
        backward_layer = None if backward is None else _layer_from_config(backward, "backward_layer")
        return cls(layer, backward_layer=backward_layer, **config)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, merge_mode={self.merge_mode!r}"


def _layer_from_config(spec: Any, arg: str) -> BaseRNN:
    if not isinstance(spec, dict) or "class_name" not in spec or "config" not in spec:
        raise ValueError(
            f"The `{arg}` entry of a Bidirectional config must be a dict with 'class_name' and "
            f"'config', got {spec!r}."
        )
    return rnn_class(spec["class_name"]).from_config(dict(spec["config"]))  # type: ignore[return-value]
