"""`TrainOptions`: every choice a training run makes, each declared once, and the presets.

Each field is declared with `option(default, help=..., group=..., ...)`: its help text, its range
or choices and its `--help` group live in the field's metadata (as Hugging Face's
`TrainingArguments` keeps them). Everything else is generated from that one declaration:
`TrainOptions.validate()`, the `textrnn train` and `textrnn summary` flags (`textrnn.cli.options`),
their `--help` with every preset's default, and the `reproduce` line of a run's `config.json`
(`TrainOptions.command_line`). A run's `config.json` stores the fields under `"options"`, so
`--resume` and a reproduction read them back unchanged.

A preset is data: a summary and the few values in which it differs from the defaults
(`PRESETS`), the defaults being the Keras tutorial's; `preset_values(name)` gives all its values.
"""

from __future__ import annotations

import dataclasses
import math
import shlex
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from textrnn import checks
from textrnn.data.readers import FORMATS

RNN_TYPES = ("simple_rnn", "lstm", "gru")
OPTIMIZERS = ("rmsprop", "adam", "sgd")
POOLINGS = ("last", "max_avg")
LR_SCHEDULES = ("constant", "cosine")
WORD_VECTORS = ("random", "ppmi")
MONITORS = ("val_loss", "val_acc", "loss", "acc", "val_macro_f1")
AUTO_PRESET = "auto"  # options chosen from the training texts (`textrnn.recipes`) over AUTO_BASE
AUTO_BASE = "fast"  # `textrnn.recipes.BASE_PRESET` (not imported: it loads NumPy)
BEST_PRESET = "best"  # on the user's data it is sized by the recipe too (`textrnn.runs.auto`)
# What `--preset auto` may choose (`textrnn.recipes`, `textrnn.runs.auto`). Its reproduce line spells
# each of them: a rerun chooses anew and keeps only what the command line gives, so a value that
# happens to equal the base preset's (e.g. `--epochs 3`) must be given too.
AUTO_CHOSEN = (
    "maxlen", "num_words", "mask_zero", "bucket_by_length", "ngrams", "ngram_buckets", "batch_size",
    "epochs", "validation_split", "early_stopping", "monitor", "ema", "optimizer", "learning_rate",
    "lr_schedule", "threads", "linear", "char_ngrams",
)  # fmt: skip
THRESHOLDS = ("f1",)
STREAM_CHOICES = ("auto", "on", "off")
CLASS_WEIGHTS = ("balanced",)
# NGramEmbedding's longest n-gram, `textrnn.layers.ngram_embedding.MAX_NGRAMS` (not imported, as
# that loads PyTorch and the command line reads this module to build its flags; a test keeps
# the two equal).
MAX_NGRAMS = 5
MIN_NUM_WORDS = 4  # indices 0-2 are padding, start and out-of-vocabulary: 3 is the first word
DEFAULT_PRESET = "tutorial"  # the preset whose values are the fields' defaults

# The `--help` groups, in the order `textrnn train --help` shows them.
DATA, MODEL, TEXT, TRAINING = "Data", "Model", "Text", "Training"
GROUPS = (DATA, MODEL, TEXT, TRAINING)


# --------------------------------------------------------------------------------- presets
@dataclass(frozen=True)
class Preset:
    """A named set of defaults: `overrides` are the values that differ from the tutorial's."""

    summary: str
    overrides: Mapping[str, Any]


