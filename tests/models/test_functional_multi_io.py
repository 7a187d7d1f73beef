"""Functional models with several inputs and outputs in `fit` / `evaluate` / `predict`, against
real Keras 3: the same two-input, two-output model with Keras's weights trains to Keras's history
(every key and value), `evaluate` list and dict, `predict` outputs and weights.

The fixture (tests/fixtures/keras/extra/multi_io.json) is written by
`tests/fixtures/make_keras_fixtures.py multi_io` with Keras 3 on JAX; Keras is not needed here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import textrnn as keras
from textrnn import layers
from textrnn.models import Model

FIXTURE = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "keras" / "extra" / "multi_io.json").read_text(
        encoding="utf-8"
    )
)
X_A = np.array(FIXTURE["x_a"], dtype="int32")
X_B = np.array(FIXTURE["x_b"], dtype="int32")
Y_1 = np.array(FIXTURE["y_1"], dtype="float32")
Y_2 = np.array(FIXTURE["y_2"], dtype="int32")
W = np.array(FIXTURE["sample_weight"], dtype="float32")
W_2 = np.array(FIXTURE["sample_weight_2"], dtype="float32")
TOL = {"rtol": 1e-5, "atol": 1e-5}


def build(dict_outputs: bool = False) -> Model:
    a = keras.Input(shape=(5,), dtype="int32", name="tokens_a")
    b = keras.Input(shape=(4,), dtype="int32", name="tokens_b")
    embed = layers.Embedding(12, 4, name="embed")
    pooled_a = layers.GlobalAveragePooling1D(name="pool_a")(embed(a))
    pooled_b = layers.GlobalAveragePooling1D(name="pool_b")(embed(b))
    hidden = layers.Dense(6, activation="tanh", name="hidden")(
        layers.Concatenate(name="merge")([pooled_a, pooled_b])
    )
    out_1 = layers.Dense(1, activation="sigmoid", name="out_1")(hidden)
    out_2 = layers.Dense(3, activation="softmax", name="out_2")(hidden)
    outputs = {"sentiment": out_1, "topic": out_2} if dict_outputs else [out_1, out_2]
    model = keras.Model([a, b], outputs, name="two_by_two")
    model.set_weights([np.array(w, dtype="float32") for w in FIXTURE["weights"]])
    return model


def compiled(case: dict) -> Model:
    model = build(case["dict_outputs"])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), **case["compile"])
    return model


def data(case: dict, a: np.ndarray = X_A, b: np.ndarray = X_B, y1=Y_1, y2=Y_2) -> tuple:
    fit = case["fit"]
    keys = ["sentiment", "topic"] if case["dict_outputs"] else ["out_1", "out_2"]
    if fit.get("one_hot"):
        y2 = np.eye(3, dtype="float32")[y2]
    x = {"tokens_a": a, "tokens_b": b} if fit["x"] == "dict" else [a, b]
    y = dict(zip(keys, [y1, y2], strict=True)) if fit["y"] == "dict" else [y1, y2]
    return x, y


@pytest.mark.parametrize("name", sorted(FIXTURE["cases"]))
def test_fit_evaluate_predict_match_keras(name):
    case = FIXTURE["cases"][name]
    fit = case["fit"]
    model = compiled(case)
    x, y = data(case)
    kwargs: dict = {}
    if "validation_split" in fit:
        kwargs["validation_split"] = fit["validation_split"]
    if fit.get("validation_data"):
        kwargs["validation_data"] = data(case, X_A[:4], X_B[:4], Y_1[:4], Y_2[:4])
    if fit.get("sample_weight") == "one":
        kwargs["sample_weight"] = W
    elif fit.get("sample_weight") == "per_output":
        kwargs["sample_weight"] = [W, W_2]
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, **kwargs)
    assert sorted(history.history) == sorted(case["history"])
    for key, values in case["history"].items():
        np.testing.assert_allclose(history.history[key], values, **TOL, err_msg=key)
    for got, expected in zip(model.get_weights(), case["weights_after"], strict=True):
        np.testing.assert_allclose(got, np.array(expected), **TOL)

    evaluated = model.evaluate(x, y, batch_size=3, verbose=0)
    np.testing.assert_allclose(evaluated, case["evaluate"], **TOL)
    assert len(model.metrics_names) == len(case["evaluate"])
    as_dict = model.evaluate(x, y, batch_size=3, verbose=0, return_dict=True)
    assert sorted(as_dict) == sorted(case["evaluate_dict"])
    for key, value in case["evaluate_dict"].items():
        assert as_dict[key] == pytest.approx(value, abs=1e-5), key

    predicted = model.predict(x, batch_size=3, verbose=0)
    if case["dict_outputs"]:
        assert isinstance(predicted, dict) and list(predicted) == list(case["predict"])
        pairs = [(predicted[k], case["predict"][k]) for k in case["predict"]]
    else:
        assert isinstance(predicted, list) and len(predicted) == 2
        pairs = list(zip(predicted, case["predict"], strict=True))
    for got, expected in pairs:
        np.testing.assert_allclose(got, np.array(expected), **TOL)


def test_evaluate_order_is_keras_loss_then_output_losses_then_sorted_metrics():
    case = FIXTURE["cases"]["weights_split"]
    model = compiled(case)
    x, y = data(case)
    model.fit(x, y, epochs=1, verbose=0)
    assert model.metrics_names == [
        "loss",
        "out_1_loss",
        "out_2_loss",
        "out_1_accuracy",
        "out_1_mse",
        "out_2_accuracy",
    ]


def test_call_takes_a_list_or_a_dict_and_returns_the_outputs_structure():
    model = build()
    by_list = model([X_A, X_B])
    by_dict = model({"tokens_b": X_B, "tokens_a": X_A})
    assert isinstance(by_list, list) and [tuple(t.shape) for t in by_list] == [(10, 1), (10, 3)]
    for a, b in zip(by_list, by_dict, strict=True):
        torch.testing.assert_close(a, b)
    named = build(dict_outputs=True)({"tokens_a": X_A, "tokens_b": X_B})
    assert list(named) == ["sentiment", "topic"]
    torch.testing.assert_close(named["topic"], by_list[1])


def test_dict_outputs_survive_a_config_round_trip():
    model = build(dict_outputs=True)
    config = json.loads(json.dumps(model.get_config()))
    assert set(config["output_layers"]) == {"sentiment", "topic"}
    again = Model.from_config(config)
    again.set_weights(model.get_weights())
    assert again.output_names == ["sentiment", "topic"]
    out = again.predict({"tokens_a": X_A, "tokens_b": X_B}, verbose=0)
    np.testing.assert_allclose(out["topic"], model.predict([X_A, X_B], verbose=0)["topic"], **TOL)


def test_compile_config_of_several_outputs_round_trips():
    case = FIXTURE["cases"]["dicts"]
    model = compiled(case)
    config = json.loads(json.dumps(model.get_compile_config()))
    assert config["loss_weights"] == {"out_1": 2.0, "out_2": 0.5}
    other = build()
    other.compile_from_config(config)
    x, y = data(case)
    np.testing.assert_allclose(other.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), **TOL)


def two_outputs() -> Model:
    model = build()
    model.compile(
        "sgd", ["binary_crossentropy", "sparse_categorical_crossentropy"], metrics=[["acc"], ["acc"]]
    )
    return model


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": [X_A]}, "`x` holds 1 arrays, but the model has 2 inputs ['tokens_a', 'tokens_b']"),
        ({"x": [X_A, X_B, X_A]}, "`x` holds 3 arrays, but the model has 2 inputs"),
        ({"x": X_A}, "so `x` must be a list of 2 arrays or a dict keyed by these names"),
        ({"x": {"tokens_a": X_A, "tokens_c": X_B}}, "unknown key(s) ['tokens_c']"),
        ({"x": {"tokens_a": X_A}}, "no entry for ['tokens_b']"),
        ({"x": [X_A, X_B[:7]]}, "samples, got 'tokens_a': 10, 'tokens_b': 7"),
        ({"x": [X_A, X_B + 20]}, "`x['tokens_b']` holds token index"),
        ({"y": [Y_1]}, "`y` holds 1 arrays, but the model has 2 outputs ['out_1', 'out_2']"),
        ({"y": {"out_1": Y_1, "out_3": Y_2}}, "unknown key(s) ['out_3']"),
        ({"y": [Y_1, Y_2[:8]]}, "len(y['out_2'])=8"),
        ({"sample_weight": [W]}, "`sample_weight` holds 1 arrays"),
        ({"class_weight": {0: 1.0, 1: 2.0}}, FIXTURE["class_weight_error"]),
    ],
)
def test_mismatched_structures_are_refused_naming_the_input(kwargs, message):
    args = {"x": [X_A, X_B], "y": [Y_1, Y_2], "epochs": 1, "verbose": 0, **kwargs}
    with pytest.raises(ValueError) as error:
        two_outputs().fit(**args)
    assert message in str(error.value)


def test_predict_refuses_a_wrong_number_of_inputs():
    with pytest.raises(ValueError, match="holds 3 arrays"):
        two_outputs().predict([X_A, X_B, X_A], verbose=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"loss": "binary_crossentropy", "metrics": ["accuracy"]}, FIXTURE["flat_metrics_error"]),
        ({"loss": {"out_1": "binary_crossentropy"}}, "Expected keys ['out_1', 'out_2'] in loss dict"),
        ({"loss": ["mse"] * 3}, "`loss` holds 3 losses, but the model has 2 outputs"),
        ({"loss": ["mse", None]}, "Output 'out_2' has no loss"),
        ({"loss": "mse", "loss_weights": [1.0]}, "got 2 losses and 1 weights"),
        ({"loss": "mse", "loss_weights": {"out_1": 1.0}}, "one weight per output"),
    ],
)
def test_compile_refuses_structures_that_do_not_match_the_outputs(kwargs, message):
    with pytest.raises(ValueError) as error:
        build().compile("sgd", **kwargs)
    assert message in str(error.value)


def test_loss_weights_are_refused_for_one_output():
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, layers.Dense(1)(inputs))
    with pytest.raises(ValueError, match="this model has one output"):
        model.compile("sgd", "mse", loss_weights=[2.0])


def test_several_inputs_one_output_trains_and_predicts_one_array():
    a = keras.Input(shape=(5,), dtype="int32", name="tokens_a")
    b = keras.Input(shape=(4,), dtype="int32", name="tokens_b")
    embed = layers.Embedding(12, 4)
    merged = layers.Concatenate()(
        [layers.GlobalAveragePooling1D()(embed(a)), layers.GlobalAveragePooling1D()(embed(b))]
    )
    model = keras.Model([a, b], layers.Dense(1, activation="sigmoid")(merged))
    model.compile("sgd", "binary_crossentropy", metrics=["acc"])
    history = model.fit(
        {"tokens_a": X_A, "tokens_b": X_B}, Y_1, epochs=2, batch_size=4, validation_split=0.2, verbose=0
    )
    assert sorted(history.history) == ["acc", "loss", "val_acc", "val_loss"]
    out = model.predict([X_A, X_B], verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (10, 1)
    with pytest.raises(ValueError, match="several inputs"):
        model.fit([X_A, X_B], Y_1, bucket_by_length=True, verbose=0)


def test_the_same_metric_object_on_two_outputs_keeps_two_states():
    model = build()
    auc = keras.metrics.AUC()
    model.compile("sgd", ["binary_crossentropy", "sparse_categorical_crossentropy"], metrics=[[auc], ["acc"]])
    logs = model.evaluate([X_A, X_B], [Y_1, Y_2], verbose=0, return_dict=True)
    assert sorted(logs) == ["loss", "out_1_auc", "out_1_loss", "out_2_acc", "out_2_loss"]
    assert auc.name == "auc"  # the user's object is left as it was


def test_a_dataset_of_batches_gives_the_arrays_results():
    case = FIXTURE["cases"]["lists"]
    by_arrays, by_batches = compiled(case), compiled(case)
    batches = [((X_A[s : s + 4], X_B[s : s + 4]), (Y_1[s : s + 4], Y_2[s : s + 4])) for s in range(0, 10, 4)]
    expected = by_arrays.fit([X_A, X_B], [Y_1, Y_2], batch_size=4, epochs=2, shuffle=False, verbose=0)
    got = by_batches.fit(batches, epochs=2, verbose=0, validation_data=batches)
    for key, values in expected.history.items():
        np.testing.assert_allclose(got.history[key], values, **TOL, err_msg=key)
    np.testing.assert_allclose(
        by_batches.evaluate(batches, verbose=0), by_arrays.evaluate([X_A, X_B], [Y_1, Y_2], verbose=0), **TOL
    )
    reference = by_arrays.predict([X_A, X_B], verbose=0)
    as_dicts = ({"tokens_a": p[0][0], "tokens_b": p[0][1]} for p in batches)  # a generator
    for feed in (batches, [b[0] for b in batches], as_dicts):
        for got_out, expected_out in zip(by_batches.predict(feed, verbose=0), reference, strict=True):
            np.testing.assert_allclose(got_out, expected_out, **TOL)


def test_callbacks_monitor_an_output_loss_and_metric_in_auto_mode():
    case = FIXTURE["cases"]["lists"]
    model = compiled(case)
    x, y = data(case)
    stop = keras.callbacks.EarlyStopping(monitor="val_out_2_loss", patience=0)
    best = keras.callbacks.EarlyStopping(monitor="val_out_1_accuracy", patience=50)
    history = model.fit(x, y, epochs=3, validation_split=0.3, verbose=0, callbacks=[stop, best])
    assert (stop._op, best._op) == ("min", "max")  # as Keras: a loss goes down, accuracy up
    assert "val_out_2_loss" in history.history


def test_a_saved_model_with_several_outputs_loads_compiled(tmp_path):
    case = FIXTURE["cases"]["dicts"]
    model = compiled(case)
    x, y = data(case)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "model")
    loaded = keras.models.load_model(tmp_path / "model")
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), **TOL)
    named = build(dict_outputs=True)
    named.save(tmp_path / "named")
    assert list(keras.models.load_model(tmp_path / "named").predict(x, verbose=0)) == ["sentiment", "topic"]


def test_an_unknown_metric_of_one_output_fails_at_compile():
    with pytest.raises(ValueError, match="invalid value in argument `metrics`"):
        build().compile("sgd", "mse", metrics=[["accuracy"], ["no_such_metric"]])


def test_a_dict_of_inputs_trains_from_dicts_and_round_trips_its_config():
    a = keras.Input(shape=(5,), dtype="int32", name="tokens_a")
    b = keras.Input(shape=(4,), dtype="int32", name="tokens_b")
    embed = layers.Embedding(12, 4)
    merged = layers.Concatenate()(
        [layers.GlobalAveragePooling1D()(embed(a)), layers.GlobalAveragePooling1D()(embed(b))]
    )
    model = keras.Model({"tokens_b": b, "tokens_a": a}, layers.Dense(1, activation="sigmoid")(merged))
    assert model.input_names == ["tokens_b", "tokens_a"]
    model.compile("sgd", "binary_crossentropy")
    model.fit({"tokens_a": X_A, "tokens_b": X_B}, Y_1, epochs=1, verbose=0)
    config = json.loads(json.dumps(model.get_config()))
    assert set(config["input_layers"]) == {"tokens_a", "tokens_b"}
    again = Model.from_config(config)
    again.set_weights(model.get_weights())
    x = {"tokens_a": X_A, "tokens_b": X_B}
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), **TOL)
    with pytest.raises(ValueError, match="no entry for"):
        model.predict({"tokens_a": X_A}, verbose=0)
