"""`--preset auto`: the `fast` preset with options chosen from the run's training texts.

`textrnn train --data FILE` without `--preset` trains this way. The recipe (`textrnn.recipes`)
is chosen on the training part only (after the test split is held out, when there is no test
file), and every option the caller set explicitly wins over the chosen value. The options that
result are complete: `config.json` stores them with the recipe's reasons, so `--resume` needs no
new choice, and the reproduce line spells each one that differs from `fast` beside
`--preset auto`, which gives the same options again.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from textrnn.runs.options import AUTO_PRESET, TrainOptions, preset_values

# Models whose recurrent and dense layers hold fewer weights than this train faster on one CPU
# thread than on PyTorch's default: a step's matrix work is too small to share, and on a busy
# machine the threads wait for each other. Measured (docs/cli.md): GRU(64) over 64-d vectors,
# 3,000 texts of 30 words, one epoch: 0.9 s on 1 thread against 16.7 s and 36 s on 2. The
# Embedding's rows do not count: a step touches only the rows of its batch's words.
SMALL_MODEL_WEIGHTS = 1_000_000


@dataclass
class AutoChoice:
    """The options of an auto run and what the recipe said about them."""

    options: TrainOptions
    recipe: dict[str, Any]  # `Recipe.to_dict()` plus `explicit` (the options the caller set)
    describe: str  # the "chosen and why" block, one line per choice


def explicit_names(options: TrainOptions) -> set[str]:
    """The options a caller set, guessed from their values: those that differ from `fast`'s."""
    base = preset_values(AUTO_PRESET)
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
        options: an auto run's options (`preset="auto"`), a seed already drawn.
        train_texts, train_labels: the training part of the data (validation included).
        explicit: the names of the options the caller set; None guesses them
            (`explicit_names`).

    Returns:
        An `AutoChoice`.
    """
    from textrnn import recipes

    given = set(explicit_names(options) if explicit is None else explicit)
    recipe = recipes.choose(train_texts, train_labels, time_budget_minutes=options.time_budget)
    chosen = dict(recipe.options)
    reasons = list(recipe.reasons)
    counts = recipe.stats
    if counts["largest_class"] >= 4 * counts["smallest_class"]:
        chosen["monitor"] = "val_macro_f1"  # the rule: largest / smallest class >= 4
    validation = options.validation_split if "validation_split" in given else None
    if validation == 0 and str(chosen.get("monitor", "")).startswith("val_"):
        chosen["monitor"] = "loss"  # no validation data: watch the training loss
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
    text = "Chosen for this data (--preset auto):\n" + "\n".join(f"  {r}" for r in reasons)
    record = {**recipe.to_dict(), "reasons": reasons, "explicit": sorted(given)}
    record["options"] = {k: getattr(result, k) for k in [*chosen, "threads"]}
    return AutoChoice(result, record, text)


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


__all__ = ["SMALL_MODEL_WEIGHTS", "AutoChoice", "choose_options", "dense_weights", "explicit_names"]
