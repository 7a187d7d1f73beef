"""`--preset auto`: the `fast` preset with options chosen from the run's training texts.

`textrnn train --data FILE` without `--preset` trains this way. The recipe (`textrnn.recipes`)
is chosen on the training part only (after the test split is held out, when there is no test
file), and every option the caller set explicitly wins over the chosen value. The options that
result are complete: `config.json` stores them with the recipe's reasons, so `--resume` needs no
new choice, and the reproduce line spells each one that differs from `fast` beside
`--preset auto`, which gives the same options again.

The auto recipe adds the linear n-gram model (`textrnn.linear`) beside its RNN: its weight in
the mean probability is chosen on the validation split, 0 where it does not help. On dev sets
carved from the training files (`benchmarks/your_data_validation.py`) it lifted TREC-6 from
0.841 to 0.865 and SST-2 from 0.915 to 0.927, and left SMS spam unchanged (0.993); the figures
are in docs/accuracy.md.

`--preset best` on the user's data (`--data`) sizes itself the same way: the recipe's vocabulary,
length, batch, schedule and validation split replace the IMDB values of the preset, and it keeps
its model (bidirectional GRUs over PPMI vectors, three seeds, the linear model) and its monitor
(`val_acc`; `val_macro_f1` where the classes are imbalanced). Beside the linear model its RNNs
read words alone (the linear model reads the n-grams), and its epochs fit the time budget shared
by its members, a member costing `BEST_WORDS_COST` of the recipe's estimate (`BIDIRECTIONAL_COST`
with `--no-linear`, when the members keep the recipe's n-gram rows). Without `--data` (IMDB) it
is the preset as declared.

Where the training texts are short (`CHAR_NGRAMS_MAX_CHARS`), the linear model may also read
character 2-5-grams; validation chooses between them and the words alone.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from textrnn.runs.options import AUTO_PRESET, BEST_PRESET, TrainOptions, preset_values
from textrnn.runs.streamed import streams

# Models whose recurrent and dense layers hold fewer weights than this train faster on one CPU
# thread than on PyTorch's default: a step's matrix work is too small to share, and on a busy
# machine the threads wait for each other. Measured (docs/cli.md): GRU(64) over 64-d vectors,
# 3,000 texts of 30 words, one epoch: 0.9 s on 1 thread against 16.7 s and 36 s on 2. The
# Embedding's rows do not count: a step touches only the rows of its batch's words.
SMALL_MODEL_WEIGHTS = 1_000_000
# `--preset best` on the user's data: minutes of training for all its members together (the
# preset's promise: under 20 minutes on two CPU cores, reading and testing included), and the
# cost of one of its bidirectional members (twice the recurrent work, 100-d vectors) in units
# of the recipe's one-way GRU(64), by which the recipe's time estimate is scaled.
BEST_TIME_BUDGET_MINUTES = 15.0
BIDIRECTIONAL_COST = 2.5
# The cost of a member that reads words alone (beside the linear model, below), in the same
# units: the recipe's estimate counts hashed n-gram rows, whose update every step dominates. An
# epoch of a words-only member took 0.10-0.11 of the recipe's estimate (SST-2 5.3 s against 53 s,
# TREC-6 0.6 s against 5.4 s, SMS spam 0.8 s against 8 s; one thread, a lightly loaded machine);
# 0.3 leaves room for a busy one.
BEST_WORDS_COST = 0.3
# Beside the linear n-gram model, best's RNNs read words alone: on dev sets carved from the
# training files (benchmarks/your_data_validation.py's split; one member, seeds 1-3) hashed 1-3-gram
# vectors lowered the RNN on TREC-6 (0.826 against 0.846), matched it on SMS spam (0.991 / 0.993)
# and SST-2 (0.9166 / 0.9165) and cost 7× the time on SST-2 (212 s against 31 s).
# The linear model may read character 2-5-grams beside the words (validation decides) when the
# training texts hold at most this many characters: their count and the fits grow with it.
# Measured on SST-2's training file (67,349 phrases, 3.7M characters; 2 cores, idle): counting
# 12 s, choosing among 20 fits 65 s; validation took them on SST-2 and SMS spam, not on TREC-6.
CHAR_NGRAMS_MAX_CHARS = 10_000_000


def chooses_from_data(options: TrainOptions) -> bool:
    """Whether a run's options are chosen from its training texts: `--preset auto`, and
    `--preset best` on the user's data (on IMDB, best is the preset as declared)."""
    return options.preset == AUTO_PRESET or (options.preset == BEST_PRESET and options.data is not None)


