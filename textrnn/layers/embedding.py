"""Embedding: token indices to dense vectors (Keras's `Embedding`)."""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F

from textrnn import initializers
from textrnn.checks import positive_int
from textrnn.layers.base import Layer, Shape


class LookupWithIndexAddBackward(torch.autograd.Function):
    """`weight[ids]` whose gradient is one index-add of `grad` into a zero matrix.

    On CPU this is about twice as fast as PyTorch's `embedding_dense_backward` (which sorts the
    indices first) for the tutorial's batches, and gives the same gradient. Where the native
    kernels are available, `textrnn.kernels.embedding_backward` computes the same numbers (bit
    for bit) on all threads and reads `grad` through its strides (the time-major gradient the
    recurrent kernels return costs no copy); else one `index_add_`.
    """

    @staticmethod
    def forward(ctx: Any, weight: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(ids)
        ctx.rows = weight.shape[0]
        ctx.native = ids.dim() == 2 and weight.dtype in (torch.float32, torch.float64) and _native_available()
        return weight.index_select(0, ids.reshape(-1)).view(*ids.shape, weight.shape[1])

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (ids,) = ctx.saved_tensors
        if ctx.native:
            from textrnn import kernels

            return kernels.embedding_backward(grad, ids, ctx.rows), None
        grad_weight = grad.new_zeros(ctx.rows, grad.shape[-1])
        grad_weight.index_add_(0, ids.reshape(-1), grad.reshape(-1, grad.shape[-1]))
        return grad_weight, None


def _native_available() -> bool:
    from textrnn import kernels

    return kernels.available()


class Embedding(Layer):
    """Turns indices in `[0, input_dim)` into vectors of size `output_dim`.

    Args:
        input_dim: vocabulary size (largest index + 1).
        output_dim: size of each vector.
        embeddings_initializer: Keras name or initializer; default uniform in ±0.05.
        mask_zero: if True, index 0 is padding: the layer emits a mask `inputs != 0` that recurrent
            layers use to skip those steps (their state carries over).
        weights: Keras's legacy way to start from a matrix: `[matrix]` (or the matrix) of shape
            `(input_dim, output_dim)`, set after the weight is made.
        input_length: accepted and ignored with Keras 3's warning ("Just remove it"); give
            `input_shape=(steps,)` to fix the steps shown by `summary()`.
        name, trainable: see `Layer`.

    Input `(batch, steps)` integers → output `(batch, steps, output_dim)`. Parameters:
    `input_dim × output_dim`.

    Example:
        >>> Embedding(10000, 32).compute_output_shape((None, 500))
        (None, 500, 32)
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: Any = "uniform",
        mask_zero: bool = False,
        weights: Any = None,
        *,
        input_length: int | None = None,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        if input_length is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.", stacklevel=3)
        super().__init__(name=name, trainable=trainable)
        self.input_dim = positive_int("input_dim", input_dim)
        self.output_dim = positive_int("output_dim", output_dim)
        initializers.get(embeddings_initializer)
        self.embeddings_initializer = embeddings_initializer
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.build((None, None))
        if weights is not None:
            one = isinstance(weights, list) and len(weights) == 1
            self.set_weights(weights if one else [weights])

    def build(self, input_shape: Shape) -> None:
        if self.built:
            return
        self.embeddings = self.add_weight(
            "embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer
        )
        super().build(input_shape)

    def maybe_build(self, input_shape: Any) -> None:
        if len(input_shape) != 2:
            raise ValueError(
                f"Embedding `{self.name}` expects integer input of shape (batch, steps), got shape "
                f"{tuple(input_shape)}. Pad the sequences to one length with `pad_sequences`."
            )

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*tuple(input_shape), self.output_dim)

    def compute_mask(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor | None:
        return inputs != 0 if self.mask_zero else None

    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        if inputs.is_floating_point():
            inputs = inputs.long()
        try:
            if inputs.device.type == "cpu" and self.embeddings.requires_grad and torch.is_grad_enabled():
                return LookupWithIndexAddBackward.apply(self.embeddings, inputs)  # (batch, steps, output_dim)
            return F.embedding(inputs, self.embeddings)  # (batch, steps, output_dim)
        except (IndexError, RuntimeError):
            hi = int(inputs.max())
            lo = int(inputs.min())
            if 0 <= lo and hi < self.input_dim:
                raise
            raise ValueError(
                f"Embedding `{self.name}` has input_dim={self.input_dim}, so token indices must lie in "
                f"[0, {self.input_dim - 1}], but got indices in [{lo}, {hi}]. Load the data with "
                f"`num_words={self.input_dim}` or raise `input_dim` to at least {hi + 1}."
            ) from None

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "mask_zero": self.mask_zero,
        }
