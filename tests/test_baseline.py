"""The bag-of-words baseline on generated data: it learns, its C comes from cross-validation,
its metrics have `classification_metrics`' shape and its probabilities are aligned to the labels."""

from __future__ import annotations

import numpy as np
import pytest

from textrnn.baseline import fit_baseline, run_baseline
from textrnn.errors import DatasetError
from textrnn.evaluation import classification_metrics


def generated(n: int, seed: int) -> tuple[list[str], list[str]]:
    """Three classes told apart by their words, and by a bigram for `c` (its words are `a`'s)."""
    rng = np.random.default_rng(seed)
    common = [f"w{i}" for i in range(30)]
    cue = {"a": ["alpha", "apple"], "b": ["beta", "bread"], "c": ["alpha", "apple"]}
    texts, labels = [], []
    for i in range(n):
        label = "abc"[i % 3]
        words = list(rng.choice(common, size=8))
        words.insert(int(rng.integers(0, 8)), str(rng.choice(cue[label])))
        if label == "c":
            words += ["not", "really"]
        else:
            words += ["really", "not"] if rng.random() < 0.5 else []
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def test_learns_words_and_bigrams_and_reports_classification_metrics():
    train_texts, train_labels = generated(300, seed=0)
    test_texts, test_labels = generated(90, seed=1)
    metrics, probs = run_baseline(train_texts, train_labels, test_texts, test_labels)
    assert metrics["accuracy"] > 0.95  # `c` differs from `a` only in the order "not really"
    assert probs.shape == (90, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    expected = classification_metrics(["abc".index(x) for x in test_labels], probs, ["a", "b", "c"])
    for key in ("accuracy", "loss", "per_class", "macro", "confusion_matrix", "labels", "samples"):
        assert metrics[key] == expected[key]
    assert metrics["model"] == "tfidf-1-2gram-logreg"
    assert metrics["seconds"] >= metrics["fit_seconds"] > 0


def test_c_is_chosen_by_cross_validation_from_the_grid():
    texts, labels = generated(120, seed=2)
    model = fit_baseline(texts, labels, c_grid=(0.001, 10.0), folds=3)
    assert set(model.cv_scores) == {0.001, 10.0}
    assert model.c == max(model.cv_scores, key=model.cv_scores.__getitem__)
    assert model.c == 10.0  # C=0.001 barely moves from the class prior


def test_label_order_is_the_runs_and_unknown_test_labels_are_refused():
    texts = ["good fine", "bad awful", "good nice", "awful bad", "fine good", "bad bad"] * 4
    labels = ["10", "9", "10", "9", "10", "9"] * 4
    model = fit_baseline(texts, labels)
    assert model.label_names == ["9", "10"]  # numeric order, as `label_names_of`
    assert model.predict_proba(["good good"])[0, 1] > 0.5
    with pytest.raises(DatasetError, match="Label '7'"):
        model.evaluate(["good"], ["7"])


def test_bad_arguments():
    with pytest.raises(ValueError, match="at least 2 classes"):
        fit_baseline(["a", "b"], ["x", "x"])
    with pytest.raises(ValueError, match="as many labels as texts"):
        fit_baseline(["a", "b"], ["x"])
    with pytest.raises(ValueError, match="`c_grid`"):
        fit_baseline(["a", "b", "c", "d"], ["x", "y", "x", "y"], c_grid=(0.0,))
