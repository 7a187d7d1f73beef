"""Flatten: every axis but the batch into one (Keras's `Flatten`)."""

from __future__ import annotations

import math
from typing import Any

import torch

from textrnn.layers._conv_utils import data_format_arg, warn_mask_dropped
from textrnn.layers.base import Layer, Shape


class Flatten(Layer):
    """Reshape `(batch, d1, d2, ...)` to `(batch, d1 × d2 × ...)`.

    Args:
        data_format: `"channels_last"` (default) or `"channels_first"`: a channels-first input is
            moved to channels-last before flattening, as Keras does, so weights after it line up.
        name, trainable: see `Layer`.

    No mask is passed on (Keras's Flatten does not support masking).

    Example:
        >>> Flatten().compute_output_shape((None, 20, 32))
        (None, 640)
    """

    def __init__(
        self, data_format: str | None = None, *, name: str | None = None, trainable: bool = True
    ) -> None:
        super().__init__(name=name, trainable=trainable)
        self.data_format = data_format_arg(data_format)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rest = [d for d in tuple(input_shape)[1:] if d is not None]
        if len(rest) < len(input_shape) - 1:
            return (input_shape[0], None)
        return (input_shape[0], math.prod(rest))

    def compute_mask(self, inputs: Any, mask: torch.Tensor | None = None) -> None:
        if mask is not None:
            warn_mask_dropped(self)
        return None

    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        if self.data_format == "channels_first" and inputs.dim() > 2:
            inputs = inputs.permute(0, *range(2, inputs.dim()), 1)
        return inputs.reshape(inputs.shape[0], -1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}
