"""`Predictor`: a trained run used on raw text, what `textrnn.load("runs/NAME")` returns.

Raw texts go through exactly the tokenisation, vocabulary, padding and truncation the model was
trained with (all stored in the saved model's metadata). Inference is done in bulk: texts are
tokenised and encoded together, padded once, and predicted in large batches without gradients;
when the model masks padding, batches are length-sorted and trimmed (`bucket_by_length`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from textrnn.data.labels import encode_labels, normalize_label
from textrnn.errors import DatasetError, ModelFileError
from textrnn.evaluation import classification_metrics
from textrnn.preprocessing.sequence import pad_flat
from textrnn.preprocessing.text import Vocabulary
from textrnn.runs.folded import FoldedLSTM
from textrnn.runs.run import (
    MODEL,
    EnsembleRun,
    Run,
    is_run,
    model_metadata,
    open_run,
    read_text_model,
)

PREDICT_BATCH_SIZE = 1024
_CHUNK = 32_768  # texts encoded and predicted at a time, bounding memory for huge inputs

MAX_SEQUENCE_LENGTH = 10_000_000  # tokens per text; a bound against crafted metadata


@dataclass(frozen=True)
class Prediction:
    """One text's prediction.

    Attributes:
        label: the predicted class name.
        probability: the predicted class's probability.
        probabilities: every class name → its probability.
    """

    label: str
    probability: float
    probabilities: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "probability": self.probability,
            "probabilities": dict(self.probabilities),
        }


class Predictor:
    """A trained text classifier that takes raw text.

    Args:
        model: a built `Sequential` ending in `Dense(1, sigmoid)` (two classes) or
            `Dense(k, softmax)`.
        vocabulary: the training vocabulary.
        label_names: class names, index `i` naming class `i`.
        maxlen: the sequence length of training.
        padding, truncating: `"pre"` or `"post"`, as in training.

    Build one with `Predictor.load(path)` or `textrnn.load(path)`.

    Example:
        >>> predictor = textrnn.load("runs/imdb")
        >>> [p.label for p in predictor.predict(["A wonderful film.", "Dull and far too long."])]
        ['pos', 'neg']
        >>> predictor.predict_proba(["A wonderful film."]).shape
        (1, 2)
    """

    def __init__(
        self,
        model: Any,
        vocabulary: Vocabulary,
        label_names: Sequence[str],
        maxlen: int,
        padding: str = "pre",
        truncating: str = "pre",
        *,
        path: Path | None = None,
        threshold: float | None = None,
    ) -> None:
        self.model = model
        self.threshold = threshold
        self.vocabulary = vocabulary
        self.label_names = [str(n) for n in label_names]
        self.maxlen = int(maxlen)
        if not 1 <= self.maxlen <= MAX_SEQUENCE_LENGTH:  # a crafted metadata must not pad to 10**12
            raise ModelFileError(
                f"The model's sequence length maxlen={maxlen} is outside 1..{MAX_SEQUENCE_LENGTH}: "
                "its metadata is damaged or crafted. Re-save the model."
            )
        self.padding = padding
        self.truncating = truncating
        self.path = path
        units = int(model.output_shape[-1])
        expected = 1 if len(self.label_names) == 2 else len(self.label_names)
        if units != expected:
            raise ModelFileError(
                f"The model outputs {units} values per text but has {len(self.label_names)} label names "
                f"{self.label_names}: they do not belong together."
            )
        first = model.layers[0]
        self._bucket = bool(getattr(first, "mask_zero", False))
        self._folded = FoldedLSTM.of(model)
        model.eval()

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Predictor:
        """Load a run folder (its `model/`), an ensemble folder, or a model folder saved by a run.

        Raises:
            RunFolderError: if `path` is a run folder without a saved model.
            ModelFileError: if the model is missing, damaged, or not a text classifier saved by
                `textrnn train` (it lacks the vocabulary or label names).
        """
        p = Path(path)
        if is_run(p):
            return for_run(open_run(p))
        if not p.exists():
            raise ModelFileError(
                f"`{p}` does not exist. Pass a run folder made by `textrnn train` (e.g. runs/NAME)."
            )
        return cls.from_model_dir(p)

    @classmethod
    def from_model_dir(cls, model_dir: Path, *, path: Path | None = None) -> Predictor:
        """The predictor of a model folder saved by a run (`runs/NAME/model`).

        Raises:
            ModelFileError: as for `load`.
        """
        from textrnn.models import load_model

        model, meta = load_model(model_dir, compile=False, return_metadata=True)
        info = read_text_model(meta, model_dir)
        return cls(
            model,
            info.vocabulary,
            info.label_names,
            info.maxlen,
            info.padding,
            info.truncating,
            path=path or model_dir,
            threshold=info.threshold,
        )

    # ------------------------------------------------------------------ inference
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Raw texts → `(samples, maxlen)` int32 token ids, as in training."""
        texts = _check_texts(texts)
        ids, offsets = self.vocabulary.encode_flat(texts)
        return pad_flat(ids, offsets, self.maxlen, self.padding, self.truncating)

    def predict_proba(self, texts: Sequence[str], batch_size: int = PREDICT_BATCH_SIZE) -> np.ndarray:
        """Class probabilities, shape `(samples, classes)`, columns in `label_names` order.

        An `Embedding -> LSTM -> ...` model runs through `FoldedLSTM` where it applies (the
        same probabilities up to float rounding, much faster: no padding is run and the
        Embedding is folded into the LSTM); other models through `model.predict`.

        Args:
            texts: a list of raw texts.
            batch_size: texts per forward pass of `model.predict`, default 1024.

        Raises:
            TypeError: if `texts` is a single string or holds a non-string.
        """
        texts = _check_texts(texts)
        k = len(self.label_names)
        out = np.empty((len(texts), k), dtype=np.float32)
        folded = getattr(self, "_folded", None)
        if folded is not None and not folded.usable():
            folded = None
        for start in range(0, len(texts), _CHUNK):
            chunk = texts[start : start + _CHUNK]
            ids, offsets = self.vocabulary.encode_flat(chunk)
            y = None
            if folded is not None:
                y = folded.predict(ids, offsets, self.maxlen, self.padding, self.truncating)
            if y is None:
                x = pad_flat(ids, offsets, self.maxlen, self.padding, self.truncating)
                y = self.model.predict(x, batch_size=batch_size, verbose=0, bucket_by_length=self._bucket)
            out[start : start + len(chunk)] = to_class_matrix(np.asarray(y, dtype=np.float32), k)
        return out

    def predict(self, texts: Sequence[str], batch_size: int = PREDICT_BATCH_SIZE) -> list[Prediction]:
        """The predicted label and probabilities of each text.

        Returns:
            One `Prediction` per text, in order.

        Example:
            >>> predictor.predict(["Loved it."])[0].label
            'pos'
        """
        probs = self.predict_proba(texts, batch_size=batch_size)
        best = decide(probs, getattr(self, "threshold", None))
        names = self.label_names
        return [
            Prediction(names[j], float(row[j]), {n: float(v) for n, v in zip(names, row, strict=True)})
            for row, j in zip(probs, best, strict=True)
        ]

    def explain(self, text: str, method: str = "occlusion") -> Any:
        """The label of `text` and a weight per word of it: see `textrnn.explain.explain`.

        Example:
            >>> predictor.explain("A wonderful film.").top(1)[0].word
            'wonderful'
        """
        from textrnn.explain import explain

        return explain(self, text, method=method)

    def evaluate(
        self, texts: Sequence[str], labels: Sequence[Any], batch_size: int = PREDICT_BATCH_SIZE
    ) -> dict[str, Any]:
        """Accuracy, loss, per-class and macro precision/recall/F1, confusion matrix and ROC AUC.

        Args:
            texts: raw texts.
            labels: their true labels, one per text: class names (`"pos"`), or integer class
                indices `0 … classes-1` (as in Keras's `y` arrays) when they are not names.

        Returns:
            The dict of `textrnn.evaluation.classification_metrics`.

        Raises:
            DatasetError: for a label the model does not know, or lengths that differ.
        """
        texts = _check_texts(texts)
        labels = list(labels.tolist() if isinstance(labels, np.ndarray) else labels)
        if len(labels) != len(texts):
            raise DatasetError(
                f"Expected one label per text, got {len(texts)} texts and {len(labels)} labels."
            )
        names: list[str] = []
        for i, raw in enumerate(labels):
            label = normalize_label(raw)
            if label is None:
                raise DatasetError(f"Label {i} is missing ({raw!r}). Give every text a label.")
            names.append(label)
        known = set(self.label_names)
        k = len(self.label_names)
        integral = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in labels)
        if integral and not all(n in known for n in names):
            # Class indices, as Keras's y arrays hold them.
            bad = next((v for v in labels if not 0 <= v < k), None)
            if bad is not None:
                raise DatasetError(
                    f"Label {bad} is neither one of the model's labels {self.label_names} nor a class index "
                    "in "
                    f"[0, {k - 1}]. Pass label names or indices of the model's classes."
                )
            y = np.asarray(labels, dtype=np.int64)
        else:
            y = encode_labels(names, self.label_names, source="`labels`")
        probs = self.predict_proba(texts, batch_size=batch_size)
        return decided_metrics(y, probs, self.label_names, getattr(self, "threshold", None))

    def __repr__(self) -> str:
        where = f"{str(self.path)!r}, " if self.path is not None else ""
        return (
            f"Predictor({where}labels={self.label_names}, maxlen={self.maxlen}, "
            f"vocabulary={len(self.vocabulary)} words)"
        )


