"""Runs: the run folder a training job writes, reading it back, and the `Predictor` for raw text.

`train(options, out)` makes a run folder, `resume(path)` continues an interrupted one,
`RunFolder(path)` reads one, and `load(path)` returns a `Predictor`.
"""

from textrnn.runs.folder import RunFolder
from textrnn.runs.options import TrainOptions
from textrnn.runs.predictor import Prediction, Predictor, load
from textrnn.runs.trainer import TrainingInterrupted, TrainResult, resume, train

__all__ = [
    "Prediction",
    "Predictor",
    "RunFolder",
    "TrainOptions",
    "TrainResult",
    "TrainingInterrupted",
    "load",
    "resume",
    "train",
]
