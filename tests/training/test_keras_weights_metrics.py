"""Sample and class weights, and stateful metrics, against numbers recorded from Keras 3
(tests/fixtures/keras/extra/weighting.json and metrics.json)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import textrnn as keras
from textrnn import metrics

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "keras" / "extra"
WEIGHTING = json.loads((FIXTURES / "weighting.json").read_text(encoding="utf-8"))
METRICS = json.loads((FIXTURES / "metrics.json").read_text(encoding="utf-8"))


def dense_model(kind):
    units, act = (1, "sigmoid") if kind == "binary" else (3, "softmax")
    model = keras.Sequential([keras.layers.Dense(units, activation=act)])
    model.build((None, 3))
    model.set_weights([np.array(WEIGHTING[f"kernel_{kind}"]), np.array(WEIGHTING[f"bias_{kind}"])])
    loss = "binary_crossentropy" if kind == "binary" else "categorical_crossentropy"
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=loss, metrics=["accuracy"])
    return model


@pytest.mark.parametrize("name", sorted(WEIGHTING["cases"]))
def test_weighted_loss_step_and_evaluate_match_keras(name):
    case = WEIGHTING["cases"][name]
    kind = case["kind"]
    x = np.array(WEIGHTING["x"], dtype="float32")
    y = np.array(WEIGHTING[f"y_{kind}"], dtype="float32")
    kwargs = dict(case["kwargs"])
    if "class_weight" in kwargs:
        kwargs["class_weight"] = {int(k): v for k, v in kwargs["class_weight"].items()}
    if "sample_weight" in kwargs:
        kwargs["sample_weight"] = np.array(kwargs["sample_weight"], dtype="float32")
    model = dense_model(kind)
    history = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0, **kwargs)
    for key, values in case["history"].items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-5, atol=1e-5)
    for got, expected in zip(model.get_weights(), case["weights_after"], strict=True):
        np.testing.assert_allclose(got, np.array(expected), rtol=1e-5, atol=1e-5)
    w = np.array(WEIGHTING["sample_weight"], dtype="float32")
    weighted = model.evaluate(x, y, batch_size=3, sample_weight=w, verbose=0, return_dict=True)
    plain = model.evaluate(x, y, batch_size=3, verbose=0, return_dict=True)
    for key in ("loss", "accuracy"):
        assert weighted[key] == pytest.approx(case["evaluate_weighted"][key], abs=1e-5)
        assert plain[key] == pytest.approx(case["evaluate"][key], abs=1e-5)


def test_weights_in_dataset_batches_and_validation_data_match_arrays():
    case = WEIGHTING["cases"]["binary_sample_weight"]
    x = np.array(WEIGHTING["x"], dtype="float32")
    y = np.array(WEIGHTING["y_binary"], dtype="float32")
    w = np.array(case["kwargs"]["sample_weight"], dtype="float32")
    model = dense_model("binary")
    history = model.fit([(x, y, w)], epochs=1, verbose=0, validation_data=(x, y, w))
    assert history.history["loss"][0] == pytest.approx(case["history"]["loss"][0], abs=1e-5)
    expected = dense_model("binary").evaluate(x, y, sample_weight=w, verbose=0)[0]
    # validation ran after the step, so it is evaluated on the stepped weights:
    stepped = model.evaluate(x, y, sample_weight=w, verbose=0)[0]
    assert history.history["val_loss"][0] == pytest.approx(stepped, abs=1e-6)
    assert stepped != pytest.approx(expected)


def test_weight_errors():
    model = dense_model("binary")
    x, y = np.zeros((4, 3), "float32"), np.array([0, 1, 0, 1], "float32")
    with pytest.raises(ValueError, match="cannot `class_weight` and `sample_weight`"):
        model.fit(x, y, class_weight={0: 1.0}, sample_weight=np.ones(4), verbose=0)
    with pytest.raises(ValueError, match=r"one weight per sample, shape \(4,\)"):
        model.fit(x, y, sample_weight=np.ones(3), verbose=0)
    with pytest.raises(TypeError, match="`class_weight`"):
        model.fit(x, y, class_weight=[1.0, 2.0], verbose=0)


# ---------------------------------------------------------------- stateful metrics
BINARY = {
    "auc": lambda: metrics.AUC(),
    "auc_pr": lambda: metrics.AUC(curve="PR"),
    "auc_5_minoring": lambda: metrics.AUC(num_thresholds=5, summation_method="minoring"),
    "auc_majoring": lambda: metrics.AUC(num_thresholds=20, summation_method="majoring"),
    "auc_from_logits": lambda: metrics.AUC(from_logits=True),
    "precision": lambda: metrics.Precision(),
    "precision_thresholds": lambda: metrics.Precision(thresholds=[0.3, 0.7]),
    "recall": lambda: metrics.Recall(),
    "recall_threshold": lambda: metrics.Recall(thresholds=0.25),
    "f1_binary_threshold": lambda: metrics.F1Score(threshold=0.5),
}
MULTI = {
    "f1_none": lambda: metrics.F1Score(),
    "f1_micro": lambda: metrics.F1Score(average="micro"),
    "f1_macro": lambda: metrics.F1Score(average="macro"),
    "f1_weighted_threshold": lambda: metrics.F1Score(average="weighted", threshold=0.4),
    "auc_multi": lambda: metrics.AUC(),
    "precision_multi": lambda: metrics.Precision(),
}


@pytest.mark.parametrize("name", sorted({**BINARY, **MULTI}))
def test_stateful_metrics_match_keras(name):
    metric = {**BINARY, **MULTI}[name]()
    if name in BINARY:
        pairs = zip(METRICS["y_true"], METRICS["y_pred"], strict=True)
    else:
        pairs = zip(METRICS["labels"], METRICS["probs"], strict=True)
    for t, p in pairs:
        metric.update_state(torch.tensor(t), torch.tensor(p))
    np.testing.assert_allclose(metric.result(), METRICS["results"][name], rtol=1e-5, atol=1e-5)
    metric.reset_state()
    metric.update_state(torch.tensor([[1.0]]), torch.tensor([[0.9]]))
    assert np.all(np.asarray(metric.result()) >= 0)


@pytest.mark.parametrize(("name", "threshold"), [("binary_accuracy", 0.5), ("binary_accuracy_0_3", 0.3)])
def test_binary_accuracy_objects_match_keras(name, threshold):
    metric = metrics.BinaryAccuracy(threshold=threshold)
    values = [
        metric(torch.tensor(t), torch.tensor(p))
        for t, p in zip(METRICS["y_true"], METRICS["y_pred"], strict=True)
    ]
    mean = float(torch.cat(values).mean())
    assert mean == pytest.approx(METRICS["results"][name], abs=1e-6)


def test_fit_with_metrics_by_name_and_object_on_logits_matches_keras():
    fit = METRICS["fit"]
    x, y = np.array(fit["x"], "float32"), np.array(fit["y"], "float32")
    model = keras.Sequential([keras.layers.Dense(1)])
    model.build((None, 3))
    model.set_weights([np.array(fit["kernel"]), np.array(fit["bias"])])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.05),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=["accuracy", "auc", metrics.Precision(), metrics.Recall(name="rec")],
    )
    with pytest.warns(UserWarning, match="threshold them at 0.5 as Keras does"):
        history = model.fit(
            x, y, batch_size=6, epochs=2, shuffle=False, verbose=0, validation_data=(x[:8], y[:8])
        )
    # Keras numbers every metric object it creates (here `precision_3`); textrnn keeps the name.
    expected = {k.replace("precision_3", "precision"): v for k, v in fit["history"].items()}
    assert sorted(history.history) == sorted(expected)
    for key, values in expected.items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-5, atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once per model
        model.evaluate(x, y, verbose=0)


def test_metric_argument_errors():
    with pytest.raises(ValueError, match="`num_thresholds` must be an integer > 1"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="Invalid `average`"):
        metrics.F1Score(average="mean")
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]"):
        metrics.Precision(thresholds=1.5)
