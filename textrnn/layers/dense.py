"""Dense: a fully connected layer on the last axis (Keras's `Dense`)."""

from __future__ import annotations

from typing import Any

import torch

from textrnn import activations, initializers, kernels
from textrnn.checks import positive_int
from textrnn.layers.base import Layer, Shape


class Dense(Layer):
    """`activation(inputs @ kernel + bias)` on the last axis.

    Args:
        units: output size.
        activation: Keras name or callable; None is linear.
        use_bias: whether to add a bias.
        kernel_initializer: default `"glorot_uniform"`.
        bias_initializer: default `"zeros"`.
        name, trainable: see `Layer`.

    Input `(..., features)` → output `(..., units)`. Parameters: `(features + 1) × units` with a bias.
    """

    supports_masking = True

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        *,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(name=name, trainable=trainable)
        self.units = positive_int("units", units)
        self.activation = activations.get(activation)
        self._activation_name = activations.serialize(activation)
        self.use_bias = bool(use_bias)
        initializers.get(kernel_initializer)
        initializers.get(bias_initializer)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    def build(self, input_shape: Shape) -> None:
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                f"Dense `{self.name}` needs the size of its input's last axis, got shape {input_shape}."
            )
        self.kernel = self.add_weight("kernel", (features, self.units), self.kernel_initializer)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), self.bias_initializer)
        super().build(input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*tuple(input_shape)[:-1], self.units)

    def logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """The pre-activation output (used by losses for numerically stable sigmoid/softmax)."""
        bias = self.bias if self.use_bias else None
        if (
            kernels.products_invariant()
            and inputs.device.type == "cpu"
            and inputs.dtype == self.kernel.dtype
            and inputs.dtype in (torch.float32, torch.float64)
            and kernels.available()
        ):
            # while the thread count may change in training (textrnn.training.threads_policy)
            return kernels.dense_product(inputs, self.kernel, bias)
        out = inputs @ self.kernel
        if bias is not None:
            out = out + bias
        return out

    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        return self.activation(self.logits(inputs))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": self._activation_name,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }
