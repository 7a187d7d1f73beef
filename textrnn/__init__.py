"""textrnn: recurrent text classifiers on PyTorch with the Keras workflow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textrnn import _threads

_threads.configure()  # before anything imports torch (OpenMP reads its environment once)

from textrnn.version import __version__  # noqa: E402

if TYPE_CHECKING:
    from textrnn.runs.predictor import Predictor

__all__ = ["__version__", "load"]


def load(path: Any) -> Predictor:
    """Load a run folder made by `textrnn train` for prediction on raw text.

    Example:
        >>> predictor = textrnn.load("runs/imdb")
        >>> predictor.predict(["What a great movie!"])[0].label
        'pos'
    """
    from textrnn.runs.predictor import load as _load

    return _load(path)


# `import textrnn as keras`, then `keras.layers.LSTM`, `keras.Sequential`, `keras.utils.get_file`
# as with Keras's own top level. Submodules load on first use so `import textrnn` stays fast.
_LAZY_MODULES = (
    "activations",
    "callbacks",
    "datasets",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "preprocessing",
    "utils",
)


# Keras's top-level classes and functions, by the module that holds them.
_LAZY_NAMES = {
    "Sequential": "textrnn.models",
    "Model": "textrnn.models",
    "Input": "textrnn.layers",
    "InputLayer": "textrnn.layers",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f"textrnn.{name}")
    if name in _LAZY_NAMES:
        module = importlib.import_module(_LAZY_NAMES[name])
        return getattr(module, name)
    raise AttributeError(f"module 'textrnn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_MODULES, *_LAZY_NAMES})
