"""Classification metrics against independent, brute-force computations."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from textrnn.evaluation import (
    classification_metrics,
    confusion_matrix,
    cross_entropy,
    format_metrics,
    roc_auc,
)


def brute_auc(y, s):
    pos = [v for v, t in zip(s, y, strict=True) if t == 1]
    neg = [v for v, t in zip(s, y, strict=True) if t == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_roc_auc_matches_pair_counting_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.random(200), 1)  # many ties
    assert roc_auc(y, s) == pytest.approx(brute_auc(y, s), abs=1e-12)
    assert roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert roc_auc(np.array([1, 1]), np.array([0.1, 0.2])) is None


def test_binary_metrics_by_hand():
    y = [0, 0, 0, 1, 1]
    p1 = np.array([0.1, 0.6, 0.4, 0.9, 0.3])
    m = classification_metrics(y, np.stack([1 - p1, p1], axis=1), ["neg", "pos"])
    # predicted: 0 1 0 1 0  -> cm [[2, 1], [1, 1]]
    assert m["confusion_matrix"] == [[2, 1], [1, 1]]
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["per_class"]["pos"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert m["per_class"]["neg"]["precision"] == pytest.approx(2 / 3)
    assert m["per_class"]["neg"]["recall"] == pytest.approx(2 / 3)
    assert m["macro"]["f1"] == pytest.approx((0.5 + 2 / 3) / 2)
    expected_loss = -np.mean([math.log(0.9), math.log(0.4), math.log(0.6), math.log(0.9), math.log(0.3)])
    assert m["loss"] == pytest.approx(expected_loss)
    assert m["roc_auc"] == pytest.approx(brute_auc(y, p1))
    assert json.loads(json.dumps(m)) == m
    text = format_metrics(m)
    assert "accuracy 0.6000" in text and "ROC AUC" in text and "neg" in text


def test_multiclass_metrics_and_zero_division():
    y = np.array([0, 1, 2, 2])
    p = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8], [0.2, 0.2, 0.6]])
    m = classification_metrics(y, p, ["a", "b", "c"])
    assert m["confusion_matrix"] == [[1, 0, 0], [1, 0, 0], [0, 0, 2]]
    assert m["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["per_class"]["a"]["precision"] == pytest.approx(0.5)
    assert m["roc_auc"] is None
    assert m["loss"] == pytest.approx(-np.mean(np.log([0.7, 0.3, 0.8, 0.6])))


def test_cross_entropy_clips_like_keras():
    assert cross_entropy(np.array([1]), np.array([[1.0, 0.0]])) == pytest.approx(-math.log(1e-7), rel=1e-6)


def test_confusion_matrix_counts():
    np.testing.assert_array_equal(
        confusion_matrix(np.array([0, 1, 1]), np.array([1, 1, 1]), 2), [[0, 1], [0, 2]]
    )


def test_shape_and_range_errors():
    with pytest.raises(ValueError, match="shape \\(samples, classes\\) = \\(2, 2\\)"):
        classification_metrics([0, 1], np.zeros((2, 3)), ["a", "b"])
    with pytest.raises(ValueError, match="empty dataset"):
        classification_metrics([], np.zeros((0, 2)), ["a", "b"])
    with pytest.raises(ValueError, match="labels in \\[0, 1\\]"):
        classification_metrics([0, 2], np.full((2, 2), 0.5), ["a", "b"])
