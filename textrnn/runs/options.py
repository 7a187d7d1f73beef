"""`TrainOptions`: every choice a training run makes, validated, JSON round-trippable.

The options are what `textrnn train` takes on the command line (each field is the flag without
dashes, `-` for `_`) and what a run's `config.json` stores under `"options"`, so `--resume` and
a reproduction read them back unchanged.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import Any

from textrnn.data.readers import FORMATS
from textrnn.layers.ngram_embedding import MAX_NGRAMS
from textrnn.presets import DEFAULT_PRESET, get_preset

RNN_TYPES = ("simple_rnn", "lstm", "gru")
OPTIMIZERS = ("rmsprop", "adam", "sgd")
POOLINGS = ("last", "max_avg")
LR_SCHEDULES = ("constant", "cosine")
WORD_VECTORS = ("random", "ppmi")
MONITORS = ("val_loss", "val_acc", "loss", "acc")
MIN_NUM_WORDS = 4  # indices 0-2 are padding, start and out-of-vocabulary: 3 is the first word


def _invalid(name: str, expected: str, value: Any, fix: str = "") -> ValueError:
    flag = "--" + name.replace("_", "-")
    return ValueError(
        f"Received an invalid value for argument `{name}` (`{flag}`), expected {expected}, got {value!r}."
        + (f" {fix}" if fix else "")
    )


def _int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        expected = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
        raise _invalid(name, expected, value, f"Pass {flag_of(name)} {max(minimum, 1)} or more.")


def _fraction(name: str, value: Any, *, allow_zero: bool) -> None:
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and not math.isnan(value)
    if ok:
        ok = (0.0 <= value < 1.0) if allow_zero else (0.0 < value < 1.0)
    if not ok:
        raise _invalid(name, "a fraction in [0, 1)" if allow_zero else "a fraction in (0, 1)", value)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise _invalid(name, f"one of {', '.join(choices)}", value)


def flag_of(name: str) -> str:
    """The command-line flag of option `name`: `epochs` → `--epochs`."""
    return "--" + name.replace("_", "-")


@dataclass
class TrainOptions:
    """The options of a training run; defaults are the `tutorial` preset's.

    Args:
        data: the user's dataset (a CSV, TSV, JSON Lines or Parquet file, or a folder of class
            folders); None trains on IMDB.
        data_format: the reader for `data` (`csv`, `tsv`, `jsonl`, `parquet`, `folder`); None
            detects it from the extension.
        text_column: the text column or key, default `"text"`.
        label_column: the label column or key, default `"label"`.
        encoding: the text encoding of the data files, default `"utf-8"`.
        test_data: a separate labelled test set, read like `data`; None holds out `test_split`
            of `data` (or uses the `test/` folder of a folder tree, or IMDB's test reviews).
        test_split: the fraction held out for testing when there is no test set, default 0.2,
            stratified by class and seeded with `seed`.
        rnn: `simple_rnn`, `lstm` or `gru`.
        units: units of each recurrent layer.
        layers: how many recurrent layers to stack (all but the last return sequences).
        bidirectional: wrap each recurrent layer in `Bidirectional` (merge mode `concat`).
        embedding_dim: size of the word vectors.
        dropout: rate of a `Dropout` layer after each recurrent layer; 0 for none.
        mask_zero: whether the `Embedding` masks padding (index 0) so the RNN skips it.
        num_words: vocabulary size in Keras's sense: word indices below `num_words` are kept
            (the most frequent `num_words - 4` words), others become the out-of-vocabulary index.
        min_freq: keep only words seen at least this many times in the training texts.
        maxlen: sequences are cut (keeping their end) or padded (at the start) to this length.
        epochs: number of passes over the training data.
        batch_size: samples per gradient step.
        optimizer: `rmsprop`, `adam` or `sgd`.
        learning_rate: None for the optimizer's Keras default, else a positive float.
        validation_split: the fraction of training data (its last part, as in Keras) held out to
            validate each epoch; 0 for none.
        early_stopping: None, or stop after this many epochs without improvement of `monitor`.
        monitor: the figure that picks the best epoch (the saved model) and drives early
            stopping; `val_loss` by default (`loss` when there is no validation data).
        bucket_by_length: batch training sequences of similar length together.
        pooling: what the classifier sees of the last recurrent layer: `last` (its final state,
            as the tutorial) or `max_avg` (the max and the mean of all its states,
            `GlobalMaxAvgPooling1D`).
        spatial_dropout: rate of a `SpatialDropout1D` after the `Embedding`; 0 for none.
        clipnorm: clip each gradient to this norm (the optimizer's `clipnorm`); None for none.
        lr_schedule: `constant`, or `cosine` (`textrnn.callbacks.CosineDecay` from the learning
            rate to 0 over all planned steps, after a 5% warmup).
        ema: None, or the momentum (e.g. 0.98) of a moving average of the weights kept by the
            optimizer (Keras's `use_ema`), written into the model at the end of every epoch
            (`ema_overwrite_frequency` = steps per epoch), so that validation, early stopping,
            the checkpoint and the saved model all see the average.
        word_vectors: the `Embedding`'s start: `random` (Keras's), or `ppmi` (PPMI + SVD vectors
            learned from the training texts, and IMDB's 50,000 unlabelled reviews when training
            on IMDB; see `textrnn.preprocessing.word_vectors`).
        ngrams: 1 embeds words alone (`Embedding`); 2 to 5 also embeds the word n-grams up to
            that length ending at each position, hashed into `ngram_buckets` rows per length,
            and adds them to the word's vector (`textrnn.layers.NGramEmbedding`).
        ngram_buckets: rows of each n-gram table when `ngrams > 1`.
        ensemble: how many models to train (seeds `seed`, `seed + 1`, ...); above 1 the run
            folder is an ensemble whose prediction is the mean of its members' probabilities
            (`textrnn.runs.ensemble`).
        split_seed: seeds the test split instead of `seed` (an ensemble's members share one
            test split); None: `seed`.
        seed: seeds weights, shuffling and the test split (unless `split_seed`); None draws one
            (recorded in the run).
        preset: the preset the defaults came from (recorded, see `textrnn.presets`).
    """

    data: str | None = None
    data_format: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    encoding: str = "utf-8"
    test_data: str | None = None
    test_split: float = 0.2
    rnn: str = "simple_rnn"
    units: int = 32
    layers: int = 1
    bidirectional: bool = False
    embedding_dim: int = 32
    dropout: float = 0.0
    mask_zero: bool = False
    num_words: int = 10_000
    min_freq: int = 1
    maxlen: int = 500
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "rmsprop"
    learning_rate: float | None = None
    validation_split: float = 0.2
    early_stopping: int | None = None
    monitor: str = "val_loss"
    bucket_by_length: bool = False
    pooling: str = "last"
    spatial_dropout: float = 0.0
    clipnorm: float | None = None
    lr_schedule: str = "constant"
    ema: float | None = None
    word_vectors: str = "random"
    ngrams: int = 1
    ngram_buckets: int = 262_144
    ensemble: int = 1
    split_seed: int | None = None
    seed: int | None = None
    preset: str = DEFAULT_PRESET

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def from_preset(cls, preset: str = DEFAULT_PRESET, **overrides: Any) -> TrainOptions:
        """The preset's values, with every override that is not None applied on top.

        Without validation data (`validation_split=0`) and no `monitor` given, a `val_` monitor
        of the preset becomes its training twin (`val_loss` → `loss`).

        Raises:
            ValueError: for an unknown preset or an invalid value.
            TypeError: for an unknown option name.
        """
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise TypeError(f"Unknown training option(s) {unknown}; expected some of {sorted(names)}.")
        values = get_preset(preset)
        given = {k: v for k, v in overrides.items() if v is not None}
        values.update(given)
        values["preset"] = preset
        if "monitor" not in given and values["validation_split"] == 0 and str(values["monitor"]).startswith("val_"):
            values["monitor"] = values["monitor"][4:]  # no validation data: watch the training figure
        return cls(**values)

    def validate(self) -> None:
        """Check every field; raise ValueError naming the first bad one and its flag."""
        for name in ("data", "test_data"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise _invalid(name, "a path", value)
        if self.data_format is not None:
            _choice("data_format", self.data_format, FORMATS)
        for name in ("text_column", "label_column", "encoding"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise _invalid(name, "a non-empty string", getattr(self, name))
        if self.data is None and self.test_data is not None:
            raise _invalid("test_data", "no test data when training on IMDB", self.test_data, "Pass --data as well.")
        _fraction("test_split", self.test_split, allow_zero=False)
        _choice("rnn", self.rnn, RNN_TYPES)
        _int("units", self.units, 1)
        _int("layers", self.layers, 1)
        _int("embedding_dim", self.embedding_dim, 1)
        _fraction("dropout", self.dropout, allow_zero=True)
        _int("num_words", self.num_words, MIN_NUM_WORDS)
        _int("min_freq", self.min_freq, 1)
        _int("maxlen", self.maxlen, 1)
        _int("epochs", self.epochs, 1)
        _int("batch_size", self.batch_size, 1)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.learning_rate is not None:
            lr = self.learning_rate
            if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0.0 < lr < math.inf:
                raise _invalid("learning_rate", "a positive number", lr)
        _fraction("validation_split", self.validation_split, allow_zero=True)
        if self.early_stopping is not None:
            _int("early_stopping", self.early_stopping, 1)
        _choice("monitor", self.monitor, MONITORS)
        if self.monitor.startswith("val_") and self.validation_split == 0:
            raise _invalid(
                "monitor", "`loss` or `acc` when there is no validation data", self.monitor,
                "Pass --monitor loss, or a --validation-split above 0.",
            )
        _choice("pooling", self.pooling, POOLINGS)
        _fraction("spatial_dropout", self.spatial_dropout, allow_zero=True)
        if self.clipnorm is not None:
            c = self.clipnorm
            if isinstance(c, bool) or not isinstance(c, (int, float)) or not 0.0 < c < math.inf:
                raise _invalid("clipnorm", "a positive number", c)
        _choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        if self.ema is not None:
            m = self.ema
            if isinstance(m, bool) or not isinstance(m, (int, float)) or not 0.0 < m < 1.0:
                raise _invalid("ema", "a momentum between 0 and 1 (exclusive), such as 0.98", m)
        _choice("word_vectors", self.word_vectors, WORD_VECTORS)
        _int("ngrams", self.ngrams, 1)
        if self.ngrams > MAX_NGRAMS:
            raise _invalid("ngrams", f"an integer from 1 to {MAX_NGRAMS}", self.ngrams)
        _int("ngram_buckets", self.ngram_buckets, 2)
        _int("ensemble", self.ensemble, 1)
        if self.split_seed is not None:
            _int("split_seed", self.split_seed, 0)
        for name in ("bidirectional", "mask_zero", "bucket_by_length"):
            if not isinstance(getattr(self, name), bool):
                raise _invalid(name, "True or False", getattr(self, name))
        if self.bucket_by_length and not self.mask_zero:
            raise _invalid(
                "bucket_by_length", "False unless `mask_zero` is True", True,
                "Trimming padding only leaves results unchanged when the model masks it: add --mask-zero.",
            )
        if self.seed is not None:
            _int("seed", self.seed, 0)
        get_preset(self.preset)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> TrainOptions:
        """Rebuild from `to_dict()`; unknown keys (from a newer textrnn) are an error."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(config) - names)
        if unknown:
            raise ValueError(f"Unknown training option(s) {unknown} in the run's config. Upgrade textrnn.")
        return cls(**config)

    def replace(self, **changes: Any) -> TrainOptions:
        return dataclasses.replace(self, **changes)

    def model_name(self) -> str:
        """A short description of the model, e.g. `SimpleRNN(32)`, `2×Bi-LSTM(64)`."""
        cls = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}[self.rnn]
        name = f"{'Bi-' if self.bidirectional else ''}{cls}({self.units})"
        name = f"{self.layers}×{name}" if self.layers > 1 else name
        name = name + (" + max/avg pooling" if self.pooling == "max_avg" else "")
        return name + (f" over 1-{self.ngrams}-grams" if self.ngrams > 1 else "")
