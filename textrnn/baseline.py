"""The bag-of-words baseline: TF-IDF word 1-2-grams + logistic regression (scikit-learn).

Trained on the same training texts as an RNN run and scored on the same test texts, in seconds,
it tells a user whether a linear n-gram model already does better on their data. Its metrics
have the shape of `textrnn.evaluation.classification_metrics`, and its probabilities are kept
for an ensemble with the RNN.

Example:
    >>> result = fit_baseline(train_texts, train_labels)
    >>> result.evaluate(test_texts, test_labels)["accuracy"]
    0.89
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from textrnn import checks
from textrnn.data.labels import encode_labels, label_names_of
from textrnn.evaluation import classification_metrics
from textrnn.preprocessing.text import tokenize

C_GRID = (1.0, 4.0, 16.0, 64.0, 256.0)  # logistic regression's inverse regularisation strengths
CV_FOLDS = 3
# Above this many training texts, C is cross-validated on a stratified sample of this size (then
# the model is refitted on all texts): on IMDB's 25,000 reviews a full search costs minutes.
CV_SAMPLE = 8_000
# Above this many training texts C is not searched. On IMDB (25,000 / 25,000 reviews, a busy
# 2-core machine) the whole baseline took 70.5 s with C searched on a stratified sample of 8,000
# training reviews and 34.8 s with C fixed (vectorising 17 s, one fit 6 s, the test 10 s); the
# search chose the grid's largest C (large data needs the least regularisation), the value fixed.
LARGE_DATA = 20_000
LARGE_DATA_C = 256.0


def _features(tokens: list[str]) -> list[str]:
    """A tokenised text's word 1-grams and 2-grams."""
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    # Fed textrnn's own tokens (each text tokenised once), so the baseline and the RNN see the
    # same words.
    return TfidfVectorizer(analyzer=_features, sublinear_tf=True, min_df=1)


def _classifier(c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, solver="newton-cg", max_iter=1000)  # fast on sparse TF-IDF


@dataclass
class BaselineModel:
    """A fitted baseline: the TF-IDF vectoriser, the classifier, its label names and its C.

    Attributes:
        label_names: the class names, index `i` naming class `i` (the order of
            `textrnn.data.labels.label_names_of`, as the RNN run uses).
        c: the inverse regularisation strength chosen by cross-validation.
        cv_scores: mean cross-validated accuracy of each C tried, `{C: accuracy}`.
        fit_seconds: wall time of the search and the final fit.
    """

    vectorizer: Any
    classifier: Any
    label_names: list[str]
    c: float
    cv_scores: dict[float, float] = field(default_factory=dict)
    fit_seconds: float = 0.0

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities of `texts`, shape `(samples, classes)`, in `label_names` order."""
        features = self.vectorizer.transform([tokenize(t) for t in texts])
        p = self.classifier.predict_proba(features)
        # The classifier's classes are the indices it saw; put them in label_names' columns.
        out = np.zeros((len(texts), len(self.label_names)), dtype=np.float64)
        out[:, self.classifier.classes_] = p
        return out

    def evaluate(self, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
        """`classification_metrics` of `texts` against `labels`, plus `c` and `fit_seconds`.

        Raises:
            DatasetError: if a label is not one of `label_names`.
        """
        return self.metrics_of(self.predict_proba(texts), labels)

    def metrics_of(self, probabilities: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
        """`evaluate`'s figures from probabilities already computed by `predict_proba`."""
        y = encode_labels(list(labels), self.label_names, source="the test data")
        metrics = classification_metrics(y, probabilities, self.label_names)
        metrics["model"] = "tfidf-1-2gram-logreg"
        metrics["c"] = self.c
        metrics["fit_seconds"] = self.fit_seconds
        return metrics


