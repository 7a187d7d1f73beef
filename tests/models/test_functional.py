"""The functional API against real Keras 3: the same graphs built in textrnn, given Keras's weights,
give Keras's outputs, parameter counts, `get_weights()` order and summary text.

The fixtures (tests/fixtures/keras/extra/functional_*.npz) are written by
`tests/fixtures/make_keras_fixtures.py functional` with Keras 3 on JAX; Keras is not needed here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import textrnn as keras
from textrnn import layers
from textrnn.layers.base import reset_names
from textrnn.layers.keras_tensor import KerasTensor
from textrnn.models import Model, Sequential, load_model

EXTRA = Path(__file__).resolve().parents[1] / "fixtures" / "keras" / "extra"


def _load(name: str) -> tuple[dict, dict]:
    data = np.load(EXTRA / f"functional_{name}.npz")
    arrays = {k: data[k] for k in data.files if k != "spec"}
    return json.loads(str(data["spec"])), arrays


def bidirectional_lstm() -> Model:
    # keras-io's bidirectional LSTM on IMDB, at the fixture's small sizes.
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(50, 8)(inputs)
    x = layers.Bidirectional(layers.LSTM(6, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(5))(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs)


def shared_dense_add() -> Model:
    inputs = keras.Input(shape=(7,), dtype="int32", name="tokens")
    e = layers.Embedding(20, 6, mask_zero=True)(inputs)
    a = layers.LSTM(5)(e)
    b = layers.GRU(5)(e)
    shared = layers.Dense(4, activation="tanh")
    merged = layers.Add()([shared(a), shared(b)])
    outputs = layers.Dense(3, activation="softmax")(merged)
    return keras.Model(inputs, outputs, name="shared")


def two_inputs_concatenate() -> Model:
    tokens = keras.Input(shape=(6,), dtype="int32", name="tokens")
    feats = keras.Input(shape=(3,), name="features")
    t = layers.GlobalAveragePooling1D()(layers.Embedding(15, 4)(tokens))
    x = layers.Concatenate()([t, layers.Dense(2)(feats)])
    x = layers.Dense(5, activation="relu")(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return keras.Model([tokens, feats], outputs)


def merges() -> Model:
    inputs = keras.Input(shape=(5, 3))
    p = layers.Dense(4)(inputs)
    q = layers.Dense(4, activation="tanh")(inputs)
    m = layers.Multiply()([p, q])
    v = layers.Average()([p, q, m])
    c = layers.Concatenate(axis=1)([m, v])
    outputs = layers.GlobalMaxPooling1D()(c)
    return keras.Model(inputs, outputs)


def masked_merges() -> Model:
    inputs = keras.Input(shape=(6,), dtype="int32")
    e = layers.Embedding(12, 4, mask_zero=True)(inputs)
    a = layers.LSTM(3, return_sequences=True)(e)
    b = layers.GRU(3, return_sequences=True)(e)
    x = layers.Concatenate()([layers.Concatenate()([a, b]), layers.Add()([a, b])])
    outputs = layers.Dense(2)(layers.LSTM(3)(x))
    return keras.Model(inputs, outputs)


BUILDERS = {
    "masked_merges": masked_merges,
    "bidirectional_lstm": bidirectional_lstm,
    "shared_dense_add": shared_dense_add,
    "two_inputs_concatenate": two_inputs_concatenate,
    "merges": merges,
}


def build(name: str) -> Model:
    reset_names()  # Keras's names come from a fresh session (`clear_session()`)
    return BUILDERS[name]()


def _inputs(arrays: dict) -> list[np.ndarray]:
    return [arrays[f"input_{i}"] for i in range(sum(k.startswith("input_") for k in arrays))]


def _weights(arrays: dict) -> list[np.ndarray]:
    return [arrays[f"weight_{i}"] for i in range(sum(k.startswith("weight_") for k in arrays))]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_structure_matches_keras(name):
    spec, _ = _load(name)
    model = build(name)
    assert [[la.name, type(la).__name__] for la in model.layers] == spec["layers"]
    assert model.count_params() == spec["count_params"]
    assert [list(w.shape) for w in model.get_weights()] == spec["weight_shapes"]
    got = [model.output_shape] if not isinstance(model.output_shape, list) else model.output_shape
    assert [list(s) for s in got] == spec["output_shapes"]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_outputs_match_keras(name):
    _, arrays = _load(name)
    model = build(name)
    model.set_weights(_weights(arrays))
    inputs = _inputs(arrays)
    with torch.no_grad():
        out = model(inputs if len(inputs) > 1 else inputs[0])
    np.testing.assert_allclose(out.numpy(), arrays["output_0"], atol=1e-5, rtol=1e-5)
    if len(inputs) == 1:
        np.testing.assert_allclose(model.predict(inputs[0], verbose=0), arrays["output_0"], atol=1e-5)


@pytest.mark.parametrize("name", ["bidirectional_lstm", "two_inputs_concatenate", "merges"])
def test_summary_matches_keras(name):
    # (The shared model's Keras summary adds the `NotEqual` op its JAX backend makes for the mask.)
    spec, _ = _load(name)
    assert build(name).summary_text() + "\n\n" == spec["summary"]


def test_shared_layer_summary_and_weights_once():
    model = build("shared_dense_add")
    text = model.summary_text()
    row = "│ dense (Dense)       │ (None, 4)         │         24 │ lstm[0][0],       │"
    assert row in text
    assert "gru[0][0]" in text and "dense[0][0],      │" in text and "dense[1][0]" in text
    shared = model.get_layer("dense")
    assert len(shared.inbound_nodes) == 2
    assert sum(w is shared.kernel for w in model.weights) == 1


def test_unbuilt_sequential_summary_matches_keras():
    reset_names()
    model = Sequential([layers.Dense(4), layers.Dense(1)])
    assert model.summary_text() + "\n\n" == (EXTRA / "summary_unbuilt.txt").read_text()


def test_sequential_input_shape_argument_gives_shapes():
    reset_names()
    with pytest.warns(UserWarning, match="input_shape"):
        model = Sequential([layers.Embedding(100, 8, input_shape=(500,)), layers.LSTM(4)])
    assert "(None, 500, 8)" in model.summary_text()
    assert model.layers[0].input_shape_arg == (500,)
    assert model.layers[0].build_input_shape == (None, 500)


def test_sequential_takes_an_input():
    reset_names()
    model = Sequential([keras.Input(shape=(6,), dtype="int32"), layers.Embedding(10, 3), layers.GRU(2)])
    assert model.input_shape == (None, 6)
    assert [la.name for la in model.layers] == ["embedding", "gru"]
    assert "(None, 6, 3)" in model.summary_text()
    with pytest.raises(ValueError, match="first layer"):
        model.add(keras.Input(shape=(3,)))


def test_input_arguments_and_errors():
    t = keras.Input(shape=(None,), dtype="int32", name="ids")
    assert isinstance(t, KerasTensor) and t.shape == (None, None) and t.dtype == "int32"
    assert keras.layers.Input(batch_shape=(8, 3)).shape == (8, 3)
    assert keras.Input(shape=(3,), batch_size=4).shape == (4, 3)
    assert keras.Input(shape=(3,)).dtype == "float32"
    with pytest.raises(ValueError, match="You must pass a `shape` argument."):
        keras.Input()
    with pytest.raises(ValueError, match="both `shape` and `batch_shape`"):
        keras.Input(shape=(3,), batch_shape=(None, 3))
    with pytest.raises(ValueError, match="`sparse=True` is not supported"):
        keras.Input(shape=(3,), sparse=True)
    with pytest.raises(ValueError, match="argument `dtype`"):
        keras.Input(shape=(3,), dtype="complex64")
    layer = keras.layers.InputLayer(shape=(4,), name="x")
    assert layer.get_config() == {
        "batch_shape": [None, 4],
        "dtype": "float32",
        "sparse": False,
        "ragged": False,
        "name": "x",
    }


def test_model_errors():
    a = keras.Input(shape=(3,))
    out = layers.Dense(2)(a)
    with pytest.raises(ValueError, match="must be KerasTensors"):
        Model(a, np.zeros(3))
    with pytest.raises(ValueError, match="Graph disconnected"):
        Model(keras.Input(shape=(3,)), out)
    with pytest.raises(TypeError, match="Subclassed models"):
        Model()
    with pytest.raises(ValueError, match="Concatenate"):
        layers.Concatenate()([keras.Input(shape=(5, 3)), keras.Input(shape=(4, 2))])
    with pytest.raises(ValueError, match="incompatible shapes"):
        layers.Add()([keras.Input(shape=(3,)), keras.Input(shape=(4,))])
    with pytest.raises(TypeError, match="as the layer's inputs"):
        layers.LSTM(2)(keras.Input(shape=(4, 3)), initial_state=[keras.Input(shape=(2,))])


def test_masks_flow_along_the_graph():
    # A post-padded row and its unpadded twin give the same output through two masked branches.
    reset_names()
    inputs = keras.Input(shape=(None,), dtype="int32")
    e = layers.Embedding(10, 4, mask_zero=True)(inputs)
    merged = layers.Concatenate()([layers.LSTM(3)(e), layers.GRU(3, go_backwards=True)(e)])
    model = Model(inputs, layers.Dense(1)(merged))
    with torch.no_grad():
        padded = model(np.array([[3, 4, 5, 0, 0]])).numpy()
        plain = model(np.array([[3, 4, 5]])).numpy()
    np.testing.assert_allclose(padded, plain, atol=1e-6)


def test_config_round_trip_and_save(tmp_path):
    for name in ("shared_dense_add", "two_inputs_concatenate"):
        _, arrays = _load(name)
        model = build(name)
        model.set_weights(_weights(arrays))
        config = json.loads(json.dumps(model.get_config()))
        twin = Model.from_config(config)
        assert [la.name for la in twin.layers] == [la.name for la in model.layers]
        assert twin.get_config() == model.get_config()
        model.save(tmp_path / name)
        loaded = load_model(tmp_path / name)
        assert type(loaded).__name__ == "Functional"
        inputs = _inputs(arrays)
        with torch.no_grad():
            got = loaded(inputs if len(inputs) > 1 else inputs[0]).numpy()
        np.testing.assert_allclose(got, arrays["output_0"], atol=1e-5)


def test_fit_evaluate_predict_and_checkpoint(tmp_path, token_five):
    x, y = token_five(n=300)
    keras.utils.set_random_seed(0)
    reset_names()
    inputs = keras.Input(shape=(None,), dtype="int32")
    h = layers.Embedding(20, 8)(inputs)
    h = layers.Add()([layers.GlobalMaxPooling1D()(h), layers.GlobalAveragePooling1D()(h)])
    model = Model(inputs, layers.Dense(1, activation="sigmoid")(h))
    assert model.logits_activation == "sigmoid"
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=25, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.9
    model.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert again.compiled
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_custom_objects(tmp_path):
    class Doubling(layers.Layer):
        def call(self, inputs, mask=None, training=False, **kwargs):
            return inputs * 2

    reset_names()
    inputs = keras.Input(shape=(3,))
    model = Model(inputs, layers.Dense(1)(Doubling(name="double")(inputs)))
    model.save(tmp_path / "m")
    with pytest.raises(Exception, match="custom_objects"):
        load_model(tmp_path / "m")
    loaded = load_model(tmp_path / "m", custom_objects={"Doubling": Doubling})
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(TypeError, match="custom_objects"):
        load_model(tmp_path / "m", custom_objects={"Doubling": len})


def test_nested_sequential_and_model():
    reset_names()
    inner = Sequential([layers.Dense(4, activation="relu"), layers.Dense(2)])
    inputs = keras.Input(shape=(3,))
    outer = Model(inputs, layers.Dense(1)(inner(inputs)))
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    with torch.no_grad():
        expected = outer.layers[2](inner(torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(outer.predict(x, verbose=0), expected, atol=1e-6)
    again_in = keras.Input(shape=(3,))
    twice = Model(again_in, outer(again_in))
    np.testing.assert_allclose(twice.predict(x, verbose=0), expected, atol=1e-6)
