"""Named sets of training defaults, for `textrnn train --preset NAME` and the Python API.

A preset is data, declared beside the options it changes (`textrnn.runs.options.PRESETS`):
a one-line summary and the few values in which it differs from the defaults, which are the
tutorial's. An option given on the command line or as a keyword overrides the preset's value.

- `tutorial`: the Keras IMDB RNN tutorial: Embedding(10000, 32) → SimpleRNN(32) → Dense(1,
  sigmoid), rmsprop, batch 128, 10 epochs, validation_split 0.2, reviews cut to their last 500
  words. The only preset without early stopping (the tutorial has none).
- `fast`: a couple of minutes on two CPU cores, and better than the tutorial: a GRU(64) reading
  word plus hashed bigram vectors (`NGramEmbedding`) of masked, length-bucketed reviews, max and
  mean pooled, Adam with a cosine schedule, early stopping.
- `best`: the strongest recipe measured to train in under 20 minutes on two CPU cores (see
  `docs/accuracy.md`): word vectors learned first by PPMI + SVD (on IMDB also from the 50,000
  unlabelled reviews) plus hashed bigram and trigram vectors (`NGramEmbedding`), a
  bidirectional GRU(64) with max and mean pooling, spatial dropout, Adam with warmup and cosine
  decay, gradient clipping, the epoch kept by `val_acc`, three seeds averaged.

Every preset but `tutorial` keeps the best epoch's model (the run folder always does) and stops
early after `early_stopping` epochs without improvement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from textrnn import runs
from textrnn.callbacks import Callback
from textrnn.models import Sequential
from textrnn.runs import model as run_model
from textrnn.runs.options import DEFAULT_PRESET, TrainOptions, preset_values
from textrnn.runs.options import PRESETS as DECLARED

# Every value each preset trains with (the defaults and its overrides), read-only.
PRESETS: MappingProxyType[str, MappingProxyType[str, Any]] = MappingProxyType(
    {name: MappingProxyType(preset_values(name)) for name in DECLARED}
)


def get_preset(name: str) -> dict[str, Any]:
    """A copy of every value preset `name` sets (the run's own options, such as `data`, aside).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    return preset_values(name)


def overrides(name: str) -> dict[str, Any]:
    """The values in which preset `name` differs from the defaults (the tutorial's).

    Example:
        >>> overrides("fast")["rnn"]
        'gru'
    """
    preset_values(name)  # the error for an unknown name
    return dict(DECLARED[name].overrides)


def options(name: str = DEFAULT_PRESET, **overrides: Any) -> TrainOptions:
    """The `TrainOptions` of preset `name`, with `overrides` (option names) on top.

    Raises:
        ValueError: for an unknown preset or an invalid value; TypeError for an unknown option.

    Example:
        >>> options("best", epochs=3).model_name()
        'Bi-GRU(64) + max/avg pooling over 1-3-grams'
    """
    return TrainOptions.from_preset(name, **overrides)


def build_model(name: str, input_dim: int, num_classes: int = 2, **overrides: Any) -> Sequential:
    """The compiled `Sequential` that preset `name` trains, for a vocabulary of `input_dim`.

    The model only: the preset's training choices (epochs, schedule, early stopping, word
    vectors) are applied by `train`, or by `textrnn train --preset NAME`.

    Example:
        >>> build_model("best", input_dim=30000).count_params()
        55492801
    """
    return run_model.build_model(options(name, **overrides), input_dim, num_classes)


def train(
    name: str = DEFAULT_PRESET,
    out: str | Path | None = None,
    *,
    verbose: int = 1,
    callbacks: Sequence[Callback] = (),
    print_fn: Callable[[str], Any] | None = None,
    **overrides: Any,
) -> runs.TrainResult | runs.EnsembleResult:
    """Train preset `name` (on IMDB unless `data=` is given) into a run folder.

    Keyword arguments that are `TrainOptions` fields override the preset; `verbose`,
    `callbacks` and `print_fn` go to `textrnn.runs.train`.

    Example:
        >>> result = train("best", seed=1)
        >>> result.metrics["accuracy"]
    """
    return runs.train(
        options(name, **overrides), out, verbose=verbose, callbacks=callbacks, print_fn=print_fn
    )


__all__ = ["DEFAULT_PRESET", "PRESETS", "build_model", "get_preset", "options", "overrides", "train"]
