"""Class weights, small-class warnings and the two-class decision threshold."""

from __future__ import annotations

import numpy as np
import pytest

from textrnn.data.imbalance import balanced_class_weights, choose_threshold, small_class_warnings


def test_balanced_weights_follow_the_sklearn_rule():
    y = [0] * 6 + [1] * 3 + [2]
    weights = balanced_class_weights(y)
    assert weights == pytest.approx({0: 10 / 18, 1: 10 / 9, 2: 10 / 3})
    # every class carries the same total weight, and the mean sample weight is 1
    totals = [weights[c] * y.count(c) for c in (0, 1, 2)]
    assert totals == pytest.approx([10 / 3] * 3)
    assert np.mean([weights[c] for c in y]) == pytest.approx(1.0)
    assert balanced_class_weights(np.array(["ham", "spam", "ham", "ham"])) == pytest.approx(
        {"ham": 2 / 3, "spam": 2.0}
    )
    with pytest.raises(ValueError, match="empty"):
        balanced_class_weights([])


def test_small_class_warnings():
    labels = ["a"] * 100 + ["b"] * 3 + ["c"] * 8
    lines = small_class_warnings(labels, validation_split=0.1, test_split=0.2)
    assert len(lines) == 2
    assert lines[0].startswith(
        "Class 'b' has 3 example(s): too few to appear in a 20% test split (at least 5"
    )
    # c: 8 - round(1.6) = 6 left for training, 0.6 expected in validation
    assert lines[1].startswith(
        "Class 'c' has 6 training example(s): it may be missing from the 10% validation"
    )
    # 12 - round(2.4) = 10 left for training, 10 × 0.1 = 1 in validation: enough
    assert small_class_warnings(["a"] * 100 + ["c"] * 12, validation_split=0.1, test_split=0.2) == []
    assert small_class_warnings(labels, validation_split=0.0, test_split=0.0) == []
    assert small_class_warnings(["a"] * 10 + ["b"] * 10, validation_split=0.2) == []
    with pytest.raises(ValueError, match="`validation_split`"):
        small_class_warnings(labels, validation_split=1.5)


def test_threshold_moves_only_when_it_pays():
    # separable at 0.65: F1 1.0 there, 0.8 at 0.5
    assert choose_threshold([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.9]) == pytest.approx(0.65)
    # already perfect at 0.5: stays
    assert choose_threshold([0, 1], [0.2, 0.8]) == 0.5
    # a rare positive class under-predicted: a low threshold recovers it
    y = np.array([0] * 90 + [1] * 10)
    p = np.concatenate([np.linspace(0.0, 0.2, 90), np.linspace(0.25, 0.45, 10)])
    t = choose_threshold(y, p, "f1")
    assert 0.2 < t <= 0.25
    assert choose_threshold(y, p, "balanced_accuracy") == pytest.approx(t)
    assert choose_threshold(y, p, "accuracy") == pytest.approx(t)


def test_threshold_checks_its_input():
    with pytest.raises(ValueError, match="`metric`.*f1, accuracy, balanced_accuracy"):
        choose_threshold([0, 1], [0.1, 0.9], metric="auc")
    with pytest.raises(ValueError, match="as many probabilities"):
        choose_threshold([0, 1], [0.1])
    with pytest.raises(ValueError, match="0/1 labels"):
        choose_threshold([0, 2], [0.1, 0.9])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        choose_threshold([0, 1], [0.1, 1.2])
    with pytest.raises(ValueError, match="empty"):
        choose_threshold([], [])
