"""`keras.Input` and `InputLayer`: where a functional model's data comes in.

Example:
    >>> inputs = Input(shape=(None,), dtype="int32")   # token ids, any length
    >>> inputs.shape
    (None, None)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textrnn import checks
from textrnn.layers.base import Layer, Shape
from textrnn.layers.keras_tensor import KerasHistory, KerasTensor, Node, dtype_name


def _standardize_shape(name: str, shape: Any) -> Shape:
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    ok = isinstance(shape, (tuple, list)) and all(d is None or (checks._is_int(d) and d >= 0) for d in shape)
    if not ok:
        raise checks.invalid(name, "a tuple of non-negative integers or None", shape)
    return tuple(None if d is None else int(d) for d in shape)


class InputLayer(Layer):
    """The layer behind `Input`: it holds a symbolic tensor and computes nothing.

    Args:
        shape: the shape of one sample (no batch axis), e.g. `(None,)` for token ids of any
            length or `(500,)` for padded ones.
        batch_size: a fixed batch size, None (any) by default.
        dtype: the dtype of the data, `"float32"` by default; `"int32"` for token ids.
        sparse: must be False or None: sparse inputs are not supported.
        ragged: must be False or None: ragged inputs are not supported (pad sequences).
        batch_shape: the full shape with the batch axis, instead of `shape` and `batch_size`.
        input_tensor: an existing `KerasTensor` to wrap instead of making one.
        optional: must be False: every input takes data.
        name: the layer's name; `"input_layer"`, `"input_layer_1"`, ... by default.

    Raises:
        ValueError: if both or neither of `shape` and `batch_shape` are given, if `batch_size`
            comes with `batch_shape`, or an argument is invalid or unsupported.
    """

    def __init__(
        self,
        shape: Sequence[int | None] | None = None,
        batch_size: int | None = None,
        dtype: Any = None,
        sparse: bool | None = None,
        ragged: bool | None = None,
        batch_shape: Sequence[int | None] | None = None,
        input_tensor: KerasTensor | None = None,
        optional: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        if sparse:
            raise ValueError("`sparse=True` is not supported with the textrnn (PyTorch) backend.")
        if ragged:
            raise ValueError(
                "`ragged=True` is not supported with the textrnn (PyTorch) backend: pad the "
                "sequences with `keras.utils.pad_sequences`."
            )
        if optional:
            raise ValueError("`optional=True` is not supported by textrnn: every input takes data.")
        if batch_size is not None:
            checks.positive_int("batch_size", batch_size)
        if input_tensor is not None:
            if not isinstance(input_tensor, KerasTensor):
                raise ValueError(
                    "Argument `input_tensor` must be a KerasTensor. Received invalid type: "
                    f"input_tensor={input_tensor!r} (of type {type(input_tensor)})"
                )
            if shape is not None and tuple(shape) != input_tensor.shape[1:]:
                raise ValueError(
                    "When providing the `input_tensor` argument, you cannot provide an "
                    "incompatible `shape` argument."
                )
            if batch_shape is not None and tuple(batch_shape) != input_tensor.shape:
                raise ValueError(
                    "When providing the `input_tensor` argument, you cannot provide an "
                    "incompatible `batch_shape` argument."
                )
            if dtype is not None and dtype_name(dtype) != input_tensor.dtype:
                raise ValueError(
                    "When providing the `input_tensor` argument, you cannot provide an "
                    "incompatible `dtype` argument."
                )
            full: Shape = input_tensor.shape
            dtype = input_tensor.dtype
        else:
            if shape is not None and batch_shape is not None:
                raise ValueError("You cannot pass both `shape` and `batch_shape` at the same time.")
            if batch_size is not None and batch_shape is not None:
                raise ValueError("You cannot pass both `batch_size` and `batch_shape` at the same time.")
            if shape is None and batch_shape is None:
                raise ValueError("You must pass a `shape` argument.")
            if shape is not None:
                full = (batch_size, *_standardize_shape("shape", shape))
            else:
                full = _standardize_shape("batch_shape", batch_shape)
        self.batch_shape: Shape = full
        self.dtype = dtype_name("float32" if dtype is None else dtype)
        if input_tensor is None:
            input_tensor = KerasTensor(full, self.dtype, name=self.name)
        input_tensor._keras_history = KerasHistory(self, 0, 0)
        self.inbound_nodes.append(Node(self, None, [input_tensor]))
        self.output = input_tensor
        self.built = True
        self._build_input_shape = full

    def compute_output_shape(self, input_shape: Shape) -> Any:
        return self.batch_shape

    def call(self, inputs: Any, mask: Any = None, training: bool = False, **kwargs: Any) -> Any:
        return inputs

    def get_config(self) -> dict[str, Any]:
        """Keras's InputLayer config: `batch_shape`, `dtype`, `sparse`, `ragged`, `name`."""
        return {
            "batch_shape": list(self.batch_shape),
            "dtype": self.dtype,
            "sparse": False,
            "ragged": False,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> InputLayer:
        config = dict(config)
        config.pop("optional", None)
        config.pop("trainable", None)
        return cls(**config)


def Input(  # noqa: N802 - Keras's name
    shape: Sequence[int | None] | None = None,
    batch_size: int | None = None,
    dtype: Any = None,
    sparse: bool | None = None,
    batch_shape: Sequence[int | None] | None = None,
    name: str | None = None,
    tensor: KerasTensor | None = None,
    optional: bool = False,
) -> KerasTensor:
    """A symbolic input for a functional model (`keras.Input`): the tensor of an `InputLayer`.

    Args: as `InputLayer` (`tensor` is its `input_tensor`).

    Returns:
        The `KerasTensor` to call layers on.

    Example:
        >>> inputs = Input(shape=(None,), dtype="int32")
        >>> x = Embedding(20000, 128)(inputs)
        >>> x.shape
        (None, None, 128)
    """
    layer = InputLayer(
        shape=shape,
        batch_size=batch_size,
        dtype=dtype,
        sparse=sparse,
        batch_shape=batch_shape,
        input_tensor=tensor,
        optional=optional,
        name=name,
    )
    return layer.output