class EnsemblePredictor(Predictor):
    """Several `Predictor`s of the same classes, predicting with the mean of their probabilities.

    What `textrnn.load` returns for an ensemble folder (`textrnn train --ensemble K`). Each
    member reads the raw text its own way (its vocabulary and `maxlen`); `predict`,
    `predict_proba` and `evaluate` work as for one model.

    Args:
        members: the member predictors; their label names must be the same, in the same order.

    Example:
        >>> ensemble = textrnn.load("runs/best")
        >>> ensemble.predict_proba(["A wonderful film."]).shape
        (1, 2)
    """

    def __init__(
        self,
        members: Sequence[Predictor],
        *,
        path: Path | None = None,
        linear: Any = None,
        linear_weight: float = 0.0,
    ) -> None:
        if not members:
            raise ValueError("An ensemble needs at least one member predictor.")
        names = members[0].label_names
        for m in members[1:]:
            if m.label_names != names:
                raise ModelFileError(
                    f"The ensemble's members predict different classes ({names} and {m.label_names}): "
                    "only models of the same classes can be averaged."
                )
        if linear is not None and list(linear.label_names) != list(names):
            raise ModelFileError(
                f"The ensemble's linear model predicts other classes ({linear.label_names}) than "
                f"its members ({names})."
            )
        if not 0.0 <= float(linear_weight) <= 1.0:
            raise ModelFileError(
                f"The ensemble's linear weight {linear_weight!r} is outside [0, 1]: its config is damaged."
            )
        self.members = list(members)
        self.label_names = list(names)
        self.path = path
        self.linear = linear
        self.linear_weight = float(linear_weight) if linear is not None else 0.0
        self.threshold = None  # an ensemble decides by the largest mean probability

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EnsemblePredictor:
        """Load an ensemble folder made by `textrnn train --ensemble K`.

        Raises:
            RunFolderError: if it is not an ensemble, or not every member has finished.
        """
        return for_ensemble(EnsembleRun(path))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        raise TypeError(
            "An ensemble's members each encode texts their own way: use `ensemble.members[i].encode(texts)`."
        )

    def predict_proba(self, texts: Sequence[str], batch_size: int = PREDICT_BATCH_SIZE) -> np.ndarray:
        """The mean of the members' class probabilities, shape `(samples, classes)`; with a linear
        model of weight `w`, `(1 - w)` of that mean plus `w` of the linear model's."""
        texts = _check_texts(texts)
        total = np.zeros((len(texts), len(self.label_names)), dtype=np.float64)
        w = self.linear_weight
        if w < 1.0:
            for member in self.members:
                total += member.predict_proba(texts, batch_size=batch_size)
            total *= (1.0 - w) / len(self.members)
        if self.linear is not None and w > 0.0:
            for start in range(0, len(texts), _CHUNK):
                chunk = texts[start : start + _CHUNK]
                total[start : start + len(chunk)] += w * self.linear.predict_proba(chunk)
        return total.astype(np.float32)

    def __repr__(self) -> str:
        where = f"{str(self.path)!r}, " if self.path is not None else ""
        linear = f", linear weight {self.linear_weight:g}" if self.linear is not None else ""
        return f"EnsemblePredictor({where}labels={self.label_names}, members={len(self.members)}{linear})"