def _check_data(texts: Sequence[str], labels: Sequence[str]) -> None:
    if len(texts) != len(labels):
        raise ValueError(
            f"Expected as many labels as texts, got {len(texts)} texts and {len(labels)} labels."
        )
    if len(set(labels)) < 2:
        raise ValueError(f"Expected at least 2 classes to train the baseline, got {sorted(set(labels))}.")


def fit_baseline(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    c_grid: Sequence[float] = C_GRID,
    folds: int = CV_FOLDS,
    seed: int = 0,
) -> BaselineModel:
    """TF-IDF (word 1-2-grams, sublinear tf) + logistic regression, C chosen by cross-validation.

    Args:
        texts: the training texts.
        labels: their labels (strings, as the readers return them).
        c_grid: the values of C tried, default `C_GRID`.
        folds: stratified cross-validation folds on the training texts, default 3 (fewer when
            the rarest class has fewer examples; none, the middle C, below 2). Above
            `CV_SAMPLE` texts the folds are cut from a stratified sample of that size; above
            `LARGE_DATA`, with the default grid, C is `LARGE_DATA_C` without a search.
        seed: seeds the fold shuffle.

    Returns:
        A `BaselineModel` refitted on all of `texts` with the best C.

    Raises:
        ValueError: for unequal lengths, fewer than two classes or a bad argument.
    """
    from sklearn.model_selection import StratifiedKFold, train_test_split

    _check_data(texts, labels)
    checks.int_at_least("folds", folds, 2)
    if not c_grid or any(not isinstance(c, (int, float)) or c <= 0 for c in c_grid):
        raise checks.invalid("c_grid", "a non-empty list of positive numbers", c_grid)
    start = time.perf_counter()
    names = label_names_of(list(labels))
    y = encode_labels(list(labels), names)
    tokens = [tokenize(t) for t in texts]
    smallest = int(np.bincount(y).min())
    n_folds = min(folds, smallest)
    scores: dict[float, float] = {}
    if len(tokens) > LARGE_DATA and tuple(c_grid) == C_GRID:
        best = LARGE_DATA_C
    elif n_folds >= 2 and len(c_grid) > 1:
        rows = np.arange(len(tokens))
        if len(rows) > CV_SAMPLE:
            rows, _ = train_test_split(rows, train_size=CV_SAMPLE, stratify=y, random_state=seed)
        sums = {float(c): 0.0 for c in c_grid}
        cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        for fit_rows, held_rows in cv.split(rows, y[rows]):
            fold = _vectorizer()
            x_fit = fold.fit_transform([tokens[i] for i in rows[fit_rows]])
            x_held = fold.transform([tokens[i] for i in rows[held_rows]])
            for c in sums:
                model = _classifier(c).fit(x_fit, y[rows[fit_rows]])
                sums[c] += float(np.mean(model.predict(x_held) == y[rows[held_rows]]))
        scores = {c: total / n_folds for c, total in sums.items()}
        best = max(scores, key=lambda c: (scores[c], -c))  # ties: the stronger regularisation
    else:
        best = float(sorted(c_grid)[len(c_grid) // 2])
    vectorizer = _vectorizer()
    classifier = _classifier(best).fit(vectorizer.fit_transform(tokens), y)
    return BaselineModel(vectorizer, classifier, names, best, scores, time.perf_counter() - start)


def run_baseline(
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    test_texts: Sequence[str],
    test_labels: Sequence[str],
    *,
    seed: int = 0,
) -> tuple[dict[str, Any], np.ndarray]:
    """Fit on the training texts, score on the test texts: `(metrics, test probabilities)`.

    The metrics are `classification_metrics`' dict plus `model`, `c`, `fit_seconds` and
    `seconds` (fit and evaluation together); the probabilities have shape `(samples, classes)`
    in the order of `metrics["labels"]`.
    """
    start = time.perf_counter()
    model = fit_baseline(train_texts, train_labels, seed=seed)
    probs = model.predict_proba(test_texts)
    metrics = model.metrics_of(probs, test_labels)
    metrics["seconds"] = time.perf_counter() - start
    return metrics, probs
