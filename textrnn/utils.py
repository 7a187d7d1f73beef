"""Keras's `keras.utils` helpers under the same names: `pad_sequences`, `set_random_seed`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textrnn.preprocessing.sequence import pad_sequences

if TYPE_CHECKING:
    from textrnn.training.seed import set_random_seed

__all__ = ["pad_sequences", "set_random_seed"]


def __getattr__(name: str) -> Any:
    # Imported on first use: `textrnn.training` pulls in torch-side modules that `pad_sequences`
    # users do not need.
    if name == "set_random_seed":
        from textrnn.training.seed import set_random_seed

        return set_random_seed
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
