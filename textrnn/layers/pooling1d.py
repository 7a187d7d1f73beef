"""MaxPooling1D and AveragePooling1D: pool windows of steps (Keras's layers of those names)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from textrnn.layers._conv_utils import (
    data_format_arg,
    one_int,
    output_length,
    padding_arg,
    pads,
    warn_mask_dropped,
)
from textrnn.layers.base import Layer, Shape, unique_name


class _Pooling1D(Layer):
    _default_name = ""

    def __init__(
        self,
        pool_size: int | tuple[int] = 2,
        strides: int | tuple[int] | None = None,
        padding: str = "valid",
        data_format: str | None = None,
        *,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(name=name or unique_name(self._default_name), trainable=trainable)
        self.pool_size = (one_int("pool_size", pool_size),)
        self.strides = self.pool_size if strides is None else (one_int("strides", strides),)
        self.padding = padding_arg(padding, allow_causal=False)
        self.data_format = data_format_arg(data_format)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3:
            raise ValueError(
                f"{type(self).__name__} expects input of shape (batch, steps, features), got {input_shape}."
            )
        steps_axis = 1 if self.data_format == "channels_last" else 2
        steps = output_length(input_shape[steps_axis], self.pool_size[0], self.strides[0], self.padding)
        out = list(input_shape)
        out[steps_axis] = steps
        return tuple(out)

    def compute_mask(self, inputs: Any, mask: torch.Tensor | None = None) -> None:
        if mask is not None:
            warn_mask_dropped(self)
        return None  # Keras's pooling layers do not support masking: the mask stops here

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 3:
            shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
            raise ValueError(f"{type(self).__name__} `{self.name}` expects input of rank 3, got {shape}.")
        x = inputs.transpose(1, 2) if self.data_format == "channels_last" else inputs
        output_length(x.shape[2], self.pool_size[0], self.strides[0], self.padding)
        out = self._pool(x)  # (batch, features, steps')
        return out.transpose(1, 2) if self.data_format == "channels_last" else out

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
        }


class MaxPooling1D(_Pooling1D):
    """The maximum of each window of `pool_size` steps, every `strides` steps.

    Args:
        pool_size: window length, default 2.
        strides: step between windows; None (default) means `pool_size`.
        padding: `"valid"` (default) or `"same"` (output length `ceil(steps / strides)`; padded
            positions never win the maximum).
        data_format: `"channels_last"` (default) or `"channels_first"`.
        name, trainable: see `Layer`.

    As in Keras, a mask is neither used nor passed on.

    Example:
        >>> MaxPooling1D(5).compute_output_shape((None, 100, 32))
        (None, 20, 32)
    """

    _default_name = "max_pooling1d"

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        left, right = pads(x.shape[2], self.pool_size[0], self.strides[0], self.padding)
        if left or right:
            x = F.pad(x, (left, right), value=float("-inf"))
        return F.max_pool1d(x, self.pool_size[0], self.strides[0])


class AveragePooling1D(_Pooling1D):
    """The mean of each window of `pool_size` steps, every `strides` steps.

    Args:
        pool_size: window length (required, as in Keras).
        strides: step between windows; None (default) means `pool_size`.
        padding: `"valid"` (default) or `"same"` (edge windows average only the real steps, as in
            Keras).
        data_format: `"channels_last"` (default) or `"channels_first"`.
        name, trainable: see `Layer`.

    As in Keras, a mask is neither used nor passed on.
    """

    _default_name = "average_pooling1d"

    def __init__(
        self,
        pool_size: int | tuple[int],
        strides: int | tuple[int] | None = None,
        padding: str = "valid",
        data_format: str | None = None,
        *,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        # Keras's AveragePooling1D has no default pool size (MaxPooling1D's is 2).
        super().__init__(pool_size, strides, padding, data_format, name=name, trainable=trainable)

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        left, right = pads(x.shape[2], self.pool_size[0], self.strides[0], self.padding)
        if not (left or right):
            return F.avg_pool1d(x, self.pool_size[0], self.strides[0])
        k, stride = self.pool_size[0], self.strides[0]
        sums = F.avg_pool1d(F.pad(x, (left, right)), k, stride) * k
        ones = F.pad(torch.ones_like(x[:1, :1]), (left, right))  # 1 where a step is real
        counts = F.avg_pool1d(ones, k, stride) * k
        return sums / counts
