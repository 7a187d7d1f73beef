"""Activation functions by Keras name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

Activation = Callable[[torch.Tensor], torch.Tensor]


def linear(x: torch.Tensor) -> torch.Tensor:
    return x


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Keras 3's hard sigmoid: relu6(x + 3) / 6."""
    return F.relu6(x + 3.0) / 6.0


def softmax(x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(x, dim=-1)


_ACTIVATIONS: dict[str, Activation] = {
    "linear": linear,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "softmax": softmax,
    "hard_sigmoid": hard_sigmoid,
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,
    "softplus": F.softplus,
    "softsign": F.softsign,
    "swish": F.silu,
    "silu": F.silu,
}


def get(identifier: Any) -> Activation:
    """Resolve an activation: a Keras name, None (linear) or a callable."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        try:
            return _ACTIVATIONS[identifier.lower()]
        except KeyError:
            raise ValueError(
                f"Unknown activation {identifier!r}. Expected one of: {', '.join(sorted(_ACTIVATIONS))}."
            ) from None
    if callable(identifier):
        return identifier  # type: ignore[no-any-return]
    raise TypeError(f"Could not interpret activation {identifier!r}: expected a name or a callable.")


def serialize(activation: Any) -> str:
    """The Keras name of an activation (for configs)."""
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        get(activation)
        return activation.lower()
    for name, fn in _ACTIVATIONS.items():
        if fn is activation:
            return name
    raise ValueError(f"Cannot serialise activation {activation!r}: use one of the Keras names.")
