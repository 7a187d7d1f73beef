"""GlobalMaxAvgPooling1D: the max and the mean over steps, side by side ("concat pooling")."""

from __future__ import annotations

from typing import Any

import torch

from textrnn.layers.base import Shape
from textrnn.layers.pooling import GlobalAveragePooling1D, GlobalMaxPooling1D, GlobalPooling1D


class GlobalMaxAvgPooling1D(GlobalPooling1D):
    """Concatenates `GlobalMaxPooling1D` and `GlobalAveragePooling1D` of the same input.

    Keras has no such layer (a Keras model concatenates the two poolings with the functional API);
    here it lets a `Sequential` pool a recurrent layer's whole output sequence, which classifies
    long texts better than the last state alone (Howard & Ruder's "concat pooling"). Masked steps
    are skipped by both poolings, so padding never counts.

    Args:
        data_format: `"channels_last"` (default, `(batch, steps, features)`) or
            `"channels_first"` (`(batch, features, steps)`).
        keepdims: keep the steps axis with length 1; default False.
        name, trainable: see `Layer`.

    Returns:
        `(batch, 2 * features)`: the maxima, then the means (or `(batch, 1, 2 * features)` with
        keepdims). No mask is passed on.

    Raises:
        ValueError: for an unknown `data_format`, or an input that is not of rank 3.
        TypeError: for a `keepdims` that is not a bool.

    Example:
        >>> GlobalMaxAvgPooling1D()(np.zeros((4, 10, 64), "float32")).shape
        torch.Size([4, 128])
    """

    _default_name = "global_max_avg_pooling1d"

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        shape = list(super().compute_output_shape(input_shape))
        axis = 2 if self.data_format == "channels_last" and self.keepdims else 1  # the features axis
        size = shape[axis]
        shape[axis] = None if size is None else 2 * size
        return tuple(shape)

    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        # the two poolings (which check the input and mask) share their masking rules with the
        # Keras-named layers
        maxed = GlobalMaxPooling1D.call(self, inputs, mask=mask)  # type: ignore[arg-type]
        mean = GlobalAveragePooling1D.call(self, inputs, mask=mask)  # type: ignore[arg-type]
        features = -1 if self.data_format == "channels_last" or not self.keepdims else 1
        return torch.cat([maxed, mean], dim=features)
