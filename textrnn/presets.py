"""Named sets of training defaults for `textrnn train --preset NAME`.

Each preset is a complete dict of `TrainOptions` fields; an option given on the command line
overrides the preset's value. Adding a preset is adding one entry here.

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
  decay, gradient clipping, the epoch kept by `val_acc`.

Every preset but `tutorial` keeps the best epoch's model (the run folder always does) and stops
early after `early_stopping` epochs without improvement.
"""

from __future__ import annotations

from typing import Any

DEFAULT_PRESET = "tutorial"

PRESETS: dict[str, dict[str, Any]] = {
    "tutorial": {
        # model
        "rnn": "simple_rnn",
        "units": 32,
        "layers": 1,
        "bidirectional": False,
        "embedding_dim": 32,
        "dropout": 0.0,
        "mask_zero": False,
        # text
        "num_words": 10_000,
        "min_freq": 1,
        "maxlen": 500,
        # training
        "epochs": 10,
        "batch_size": 128,
        "optimizer": "rmsprop",
        "learning_rate": None,  # the optimizer's Keras default (rmsprop: 0.001)
        "validation_split": 0.2,
        "test_split": 0.2,
        "early_stopping": None,
        "monitor": "val_loss",
        "bucket_by_length": False,
        "pooling": "last",
        "spatial_dropout": 0.0,
        "clipnorm": None,
        "lr_schedule": "constant",
        "ema": None,  # no moving average of the weights
        "word_vectors": "random",
        "ngrams": 1,  # words only
        "ngram_buckets": 262_144,
        "ensemble": 1,  # one model
        "seed": None,  # a fresh seed, recorded in config.json
    },
    "fast": {
        "rnn": "gru",
        "units": 64,
        "layers": 1,
        "bidirectional": False,
        "embedding_dim": 64,
        "dropout": 0.0,
        "mask_zero": True,
        "num_words": 20_000,
        "min_freq": 1,
        "maxlen": 400,
        "epochs": 3,
        "batch_size": 64,
        "optimizer": "adam",
        "learning_rate": 0.002,
        "validation_split": 0.2,
        "test_split": 0.2,
        "early_stopping": 1,
        "monitor": "val_loss",
        "bucket_by_length": True,
        "pooling": "max_avg",
        "spatial_dropout": 0.2,
        "clipnorm": 1.0,
        "lr_schedule": "cosine",
        "ema": None,
        "word_vectors": "random",
        "ngrams": 2,  # words and hashed bigrams (NGramEmbedding)
        "ngram_buckets": 262_144,
        "ensemble": 1,
        "seed": None,
    },
    "best": {
        "rnn": "gru",
        "units": 64,
        "layers": 1,
        "bidirectional": True,
        "embedding_dim": 100,
        "dropout": 0.0,
        "mask_zero": True,
        "num_words": 30_000,
        "min_freq": 1,
        "maxlen": 400,
        "epochs": 2,
        "batch_size": 64,
        "optimizer": "adam",
        "learning_rate": 0.002,
        "validation_split": 0.1,
        "test_split": 0.2,
        "early_stopping": 1,
        "monitor": "val_acc",  # on validation data the annealed last epoch wins by accuracy, not loss
        "bucket_by_length": True,
        "pooling": "max_avg",
        "spatial_dropout": 0.3,
        "clipnorm": 1.0,
        "lr_schedule": "cosine",
        "ema": None,
        "word_vectors": "ppmi",
        "ngrams": 3,  # words, hashed bigrams and trigrams (NGramEmbedding)
        "ngram_buckets": 262_144,
        "ensemble": 3,  # three seeds, predicting with their mean probability
        "seed": None,
    },
}


def get_preset(name: str) -> dict[str, Any]:
    """A copy of preset `name`'s option values.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name not in PRESETS:
        raise ValueError(
            f"Received an invalid value for `--preset`, expected one of {', '.join(sorted(PRESETS))}, got {name!r}."
        )
    return dict(PRESETS[name])


def options(name: str = DEFAULT_PRESET, **overrides: Any) -> Any:
    """The `TrainOptions` of preset `name`, with `overrides` (option names) on top.

    Raises:
        ValueError: for an unknown preset or an invalid value; TypeError for an unknown option.

    Example:
        >>> options("best", epochs=3).model_name()
        'Bi-GRU(64) + max/avg pooling over 1-3-grams'
    """
    from textrnn.runs.options import TrainOptions

    return TrainOptions.from_preset(name, **overrides)


def build_model(name: str, input_dim: int, num_classes: int = 2, **overrides: Any) -> Any:
    """The compiled `Sequential` that preset `name` trains, for a vocabulary of `input_dim`.

    The model only: the preset's training choices (epochs, schedule, early stopping, word
    vectors) are applied by `train`, or by `textrnn train --preset NAME`.

    Example:
        >>> build_model("best", input_dim=30000).count_params()
        55492801
    """
    from textrnn.runs.model import build_model as _build

    return _build(options(name, **overrides), input_dim, num_classes)


def train(name: str = DEFAULT_PRESET, out: Any = None, **overrides: Any) -> Any:
    """Train preset `name` (on IMDB unless `data=` is given) into a run folder; see `textrnn.runs.train`.

    Keyword arguments that are `TrainOptions` fields override the preset; `verbose` and
    `callbacks` go to the trainer.

    Example:
        >>> result = train("best", seed=1)
        >>> result.metrics["accuracy"]
    """
    from textrnn.runs.trainer import train as _train

    run_args = {k: overrides.pop(k) for k in ("verbose", "callbacks", "print_fn") if k in overrides}
    return _train(options(name, **overrides), out, **run_args)