PRESETS: dict[str, Preset] = {
    "tutorial": Preset("the Keras IMDB RNN tutorial (the defaults)", {}),
    "fast": Preset(
        "a couple of minutes on two CPU cores: a GRU over words and hashed bigrams",
        {
            "rnn": "gru",
            "units": 64,
            "embedding_dim": 64,
            "mask_zero": True,
            "num_words": 20_000,
            "maxlen": 400,
            "epochs": 3,
            "batch_size": 64,
            "optimizer": "adam",
            "learning_rate": 0.002,
            "early_stopping": 1,
            "bucket_by_length": True,
            "pooling": "max_avg",
            "spatial_dropout": 0.2,
            "clipnorm": 1.0,
            "lr_schedule": "cosine",
            "ngrams": 2,
        },
    ),  # fmt: skip
    "best": Preset(
        "the strongest recipe under 20 minutes on two CPU cores: 3 bidirectional GRUs over "
        "PPMI word vectors and hashed 1-3-grams, with a linear n-gram model weighted on "
        "validation; with --data, vocabulary, length, n-gram rows and epochs are sized to the data",
        {
            "rnn": "gru",
            "units": 64,
            "bidirectional": True,
            "embedding_dim": 100,
            "mask_zero": True,
            "num_words": 30_000,
            "maxlen": 400,
            "epochs": 2,
            "batch_size": 64,
            "optimizer": "adam",
            "learning_rate": 0.002,
            "validation_split": 0.1,
            "early_stopping": 1,
            "monitor": "val_acc",  # the annealed last epoch wins by accuracy, not by loss
            "bucket_by_length": True,
            "pooling": "max_avg",
            "spatial_dropout": 0.3,
            "clipnorm": 1.0,
            "lr_schedule": "cosine",
            "word_vectors": "ppmi",
            "ngrams": 3,
            "ensemble": 3,  # three seeds, predicting with their mean probability
            "linear": True,  # and the linear n-gram model, weighted on validation
        },
    ),  # fmt: skip
}


# --------------------------------------------------------------------------------- options
def option(
    default: Any,
    *,
    help: str,
    group: str,
    flag: str = "",
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    below: float | None = None,
    choices: tuple[str, ...] = (),
    expected: str = "",
    none: str = "none",
    metavar: str | None = None,
    aliases: Mapping[str, str] | None = None,
    per_run: bool = False,
) -> Any:
    """Declare one training option: a dataclass field whose metadata says all about it.

    Args:
        default: the tutorial's value.
        help: one or two sentences for `--help`, without the default (generated).
        group: the `--help` group, one of `GROUPS`.
        flag: the command-line flag; default `--` + the name with `-` for `_`.
        minimum, maximum: inclusive bounds of a number.
        above, below: exclusive bounds of a number.
        choices: the values a string may take.
        expected: what the error message says was expected, when the generated words will not do.
        none: what None means, for `--help` (`off`, `a fresh one`, ...).
        metavar: the value's name in `--help` (`PATIENCE`).
        aliases: other spellings the command line accepts (matched in any case).
        per_run: a property of one run (its data, how to read it), which presets leave alone.
    """
    if group not in GROUPS:
        raise ValueError(f"Unknown option group {group!r}; expected one of {GROUPS}.")
    spec = {
        "help": help, "group": group, "flag": flag, "minimum": minimum, "maximum": maximum,
        "above": above, "below": below, "choices": choices, "expected": expected, "none": none,
        "metavar": metavar, "aliases": dict(aliases or {}), "per_run": per_run,
    }  # fmt: skip
    return dataclasses.field(default=default, metadata={"option": spec})


