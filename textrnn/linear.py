"""A linear n-gram model saved without pickle: the ensemble's bag-of-words member.

Word 1-2- or 1-3-grams (textrnn's tokeniser), optionally character 2-5-grams as a second block
of features, one of two feature weightings, and logistic regression:

- `tfidf`: sublinear term frequency × smoothed inverse document frequency, rows L2-normalised
  (the baseline's features, `textrnn.baseline`);
- `nb` (two classes): presence × the naive-Bayes log-count ratio of Wang & Manning (2012), rows
  L2-normalised ("NBSVM" with a logistic loss).

With character n-grams (`NgramCounts.build(texts, chars=True)`), each block is weighted and
L2-normalised on its own and the two are joined with equal weight; whether they pay is chosen on
validation beside the words alone. How long the word n-grams are (up to 2 or 3 words), which
weighting and which C are chosen on a validation split, never on test data. scikit-learn
fits the classifier; prediction is a few lines of NumPy/SciPy over what `save` writes: the
n-gram vocabulary as JSON and the arrays (feature weights, coefficients, intercepts) as
safetensors, so loading a run never unpickles anything.

Example:
    >>> counts = NgramCounts.build(train_texts)
    >>> model = fit_linear(counts, np.arange(len(train_texts)), y, names, kind="tfidf", c=16.0)
    >>> model.predict_proba(["a wonderful film"]).shape
    (1, 2)
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from textrnn.errors import ModelFileError
from textrnn.preprocessing.text import tokenize

KINDS = ("tfidf", "nb")
# The baseline's grid (`textrnn.baseline.C_GRID`). With n-grams seen once kept below
# MIN_DF_FROM texts, on a dev set carved from TREC-6's training file (20%, stratified, seed 0) the
# linear model scored 0.8714 as the baseline did, against 0.8650 with C up to 64 and n-grams seen
# once dropped from 1,000 texts (SMS spam: 0.9933 with either).
C_GRID = (1.0, 4.0, 16.0, 64.0, 256.0)
NGRAM_RANGE = (1, 2)  # the word n-grams of a model that does not say (format versions 1-2)
# The longest word n-grams tried: 1-2-grams, then 1-3-grams, chosen on validation. On IMDB
# (a 10% validation split of the training reviews, seed 1) naive-Bayes features scored 0.9268
# with 1-3-grams against 0.9220 with 1-2-grams (C=256).
WORD_NS = (2, 3)
MIN_DF_FROM = 20_000  # with at least this many training texts, keep n-grams seen in 2+ texts
NB_ALPHA = 1.0  # naive Bayes smoothing
LINEAR_FORMAT = "textrnn.linear"
CHAR_RANGE = (2, 5)  # character n-grams of the lower-cased text, whitespace runs made one space
# 2: `char_from` (character n-grams); 3: `ngram_range` may be (1, 3). Versions 1-2 hold 1-2-grams.
LINEAR_FORMAT_VERSION = 3
CONFIG_FILE = "linear.json"
VOCAB_FILE = "ngrams.json"
ARRAYS_FILE = "linear.safetensors"


def ngrams_of(text: str, longest: int = NGRAM_RANGE[1]) -> list[str]:
    """The word 1-grams to `longest`-grams of `text`, words joined by a space."""
    words = tokenize(text)
    out = list(words)
    for n in range(2, longest + 1):
        out.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    return out


def char_ngrams_of(text: str) -> list[str]:
    """The character 2-5-grams of `text` lower-cased, its whitespace runs made one space."""
    s = " ".join(text.lower().split())
    return [s[i : i + n] for n in range(CHAR_RANGE[0], CHAR_RANGE[1] + 1) for i in range(len(s) - n + 1)]


def count_matrix(
    texts: Sequence[str], index: dict[str, int], grams: Callable[[str], list[str]] = ngrams_of
) -> Any:
    """`(texts, n-grams)` CSR matrix of the counts of `grams(text)` over the vocabulary `index`."""
    from scipy.sparse import csr_matrix

    indptr = [0]
    cols: list[int] = []
    vals: list[int] = []
    for text in texts:
        counts = Counter(j for g in grams(text) if (j := index.get(g)) is not None)
        cols.extend(counts.keys())
        vals.extend(counts.values())
        indptr.append(len(cols))
    m = csr_matrix(
        (np.asarray(vals, dtype=np.float64), np.asarray(cols, dtype=np.int64), indptr),
        shape=(len(texts), len(index)),
    )
    m.sort_indices()
    return m


def _words_up_to(longest: int) -> Callable[[str], list[str]]:
    return lambda text: ngrams_of(text, longest)


def _vocabulary(texts: Sequence[str], grams: Callable[[str], list[str]], min_df: int) -> list[str]:
    df: Counter[str] = Counter()
    for text in texts:
        df.update(set(grams(text)))
    return sorted(g for g, n in df.items() if n >= min_df)


@dataclass
class NgramCounts:
    """The n-gram vocabulary of a set of training texts and their count matrix (no labels used).

    The word n-grams (up to `longest` words) come first; with character n-grams,
    `vocabulary[char_from:]` are they (seen in 2+ texts)."""

    vocabulary: list[str]
    counts: Any  # CSR (texts, n-grams)
    char_from: int | None = None
    longest: int = NGRAM_RANGE[1]

    @classmethod
    def build(cls, texts: Sequence[str], *, chars: bool = False, longest: int = WORD_NS[-1]) -> NgramCounts:
        min_df = 2 if len(texts) >= MIN_DF_FROM else 1
        vocabulary = _vocabulary(texts, _words_up_to(longest), min_df)
        char_from = len(vocabulary) if chars else None
        if chars:
            vocabulary += _vocabulary(texts, char_ngrams_of, 2)
        return cls(vocabulary, counts_of(texts, vocabulary, char_from, longest), char_from, longest)

    def select(self, *, longest: int | None = None, chars: bool = True) -> NgramCounts:
        """These counts restricted to the word n-grams of at most `longest` words (None: all of
        them), and to the words alone unless `chars` (and there are character n-grams)."""
        longest = self.longest if longest is None else longest
        if longest > self.longest:
            raise ValueError(f"These counts hold word n-grams of up to {self.longest} words, not {longest}.")
        word_end = len(self.vocabulary) if self.char_from is None else self.char_from
        keep = np.flatnonzero([g.count(" ") < longest for g in self.vocabulary[:word_end]])
        char_from = None
        if chars and self.char_from is not None:
            char_from = len(keep)
            keep = np.concatenate([keep, np.arange(self.char_from, len(self.vocabulary))])
        if len(keep) == len(self.vocabulary):
            return self
        vocabulary = [self.vocabulary[j] for j in keep]
        return NgramCounts(vocabulary, self.counts[:, keep], char_from, longest)

    def words_only(self) -> NgramCounts:
        """The word n-grams alone (self when there are no character n-grams)."""
        return self.select(chars=False)


def counts_of(
    texts: Sequence[str], vocabulary: Sequence[str], char_from: int | None, longest: int = NGRAM_RANGE[1]
) -> Any:
    """The count matrix of `texts` over a model's `vocabulary` (word n-grams of up to `longest`
    words, then its character n-grams from `char_from`)."""
    from scipy.sparse import hstack

    words_of = _words_up_to(longest)
    if char_from is None:
        return count_matrix(texts, {g: i for i, g in enumerate(vocabulary)}, words_of)
    words = count_matrix(texts, {g: i for i, g in enumerate(vocabulary[:char_from])}, words_of)
    grams = {g: i for i, g in enumerate(vocabulary[char_from:])}
    return hstack([words, count_matrix(texts, grams, char_ngrams_of)]).tocsr()


def _l2_rows(x: Any) -> Any:
    from scipy.sparse import diags

    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return diags(1.0 / norms) @ x


def _features(counts: Any, kind: str, weights: np.ndarray, char_from: int | None = None) -> Any:
    from scipy.sparse import hstack

    x = counts.astype(np.float64, copy=True)
    if kind == "tfidf":
        x.data = 1.0 + np.log(x.data)
    else:
        x.data = np.ones_like(x.data)
    x = x.multiply(weights.reshape(1, -1)).tocsr()
    if char_from is None:
        return _l2_rows(x)
    # each block normalised on its own, the two joined with equal weight (unit rows again)
    blocks = [_l2_rows(x[:, :char_from]), _l2_rows(x[:, char_from:])]
    return (hstack(blocks) * (1.0 / np.sqrt(2.0))).tocsr()


def _feature_weights(counts: Any, y: np.ndarray, kind: str) -> np.ndarray:
    # n-grams absent from these texts weigh 0, as if they were out of the vocabulary
    present = (counts > 0).astype(np.float64)
    df = np.asarray(present.sum(axis=0)).ravel()
    if kind == "tfidf":
        n = counts.shape[0]
        weights = np.log((1.0 + n) / (1.0 + df)) + 1.0
    else:
        p = NB_ALPHA + np.asarray(present[y == 1].sum(axis=0)).ravel()
        q = NB_ALPHA + np.asarray(present[y == 0].sum(axis=0)).ravel()
        weights = np.log((p / p.sum()) / (q / q.sum()))
    return np.where(df > 0, weights, 0.0)


@dataclass
class LinearTextModel:
    """A fitted linear n-gram model (see the module's docstring).

    Attributes:
        kind: `"tfidf"` or `"nb"`.
        c: logistic regression's inverse regularisation strength.
        label_names: the class names, column `i` of the probabilities naming class `i`.
        vocabulary: the n-grams, feature `j` being `vocabulary[j]`.
        weights: `(features,)` the idf or the log-count ratio of each n-gram.
        coef: `(1, features)` for two classes (the second class's logit), else `(classes, features)`.
        intercept: `(1,)` or `(classes,)`.
        char_from: where the character n-grams start in `vocabulary` (None: words only).
        longest: the word n-grams' longest, in words (2 or 3).
    """

    kind: str
    c: float
    label_names: list[str]
    vocabulary: list[str]
    weights: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    scores: dict[str, Any] = field(default_factory=dict)
    char_from: int | None = None
    longest: int = NGRAM_RANGE[1]

    @property
    def name(self) -> str:
        what = "tf-idf" if self.kind == "tfidf" else "naive-Bayes log-count ratios"
        grams = f"word 1-{self.longest}-grams"
        if self.char_from is not None:
            grams += " + char 2-5-grams"
        return f"{grams}, {what}, logistic regression (C={self.c:g})"

    def features(self, texts: Sequence[str]) -> Any:
        counts = counts_of(list(texts), self.vocabulary, self.char_from, self.longest)
        return _features(counts, self.kind, self.weights, self.char_from)

    def proba_of_features(self, x: Any) -> np.ndarray:
        z = np.asarray(x @ self.coef.T) + self.intercept.reshape(1, -1)
        if len(self.label_names) == 2 and self.coef.shape[0] == 1:
            p = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.stack([1.0 - p, p], axis=1)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities of `texts`, shape `(samples, classes)`, in `label_names` order."""
        return self.proba_of_features(self.features(texts))

    # ------------------------------------------------------------------ files
    def save(self, folder: str | os.PathLike[str]) -> None:
        """Write `linear.json` (settings), `ngrams.json` and `linear.safetensors` into `folder`."""
        from safetensors.numpy import save_file

        from textrnn.fileio import write_json_atomic

        p = Path(folder)
        p.mkdir(parents=True, exist_ok=True)
        config = {
            "format": LINEAR_FORMAT,
            "format_version": LINEAR_FORMAT_VERSION,
            "kind": self.kind,
            "c": self.c,
            "label_names": self.label_names,
            "ngram_range": [1, self.longest],
            "char_range": None if self.char_from is None else list(CHAR_RANGE),
            "char_from": self.char_from,
            "features": len(self.vocabulary),
            "scores": self.scores,
        }
        write_json_atomic(p / CONFIG_FILE, config)
        write_json_atomic(p / VOCAB_FILE, self.vocabulary)
        save_file(
            {
                "weights": np.ascontiguousarray(self.weights, dtype=np.float64),
                "coef": np.ascontiguousarray(self.coef, dtype=np.float64),
                "intercept": np.ascontiguousarray(self.intercept, dtype=np.float64),
            },
            str(p / ARRAYS_FILE),
        )

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> LinearTextModel:
        """Read a model `save` wrote.

        Raises:
            ModelFileError: if a file is missing, damaged or of another format.
        """
        from safetensors.numpy import load_file

        p = Path(folder)
        try:
            config = json.loads((p / CONFIG_FILE).read_text(encoding="utf-8"))
            vocabulary = json.loads((p / VOCAB_FILE).read_text(encoding="utf-8"))
            arrays = load_file(str(p / ARRAYS_FILE))
            if config.get("format") != LINEAR_FORMAT or config.get("kind") not in KINDS:
                raise ValueError("not a textrnn linear model")
            if config.get("format_version") not in (1, 2, LINEAR_FORMAT_VERSION):
                raise ValueError(f"format_version {config.get('format_version')!r}")
            char_from = config.get("char_from")
            ngram_range = config.get("ngram_range", list(NGRAM_RANGE))
            if ngram_range not in ([1, n] for n in WORD_NS):
                raise ValueError(f"ngram_range {ngram_range!r}")
            model = cls(
                str(config["kind"]),
                float(config["c"]),
                [str(n) for n in config["label_names"]],
                [str(g) for g in vocabulary],
                arrays["weights"],
                arrays["coef"],
                arrays["intercept"],
                dict(config.get("scores") or {}),
                None if char_from is None else int(char_from),
                int(ngram_range[1]),
            )
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ModelFileError(f"Cannot read the linear model in `{p}`: {e}.") from None
        f = len(model.vocabulary)
        k = len(model.label_names)
        rows = 1 if k == 2 else k
        if model.weights.shape != (f,) or model.coef.shape != (rows, f):
            raise ModelFileError(f"The linear model in `{p}` is damaged: its shapes disagree.")
        if model.intercept.shape != (rows,):
            raise ModelFileError(f"The linear model in `{p}` is damaged: its shapes disagree.")
        if model.char_from is not None and not 0 < model.char_from < f:
            raise ModelFileError(f"The linear model in `{p}` is damaged: its `char_from` is out of range.")
        return model


def fit_linear(
    counts: NgramCounts,
    rows: np.ndarray,
    y: np.ndarray,
    label_names: Sequence[str],
    *,
    kind: str,
    c: float,
) -> LinearTextModel:
    """Fit on the training texts `rows` of `counts` (labels `y`, class indices of all texts).

    Raises:
        ValueError: for an unknown kind, `nb` with more than two classes, or one class only.
    """
    from sklearn.linear_model import LogisticRegression

    if kind not in KINDS:
        raise ValueError(f"Unknown linear model kind {kind!r}; expected one of {KINDS}.")
    k = len(label_names)
    if kind == "nb" and k != 2:
        raise ValueError("The `nb` linear model takes two classes.")
    sub, ys = counts.counts[rows], y[rows]
    if len(np.unique(ys)) != k:
        raise ValueError(f"Expected every one of the {k} classes in the linear model's training rows.")
    weights = _feature_weights(sub, ys, kind)
    clf = LogisticRegression(C=float(c), solver="newton-cg", max_iter=1000)  # fast on sparse
    clf.fit(_features(sub, kind, weights, counts.char_from), ys)
    return LinearTextModel(
        kind,
        float(c),
        [str(n) for n in label_names],
        counts.vocabulary,
        weights,
        np.asarray(clf.coef_, dtype=np.float64),
        np.asarray(clf.intercept_, dtype=np.float64),
        char_from=counts.char_from,
        longest=counts.longest,
    )


def log_loss(y: np.ndarray, probs: np.ndarray) -> float:
    p = np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0)
    return float(-np.mean(np.log(p)))


def accuracy(y: np.ndarray, probs: np.ndarray) -> float:
    return float(np.mean(probs.argmax(axis=1) == y))


def macro_f1(y: np.ndarray, probs: np.ndarray) -> float:
    """The mean over the classes of `probs`' columns of each class's F1 (0 for a class that is
    neither predicted nor present)."""
    predicted = probs.argmax(axis=1)
    scores = []
    for k in range(probs.shape[1]):
        tp = float(np.sum((predicted == k) & (y == k)))
        both = float(np.sum(predicted == k) + np.sum(y == k))
        scores.append(2.0 * tp / both if both else 0.0)
    return float(np.mean(scores))


# What the linear model's kind, C and weight are chosen by: a row's key and its figure.
CRITERIA = ("accuracy", "macro_f1")


def _rank(row: dict[str, Any], by: str) -> tuple[float, ...]:
    first = row["val_macro_f1"] if by == "macro_f1" else row["val_acc"]
    return (first, row["val_acc"], -row["val_loss"])


class LinearChoice(NamedTuple):
    """What `choose_linear` chose, the table of every fit, and the chosen fit's probabilities of
    each split's validation texts."""

    kind: str
    c: float
    chars: bool
    longest: int
    table: list[dict[str, Any]]
    probs: list[np.ndarray]

    def counts(self, counts: NgramCounts) -> NgramCounts:
        """`counts` restricted to the chosen features."""
        return counts.select(longest=self.longest, chars=self.chars)


Split = tuple[np.ndarray, np.ndarray]  # (training rows, validation rows)


def choose_linear(
    counts: NgramCounts,
    splits: Sequence[Split],
    y: np.ndarray,
    label_names: Sequence[str],
    *,
    c_grid: Sequence[float] = C_GRID,
    by: str = "accuracy",
) -> LinearChoice:
    """The features, kind and C with the best validation figure `by` (`accuracy`, or `macro_f1`
    for a run that monitors it; ties: accuracy, lower log loss, then the smaller model).

    Each `(features, kind, C)` is fitted on the training rows of every split in `splits` and
    scored on their validation rows pooled (an ensemble passes each member's split, so that the
    choice rests on all of its validation texts, not on one split's few): first the words
    alone, 1-2-grams and then (when `counts` holds them) 1-3-grams; then, when `counts` has
    character n-grams, the better word n-grams with them (`chars`).
    """
    if by not in CRITERIA:
        raise ValueError(f"Unknown criterion {by!r}; expected one of {CRITERIA}.")
    if not splits:
        raise ValueError("choose_linear needs at least one (training rows, validation rows) split.")
    kinds = KINDS if len(label_names) == 2 else ("tfidf",)
    yv = np.concatenate([y[val] for _, val in splits])
    table: list[dict[str, Any]] = []
    fits: list[list[np.ndarray]] = []

    def fit_all(block: NgramCounts) -> None:
        for kind in kinds:
            for c in c_grid:
                parts = [
                    validation_probs(fit_linear(block, train, y, label_names, kind=kind, c=c), block, val)
                    for train, val in splits
                ]
                probs = np.concatenate(parts)
                fits.append(parts)
                table.append(
                    {"chars": block.char_from is not None, "longest": block.longest, "kind": kind,
                     "c": float(c), "val_acc": accuracy(yv, probs), "val_macro_f1": macro_f1(yv, probs),
                     "val_loss": log_loss(yv, probs)}
                )  # fmt: skip

    for longest in (n for n in WORD_NS if n <= counts.longest):
        fit_all(counts.select(longest=longest, chars=False))
    if counts.char_from is not None:
        words = max(table, key=lambda r: _rank(r, by))
        fit_all(counts.select(longest=int(words["longest"]), chars=True))
    i = max(range(len(table)), key=lambda j: _rank(table[j], by))
    best = table[i]
    return LinearChoice(
        str(best["kind"]), float(best["c"]), bool(best["chars"]), int(best["longest"]), table, fits[i]
    )


def validation_probs(model: LinearTextModel, counts: NgramCounts, rows: np.ndarray) -> np.ndarray:
    """A fitted model's probabilities of the texts `rows` of `counts` (same vocabulary)."""
    x = _features(counts.counts[rows], model.kind, model.weights, model.char_from)
    return model.proba_of_features(x)


WEIGHT_GRID = tuple(round(0.1 * i, 1) for i in range(11))


def choose_weight(
    y: np.ndarray, rnn_probs: np.ndarray, linear_probs: np.ndarray, *, by: str = "accuracy"
) -> tuple[float, list[dict[str, float]]]:
    """The linear model's weight `w` in `(1 - w) · rnn + w · linear` with the best validation
    figure `by` (`accuracy` or `macro_f1`; ties: accuracy, lower log loss, then the smaller
    weight), and the table of every weight."""
    if by not in CRITERIA:
        raise ValueError(f"Unknown criterion {by!r}; expected one of {CRITERIA}.")
    table: list[dict[str, float]] = []
    for w in WEIGHT_GRID:
        p = (1.0 - w) * rnn_probs + w * linear_probs
        table.append(
            {"weight": w, "val_acc": accuracy(y, p), "val_macro_f1": macro_f1(y, p),
             "val_loss": log_loss(y, p)}
        )  # fmt: skip
    best = max(table, key=lambda r: (*_rank(r, by), -r["weight"]))
    return float(best["weight"]), table


__all__ = [
    "CRITERIA",
    "KINDS",
    "LinearChoice",
    "LinearTextModel",
    "NgramCounts",
    "choose_linear",
    "choose_weight",
    "fit_linear",
    "macro_f1",
    "char_ngrams_of",
    "counts_of",
    "ngrams_of",
    "validation_probs",
]
