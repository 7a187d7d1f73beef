"""Classification metrics from predicted probabilities: the contents of a run's `metrics.json`.

All figures are computed with NumPy from integer labels and a `(samples, classes)` matrix of
probabilities, so the same function serves `textrnn train`, `textrnn evaluate` and
`Predictor.evaluate`, and its numbers can be checked against the confusion matrix it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from textrnn import checks

EPSILON = 1e-7  # Keras's backend epsilon, used to clip probabilities in the losses.


def cross_entropy(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean cross-entropy of probabilities, clipped to `[eps, 1 - eps]` as Keras clips them.

    With two classes this equals Keras's `binary_crossentropy` on the positive-class probability;
    with more, `sparse_categorical_crossentropy`.

    Args:
        y_true: integer class indices, shape `(samples,)`.
        probabilities: shape `(samples, classes)`, rows summing to 1.

    Returns:
        The mean loss as a Python float.
    """
    y = np.asarray(y_true, dtype=np.int64)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), EPSILON, 1.0 - EPSILON)
    if p.shape[1] == 2:
        pos = p[:, 1]
        losses = -(y * np.log(pos) + (1 - y) * np.log(1.0 - pos))
    else:
        losses = -np.log(p[np.arange(len(y)), y])
    return float(losses.mean())


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve for binary labels (1 = positive), ties counted as half.

    Computed as the Mann-Whitney U statistic from average ranks. Returns None when only one
    class is present, where the AUC is undefined.
    """
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    sorted_scores = s[order]
    ranks = np.empty(len(s), dtype=np.float64)
    # Average rank over runs of equal scores.
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(s)]))
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2.0  # ranks are 1-based
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts with rows = true class and columns = predicted class, shape `(classes, classes)`."""
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return m


def _ratio(num: float, den: float) -> float:
    # scikit-learn's `zero_division=0`: an undefined precision or recall counts as 0.
    return float(num / den) if den > 0 else 0.0


def classification_metrics(
    y_true: Sequence[int] | np.ndarray,
    probabilities: np.ndarray,
    label_names: Sequence[str],
) -> dict[str, Any]:
    """Accuracy, loss, per-class and macro precision/recall/F1, confusion matrix, ROC AUC.

    Args:
        y_true: integer class indices in `[0, len(label_names))`, shape `(samples,)`.
        probabilities: predicted class probabilities, shape `(samples, classes)`.
        label_names: the class names, index `i` naming class `i`.

    Returns:
        A JSON-serialisable dict: `accuracy`, `loss`, `samples`, `labels`, `per_class`
        (`{name: {precision, recall, f1, support}}`), `macro` (`{precision, recall, f1}`),
        `confusion_matrix` (rows true, columns predicted) and `roc_auc` (two classes only,
        else None).

    Raises:
        ValueError: if the shapes disagree, there are no samples, or a label is out of range.

    Example:
        >>> m = classification_metrics([0, 1], np.array([[0.8, 0.2], [0.3, 0.7]]), ["neg", "pos"])
        >>> m["accuracy"], m["confusion_matrix"]
        (1.0, [[1, 0], [0, 1]])
    """
    y = np.asarray(y_true, dtype=np.int64).reshape(-1)
    p = np.asarray(probabilities, dtype=np.float64)
    k = len(label_names)
    if p.ndim != 2 or p.shape != (len(y), k):
        expected = f"an array of shape (samples, classes) = ({len(y)}, {k})"
        raise checks.invalid("probabilities", expected, probabilities, got=f"shape {p.shape}")
    if len(y) == 0:
        raise ValueError("Cannot compute metrics on an empty dataset: `y_true` has no samples.")
    if y.min() < 0 or y.max() >= k:
        expected = f"labels in [0, {k - 1}] for {k} classes"
        raise checks.invalid("y_true", expected, y_true, got=f"values in [{y.min()}, {y.max()}]")
    y_pred = p.argmax(axis=1)
    cm = confusion_matrix(y, y_pred, k)
    per_class: dict[str, dict[str, float | int]] = {}
    for i, name in enumerate(label_names):
        tp = float(cm[i, i])
        precision = _ratio(tp, float(cm[:, i].sum()))
        recall = _ratio(tp, float(cm[i, :].sum()))
        f1 = _ratio(2 * precision * recall, precision + recall)
        per_class[str(name)] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": int(cm[i, :].sum()),
        }
    macro = {
        key: float(np.mean([c[key] for c in per_class.values()])) for key in ("precision", "recall", "f1")
    }
    return {
        "accuracy": float(np.trace(cm) / len(y)),
        "loss": cross_entropy(y, p),
        "samples": int(len(y)),
        "labels": [str(n) for n in label_names],
        "per_class": per_class,
        "macro": macro,
        "confusion_matrix": cm.tolist(),
        "roc_auc": roc_auc(y, p[:, 1]) if k == 2 else None,
    }


def format_metrics(metrics: dict[str, Any]) -> str:
    """A short human-readable report of `classification_metrics` output (for the CLI)."""
    lines = [
        f"accuracy {metrics['accuracy']:.4f}   loss {metrics['loss']:.4f}   samples {metrics['samples']}"
    ]
    if metrics.get("roc_auc") is not None:
        lines[0] += f"   ROC AUC {metrics['roc_auc']:.4f}"
    names = list(metrics["per_class"])
    width = max([len("macro"), *(len(n) for n in names)])
    lines.append(f"{'':<{width}}  precision  recall     f1  support")
    for name in names:
        c = metrics["per_class"][name]
        lines.append(
            f"{name:<{width}}  {c['precision']:9.4f}  {c['recall']:6.4f}  {c['f1']:.4f}  {c['support']:7d}"
        )
    mac = metrics["macro"]
    lines.append(f"{'macro':<{width}}  {mac['precision']:9.4f}  {mac['recall']:6.4f}  {mac['f1']:.4f}")
    lines.append("confusion matrix (rows: true, columns: predicted)")
    cm = metrics["confusion_matrix"]
    cell = max([len(n) for n in names] + [len(str(v)) for row in cm for v in row])
    lines.append(" " * (width + 2) + " ".join(f"{n:>{cell}}" for n in names))
    for name, row in zip(names, cm, strict=True):
        lines.append(f"{name:<{width}}  " + " ".join(f"{v:>{cell}}" for v in row))
    return "\n".join(lines)
