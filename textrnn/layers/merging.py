"""Merge layers, as Keras's `keras.layers.merging`: `Add`, `Subtract`, `Multiply`, `Average`,
`Maximum`, `Minimum` (element-wise, with broadcasting over axes of size 1) and `Concatenate`.

Each takes a list of tensors. Masks, as Keras 3: the element-wise layers pass on the logical OR
of the inputs' masks when every input is masked, else no mask; `Concatenate` the OR along its axis,
with an unmasked input counting as all kept. Values at masked steps: `Multiply` reads a masked step
as 1 and, when every input is masked, outputs 0 where all of them are masked; `Maximum` and
`Minimum` skip a masked step (another input's value is used there); `Add`, `Subtract` and
`Average` use the values as they are.

Example:
    >>> a, b = Input(shape=(8,)), Input(shape=(8,))
    >>> Concatenate()([a, Add()([a, b])]).shape
    (None, 16)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from textrnn import checks
from textrnn.layers.base import Layer, Shape


def _check_list(inputs: Any, what: str = "A merge layer") -> list[Any]:
    if not isinstance(inputs, (list, tuple)):
        raise ValueError(
            f"{what} should be called on a list of inputs. Received: input_shape={inputs!r:.200} "
            "(not a list of shapes)"
        )
    if len(inputs) < 1:
        raise ValueError(
            f"{what} should be called on a list of at least 1 input. Received {len(inputs)} inputs."
        )
    return list(inputs)


def _check_shapes(input_shape: Any) -> list[tuple[Any, ...]]:
    shapes = _check_list(input_shape)
    if not all(isinstance(s, (tuple, list)) for s in shapes):
        raise ValueError(
            "A merge layer should be called on a list of inputs. "
            f"Received: input_shape={input_shape!r:.200} (not a list of shapes)"
        )
    return [tuple(s) for s in shapes]


def _broadcast_shape(shape1: Shape, shape2: Shape) -> Shape:
    if len(shape1) != len(shape2):
        raise ValueError(
            "Inputs of a merge layer must have the same rank: textrnn does not reshape them. "
            f"Received shapes {shape1} and {shape2}"
        )
    out: list[int | None] = []
    for a, b in zip(shape1, shape2, strict=True):
        if a is None or b is None:
            out.append(None if a in (None, 1) or b in (None, 1) else max(a, b))
        elif a == 1:
            out.append(b)
        elif b == 1 or a == b:
            out.append(a)
        else:
            raise ValueError(f"Inputs have incompatible shapes. Received shapes {shape1} and {shape2}")
    return tuple(out)


class _Merge(Layer):
    """Base of the element-wise merge layers."""

    supports_masking = True

    def __init__(self, *, name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)

    def build(self, input_shape: Any) -> None:
        shapes = _check_shapes(input_shape)
        batch_sizes = {s[0] for s in shapes if s and s[0] is not None}
        if len(batch_sizes) > 1:
            raise ValueError(
                f"Cannot merge tensors with different batch sizes. Received tensors with shapes {shapes}"
            )
        self.compute_output_shape(shapes)
        super().build(tuple(shapes))  # type: ignore[arg-type]

    def maybe_build(self, input_shape: Sequence[Any]) -> None:
        if not self.built:
            self.build(input_shape)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shapes = _check_shapes(input_shape)
        out = shapes[0]
        for s in shapes[1:]:
            out = _broadcast_shape(out, s)
        return out

    def _merge(self, inputs: list[torch.Tensor], masks: list[torch.Tensor | None]) -> torch.Tensor:
        """Merges `inputs`; `masks` holds each input's mask broadcast to its shape, or None."""
        raise NotImplementedError

    def call(self, inputs: Any, mask: Any = None, training: bool = False, **kwargs: Any) -> torch.Tensor:
        tensors = _check_list(inputs)
        self.maybe_build([(None, *t.shape[1:]) for t in tensors])
        masks = [None] * len(tensors) if mask is None else _masks(tensors, mask)
        return self._merge(tensors, [_expand(m, t) for t, m in zip(tensors, masks, strict=True)])

    def compute_mask(self, inputs: Any, mask: Any = None) -> torch.Tensor | None:
        if mask is None:
            return None
        masks = _masks(inputs, mask)
        if any(m is None for m in masks):
            return None  # as Keras: one unmasked input unmasks the output
        out = masks[0].bool()
        for m in masks[1:]:
            out = out | m.bool()
        return out