@dataclass
class TrainOptions:
    """The options of a training run; defaults are the `tutorial` preset's.

    Each field's meaning is its `help` (shown by `textrnn train --help` and `TrainOptions.OPTIONS`).

    Example:
        >>> TrainOptions(rnn="lstm", units=64).model_name()
        'LSTM(64)'
        >>> TrainOptions.from_preset("fast").units
        64
    """

    data: str | None = option(
        None, group=DATA, expected="a path", none="IMDB ($TEXTRNN_IMDB or the download cache)",
        help="Your labelled texts: a .csv, .tsv, .jsonl or .parquet file, or a folder of class "
        "folders (train/<label>/*.txt, optional test/).", per_run=True,
    )  # fmt: skip
    data_format: str | None = option(
        None, group=DATA, flag="--format", choices=FORMATS, none="from the extension",
        help="Format of --data: csv, tsv, jsonl, parquet or folder.", per_run=True,
    )  # fmt: skip
    text_column: str = option(
        "text", group=DATA, help="Column (or JSON key) holding the texts.", per_run=True
    )
    label_column: str = option(
        "label", group=DATA, help="Column (or JSON key) holding the labels.", per_run=True
    )
    encoding: str = option("utf-8", group=DATA, help="Text encoding of the data files.", per_run=True)
    test_data: str | None = option(
        None, group=DATA, expected="a path", none="hold out --test-split of --data",
        help="A separate labelled test set, read like --data.", per_run=True,
    )  # fmt: skip
    test_split: float = option(
        0.2, group=DATA, above=0, below=1,
        help="Fraction of --data held out for testing (stratified, seeded) when there is no "
        "test set.",
    )  # fmt: skip
    stream: str = option(
        "auto", group=DATA, per_run=True, choices=STREAM_CHOICES,
        help="on: stream --data (and --test-data) from disk instead of reading the texts into memory "
        "(the vocabulary in one pass, the tokens memory-mapped); off: read them into memory; auto: "
        "stream a folder of shards or a file over 1 GB (docs/cli.md).",
    )  # fmt: skip
    rnn: str = option(
        "simple_rnn", group=MODEL, choices=RNN_TYPES,
        aliases={"simplernn": "simple_rnn", "simple-rnn": "simple_rnn"},
        help="Recurrent layer: simple_rnn, lstm or gru.",
    )  # fmt: skip
    units: int = option(32, group=MODEL, minimum=1, help="Units of each recurrent layer.")
    layers: int = option(
        1, group=MODEL, minimum=1,
        help="Number of stacked recurrent layers (all but the last return sequences).",
    )  # fmt: skip
    bidirectional: bool = option(
        False, group=MODEL, help="Wrap each recurrent layer in Bidirectional (merge mode concat)."
    )
    embedding_dim: int = option(32, group=MODEL, minimum=1, help="Size of the word vectors.")
    dropout: float = option(
        0.0, group=MODEL, minimum=0, below=1, help="Dropout rate after each recurrent layer."
    )
    mask_zero: bool = option(
        False, group=MODEL, help="Mask padding (index 0) in the Embedding so the RNN skips it."
    )
    num_words: int = option(
        10_000, group=TEXT, minimum=MIN_NUM_WORDS,
        help="Vocabulary size in Keras's sense: word indices below this are kept (the most "
        "frequent NUM_WORDS - 4 words), others become the out-of-vocabulary index.",
    )  # fmt: skip
    min_freq: int = option(
        1, group=TEXT, minimum=1,
        help="Keep only words seen at least this often in the training texts.",
    )  # fmt: skip
    maxlen: int = option(
        500, group=TEXT, minimum=1,
        help="Texts are cut to their last MAXLEN words, shorter ones padded at the start.",
    )  # fmt: skip
    epochs: int = option(10, group=TRAINING, minimum=1, help="Passes over the training data.")
    batch_size: int = option(128, group=TRAINING, minimum=1, help="Samples per gradient step.")
    optimizer: str = option("rmsprop", group=TRAINING, choices=OPTIMIZERS, help="rmsprop, adam or sgd.")
    learning_rate: float | None = option(
        None, group=TRAINING, above=0, none="the optimizer's Keras default, rmsprop 0.001",
        help="Learning rate.",
    )  # fmt: skip
    validation_split: float = option(
        0.2, group=TRAINING, minimum=0, below=1,
        help="Last fraction of the (shuffled) training data used to validate each epoch; 0 for "
        "none.",
    )  # fmt: skip
    early_stopping: int | None = option(
        None, group=TRAINING, minimum=1, metavar="PATIENCE", none="off",
        help="Stop after PATIENCE epochs without improvement of --monitor.",
    )  # fmt: skip
    monitor: str = option(
        "val_loss", group=TRAINING, choices=MONITORS,
        help="Figure that picks the saved (best) epoch and drives early stopping: val_loss, "
        "val_acc, loss, acc or val_macro_f1 (macro F1 on the validation split, computed after "
        "each epoch; without validation data a val_ default becomes its training twin).",
    )  # fmt: skip
    bucket_by_length: bool = option(
        False, group=TRAINING,
        help="Batch texts of similar length together, trimming padding (needs --mask-zero).",
    )  # fmt: skip
    pooling: str = option(
        "last", group=MODEL, choices=POOLINGS,
        help="What the classifier sees of the last RNN layer: last (its final state) or max_avg "
        "(the max and the mean of all its states, GlobalMaxAvgPooling1D).",
    )  # fmt: skip
    spatial_dropout: float = option(
        0.0, group=MODEL, minimum=0, below=1, help="SpatialDropout1D rate after the embedding."
    )
    clipnorm: float | None = option(None, group=TRAINING, above=0, help="Clip each gradient to this L2 norm.")
    lr_schedule: str = option(
        "constant", group=TRAINING, choices=LR_SCHEDULES,
        help="constant, or cosine (a 5% warmup, then cosine decay to 0 over all planned steps).",
    )  # fmt: skip
    ema: float | None = option(
        None, group=TRAINING, above=0, below=1, metavar="MOMENTUM",
        expected="a momentum between 0 and 1 (exclusive), such as 0.98",
        help="Keep a moving average of the weights with this momentum (Keras's use_ema) and put "
        "it into the model at the end of every epoch, so validation, early stopping and the "
        "saved model see the average.",
    )  # fmt: skip
    word_vectors: str = option(
        "random", group=MODEL, metavar="random|ppmi|PATH",
        expected="random, ppmi or the path of a word-vector file",
        help="Embedding start: random; ppmi (PPMI + SVD word vectors learned first from the "
        "training texts, and IMDB's unlabelled reviews); or the PATH of a GloVe, word2vec or "
        "fastText file (text, .gz, or word2vec .bin: anything but random and ppmi is a path), "
        "of which only the vocabulary's rows are kept.",
    )  # fmt: skip
    freeze_embeddings: bool = option(
        False, group=MODEL,
        help="Keep the Embedding's word vectors fixed during training (with --word-vectors).",
    )  # fmt: skip
    ngrams: int = option(
        1, group=MODEL, minimum=1, maximum=MAX_NGRAMS, metavar="N",
        help="1: embed words alone; 2-5: also embed the word n-grams up to length N ending at "
        "each position (hashed, NGramEmbedding).",
    )  # fmt: skip
    ngram_buckets: int = option(
        262_144, group=MODEL, minimum=2, help="Rows of each n-gram table (with --ngrams 2 or more)."
    )
    class_weight: str | None = option(
        None, group=TRAINING, choices=CLASS_WEIGHTS, none="every example weighs 1",
        help="balanced: weight each class's loss by n / (classes × its count), so every class "
        "weighs the same in training.",
    )  # fmt: skip
    threshold: str | None = option(
        None, group=TRAINING, choices=THRESHOLDS, none="0.5",
        help="Two classes only: f1 chooses the decision threshold on the validation split that "
        "maximises the F1 of the second class; stored with the model and used by predict and "
        "evaluate.",
    )  # fmt: skip
    time_budget: float | None = option(
        None, group=TRAINING, above=0, metavar="MINUTES", none="4 minutes; best: 15",
        help="Minutes of training the chosen recipe (--preset auto, and best with --data, whose "
        "members share them) aims at; it sets the epochs.",
    )  # fmt: skip
    threads: int | None = option(
        None, group=TRAINING, minimum=1, none="PyTorch's default",
        help="CPU threads PyTorch trains with (torch.set_num_threads).",
    )  # fmt: skip
    baseline: bool = option(
        True, group=TRAINING,
        help="After testing, also train the bag-of-words baseline (TF-IDF 1-2-grams + logistic "
        "regression) on the same training split and score it on the same test split.",
    )  # fmt: skip
    ensemble: int = option(
        1, group=TRAINING, minimum=1, metavar="K",
        help="Train K models (seeds SEED, SEED+1, ...) and predict with their mean probability.",
    )  # fmt: skip
    nproc: int = option(
        1, group=TRAINING, minimum=1, metavar="N", per_run=True,
        help="Train with N processes on this machine (DistributedDataParallel: gloo on CPUs, "
        "NCCL on GPUs), each taking its share of every --batch-size batch with max(1, cores // "
        "N) threads; the figures are one process's, within float rounding. For several "
        "machines use torchrun (docs/distributed.md).",
    )  # fmt: skip
    linear: bool = option(
        False, group=TRAINING,
        help="Add a linear n-gram model (word 1-2-grams, with --char-ngrams also character "
        "2-5-grams; tf-idf or naive-Bayes features, "
        "logistic regression) to the RNN model(s): the weight of each in the mean probability is "
        "chosen on the validation splits.",
    )  # fmt: skip
    char_ngrams: bool = option(
        False, group=TRAINING,
        help="The linear n-gram model (--linear) may also read character 2-5-grams: whether they "
        "pay is chosen on validation beside the words alone.",
    )  # fmt: skip
    split_seed: int | None = option(
        None, group=TRAINING, minimum=0, none="--seed", per_run=True,
        help="Seed of the test split only; an ensemble's members share one.",
    )  # fmt: skip
    seed: int | None = option(
        None, group=TRAINING, minimum=0, none="a fresh one, recorded in config.json",
        help="Random seed (weights, shuffling, test split).",
    )  # fmt: skip
    preset: str = option(
        DEFAULT_PRESET, group=TRAINING, per_run=True, choices=(*PRESETS, AUTO_PRESET),
        help="Named set of defaults (see docs/accuracy.md); options given beside it override it. "
        "With --data and no --preset: auto, the fast preset with options chosen from the "
        "training texts (printed, and stored in config.json).",
    )  # fmt: skip

    # Every option's declaration, in field order; filled in below the class.
    OPTIONS: typing.ClassVar[tuple[Option, ...]] = ()

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
        values = preset_values(preset)
        given = {k: v for k, v in overrides.items() if v is not None}
        values.update(given)
        values["preset"] = preset
        monitor = str(values["monitor"])
        if "monitor" not in given and values["validation_split"] == 0 and monitor[:4] == "val_":
            values["monitor"] = monitor[4:]  # no validation data: watch the training figure
        return cls(**values)

    def validate(self) -> None:
        """Check every field; raise ValueError naming the first bad one, its flag and the fix.

        Each field is checked against its declaration (`Option.check`); the checks across
        fields follow.
        """
        for declared in self.OPTIONS:
            declared.check(getattr(self, declared.name))
        if self.data is None and self.test_data is not None:
            raise _invalid("test_data", "no test data when training on IMDB", self.test_data,
                           "Pass --data as well.")  # fmt: skip
        if self.monitor.startswith("val_") and self.validation_split == 0:
            raise _invalid(
                "monitor",
                "`loss` or `acc` when there is no validation data",
                self.monitor,
                "Pass --monitor loss, or a --validation-split above 0.",
            )
        if self.threshold is not None and self.validation_split == 0:
            raise _invalid(
                "threshold",
                "no --threshold without validation data",
                self.threshold,
                "The threshold is chosen on the validation split: pass a --validation-split above 0.",
            )
        if self.freeze_embeddings and self.word_vectors == "random":
            raise _invalid(
                "freeze_embeddings",
                "False when the Embedding starts at random",
                True,
                "Pass --word-vectors ppmi or the path of a vector file.",
            )
        if self.nproc > 1 and self.ensemble > 1:
            raise _invalid(
                "nproc",
                "1 when training an ensemble (--ensemble above 1)",
                self.nproc,
                "Train the ensemble with one process, or train single runs with --nproc.",
            )
        if self.linear and self.validation_split == 0:
            raise _invalid(
                "linear", "validation data to weigh the linear model", self.linear,
                "Pass a --validation-split above 0, or --no-linear.",
            )  # fmt: skip
        if self.nproc > 1 and self.linear:
            raise _invalid(
                "nproc", "1 with --linear (trained as an ensemble)", self.nproc,
                "Train with one process, or pass --no-linear.",
            )  # fmt: skip
        if self.bucket_by_length and not self.mask_zero:
            raise _invalid(
                "bucket_by_length",
                "False unless `mask_zero` is True",
                True,
                "Trimming padding only leaves results unchanged when the model masks it: add --mask-zero.",
            )

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

    def command_line(self, out: str | Path | None = None) -> str:
        """The `textrnn train` command that reproduces these options, quoted for a POSIX shell.

        Only the options that differ from their preset's values are spelled out, in declaration
        order (`--preset` itself when it is not the CLI's default: the tutorial without `--data`,
        auto with it), then `--out`.

        Example:
            >>> TrainOptions.from_preset("fast", data="my reviews.csv", seed=1).command_line()
            "textrnn train --data 'my reviews.csv' --seed 1 --preset fast"
        """
        # Without --data the CLI's preset is the tutorial; with --data it is auto: so with data
        # the preset is always spelled, or a rerun would train with another one.
        base = {**preset_values(self.preset), "preset": DEFAULT_PRESET if self.data is None else None}
        args = ["textrnn", "train"]
        for declared in self.OPTIONS:
            value = getattr(self, declared.name)
            from_data = self.preset == AUTO_PRESET or (self.preset == BEST_PRESET and self.data)
            chosen = bool(from_data) and declared.name in AUTO_CHOSEN
            if value is not None and (chosen or value != base.get(declared.name, declared.default)):
                args += declared.to_args(value)
        if out is not None:
            args += ["--out", str(out)]
        return shlex.join(args)

    def model_name(self) -> str:
        """A short description of the model, e.g. `SimpleRNN(32)`, `2×Bi-LSTM(64)`."""
        cls = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}[self.rnn]
        name = f"{'Bi-' if self.bidirectional else ''}{cls}({self.units})"
        name = f"{self.layers}×{name}" if self.layers > 1 else name
        name = name + (" + max/avg pooling" if self.pooling == "max_avg" else "")
        return name + (f" over 1-{self.ngrams}-grams" if self.ngrams > 1 else "")


