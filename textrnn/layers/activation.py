"""Activation: apply an activation function (Keras's `Activation`)."""

from __future__ import annotations

from typing import Any

import torch

from textrnn import activations
from textrnn.layers.base import Layer


class Activation(Layer):
    """`activation(inputs)`, element by element; the mask passes through.

    Args:
        activation: a Keras name (`"relu"`, `"sigmoid"`, `"softmax"`, ...) or a callable.
        name, trainable: see `Layer`.

    Example:
        >>> Activation("relu")(np.array([[-1.0, 2.0]], "float32"))
        tensor([[0., 2.]])
    """

    supports_masking = True

    def __init__(self, activation: Any, *, name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        self.activation = activations.get(activation)
        self._activation_name = activations.serialize(activation)

    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        return self.activation(inputs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": self._activation_name}
