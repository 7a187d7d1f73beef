"""Dropout and SpatialDropout1D (Keras's semantics: inverted dropout, active only in training)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from textrnn.checks import rate as check_rate
from textrnn.layers.base import Layer


class Dropout(Layer):
    """Sets a fraction `rate` of inputs to 0 during training and scales the rest by 1 / (1 - rate).

    Args:
        rate: fraction to drop, in [0, 1).
        name, trainable: see `Layer`.
    """

    supports_masking = True

    def __init__(self, rate: float, *, name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        self.rate = check_rate("rate", rate)

    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        if not training or self.rate == 0.0:
            return inputs  # type: ignore[no-any-return]
        return F.dropout(inputs, self.rate, training=True)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate}


class SpatialDropout1D(Dropout):
    """Drops whole feature channels of a `(batch, steps, features)` input (the same for every step)."""

    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        if not training or self.rate == 0.0:
            return inputs  # type: ignore[no-any-return]
        keep = torch.empty((inputs.shape[0], 1, inputs.shape[2]), device=inputs.device, dtype=inputs.dtype)
        keep.bernoulli_(1.0 - self.rate)
        return inputs * keep / (1.0 - self.rate)
