"""Imbalanced classes: balanced class weights, a warning for classes too small to split, and a
decision threshold for two classes chosen on validation data.

Example:
    >>> balanced_class_weights([0, 0, 0, 1])
    {0: 0.6666666666666666, 1: 2.0}
    >>> choose_threshold([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.9])
    0.65
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np

from textrnn import checks

THRESHOLD_METRICS = ("f1", "accuracy", "balanced_accuracy")


def balanced_class_weights(y: Sequence[Hashable] | np.ndarray) -> dict[Any, float]:
    """Weights `n_samples / (n_classes × count(c))` per class: scikit-learn's 'balanced' rule.

    Each class then carries the same total weight; the mean weight over the samples is 1.

    Args:
        y: the label (index or name) of every training example.

    Returns:
        `{class: weight}` for each class present, in sorted order of the classes.

    Raises:
        ValueError: if `y` is empty.
    """
    values = np.asarray(y).reshape(-1).tolist()
    if not values:
        raise ValueError("Cannot compute class weights without labels: `y` is empty.")
    counts = Counter(values)
    n, k = len(values), len(counts)
    return {c: n / (k * counts[c]) for c in sorted(counts)}


def small_class_warnings(
    labels: Iterable[Hashable],
    *,
    validation_split: float = 0.0,
    test_split: float = 0.0,
) -> list[str]:
    """One line per class too small to appear in the validation part or the held-out test part.

    A class is expected `split × count` times in a part of fraction `split`; below one example
    it may be missing there, and then its validation figures (or test figures) mean nothing.
    The test split is taken first (stratified) and validation from what remains, as
    `textrnn train` does.

    Args:
        labels: the label of every example.
        validation_split: the fraction of training data held out for validation, 0 for none.
        test_split: the fraction held out for testing, 0 when there is a test file.

    Returns:
        The warnings, empty when every class is large enough.
    """
    checks.rate("validation_split", validation_split)
    checks.rate("test_split", test_split)
    counts = Counter(labels)
    lines: list[str] = []
    for name in sorted(counts, key=str):
        count = counts[name]
        if test_split > 0 and count * test_split < 1:
            need = math.ceil(1 / test_split)
            lines.append(
                f"Class {name!r} has {count} example(s): too few to appear in a "
                f"{test_split:.0%} test split "
                f"(at least {need} needed). Add examples or pass a test file."
            )
            continue
        remaining = count - (round(count * test_split) if test_split > 0 else 0)
        if validation_split > 0 and remaining * validation_split < 1:
            need = math.ceil(1 / validation_split)
            lines.append(
                f"Class {name!r} has {remaining} training example(s): it may be missing from the "
                f"{validation_split:.0%} validation split (at least {need} needed)."
            )
    return lines


def _score(y: np.ndarray, pred: np.ndarray, metric: str) -> float:
    tp = float(np.sum(pred & y))
    fp = float(np.sum(pred & ~y))
    fn = float(np.sum(~pred & y))
    tn = float(len(y) - tp - fp - fn)
    if metric == "f1":
        return 2 * tp / (2 * tp + fp + fn) if tp > 0 else 0.0
    if metric == "accuracy":
        return (tp + tn) / len(y)
    tpr = tp / (tp + fn) if tp + fn > 0 else 0.0
    tnr = tn / (tn + fp) if tn + fp > 0 else 0.0
    return (tpr + tnr) / 2


def choose_threshold(
    y_true: Sequence[int] | np.ndarray,
    p: Sequence[float] | np.ndarray,
    metric: str = "f1",
) -> float:
    """The decision threshold on the positive-class probability that maximises `metric`.

    Candidates are the midpoints between consecutive distinct probabilities (and 0.5); among
    equally good thresholds the one nearest 0.5 wins, so a threshold is moved only when it pays.
    Choose it on validation data, never on the test data it will be judged on.

    Args:
        y_true: 0/1 labels (1 = the positive class), shape `(samples,)`.
        p: predicted probabilities of the positive class, shape `(samples,)`.
        metric: `"f1"` (of the positive class, default), `"accuracy"` or `"balanced_accuracy"`.

    Returns:
        The threshold: predict positive when `p >= threshold`.

    Raises:
        ValueError: for a bad metric, unequal lengths, no samples, labels other than 0/1 or
            probabilities outside [0, 1].
    """
    if metric not in THRESHOLD_METRICS:
        raise checks.invalid("metric", f"one of {', '.join(THRESHOLD_METRICS)}", metric)
    y = np.asarray(y_true).reshape(-1)
    probs = np.asarray(p, dtype=np.float64).reshape(-1)
    if len(y) != len(probs):
        raise ValueError(f"Expected as many probabilities as labels, got {len(probs)} and {len(y)}.")
    if len(y) == 0:
        raise ValueError("Cannot choose a threshold without samples: `y_true` is empty.")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(
            f"Expected 0/1 labels for a two-class threshold, got values {sorted(set(y.tolist()))[:5]}."
        )
    if np.isnan(probs).any() or probs.min() < 0 or probs.max() > 1:
        raise ValueError("Expected probabilities in [0, 1] in `p`.")
    yb = y.astype(bool)
    distinct = np.unique(probs)
    candidates = np.unique(np.concatenate(([0.5], (distinct[:-1] + distinct[1:]) / 2)))
    best, best_score = 0.5, -1.0
    for t in sorted(candidates, key=lambda t: (abs(t - 0.5), t)):
        score = _score(yb, probs >= t, metric)
        if score > best_score + 1e-12:
            best, best_score = float(t), score
    return best
