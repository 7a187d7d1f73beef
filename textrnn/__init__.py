"""textrnn: recurrent text classifiers on PyTorch with the Keras workflow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textrnn import _threads

_threads.configure()  # before anything imports torch (OpenMP reads its environment once)

if TYPE_CHECKING:
    from textrnn.runs.predictor import Predictor

__version__ = "0.1.0"


def load(path: Any) -> Predictor:
    """Load a run folder made by `textrnn train` for prediction on raw text.

    Example:
        >>> predictor = textrnn.load("runs/imdb")
        >>> predictor.predict(["What a great movie!"])[0].label
        'pos'
    """
    from textrnn.runs.predictor import load as _load

    return _load(path)
