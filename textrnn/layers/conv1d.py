"""Conv1D: a 1-D convolution over the steps of a sequence (Keras's `Conv1D`)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from textrnn import activations, checks, initializers
from textrnn.layers._conv_utils import (
    data_format_arg,
    one_int,
    output_length,
    padding_arg,
    pads,
    warn_mask_dropped,
)
from textrnn.layers.base import Layer, Shape, unique_name


class Conv1D(Layer):
    """`activation(conv1d(inputs, kernel) + bias)` over the steps axis.

    Args:
        filters: number of output channels.
        kernel_size: window length (an integer or a tuple of one).
        strides: step between windows, default 1.
        padding: `"valid"` (default, no padding), `"same"` (output length `ceil(steps /
            strides)`, zeros split as TensorFlow does, the odd one on the right) or `"causal"`
            (zeros on the left only, so output step t sees inputs up to t).
        data_format: `"channels_last"` (default, `(batch, steps, channels)`) or `"channels_first"`.
        dilation_rate: spacing between the kernel's taps, default 1; not with `strides > 1`.
        groups: split the input channels into this many groups, default 1.
        activation: Keras name or callable; None is linear.
        use_bias: default True.
        kernel_initializer: default `"glorot_uniform"`; bias_initializer: default `"zeros"`.
        name, trainable: see `Layer`.

    Weights in Keras's layout: kernel `(kernel_size, channels // groups, filters)`, bias
    `(filters,)`. Like Keras's, the layer does not pass a mask on (the steps change).

    Example:
        >>> Conv1D(32, 7, activation="relu").compute_output_shape((None, 100, 64))
        (None, 94, 32)
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int],
        strides: int | tuple[int] = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: int | tuple[int] = 1,
        groups: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        *,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(name=name or unique_name("conv1d"), trainable=trainable)
        self.filters = checks.positive_int("filters", filters)
        self.groups = checks.positive_int("groups", groups)
        if self.filters % self.groups:
            raise ValueError(
                "The number of filters must be evenly divisible by the number of groups. "
                f"Received: groups={groups}, filters={filters}."
            )
        self.kernel_size = (one_int("kernel_size", kernel_size),)
        self.strides = (one_int("strides", strides),)
        self.dilation_rate = (one_int("dilation_rate", dilation_rate),)
        if self.strides[0] > 1 and self.dilation_rate[0] > 1:
            raise ValueError(
                "`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}."
            )
        self.padding = padding_arg(padding, allow_causal=True)
        self.data_format = data_format_arg(data_format)
        self.activation = activations.get(activation)
        self._activation_name = activations.serialize(activation)
        self.use_bias = checks.boolean("use_bias", use_bias)
        initializers.get(kernel_initializer)
        initializers.get(bias_initializer)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 3:
            raise ValueError(
                f"Conv1D `{self.name}` expects input of rank 3 (batch, steps, channels), got shape "
                f"{tuple(input_shape)}."
            )
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"Conv1D `{self.name}` needs the number of input channels, got {input_shape}.")
        if channels % self.groups:
            raise ValueError(
                "The number of input channels must be evenly divisible by the number of groups. "
                f"Received groups={self.groups}, but the input has {channels} channels "
                f"(full input shape is {tuple(input_shape)})."
            )
        shape = (self.kernel_size[0], channels // self.groups, self.filters)
        self.kernel = self.add_weight("kernel", shape, self.kernel_initializer)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer)
        super().build(input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        steps_axis = 1 if self.data_format == "channels_last" else 2
        steps = output_length(
            input_shape[steps_axis],
            self.kernel_size[0],
            self.strides[0],
            self.padding,
            self.dilation_rate[0],
        )
        if self.data_format == "channels_last":
            return (input_shape[0], steps, self.filters)
        return (input_shape[0], self.filters, steps)

    def compute_mask(self, inputs: Any, mask: torch.Tensor | None = None) -> None:
        if mask is not None:
            warn_mask_dropped(self)
        return None

    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        x = inputs.to(self.kernel.dtype)
        if self.data_format == "channels_last":
            x = x.transpose(1, 2)  # (batch, channels, steps)
        k, s, d = self.kernel_size[0], self.strides[0], self.dilation_rate[0]
        output_length(x.shape[2], k, s, self.padding, d)  # Keras's error for too-short inputs
        left, right = pads(x.shape[2], k, s, self.padding, d)
        if left or right:
            x = F.pad(x, (left, right))
        weight = self.kernel.permute(2, 1, 0)  # (filters, channels // groups, kernel_size)
        out = F.conv1d(
            x,
            weight,
            self.bias if self.use_bias else None,
            stride=s,
            dilation=d,
            groups=self.groups,
        )
        if self.data_format == "channels_last":
            out = out.transpose(1, 2)  # (batch, steps', filters)
        return self.activation(out)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            "groups": self.groups,
            "activation": self._activation_name,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }
