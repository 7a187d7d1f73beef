"""A training recipe chosen from the data: `choose(texts, labels)` → `Recipe`.

Every value follows from counts in the training texts (how many texts, how long, how many words
repeat, how many classes and how balanced), never from the dataset's name, so a dataset never
seen before gets the same treatment. The rules were set and checked on validation splits of
SST-2, TREC-6 and SMS spam (`benchmarks/your_data.py`), never on their test files.

The recipe's `options` are `textrnn.runs.options.TrainOptions` field names and values, to apply
on top of the `fast` preset, with every option the user gave on the command line winning.

Example:
    >>> recipe = choose(texts, labels, time_budget_minutes=5)
    >>> print(recipe.describe())
    maxlen 32 covers 99% of texts (longest 49 words)
    ...
    >>> options = TrainOptions.from_preset("fast", data="my.csv", **recipe.options)
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from textrnn import checks
from textrnn.preprocessing.text import tokenize

BASE_PRESET = "fast"  # what the recipe's options are applied on top of
DEFAULT_TIME_BUDGET_MINUTES = 4.0  # training alone; reading, the baseline and testing fit in 5
LENGTH_COVERAGE = 0.99  # share of texts kept whole: with length bucketing, short texts cost nothing
MAX_MAXLEN = 400  # longer texts are cut (keeping their end), as the `fast` preset does
MIN_MAXLEN = 8
MAX_NUM_WORDS = 30_000
NUM_WORDS_OFFSET = 4  # indices 0-3: padding, start, out-of-vocabulary, unused (rank r is r + 3)
MIN_WORD_COUNT = 2  # a word seen once gets a vector that nothing else trains
NGRAM_MIN_REPEATED = 2_000  # distinct bigrams seen twice or more before bigram vectors pay
TARGET_STEPS = 2_500  # gradient steps the schedule aims at, before the time budget cuts epochs
MIN_EPOCHS, MAX_EPOCHS = 2, 20
PATIENCE = 2
# Measured training throughput of the recipe's model on two busy CPU cores, in (token × epoch)
# per second, including validation; the time budget converts to epochs with it. On one thread
# (what `--preset auto` gives this small model, `textrnn.runs.auto`) the runs of docs/cli.md
# trained at 7,000-16,000 (TREC-6 5-8 s an epoch, SMS spam 2-4 s, SST-2 42-68 s) against the
# 6,000 measured before with PyTorch's default threads; 10,000 is the middle of that range.
TOKENS_PER_SECOND = 10_000.0


@dataclass
class Recipe:
    """The options chosen for a dataset and the reasons, one line each.

    Attributes:
        options: `TrainOptions` field names → values, applied on top of the `fast` preset.
        reasons: one-line explanations ("maxlen 48 covers 95% of texts"), in the order chosen.
        stats: the figures the choices came from (texts, classes, length percentiles, ...).
        about: an option's name → the index of the reason that explains it (for a caller that
            changes that option and its reason, as `--preset best` does with `ngrams`).
    """

    options: dict[str, Any]
    reasons: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    about: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """The reasons as one short block, one line each (what `textrnn train` prints)."""
        return "\n".join(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (for `config.json`'s `"recipe"` key)."""
        return {
            "base_preset": BASE_PRESET,
            "options": dict(self.options),
            "reasons": list(self.reasons),
            "stats": dict(self.stats),
        }


def _power_of_two_at_least(n: int) -> int:
    return 1 << max(int(n) - 1, 1).bit_length()


def choose(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    time_budget_minutes: float | None = None,
) -> Recipe:
    """Choose training options from the training texts and labels.

    Args:
        texts: the training texts (those the run trains on, validation part included).
        labels: their labels, one per text.
        time_budget_minutes: minutes the training may take; None for
            `DEFAULT_TIME_BUDGET_MINUTES`. Epochs (and, when even two do not fit, maxlen) are cut
            to fit the estimate.

    Returns:
        A `Recipe`: options, reasons and the statistics behind them.

    Raises:
        ValueError: for no texts, unequal lengths, fewer than two classes or a bad budget.
    """
    if len(texts) != len(labels):
        raise ValueError(
            f"Expected as many labels as texts, got {len(texts)} texts and {len(labels)} labels."
        )
    if not texts:
        raise ValueError("Cannot choose a recipe without training texts: `texts` is empty.")
    budget = DEFAULT_TIME_BUDGET_MINUTES if time_budget_minutes is None else time_budget_minutes
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 < budget < math.inf:
        raise checks.invalid("time_budget_minutes", "a positive number of minutes", time_budget_minutes)
    counts = Counter(labels)
    if len(counts) < 2:
        raise ValueError(f"Expected at least 2 classes to train a classifier, got {sorted(counts)}.")

    tokens = [tokenize(t) for t in texts]
    lengths = np.array([len(t) for t in tokens], dtype=np.int64)
    n = len(texts)
    options: dict[str, Any] = {}
    reasons: list[str] = []

    # Length: keep LENGTH_COVERAGE of texts whole (+1: the start index begins each sequence).
    cover = int(np.ceil(np.quantile(lengths, LENGTH_COVERAGE))) + 1
    maxlen = min(max(cover, MIN_MAXLEN), MAX_MAXLEN)
    covered = float(np.mean(lengths + 1 <= maxlen))
    options["maxlen"] = maxlen
    reasons.append(
        f"maxlen {maxlen} covers {covered:.0%} of texts (median {int(np.median(lengths))} words, "
        f"longest {int(lengths.max())})"
    )

    # Vocabulary: words seen at least twice, up to MAX_NUM_WORDS. On the validation splits,
    # keeping words seen once as well scored lower (TREC-6 0.808 against 0.838, SMS spam 0.987
    # against 0.993).
    words = Counter(w for t in tokens for w in t)
    repeated = sum(1 for c in words.values() if c >= MIN_WORD_COUNT)
    kept = min(max(repeated, 1), MAX_NUM_WORDS)
    options["num_words"] = kept + NUM_WORDS_OFFSET
    token_total = int(lengths.sum())
    known = sum(c for _, c in words.most_common(kept))
    reasons.append(
        f"num_words {options['num_words']:,}: the {kept:,} words seen {MIN_WORD_COUNT}+ times of "
        f"{len(words):,}, {known / max(token_total, 1):.0%} of word occurrences"
    )

    options["mask_zero"] = True
    options["bucket_by_length"] = True
    reasons.append("padding masked, batches bucketed by length (short texts cost what they are)")

    # Bigram vectors pay when enough bigrams repeat for their hashed rows to be trained.
    bigrams = Counter((a, b) for t in tokens for a, b in zip(t, t[1:], strict=False))
    repeated_bigrams = sum(1 for c in bigrams.values() if c >= 2)
    about = {"ngrams": len(reasons)}
    if repeated_bigrams >= NGRAM_MIN_REPEATED:
        options["ngrams"] = 2
        # One row per repeated bigram (rounded up): rows that only a single bigram hashes to are
        # never shared, and the update of every row is paid on each step.
        options["ngram_buckets"] = min(_power_of_two_at_least(repeated_bigrams), 262_144)
        reasons.append(
            f"bigram vectors ({repeated_bigrams:,} bigrams repeat), {options['ngram_buckets']:,} hashed rows"
        )
    else:
        options["ngrams"] = 1
        reasons.append(f"words only: {repeated_bigrams:,} bigrams repeat, too few for bigram vectors")

    # Batch size and epochs from the data size; the weight average over about a quarter epoch.
    batch = 32 if n < 10_000 else 64 if n < 50_000 else 128
    validation_split = 0.2 if n < 20_000 else 0.1
    steps_per_epoch = max(1, math.ceil(n * (1 - validation_split) / batch))
    epochs = min(max(math.ceil(TARGET_STEPS / steps_per_epoch), MIN_EPOCHS), MAX_EPOCHS)
    seconds_per_epoch = float(np.minimum(lengths + 1, maxlen).sum()) / TOKENS_PER_SECOND
    budget_seconds = 60.0 * float(budget)
    fit = max(int(budget_seconds // max(seconds_per_epoch, 1e-9)), 1)
    if fit < epochs:
        epochs = max(fit, 1)
        reasons.append(
            f"epochs {epochs}: about {seconds_per_epoch:.0f} s each, within the {budget:.3g}-minute budget"
        )
    else:
        reasons.append(
            f"epochs up to {epochs} ({steps_per_epoch:,} steps of {batch} each), about "
            f"{epochs * seconds_per_epoch / 60:.1f} min, within the {budget:.3g}-minute budget"
        )
    options["batch_size"] = batch
    options["epochs"] = epochs
    options["validation_split"] = validation_split
    options["early_stopping"] = PATIENCE
    # val_loss, as the `fast` preset: val_acc with patience 3 did no better on the validation
    # splits (TREC-6 0.821-0.846 against 0.838, SMS spam 0.987 against 0.993).
    options["monitor"] = "val_loss"
    reasons.append(
        f"batch {batch}; {validation_split:.0%} validation; early stopping after {PATIENCE} "
        "epochs without a lower val_loss, keeping the best epoch"
    )
    momentum = min(max(1.0 - 4.0 / steps_per_epoch, 0.9), 0.999)
    options["ema"] = round(momentum, 3)
    options["optimizer"] = "adam"
    options["learning_rate"] = 0.002 if n >= 2_000 else 0.003
    options["lr_schedule"] = "cosine"
    reasons.append(
        f"adam lr {options['learning_rate']:g} with cosine decay; weight average momentum "
        f"{options['ema']:g} (about a quarter epoch)"
    )

    smallest, largest = min(counts.values()), max(counts.values())
    stats = {
        "texts": n,
        "classes": len(counts),
        "smallest_class": smallest,
        "largest_class": largest,
        "length_percentiles": {str(q): float(np.quantile(lengths, q / 100)) for q in (50, 90, 95, 99)},
        "longest": int(lengths.max()),
        "distinct_words": len(words),
        "repeated_words": repeated,
        "repeated_bigrams": repeated_bigrams,
        "estimated_seconds_per_epoch": round(seconds_per_epoch, 1),
    }
    if largest >= 4 * smallest:
        reasons.append(
            f"classes imbalanced ({largest:,} vs {smallest:,} texts): watch macro F1, not accuracy"
        )
    return Recipe(options, reasons, stats, about)