@dataclass
class AutoChoice:
    """The options of an auto run and what the recipe said about them."""

    options: TrainOptions
    recipe: dict[str, Any]  # `Recipe.to_dict()` plus `explicit` (the options the caller set)
    describe: str  # the "chosen and why" block, one line per choice


def explicit_names(options: TrainOptions) -> set[str]:
    """The options a caller set, guessed from their values: those that differ from the preset's
    (`fast`'s for auto)."""
    base = preset_values(options.preset)
    return {
        o.name
        for o in TrainOptions.OPTIONS
        if not o.per_run and getattr(options, o.name) != base.get(o.name, o.default)
    }


def choose_options(
    options: TrainOptions,
    train_texts: list[str],
    train_labels: list[str],
    *,
    explicit: Collection[str] | None = None,
) -> AutoChoice:
    """`options` with the recipe chosen on `train_texts` applied where the caller set nothing.

    Args:
        options: an auto run's options (`preset="auto"`), or a `best` run's on the user's data,
            a seed already drawn.
        train_texts, train_labels: the training part of the data (validation included).
        explicit: the names of the options the caller set; None guesses them
            (`explicit_names`).

    Returns:
        An `AutoChoice`.
    """
    from textrnn import recipes

    given = set(explicit_names(options) if explicit is None else explicit)
    best = options.preset == BEST_PRESET
    budget = options.time_budget
    # best's RNNs read words alone where the linear model joins them (it reads the n-grams)
    words_only = best and options.linear
    cost = BEST_WORDS_COST if words_only else BIDIRECTIONAL_COST
    if best:
        total = BEST_TIME_BUDGET_MINUTES if budget is None else budget
        budget = total / options.ensemble / cost  # in the recipe's model's minutes
    recipe = recipes.choose(train_texts, train_labels, time_budget_minutes=budget)
    chosen = dict(recipe.options)
    reasons = list(recipe.reasons)
    if best:
        if words_only:
            chosen["ngrams"] = 1
            reasons[recipe.about["ngrams"]] = _WORDS_ONLY
        # best's own monitor: its cosine schedule anneals, and the members' validation accuracy
        # kept rising after their validation loss turned (SST-2 dev: best epochs 2-3 by val_loss,
        # 3-5 by val_acc, which was 0.5-0.9 points higher there)
        chosen["monitor"] = "val_acc"
        reasons = [r.replace("without a lower val_loss", "without a higher val_acc") for r in reasons]
        reasons.insert(
            0,
            f"--preset best sized to this data: {options.ensemble} members share "
            f"{total:g} minutes (one counts {cost:g}× the recipe's GRU)",
        )
    validation = options.validation_split if "validation_split" in given else None
    if not best:
        # validation chooses the linear model's weight, 0 where it does not help
        why_not = None if "linear" in given else _no_linear_because(options, validation)
        chosen["linear"] = why_not is None
        reasons.append(
            "a linear n-gram model beside the RNN, its weight chosen on validation"
            if why_not is None
            else f"no linear n-gram model: {why_not}"
        )
    counts = recipe.stats
    if counts["largest_class"] >= 4 * counts["smallest_class"]:
        chosen["monitor"] = "val_macro_f1"  # the rule: largest / smallest class >= 4
    if validation == 0 and str(chosen.get("monitor", "")).startswith("val_"):
        chosen["monitor"] = "loss"  # no validation data: watch the training loss
    characters = sum(len(t) for t in train_texts)
    linear = options.linear if "linear" in given else chosen.get("linear", options.linear)
    if linear and characters <= CHAR_NGRAMS_MAX_CHARS:
        chosen["char_ngrams"] = True
        reasons.append(
            f"the linear model may also read character 2-5-grams ({characters / 1e6:.1f}M "
            f"characters of text, at most {CHAR_NGRAMS_MAX_CHARS / 1e6:g}M); validation decides"
        )
    overridden = sorted(k for k in chosen if k in given and getattr(options, k) != chosen[k])
    values = {**chosen, **{k: getattr(options, k) for k in given if k in chosen}}
    if not values.get("mask_zero", options.mask_zero) and "bucket_by_length" not in given:
        values["bucket_by_length"] = False  # bucketing needs the padding masked
    result = options.replace(**values)
    if "threads" not in given:
        classes = len(set(train_labels))
        threads = _threads_for(result, classes)
        if threads is not None:
            result = result.replace(threads=threads)
            reasons.append(
                f"1 CPU thread: {dense_weights(result, classes):,} weights outside the Embedding "
                f"(under {SMALL_MODEL_WEIGHTS:,}) are too few to share between threads"
            )
    if result.monitor == "val_macro_f1":
        reasons = [
            r.replace(
                "watch macro F1, not accuracy",
                "early stopping and the saved epoch "
                "follow val_macro_f1 (the rule: largest / smallest class ≥ 4)",
            )
            for r in reasons
        ]
    if overridden:
        reasons.append("given on the command line, kept: " + ", ".join(overridden))
    text = f"Chosen for this data (--preset {options.preset}):\n" + "\n".join(f"  {r}" for r in reasons)
    record = {**recipe.to_dict(), "reasons": reasons, "explicit": sorted(given)}
    record["options"] = {k: getattr(result, k) for k in [*chosen, "threads"]}
    return AutoChoice(result, record, text)


