"""Symbolic tensors for the functional API: `KerasTensor` and the `Node` that made it.

Calling a layer on a `KerasTensor` (from `keras.Input`) runs nothing on data: the layer builds for
the tensor's shape, works out its output shape (`compute_output_shape`), checks itself on a tiny
batch of zeros, and records a `Node` — the layer, the tensors it was called on, the tensors it
made — in `layer.inbound_nodes`. Each output tensor remembers `(layer, node_index,
tensor_index)` as Keras's `_keras_history`, which is all `textrnn.models.Model` needs to walk the
graph back from its outputs to its inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import torch

from textrnn import checks

if TYPE_CHECKING:
    from textrnn.layers.base import Layer

Shape = tuple[int | None, ...]

#: Keras's dtype names → torch dtypes (what a symbolic input may hold).
DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "int64": torch.int64,
    "int32": torch.int32,
    "int16": torch.int16,
    "int8": torch.int8,
    "uint8": torch.uint8,
    "bool": torch.bool,
}
_TORCH_NAMES = {v: k for k, v in DTYPES.items()}


class KerasHistory(NamedTuple):
    """Where a symbolic tensor comes from:
    `layer.inbound_nodes[node_index].outputs[tensor_index]`."""

    layer: Layer
    node_index: int
    tensor_index: int


class KerasTensor:
    """A symbolic tensor: a shape (batch first, None for unknown sizes) and a dtype, no values.

    Made by `keras.Input(...)` and by calling layers on other symbolic tensors.

    Attributes:
        shape: the shape, e.g. `(None, None)` for token ids of any length.
        dtype: the Keras dtype name, e.g. `"int32"`, `"float32"`.
        name: a name for display.
    """

    def __init__(self, shape: Sequence[int | None], dtype: str = "float32", name: str | None = None) -> None:
        self.shape: Shape = tuple(shape)
        self.dtype = dtype
        self.name = name or "keras_tensor"
        self._keras_history: KerasHistory | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def keras_history(self) -> KerasHistory:
        """`(layer, node_index, tensor_index)` of the call that made this tensor."""
        if self._keras_history is None:
            raise ValueError(f"{self!r} was not made by `keras.Input` or by calling a layer.")
        return self._keras_history

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, sparse=False, name={self.name}>"

    def __bool__(self) -> bool:
        raise TypeError(
            "A symbolic KerasTensor has no value: it cannot be used as a Python boolean. Build the "
            "model with `keras.Model(inputs, outputs)` and call it on data."
        )

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"{self!r} is symbolic: it cannot become a NumPy array. Pass it to layers, then build "
            "a model with `keras.Model(inputs, outputs)` and call `model.predict(data)`."
        )


@dataclass(eq=False)
class Node:
    """One call of a layer in a graph: what it was called on and what it made.

    `inputs` keeps the structure the layer was called with: one `KerasTensor`, or a list of them
    (a merge layer); `kwargs` the other (non-tensor) call arguments, e.g. `training`.
    """

    layer: Layer
    inputs: KerasTensor | list[KerasTensor] | None
    outputs: list[KerasTensor]
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def input_tensors(self) -> list[KerasTensor]:
        if self.inputs is None:
            return []
        return list(self.inputs) if isinstance(self.inputs, list) else [self.inputs]

    @property
    def parent_nodes(self) -> list[Node]:
        return [t.keras_history.layer.inbound_nodes[t.keras_history.node_index] for t in self.input_tensors]

    @property
    def is_input(self) -> bool:
        return self.inputs is None


def dtype_name(dtype: Any) -> str:
    """A Keras dtype name from a name, a torch dtype or a NumPy dtype."""
    if isinstance(dtype, torch.dtype) and dtype in _TORCH_NAMES:
        return _TORCH_NAMES[dtype]
    name = getattr(dtype, "name", dtype) if not isinstance(dtype, str) else dtype
    if isinstance(dtype, type):
        name = dtype.__name__
    if name not in DTYPES:
        raise checks.invalid("dtype", f"one of {', '.join(DTYPES)}", dtype)
    return str(name)


def is_symbolic(inputs: Any) -> bool:
    """Whether `inputs` is a KerasTensor or a list / tuple holding one."""
    if isinstance(inputs, KerasTensor):
        return True
    return isinstance(inputs, (list, tuple)) and any(isinstance(t, KerasTensor) for t in inputs)


def _dummy(tensor: KerasTensor, device: torch.device | None) -> torch.Tensor:
    # A tiny batch of zeros (valid token ids too) standing in for the tensor: None sizes become 2.
    shape = [2 if d is None else d for d in tensor.shape]
    return torch.zeros(shape, dtype=DTYPES[tensor.dtype], device=device)


def _shapes(structure: KerasTensor | list[KerasTensor]) -> Any:
    if isinstance(structure, list):
        return [t.shape for t in structure]
    return structure.shape


def _is_shape(value: Any) -> bool:
    return isinstance(value, tuple) and all(d is None or isinstance(d, int) for d in value)


def symbolic_call(layer: Layer, inputs: Any, mask: Any, kwargs: dict[str, Any]) -> Any:
    """Call `layer` on symbolic `inputs`: build it, infer its outputs, record the node.

    Returns:
        One `KerasTensor`, or a list of them when the layer has several outputs (`return_state`).

    Raises:
        TypeError: if `inputs` mixes symbolic tensors with data, or `mask` / a keyword argument
            is symbolic.
        ValueError: if the layer cannot take inputs of these shapes (the layer's own message).
    """
    if isinstance(inputs, (list, tuple)):
        if not all(isinstance(t, KerasTensor) for t in inputs):
            raise TypeError(
                f"Layer `{layer.name}` was called on a list mixing symbolic tensors and data: "
                f"{list(inputs)!r:.300}. In a functional model, every input must be a KerasTensor."
            )
        structure: KerasTensor | list[KerasTensor] = list(inputs)
    else:
        structure = inputs
    if mask is not None or any(is_symbolic(v) for v in kwargs.values()):
        raise TypeError(
            f"Layer `{layer.name}`: textrnn's functional models pass masks along the graph "
            "themselves and take symbolic tensors only as the layer's inputs, not as `mask=` or "
            "other keyword arguments (such as `initial_state`)."
        )
    shape = _shapes(structure)
    layer.maybe_build(shape)
    out_shape = layer.compute_output_shape(shape)
    # Run the layer once on zeros: a shape the layer cannot take fails here, with its message,
    # and the output dtypes come from what the layer really returns.
    device = layer._device()
    if isinstance(structure, list):
        dummy: Any = [_dummy(t, device) for t in structure]
    else:
        dummy = _dummy(structure, device)
    call_kwargs = {"training": False, **kwargs}
    with torch.no_grad():
        result = layer.call(dummy, mask=None, **call_kwargs)
    values = list(result) if isinstance(result, (list, tuple)) else [result]
    shapes = [out_shape] if _is_shape(out_shape) else [tuple(s) for s in out_shape]
    if len(shapes) != len(values):
        raise ValueError(
            f"Layer `{layer.name}` returned {len(values)} outputs but its `compute_output_shape` "
            f"gives {len(shapes)} shapes ({out_shape!r})."
        )
    node_index = len(layer.inbound_nodes)
    outputs = []
    for i, (s, v) in enumerate(zip(shapes, values, strict=True)):
        dtype = dtype_name(v.dtype) if isinstance(v, torch.Tensor) else "float32"
        t = KerasTensor(s, dtype, name=f"keras_tensor_{layer.name}_{node_index}_{i}")
        t._keras_history = KerasHistory(layer, node_index, i)
        outputs.append(t)
    layer.inbound_nodes.append(Node(layer, structure, outputs, dict(kwargs)))
    if isinstance(result, (list, tuple)):
        return outputs
    return outputs[0]
