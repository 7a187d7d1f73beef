"""Keras's `keras.metrics`: metric objects for `compile(metrics=[...])`.

Names work too (`"auc"`, `"precision"`, `"recall"`, `"f1_score"`, `"binary_accuracy"`, ...);
see `textrnn.training.metrics` for how each is computed.
"""

from textrnn.training.metrics import (
    AUC,
    Accuracy,
    BinaryAccuracy,
    F1Score,
    Metric,
    Precision,
    Recall,
    StatefulMetric,
)

__all__ = [
    "AUC",
    "Accuracy",
    "BinaryAccuracy",
    "F1Score",
    "Metric",
    "Precision",
    "Recall",
    "StatefulMetric",
]
