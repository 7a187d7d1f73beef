"""Runs: the run folder a training job writes, reading it back, and the `Predictor` for raw text.

`train(options, out)` makes a run folder (or an ensemble), `resume(path)` continues an
interrupted one, `tune(options, out)` searches hyperparameters (a run per trial), `open_run(path)`
reads any kind (`RunFolder(path)` a single run), and `load(path)` returns a `Predictor`.

The names are imported on first use (PEP 562), so that importing `textrnn.runs.options` (what
the command line's flags are generated from) does not load PyTorch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textrnn.runs.options import TrainOptions
    from textrnn.runs.predictor import Prediction, Predictor, load
    from textrnn.runs.result import EnsembleResult, TrainingInterrupted, TrainResult
    from textrnn.runs.run import EnsembleRun, Run, RunFolder, SingleRun, TuneRun, open_run
    from textrnn.runs.trainer import resume, train
    from textrnn.runs.tune import TuneResult, tune

_MODULE_OF = {
    "TrainOptions": "options",
    "Prediction": "predictor",
    "Predictor": "predictor",
    "load": "predictor",
    "EnsembleResult": "result",
    "TrainingInterrupted": "result",
    "TrainResult": "result",
    "EnsembleRun": "run",
    "Run": "run",
    "RunFolder": "run",
    "SingleRun": "run",
    "TuneRun": "run",
    "open_run": "run",
    "resume": "trainer",
    "train": "trainer",
    "TuneResult": "tune",
    "tune": "tune",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"textrnn.runs.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "EnsembleResult",
    "EnsembleRun",
    "Prediction",
    "Predictor",
    "Run",
    "RunFolder",
    "SingleRun",
    "TrainOptions",
    "TrainResult",
    "TrainingInterrupted",
    "TuneResult",
    "TuneRun",
    "load",
    "open_run",
    "resume",
    "train",
    "tune",
]