def for_run(run: Run) -> Predictor:
    """The predictor of an opened run: a `Predictor`, or an `EnsemblePredictor` for an ensemble."""
    if isinstance(run, EnsembleRun):
        return for_ensemble(run)
    return Predictor.from_model_dir(run.model_dirs()[0], path=run.path)


def for_ensemble(run: EnsembleRun) -> EnsemblePredictor:
    """The predictor averaging a complete ensemble's members.

    Raises:
        RunFolderError: if not every member has finished.
    """
    pairs = zip(run.model_dirs(), run.member_paths, strict=True)
    members = [Predictor.from_model_dir(d, path=p) for d, p in pairs]
    linear_dir = run.linear_dir()
    if linear_dir is None:
        return EnsemblePredictor(members, path=run.path)
    from textrnn.linear import LinearTextModel

    return EnsemblePredictor(
        members,
        path=run.path,
        linear=LinearTextModel.load(linear_dir),
        linear_weight=run.linear_weight or 0.0,
    )


def decide(probs: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """The predicted class of each row of `(samples, classes)` probabilities: argmax, or for two
    classes with a `threshold`, class 1 where its probability is at least the threshold."""
    if threshold is not None and probs.shape[1] == 2:
        return (probs[:, 1] >= threshold).astype(np.int64)
    return np.asarray(probs.argmax(axis=1), dtype=np.int64)


def decided_metrics(
    y: np.ndarray, probs: np.ndarray, names: Sequence[str], threshold: float | None = None
) -> dict[str, Any]:
    """`classification_metrics`, with the decisions (accuracy, per-class and macro figures,
    confusion matrix) taken at `threshold` when one is given; loss and ROC AUC from `probs`."""
    metrics = classification_metrics(y, probs, names)
    if threshold is None or probs.shape[1] != 2:
        return metrics
    chosen = np.eye(probs.shape[1], dtype=np.float64)[decide(probs, threshold)]
    decided = classification_metrics(y, chosen, names)
    for key in ("accuracy", "per_class", "macro", "confusion_matrix"):
        metrics[key] = decided[key]
    metrics["threshold"] = float(threshold)
    return metrics


def to_class_matrix(y: np.ndarray, k: int) -> np.ndarray:
    """Model output → `(samples, k)` probabilities; a sigmoid column becomes `[1 - p, p]`."""
    if k == 2 and y.shape[-1] == 1:
        p = y[:, 0]
        return np.stack([1.0 - p, p], axis=1)
    return y


def _check_texts(texts: Any) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError(
            "Expected a list of texts, got a single string. Wrap it in a list: `predict([text])`."
        )
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"Expected every text to be a string, got {type(t).__name__} at position {i}.")
    return out


def load(path: str | os.PathLike[str]) -> Predictor:
    """Load a trained run for prediction: `textrnn.load("runs/NAME")`.

    Args:
        path: a run folder made by `textrnn train`, or its `model/` folder, or an ensemble
            folder (`textrnn train --ensemble K`).

    Returns:
        A `Predictor` (an `EnsemblePredictor` for an ensemble) with `.predict(texts)`,
        `.predict_proba(texts)` and `.evaluate(texts, labels)`.

    Example:
        >>> predictor = textrnn.load("runs/imdb")
        >>> predictor.predict(["What a great movie!"])[0]
        Prediction(label='pos', probability=0.93, probabilities={'neg': 0.07, 'pos': 0.93})
    """
    return Predictor.load(path)


__all__ = [
    "MODEL",
    "EnsemblePredictor",
    "Prediction",
    "Predictor",
    "for_run",
    "load",
    "model_metadata",
    "to_class_matrix",
]
