"""The base of every textrnn layer: build on first call, Keras-layout weights, configs.

A `Layer` is a `torch.nn.Module` whose parameters are created by `build(input_shape)` once the size
of its input is known (from the previous layer in a `Sequential`, or from the first call), exactly as
Keras layers do. Weights are stored in Keras's layout (e.g. a Dense kernel is `(input_dim, units)`),
so `get_weights()` / `set_weights()` exchange arrays with Keras unchanged, and the order in which
`add_weight` is called is the order Keras uses.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import re
import warnings
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from textrnn import checks
from textrnn.backend import FLOATX, to_tensor
from textrnn.layers import keras_tensor

# While set, `add_weight` makes storage-less "meta" tensors: a model's weight shapes can be learned
# from its config without allocating them (saving.py checks them against a file before loading).
_SHAPES_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("textrnn_shapes_only", default=False)


@contextlib.contextmanager
def shapes_only() -> Iterator[None]:
    """Inside the block, layers built create weights on the meta device (shapes, no memory)."""
    token = _SHAPES_ONLY.set(True)
    try:
        yield
    finally:
        _SHAPES_ONLY.reset(token)


Shape = tuple[int | None, ...]

_NAME_COUNTS: defaultdict[str, int] = defaultdict(int)


def snake_case(name: str) -> str:
    """`SimpleRNN` → `simple_rnn`: a class name as Keras's automatic layer names spell it."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def unique_name(prefix: str) -> str:
    """Keras-style automatic names: `simple_rnn`, `simple_rnn_1`, ..."""
    count = _NAME_COUNTS[prefix]
    _NAME_COUNTS[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def reset_names() -> None:
    """Restart the automatic layer names (as `keras.backend.clear_session()` does)."""
    _NAME_COUNTS.clear()


class Layer(nn.Module):
    """Base class of textrnn layers.

    Subclasses implement `build(input_shape)` (create weights with `add_weight`), `call(inputs,
    mask=None, training=False)`, `compute_output_shape(input_shape)`, and `get_config()` (their
    constructor arguments). Masks flow as boolean `(batch, steps)` tensors: `compute_mask` says what
    mask a layer passes on.

    Args:
        name: layer name; a unique snake_case name of the class by default.
        trainable: whether the layer's weights are updated by training.
    """

    supports_masking: bool = False
    _input_shape_arg: tuple[int | None, ...] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Every layer accepts Keras's legacy `input_shape=` / `input_dim=` (first layer of a
        # Sequential) without each constructor naming them: the class's own `__init__` is wrapped.
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None:
            type.__setattr__(cls, "__init__", _with_input_shape(init))

    def __init__(self, *, name: str | None = None, trainable: bool = True) -> None:
        super().__init__()
        if name is not None and not isinstance(name, str):
            raise checks.invalid("name", "a string", name, error=TypeError)
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.built = False
        self._trainable = bool(trainable)
        self._weight_names: list[str] = []
        self._build_input_shape: Shape | None = None
        #: the calls of this layer on symbolic tensors (`textrnn.layers.keras_tensor.Node`)
        self.inbound_nodes: list[Any] = []

    @property
    def input_shape_arg(self) -> Shape | None:
        """The legacy `input_shape=` (or `input_dim=`) given to the constructor, without the batch
        axis, or None."""
        return self._input_shape_arg

    @property
    def build_input_shape(self) -> Shape | None:
        """The input shape (batch first) the layer was built for, None before it is built."""
        return self._build_input_shape

    def _set_input_shape_arg(self, input_shape: Any, input_dim: Any) -> None:
        """Keras 3's legacy arguments: warn as Keras does, then build for `(None, *input_shape)`
        so that a Sequential starting with this layer knows its input shape."""
        from textrnn import checks

        warnings.warn(
            "Do not pass an `input_shape`/`input_dim` argument to a layer. When using Sequential "
            "models, prefer using an `Input(shape)` object as the first layer in the model "
            "instead.",
            stacklevel=3,
        )
        if input_dim is not None:
            input_shape = (checks.positive_int("input_dim", input_dim),)
        dims_ok = isinstance(input_shape, (tuple, list)) and all(
            d is None or (checks._is_int(d) and d > 0) for d in input_shape
        )
        if not dims_ok:
            expected = "a tuple of positive integers or None, without the batch axis"
            raise checks.invalid("input_shape", expected, input_shape)
        self._input_shape_arg = tuple(input_shape)
        shape = (None, *input_shape)
        self.maybe_build(shape)
        if self.built:
            self._build_input_shape = shape

    # ----------------------------------------------------------------- building
    def build(self, input_shape: Shape) -> None:
        """Create the weights for inputs of `input_shape` (batch dimension first, may be None)."""
        self._build_input_shape = tuple(input_shape)
        self.built = True

    def maybe_build(self, input_shape: Sequence[int | None]) -> None:
        if not self.built:
            self.build(tuple(input_shape))
            self._build_input_shape = tuple(input_shape)
            self.built = True

    def add_weight(
        self,
        name: str,
        shape: Sequence[int],
        initializer: Any = "zeros",
        trainable: bool = True,
    ) -> nn.Parameter:
        """Create, initialise and register a weight; Keras's `get_weights` order is creation order."""
        from textrnn import initializers

        init = initializers.get(initializer)
        dims = tuple(int(d) for d in shape)
        if _SHAPES_ONLY.get():
            value: Any = torch.empty(dims, dtype=FLOATX, device="meta")
        else:
            value = init(dims, dtype=FLOATX)
        param = nn.Parameter(
            torch.as_tensor(value, dtype=FLOATX), requires_grad=trainable and self._trainable
        )
        self.register_parameter(name, param)
        self._weight_names.append(name)
        return param

    def compute_output_shape(self, input_shape: Shape) -> Any:
        return tuple(input_shape)

    def compute_mask(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor | None:
        """The mask passed to the next layer: unchanged if the layer supports masking, else None."""
        return mask if self.supports_masking else None

    # ----------------------------------------------------------------- calling
    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> Any:
        raise NotImplementedError

    def forward(self, inputs: Any, mask: Any = None, training: bool | None = None, **kwargs: Any) -> Any:
        """Convert NumPy input to a tensor, build on first use, then `call`.

        `training=None` means inference (dropout off), as in Keras outside `fit`. Called on
        symbolic tensors (`keras.Input`), it records the call for a functional model instead.
        """
        if is_text(inputs):  # raw strings, for a model starting with TextVectorization
            self.maybe_build((None,))
            return self.call(inputs, mask=None, training=bool(training), **kwargs)
        if keras_tensor.is_symbolic(inputs):
            return keras_tensor.symbolic_call(self, inputs, mask, {**kwargs, **_given(training)})
        if not isinstance(inputs, (torch.Tensor, list, tuple)):
            inputs = to_tensor(inputs)
        elif isinstance(inputs, (list, tuple)) and not isinstance(inputs[0], torch.Tensor):
            inputs = to_tensor(inputs)
        if isinstance(inputs, torch.Tensor):
            self.maybe_build((None, *inputs.shape[1:]))
            device = self._device()
            if device is not None and inputs.device != device:
                inputs = inputs.to(device)
        if mask is not None and not isinstance(mask, (list, tuple)):
            mask = to_tensor(
                mask, dtype=torch.bool, device=inputs.device if isinstance(inputs, torch.Tensor) else None
            )
        if training is None:
            training = False  # Keras: inference behaviour unless a training loop says otherwise
        return self.call(inputs, mask=mask, training=training, **kwargs)

    def _device(self) -> torch.device | None:
        for p in self.parameters():
            return p.device
        return None

    # ----------------------------------------------------------------- weights
    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for p in self.parameters():
            p.requires_grad_(self._trainable)

    @property
    def weights(self) -> list[nn.Parameter]:
        """The layer's weights in Keras's order (sub-layers' weights included, in order)."""
        return [getattr(self, n) for n in self._weight_names]

    @property
    def trainable_weights(self) -> list[nn.Parameter]:
        return [w for w in self.weights if w.requires_grad]

    @property
    def non_trainable_weights(self) -> list[nn.Parameter]:
        return [w for w in self.weights if not w.requires_grad]

    def get_weights(self) -> list[np.ndarray]:
        """The weights as NumPy arrays, in Keras's layout and order."""
        return [w.detach().cpu().numpy().copy() for w in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Set the weights from arrays in Keras's layout and order (as `get_weights` returns them)."""
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(
                f"Layer `{self.name}` expects {len(own)} weight arrays "
                f"({', '.join(self._weight_names) or 'none'}), got {len(weights)}."
                + ("" if self.built else " The layer is not built yet: call it once or build it first.")
            )
        for w, value, wname in zip(own, weights, self._weight_names, strict=True):
            arr = np.asarray(value, dtype=np.float32)
            if tuple(arr.shape) != tuple(w.shape):
                raise ValueError(
                    f"Weight `{wname}` of layer `{self.name}` has shape {tuple(w.shape)}, "
                    f"got an array of shape {arr.shape}."
                )
            with torch.no_grad():
                w.copy_(torch.from_numpy(arr))

    def count_params(self) -> int:
        return int(sum(w.numel() for w in self.weights))

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-serialisable; `from_config(get_config())` makes a twin."""
        return {"name": self.name, "trainable": self._trainable}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


def _given(training: bool | None) -> dict[str, Any]:
    return {} if training is None else {"training": training}


def is_text(value: Any) -> bool:
    """Whether `value` is a batch of strings: a str/bytes NumPy array, or a list of strings."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "US":
            return True
        return value.dtype == object and value.size > 0 and isinstance(value.flat[0], (str, bytes))
    if isinstance(value, (list, tuple)) and value:
        return isinstance(value[0], (str, bytes, np.str_)) or (
            isinstance(value[0], list)
            and len(value[0]) == 1
            and isinstance(value[0][0], (str, bytes, np.str_))
        )
    return False


def _with_input_shape(init: Any) -> Any:
    # A constructor's own argument of that name (Embedding's `input_dim` is its vocabulary size)
    # is its own, as in Keras, where only what reaches the base Layer is taken as a shape.
    own = set(inspect.signature(init).parameters)

    @functools.wraps(init)
    def __init__(self: Layer, *args: Any, **kwargs: Any) -> None:
        input_shape = kwargs.pop("input_shape", None) if "input_shape" not in own else None
        input_dim = kwargs.pop("input_dim", None) if "input_dim" not in own else None
        init(self, *args, **kwargs)
        if input_shape is not None or input_dim is not None:
            self._set_input_shape_arg(input_shape, input_dim)

    return __init__