@dataclass(frozen=True)
class Option:
    """One declared training option, read from a `TrainOptions` field (see `option`).

    `type` is the value's type (`str`, `int`, `float` or `bool`); `optional` says None is a
    value too (meaning what `none` says).
    """

    name: str
    type: type
    optional: bool
    default: Any
    help: str
    group: str
    flag: str
    minimum: float | None
    maximum: float | None
    above: float | None
    below: float | None
    choices: tuple[str, ...]
    expected: str
    none: str
    metavar: str | None
    aliases: Mapping[str, str]
    per_run: bool

    def describe(self) -> str:
        """What a valid value is, in the words of the error message."""
        if self.expected:
            return self.expected
        if self.type is bool:
            return "True or False"
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.type is str:
            return "a non-empty string"
        if self.type is int:
            low = int(self.minimum or 0)
            if self.maximum is not None:
                return f"an integer from {low} to {int(self.maximum)}"
            return "a positive integer" if low == 1 else f"an integer of at least {low}"
        if self.above == 0 and self.below is None and self.maximum is None:
            return "a positive number"
        start = f"({self.above:g}" if self.above is not None else f"[{self.minimum or 0:g}"
        end = f"{self.maximum:g}]" if self.maximum is not None else f"{self.below or math.inf:g})"
        kind = "a fraction" if (self.below or self.maximum or math.inf) <= 1 else "a number"
        return f"{kind} in {start}, {end}"

    def accepts(self, value: Any) -> bool:
        """Whether `value` is valid for this option alone."""
        if value is None:
            return self.optional
        if self.type is bool:
            return isinstance(value, bool)
        if self.type is str:
            if not isinstance(value, str) or not value:
                return False
            return value in self.choices or not self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.type is int and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        return not (
            (self.minimum is not None and value < self.minimum)
            or (self.maximum is not None and value > self.maximum)
            or (self.above is not None and value <= self.above)
            or (self.below is not None and value >= self.below)
        )

    def check(self, value: Any) -> None:
        """Raise ValueError naming the option, its flag and the fix unless `accepts(value)`."""
        if self.accepts(value):
            return
        fix = ""
        if self.type is int and self.minimum is not None and self.maximum is None:
            fix = f"Pass {self.flag} {int(self.minimum)} or more."
        raise _invalid(self.name, self.describe(), value, fix)

    def parse(self, value: Any) -> Any:
        """A command-line value as the option takes it: aliases resolved (in any case)."""
        if self.aliases and isinstance(value, str):
            lower = value.lower()
            return self.aliases.get(lower, lower)
        return value

    def to_args(self, value: Any) -> list[str]:
        """The command-line arguments that give this option `value`."""
        if self.type is bool:
            return [self.flag if value else "--no-" + self.flag[2:]]
        return [self.flag, str(value)]

    def show(self, value: Any) -> str:
        """`value` as `--help` shows it."""
        if value is None:
            return self.none
        if isinstance(value, bool):
            return "yes" if value else "no"
        return f"{value:g}" if isinstance(value, float) else str(value)

    def help_with_defaults(self) -> str:
        """The help text and the default: the tutorial's, and each preset's where it differs."""
        text = f"{self.help} Default: {self.show(self.default)}"
        if self.name == "preset":
            listed = "; ".join(f"{name}: {preset.summary}" for name, preset in PRESETS.items())
            return f"{self.help} {listed}. Default: {self.show(self.default)}."
        changed = [
            f"{name}: {self.show(preset.overrides[self.name])}"
            for name, preset in PRESETS.items()
            if self.name in preset.overrides and preset.overrides[self.name] != self.default
        ]
        return text + (f" ({', '.join(changed)})." if changed else ".")


