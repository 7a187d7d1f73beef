"""Named sets of training defaults for `textrnn train --preset NAME`.

Each preset is a complete dict of `TrainOptions` fields; an option given on the command line
overrides the preset's value. `tutorial` is the Keras IMDB RNN tutorial: Embedding(10000, 32) →
SimpleRNN(32) → Dense(1, sigmoid), rmsprop, batch 128, 10 epochs, validation_split 0.2, reviews cut
to their last 500 words. Adding a preset is adding one entry here.
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
        "seed": None,  # a fresh seed, recorded in config.json
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