_WORDS_ONLY = "words only in the RNNs: the linear model reads the n-grams"


def _no_linear_because(options: TrainOptions, validation: float | None) -> str | None:
    """Why an auto run cannot have its linear n-gram model (None: it can)."""
    if validation == 0:
        return "without validation data it cannot be weighed"  # its weight needs validation data
    if options.nproc > 1:
        return "--nproc trains a single run"  # the linear model joins an ensemble, one process
    if streams(options):
        return "the data is streamed, not held in memory"  # the linear model holds the texts
    if options.threshold is not None:
        return "--threshold is chosen for the RNN alone"  # for the RNN's own probabilities
    return None


def dense_weights(options: TrainOptions, classes: int) -> int:
    """About how many weights the model has outside its Embedding (recurrent and dense layers),
    from the options alone (no model is built)."""
    units, dim = options.units, options.embedding_dim
    gates = {"gru": 3, "lstm": 4, "simple_rnn": 1}[options.rnn]
    directions = 2 if options.bidirectional else 1
    recurrent = gates * units * (dim + units + 2) * directions
    stacked = gates * units * (units * directions + units + 2) * directions
    recurrent += stacked * (options.layers - 1)
    features = units * directions * (2 if options.pooling == "max_avg" else 1)
    return recurrent + (features + 1) * (1 if classes == 2 else classes)


def _threads_for(options: TrainOptions, classes: int) -> int | None:
    """1 for a small model, else None (PyTorch's default)."""
    return 1 if dense_weights(options, classes) < SMALL_MODEL_WEIGHTS else None


__all__ = [
    "BEST_TIME_BUDGET_MINUTES",
    "BEST_WORDS_COST",
    "BIDIRECTIONAL_COST",
    "CHAR_NGRAMS_MAX_CHARS",
    "SMALL_MODEL_WEIGHTS",
    "AutoChoice",
    "choose_options",
    "chooses_from_data",
    "dense_weights",
    "explicit_names",
]