def command_line(options: TrainOptions, out: str | Path | None = None) -> str:
    """`options.command_line(out)`: the `textrnn train` command that reproduces `options`."""
    return options.command_line(out)


def _invalid(name: str, expected: str, value: Any, fix: str = "") -> Exception:
    return checks.invalid(name, expected, value, fix, flag=flag_of(name))


def flag_of(name: str) -> str:
    """The command-line flag of option `name`: `epochs` → `--epochs`, `data_format` → `--format`."""
    declared = {o.name: o for o in TrainOptions.OPTIONS}.get(name)
    return declared.flag if declared is not None else "--" + name.replace("_", "-")


def _declared_options() -> tuple[Option, ...]:
    hints = typing.get_type_hints(TrainOptions)
    declared = []
    for f in fields(TrainOptions):
        args = [a for a in typing.get_args(hints[f.name]) if a is not type(None)]
        spec = dict(f.metadata["option"])
        spec["flag"] = spec["flag"] or "--" + f.name.replace("_", "-")
        spec["choices"] = tuple(spec["choices"])
        declared.append(
            Option(name=f.name, type=args[0] if args else hints[f.name],
                   optional=type(None) in typing.get_args(hints[f.name]), default=f.default, **spec)
        )  # fmt: skip
    return tuple(declared)


def _check_presets() -> None:
    """Each preset overrides only options that presets may set, with valid values."""
    settable = {o.name for o in TrainOptions.OPTIONS if not o.per_run}
    for name, preset in PRESETS.items():
        wrong = sorted(set(preset.overrides) - settable)
        if wrong:
            raise TypeError(f"Preset {name!r} sets {wrong}, which are not options a preset sets.")
        TrainOptions.from_preset(name)


TrainOptions.OPTIONS = _declared_options()


def preset_values(name: str) -> dict[str, Any]:
    """Every value preset `name` sets: the defaults with its overrides on top.

    The options that belong to one run (`Option.per_run`: the data, the seed of the split, the
    preset's name) are left out.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name == AUTO_PRESET:
        name = AUTO_BASE  # the data-chosen recipe starts from it (`textrnn.runs.auto`)
    if name not in PRESETS:
        raise ValueError(
            "Received an invalid value for `--preset`, expected one of "
            f"{', '.join(sorted(PRESETS))}, got {name!r}."
        )
    values = {o.name: o.default for o in TrainOptions.OPTIONS if not o.per_run}
    return {**values, **PRESETS[name].overrides}


_check_presets()