def _expand(mask: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor | None:
    """A `(batch, steps)` mask broadcast over `x`'s trailing feature axis, as Keras's merges do."""
    if mask is None:
        return None
    return torch.broadcast_to(mask.bool().unsqueeze(-1), x.shape)


def _skip_masked(op: Any, inputs: list[torch.Tensor], masks: list[torch.Tensor | None]) -> torch.Tensor:
    """`op` over `inputs` where a masked step takes the other operand's value (Keras's rule for
    `Maximum` and `Minimum`, which have no neutral value)."""
    out, out_mask = inputs[0], masks[0]
    for x, m in zip(inputs[1:], masks[1:], strict=True):
        if m is not None:
            x = torch.where(m, x, out)
        if out_mask is not None:
            out = torch.where(out_mask, out, x)
        out_mask = out_mask | m if m is not None and out_mask is not None else None
        out = op(out, x)
    return out


def _masks(inputs: Any, mask: Any) -> list[Any]:
    if not isinstance(mask, (list, tuple)):
        raise ValueError(f"`mask` should be a list. Received: mask={mask!r:.200}")
    if not isinstance(inputs, (list, tuple)):
        raise ValueError(f"`inputs` should be a list. Received: inputs={inputs!r:.200}")
    if len(mask) != len(inputs):
        raise ValueError(
            "The lists `inputs` and `mask` should have the same length. Received: inputs of length "
            f"{len(inputs)}, and mask of length {len(mask)}"
        )
    return list(mask)


class Add(_Merge):
    """Adds a list of inputs element-wise: `Add()([x1, x2])` is `x1 + x2`.

    Args:
        name: layer name.
        trainable: kept for Keras's signature (the layer has no weights).
    """

    def _merge(self, inputs: list[torch.Tensor], masks: list[torch.Tensor | None]) -> torch.Tensor:
        out = inputs[0]
        for t in inputs[1:]:
            out = out + t
        return out


class Subtract(_Merge):
    """Subtracts two inputs: `Subtract()([x1, x2])` is `x1 - x2`.

    Raises:
        ValueError: if it is not given exactly two inputs.
    """

    def build(self, input_shape: Any) -> None:
        if len(_check_shapes(input_shape)) != 2:
            raise ValueError(
                "A `Subtract` layer should be called on exactly 2 inputs. "
                f"Received: input_shape={input_shape}"
            )
        super().build(input_shape)

    def _merge(self, inputs: list[torch.Tensor], masks: list[torch.Tensor | None]) -> torch.Tensor:
        if len(inputs) != 2:
            raise ValueError("A `Subtract` layer should be called on exactly 2 inputs")
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    """Multiplies a list of inputs element-wise.

    A masked step counts as 1; when every input is masked, a step masked in all of them is 0.
    """

    def _merge(self, inputs: list[torch.Tensor], masks: list[torch.Tensor | None]) -> torch.Tensor:
        every_input_masked = all(m is not None for m in masks)
        kept: torch.Tensor | None = None
        factors = []
        for t, m in zip(inputs, masks, strict=True):
            if m is not None:
                t = torch.where(m, t, torch.ones((), dtype=t.dtype, device=t.device))
                if every_input_masked:
                    kept = m if kept is None else kept | m
            factors.append(t)
        out = factors[0]
        for t in factors[1:]:
            out = out * t
        if kept is not None:
            out = torch.where(kept, out, torch.zeros((), dtype=out.dtype, device=out.device))
        return out


class Average(_Merge):
    """Averages a list of inputs element-wise."""

    def _merge(self, inputs: list[torch.Tensor], masks: list[torch.Tensor | None]) -> torch.Tensor:
        out = inputs[0]
        for t in inputs[1:]:
            out = out + t
        return out / len(inputs)


class Maximum(_Merge):
    """The element-wise maximum of a list of inputs (a masked step takes the others' values)."""

    def _merge(self, inputs: list[torch.Tensor], masks: list[torch.Tensor | None]) -> torch.Tensor:
        return _skip_masked(torch.maximum, inputs, masks)


class Minimum(_Merge):
    """The element-wise minimum of a list of inputs (a masked step takes the others' values)."""

    def _merge(self, inputs: list[torch.Tensor], masks: list[torch.Tensor | None]) -> torch.Tensor:
        return _skip_masked(torch.minimum, inputs, masks)


class Concatenate(Layer):
    """Concatenates a list of inputs along `axis`; all other sizes must match.

    Args:
        axis: the axis to join along, default -1 (the features).
        name: layer name.
        trainable: kept for Keras's signature (the layer has no weights).

    Raises:
        ValueError: on call, if the inputs' sizes differ outside `axis` or it is not a list.

    Example:
        >>> Concatenate()([Input(shape=(5, 3)), Input(shape=(5, 4))]).shape
        (None, 5, 7)
    """

    supports_masking = True

    def __init__(self, axis: int = -1, *, name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        if not checks._is_int(axis):
            raise checks.invalid("axis", "an integer", axis)
        self.axis = int(axis)

    def build(self, input_shape: Any) -> None:
        if (
            not isinstance(input_shape, (list, tuple))
            or not input_shape
            or not isinstance(input_shape[0], (tuple, list))
        ):
            raise ValueError(
                "A `Concatenate` layer should be called on a list of at least 1 input. "
                f"Received: input_shape={input_shape}"
            )
        shapes = [tuple(s) for s in input_shape]
        ranks = {len(s) for s in shapes}
        error = ValueError(
            "A `Concatenate` layer requires inputs with matching shapes except for the "
            f"concatenation axis. Received: input_shape={shapes}"
        )
        if len(ranks) != 1:
            raise error
        rank = ranks.pop()
        if not -rank <= self.axis < rank:
            raise checks.invalid("axis", f"an axis of the inputs' {rank} axes", self.axis)
        axis = self.axis % rank
        for i in range(1, rank):
            if i == axis:
                continue
            sizes = {s[i] for s in shapes if s[i] is not None}
            if len(sizes) > 1:
                raise error
        super().build(tuple(shapes))  # type: ignore[arg-type]

    def maybe_build(self, input_shape: Sequence[Any]) -> None:
        if not self.built:
            self.build(input_shape)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if (
            not isinstance(input_shape, (list, tuple))
            or not input_shape
            or not isinstance(input_shape[0], (tuple, list))
        ):
            raise ValueError(
                "A `Concatenate` layer should be called on a list of inputs. "
                f"Received: input_shape={input_shape}"
            )
        out = list(input_shape[0])
        axis = self.axis % len(out)
        for shape in input_shape[1:]:
            if out[axis] is None or shape[axis] is None:
                out[axis] = None
                break
            out[axis] += shape[axis]
        return tuple(out)

    def call(self, inputs: Any, mask: Any = None, training: bool = False, **kwargs: Any) -> torch.Tensor:
        tensors = _check_list(inputs, "A `Concatenate` layer")
        self.maybe_build([(None, *t.shape[1:]) for t in tensors])
        return torch.cat(tensors, dim=self.axis)

    def compute_mask(self, inputs: Any, mask: Any = None) -> torch.Tensor | None:
        if mask is None:
            return None
        masks = _masks(inputs, mask)
        if all(m is None for m in masks):
            return None
        full = []
        for x, m in zip(inputs, masks, strict=True):
            if m is None:
                full.append(torch.ones(x.shape, dtype=torch.bool, device=x.device))
            elif m.ndim < x.ndim:
                full.append(m.reshape(*m.shape, *([1] * (x.ndim - m.ndim))).expand(x.shape))
            else:
                full.append(m.bool())
        return torch.cat(full, dim=self.axis).any(dim=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


def add(inputs: list[Any], **kwargs: Any) -> Any:
    """`Add(**kwargs)(inputs)`, Keras's functional form."""
    return Add(**kwargs)(inputs)


def subtract(inputs: list[Any], **kwargs: Any) -> Any:
    """`Subtract(**kwargs)(inputs)`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list[Any], **kwargs: Any) -> Any:
    """`Multiply(**kwargs)(inputs)`."""
    return Multiply(**kwargs)(inputs)


def average(inputs: list[Any], **kwargs: Any) -> Any:
    """`Average(**kwargs)(inputs)`."""
    return Average(**kwargs)(inputs)


def maximum(inputs: list[Any], **kwargs: Any) -> Any:
    """`Maximum(**kwargs)(inputs)`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list[Any], **kwargs: Any) -> Any:
    """`Minimum(**kwargs)(inputs)`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: list[Any], axis: int = -1, **kwargs: Any) -> Any:
    """`Concatenate(axis=axis, **kwargs)(inputs)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)
