"""GlobalMaxPooling1D and GlobalAveragePooling1D: pool a sequence over its steps, skipping masked ones."""

from __future__ import annotations

from typing import Any

import torch

from textrnn import checks
from textrnn.layers.base import Layer, Shape, unique_name

_DATA_FORMATS = ("channels_last", "channels_first")


class GlobalPooling1D(Layer):
    supports_masking = True
    _default_name = ""

    def __init__(
        self,
        data_format: str | None = None,
        keepdims: bool = False,
        *,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(name=name or unique_name(self._default_name), trainable=trainable)
        if data_format is None:
            data_format = "channels_last"
        if data_format not in _DATA_FORMATS:
            raise checks.invalid("data_format", "'channels_last' or 'channels_first'", data_format)
        if not isinstance(keepdims, bool):
            raise checks.invalid("keepdims", "True or False", keepdims, error=TypeError)
        self.data_format = data_format
        self.keepdims = keepdims

    @property
    def _steps_axis(self) -> int:
        return 1 if self.data_format == "channels_last" else 2

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3:
            raise ValueError(
                f"{type(self).__name__} expects input of shape (batch, steps, features), got {input_shape}."
            )
        if self.data_format == "channels_last":
            return (input_shape[0], 1, input_shape[2]) if self.keepdims else (input_shape[0], input_shape[2])
        return (input_shape[0], input_shape[1], 1) if self.keepdims else (input_shape[0], input_shape[1])

    def compute_mask(self, inputs: Any, mask: torch.Tensor | None = None) -> None:
        return None  # the steps axis is gone

    def _check(self, inputs: Any, mask: torch.Tensor | None) -> torch.Tensor | None:
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 3:
            shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
            raise ValueError(f"{type(self).__name__} `{self.name}` expects input of rank 3, got {shape}.")
        if mask is None:
            return None
        steps = inputs.shape[self._steps_axis]
        if tuple(mask.shape) != (inputs.shape[0], steps):
            raise ValueError(
                f"The mask of {type(self).__name__} `{self.name}` must have shape (batch, steps) = "
                f"{(inputs.shape[0], steps)}, got {tuple(mask.shape)}."
            )
        # (batch, steps, 1) or (batch, 1, steps), broadcastable against the input
        return mask.to(torch.bool).unsqueeze(2 if self.data_format == "channels_last" else 1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalMaxPooling1D(GlobalPooling1D):
    """The maximum over the steps of a `(batch, steps, features)` input.

    Masked steps are excluded (a row with every step masked gives zeros). Keras 3's
    GlobalMaxPooling1D ignores the mask instead, so the two differ only where a masked step holds
    the largest value.

    Args:
        data_format: `"channels_last"` (default, `(batch, steps, features)`) or
            `"channels_first"` (`(batch, features, steps)`).
        keepdims: keep the steps axis with length 1; default False.
        name, trainable: see `Layer`.

    Returns:
        `(batch, features)` (or `(batch, 1, features)` with keepdims). No mask is passed on.

    Example:
        >>> GlobalMaxPooling1D()(np.zeros((4, 10, 64), "float32")).shape
        torch.Size([4, 64])
    """

    _default_name = "global_max_pooling1d"

    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        keep = self._check(inputs, mask)
        if keep is None:
            return inputs.amax(dim=self._steps_axis, keepdim=self.keepdims)
        lowest = (
            torch.finfo(inputs.dtype).min if inputs.is_floating_point() else torch.iinfo(inputs.dtype).min
        )
        pooled = torch.where(keep, inputs, torch.full_like(inputs, lowest)).amax(
            dim=self._steps_axis, keepdim=True
        )
        any_step = keep.any(dim=self._steps_axis, keepdim=True)
        pooled = torch.where(any_step, pooled, torch.zeros_like(pooled))
        return pooled if self.keepdims else pooled.squeeze(self._steps_axis)


class GlobalAveragePooling1D(GlobalPooling1D):
    """The mean over the steps of a `(batch, steps, features)` input (Keras's `GlobalAveragePooling1D`).

    With a mask, the mean over the unmasked steps only, as in Keras (a row with every step masked
    gives zeros, where Keras divides by zero).

    Args:
        data_format: `"channels_last"` (default) or `"channels_first"`.
        keepdims: keep the steps axis with length 1; default False.
        name, trainable: see `Layer`.

    Returns:
        `(batch, features)` (or `(batch, 1, features)` with keepdims). No mask is passed on.

    Example:
        >>> GlobalAveragePooling1D()(np.zeros((4, 10, 64), "float32")).shape
        torch.Size([4, 64])
    """

    _default_name = "global_average_pooling1d"

    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        keep = self._check(inputs, mask)
        if keep is None:
            return inputs.mean(dim=self._steps_axis, keepdim=self.keepdims)
        total = torch.where(keep, inputs, torch.zeros_like(inputs)).sum(
            dim=self._steps_axis, keepdim=self.keepdims
        )
        count = keep.to(inputs.dtype).sum(dim=self._steps_axis, keepdim=self.keepdims)
        return total / count.clamp(min=1.0)
