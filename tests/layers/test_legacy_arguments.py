"""Arguments Keras 3 still accepts with a warning: `input_shape=` / `input_dim=` on a layer,
`Embedding(input_length=...)`, `Embedding(weights=[matrix])`, and `initializers.Constant(array)`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from textrnn import initializers
from textrnn.layers import LSTM, Conv1D, Dense, Embedding, Flatten
from textrnn.models import Sequential

INPUT_SHAPE_WARNING = "Do not pass an `input_shape`/`input_dim` argument to a layer"


def _summary(model: Sequential) -> str:
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


def test_input_dim_and_input_shape_give_the_model_its_input():
    with pytest.warns(UserWarning, match=INPUT_SHAPE_WARNING):
        dense = Dense(4, input_dim=8)
    model = Sequential([dense, Dense(1)])
    text = _summary(model)  # built from the first layer's input shape: no data, no build call
    assert "(None, 4)" in text and "Total params: 41" in text
    with pytest.warns(UserWarning, match=INPUT_SHAPE_WARNING):
        conv = Conv1D(4, 3, input_shape=(20, 8))
    model = Sequential([conv, Flatten(), Dense(1)])
    text = _summary(model)
    assert "(None, 18, 4)" in text and "(None, 72)" in text
    with pytest.warns(UserWarning, match=INPUT_SHAPE_WARNING):
        lstm = LSTM(3, input_shape=(None, 5))
    assert lstm.built and lstm._build_input_shape == (None, None, 5)


def test_input_shape_errors_and_own_arguments_win():
    with pytest.raises(ValueError, match="argument `input_shape`"), pytest.warns(UserWarning):
        Dense(2, input_shape=8)
    with pytest.raises(ValueError, match="argument `input_dim`"), pytest.warns(UserWarning):
        Dense(2, input_dim=0)
    emb = Embedding(input_dim=7, output_dim=2)  # Embedding's own `input_dim`: no warning, no shape
    assert emb.input_dim == 7 and emb._input_shape_arg is None
    with pytest.raises(TypeError, match="unexpected keyword argument 'input_lenght'"):
        Embedding(7, 2, input_lenght=3)  # typos are still refused


def test_embedding_input_length_warns_as_keras_and_is_ignored():
    with pytest.warns(UserWarning, match="Argument `input_length` is deprecated. Just remove it."):
        emb = Embedding(10, 3, input_length=50)
    assert "input_length" not in emb.get_config()
    assert emb(np.zeros((2, 7), "int64")).shape == (2, 7, 3)  # any length, as in Keras 3


def test_embedding_weights_argument():
    matrix = np.arange(15, dtype="float32").reshape(5, 3)
    for weights in ([matrix], matrix):
        emb = Embedding(5, 3, weights=weights, trainable=False)
        np.testing.assert_array_equal(emb.get_weights()[0], matrix)
        np.testing.assert_array_equal(emb(np.array([[4, 0]])).numpy(), matrix[[4, 0]][None])
    with pytest.raises(ValueError, match=r"has shape \(5, 3\), got an array of shape \(4, 3\)"):
        Embedding(5, 3, weights=[matrix[:4]])


def test_constant_array_initializer():
    matrix = np.random.default_rng(1).normal(size=(6, 4)).astype("float32")
    emb = Embedding(6, 4, embeddings_initializer=initializers.Constant(matrix))
    np.testing.assert_array_equal(emb.get_weights()[0], matrix)
    config = json.loads(json.dumps(emb.get_config()))
    twin = Embedding.from_config(config)  # the matrix travels in the config, as in Keras
    np.testing.assert_array_equal(twin.get_weights()[0], matrix)
    bias = Dense(4, bias_initializer=initializers.Constant(np.array([1.0, 2.0, 3.0, 4.0])))
    bias(np.zeros((1, 2), "float32"))
    np.testing.assert_array_equal(bias.get_weights()[1], [1, 2, 3, 4])
    assert initializers.Constant(torch.ones(2, 2))((2, 2)).sum() == 4
    assert initializers.Constant(np.float64(2.5)).get_config() == {"value": 2.5}
    with pytest.raises(
        ValueError, match=r"array has shape \(6, 4\).*weight it initializes has shape \(7, 4\)"
    ):
        Embedding(7, 4, embeddings_initializer=initializers.Constant(matrix))
    with pytest.raises(TypeError, match="argument `value`"):
        initializers.Constant(["a", "b"])
