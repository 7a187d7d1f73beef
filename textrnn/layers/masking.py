"""Masking: skip the steps whose every feature equals `mask_value` (Keras's `Masking`)."""

from __future__ import annotations

import math
from typing import Any

import torch

from textrnn import checks
from textrnn.layers.base import Layer


class Masking(Layer):
    """Masks the steps of a `(batch, steps, features)` input whose features all equal `mask_value`.

    The output is the input with those steps set to 0; the mask (`True` where a step is kept) goes
    to the next layers, so recurrent layers skip the masked steps as after
    `Embedding(mask_zero=True)`.

    Args:
        mask_value: the padding value, default 0.0.
        name, trainable: see `Layer`.

    Example:
        >>> model = Sequential([Masking(0.0), LSTM(32)])  # steps of all zeros are skipped
    """

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, *, name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)) or math.isnan(mask_value):
            raise checks.invalid("mask_value", "a number", mask_value)
        self.mask_value = float(mask_value)

    def compute_mask(self, inputs: Any, mask: torch.Tensor | None = None) -> torch.Tensor:
        return (torch.as_tensor(inputs) != self.mask_value).any(dim=-1)  # (batch, steps)

    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        keep = (inputs != self.mask_value).any(dim=-1, keepdim=True)  # (batch, steps, 1)
        return torch.where(keep, inputs, torch.zeros_like(inputs))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}
