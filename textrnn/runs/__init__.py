"""Runs: the run folder a training job writes, reading it back, and the `Predictor` for raw text.

`train(options, out)` makes a run folder (or an ensemble), `resume(path)` continues an
interrupted one, `open_run(path)` reads either kind (`RunFolder(path)` a single run), and
`load(path)` returns a `Predictor`.
"""

from textrnn.runs.options import TrainOptions
from textrnn.runs.predictor import Prediction, Predictor, load
from textrnn.runs.result import EnsembleResult, TrainingInterrupted, TrainResult
from textrnn.runs.run import EnsembleRun, Run, RunFolder, SingleRun, open_run
from textrnn.runs.trainer import resume, train

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
    "load",
    "open_run",
    "resume",
    "train",
]
