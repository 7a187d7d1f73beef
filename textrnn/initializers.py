"""Weight initialisers with Keras's names, defaults and arithmetic.

`get()` accepts a Keras name (`"glorot_uniform"`, `"orthogonal"`, `"zeros"`, `"ones"`,
`"random_uniform"`, `"uniform"`), an initializer object, a serialised initializer (dict), or a
callable `f(shape, dtype) -> tensor`. Draws use PyTorch's global generator unless a `seed` is given,
so `textrnn.utils.set_random_seed` makes them reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from textrnn import checks

Shape = tuple[int, ...]


class Initializer:
    """Base class: `init(shape, dtype=torch.float32)` returns a new tensor."""

    def __call__(self, shape: Shape, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)

    def _generator(self) -> torch.Generator | None:
        seed = getattr(self, "seed", None)
        if seed is None:
            return None
        g = torch.Generator()
        g.manual_seed(int(seed))
        return g


class Constant(Initializer):
    """Every value `value`: a number, or a whole array (pretrained vectors, a bias vector).

    An array must have the weight's shape (or broadcast to it, as in Keras): that is checked when
    the weight is made, with an error naming both shapes.

    Example:
        >>> Embedding(10000, 100, embeddings_initializer=Constant(matrix), trainable=False)
    """

    def __init__(self, value: Any = 0.0) -> None:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self.value: float | np.ndarray = float(value)
        else:
            if isinstance(value, torch.Tensor):
                value = value.detach().cpu().numpy()
            arr = np.asarray(value)
            if arr.dtype.kind not in "biuf":
                got = f"{type(value).__name__} of dtype {arr.dtype}"
                expected = "a number or an array of numbers"
                raise checks.invalid("value", expected, value, error=TypeError, got=got)
            self.value = float(arr) if arr.ndim == 0 else arr.astype(np.float32)

    def __call__(self, shape: Shape, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        if isinstance(self.value, float):
            return torch.full(shape, self.value, dtype=dtype)
        try:
            arr = np.broadcast_to(self.value, tuple(shape))
        except ValueError:
            raise ValueError(
                f"The Constant initializer's array has shape {self.value.shape}, but the weight it "
                f"initializes has shape {tuple(shape)}: give an array of shape {tuple(shape)}."
            ) from None
        return torch.tensor(np.array(arr), dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"value": self.value if isinstance(self.value, float) else self.value.tolist()}


class Zeros(Constant):
    def __init__(self) -> None:
        super().__init__(0.0)

    def get_config(self) -> dict[str, Any]:
        return {}


class Ones(Constant):
    def __init__(self) -> None:
        super().__init__(1.0)

    def get_config(self) -> dict[str, Any]:
        return {}


class RandomUniform(Initializer):
    """Uniform in `[minval, maxval)`; Keras's defaults ±0.05 (also Embedding's default)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None) -> None:
        if maxval <= minval:
            raise checks.invalid("maxval", f"a number greater than `minval` ({minval})", maxval)
        self.minval, self.maxval, self.seed = float(minval), float(maxval), seed

    def __call__(self, shape: Shape, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        u = torch.rand(shape, generator=self._generator(), dtype=dtype)
        return u * (self.maxval - self.minval) + self.minval

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _fans(shape: Shape) -> tuple[float, float]:
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


class GlorotUniform(Initializer):
    """Uniform in ±sqrt(6 / (fan_in + fan_out)) (Keras's default kernel initialiser)."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed

    def __call__(self, shape: Shape, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        fan_in, fan_out = _fans(shape)
        limit = math.sqrt(6.0 / max(1.0, fan_in + fan_out))
        u = torch.rand(shape, generator=self._generator(), dtype=dtype)
        return u * (2 * limit) - limit

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times `gain`, as Keras draws it (QR of a normal matrix, sign-fixed);
    Keras's default recurrent-kernel initialiser."""

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        self.gain, self.seed = float(gain), seed

    def __call__(self, shape: Shape, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        if len(shape) < 2:
            raise ValueError(f"The Orthogonal initializer needs a shape of rank >= 2, got {shape}.")
        rows = math.prod(shape[:-1])
        cols = shape[-1]
        a = torch.randn((max(rows, cols), min(rows, cols)), generator=self._generator(), dtype=torch.float64)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r))
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).to(dtype)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, "seed": self.seed}


_ALIASES: dict[str, type[Initializer]] = {
    "zeros": Zeros,
    "zero": Zeros,
    "ones": Ones,
    "one": Ones,
    "constant": Constant,
    "random_uniform": RandomUniform,
    "uniform": RandomUniform,
    "glorot_uniform": GlorotUniform,
    "orthogonal": Orthogonal,
}
_CLASSES = {cls.__name__: cls for cls in (Constant, Zeros, Ones, RandomUniform, GlorotUniform, Orthogonal)}


def get(identifier: Any) -> Callable[..., torch.Tensor]:
    """Resolve a Keras initializer name, dict, object or callable."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _ALIASES:
            return _ALIASES[key]()
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        raise ValueError(
            f"Unknown initializer {identifier!r}. Expected one of: {', '.join(sorted(_ALIASES))}, "
            "or an object from `textrnn.initializers`."
        )
    if isinstance(identifier, dict) and "class_name" in identifier:
        name = identifier["class_name"]
        cls = _CLASSES.get(name) or _ALIASES.get(str(name).lower())
        if cls is None:
            raise ValueError(f"Unknown initializer class {name!r} in config.")
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier  # type: ignore[no-any-return]
    raise TypeError(
        f"Could not interpret initializer {identifier!r}: expected a name, a dict or an initializer."
    )


def serialize(initializer: Any) -> Any:
    """A JSON-friendly form of an initializer, readable by `get()`."""
    if isinstance(initializer, str):
        return initializer
    if isinstance(initializer, Initializer):
        return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
    raise TypeError(
        f"Cannot serialise initializer {initializer!r}; use a Keras name or a `textrnn.initializers` object."
    )
