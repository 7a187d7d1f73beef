"""Conv1D, MaxPooling1D, AveragePooling1D, Flatten, Activation, Masking, LayerNormalization,
BatchNormalization: what the Keras fixtures do not cover (they check the numbers: see
test_keras_fixtures.py), i.e. BatchNormalization in training, configs, saving, masks, errors."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import textrnn as keras
from textrnn import layers
from textrnn.models import Sequential, load_model
from textrnn.models.registry import layer_class, layer_from_config

EXTRA = Path(__file__).resolve().parents[1] / "fixtures" / "keras" / "extra"
X = np.random.default_rng(3).normal(size=(2, 8, 4)).astype("float32")


def make_all() -> list[layers.Layer]:
    return [
        layers.Conv1D(3, 2, strides=1, padding="causal", dilation_rate=2, activation="relu", use_bias=False),
        layers.MaxPooling1D(3, strides=1, padding="same"),
        layers.AveragePooling1D(2, padding="same", data_format="channels_last"),
        layers.Flatten(),
        layers.Activation("tanh"),
        layers.Masking(mask_value=-1.0),
        layers.LayerNormalization(axis=[1, 2], epsilon=1e-5, center=False),
        layers.BatchNormalization(momentum=0.9, epsilon=1e-2, scale=False),
    ]


@pytest.mark.parametrize("case", sorted(p.stem for p in EXTRA.glob("batch_normalization_*.npz")))
def test_batch_normalization_training_step_matches_keras(case):
    with np.load(EXTRA / f"{case}.npz") as data:
        arrays = {k: data[k] for k in data.files}
    config = json.loads(str(arrays["config"]))["config"]
    layer = layers.BatchNormalization(
        axis=config["axis"], momentum=config["momentum"], epsilon=config["epsilon"]
    )
    x = arrays["inputs"]
    layer(x)
    layer.set_weights([arrays[f"weight_{i}"] for i in range(4)])
    np.testing.assert_allclose(
        layer(x, training=False).detach().numpy(), arrays["inference"], atol=1e-5, rtol=1e-5
    )
    out = layer(x, mask=arrays.get("mask"), training=True)
    np.testing.assert_allclose(out.detach().numpy(), arrays["training"], atol=1e-5, rtol=1e-5)
    for got, expected in zip(layer.get_weights(), (arrays[f"after_{i}"] for i in range(4)), strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-6, rtol=1e-5)  # the moving statistics moved


def test_batch_normalization_statistics_are_non_trainable_and_fit_updates_them():
    model = Sequential([layers.Dense(3), layers.BatchNormalization(), layers.Dense(1)])
    model.build((None, 4))
    bn = model.layers[1]
    assert [w.shape for w in bn.weights] == [(3,)] * 4
    assert len(bn.trainable_weights) == 2 and len(bn.non_trainable_weights) == 2
    model.trainable = False
    model.trainable = True  # must not make the statistics trainable
    assert len(bn.non_trainable_weights) == 2
    text = _summary(model)
    assert "Total params: 31" in text and "Non-trainable params: 6" in text  # as Keras counts
    assert "Trainable params: 25" in text
    before = bn.get_weights()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(
        np.random.rand(32, 4).astype("float32") * 5,
        np.zeros((32, 1), "float32"),
        epochs=1,
        verbose=0,
    )
    after = bn.get_weights()
    assert not np.allclose(before[2], after[2]) and not np.allclose(before[3], after[3])
    frozen = layers.BatchNormalization(trainable=False)
    frozen(X)
    frozen(X, training=True)  # Keras 3: a frozen layer runs in inference mode
    np.testing.assert_array_equal(frozen.get_weights()[2], np.zeros(4, "float32"))


def _summary(model: Sequential) -> str:
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


@pytest.mark.parametrize("layer", make_all(), ids=lambda layer: type(layer).__name__)
def test_config_json_round_trip(layer):
    layer(X)
    config = json.loads(json.dumps(layer.get_config()))
    twin = layer_from_config({"class_name": type(layer).__name__, "config": config})
    twin(X)
    twin.set_weights(layer.get_weights())
    assert twin.get_config() == layer.get_config()
    torch.testing.assert_close(twin(X), layer(X))


def test_saved_model_round_trip(tmp_path):
    model = Sequential(
        [
            layers.Embedding(20, 6),
            layers.Conv1D(4, 3, padding="same", activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPool1D(),
            layers.LayerNormalization(),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    ids = np.random.default_rng(0).integers(1, 20, size=(5, 8))
    model.build((None, 8))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(ids, np.array([0, 1, 0, 1, 1]), epochs=1, verbose=0)  # moves the BN statistics
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0), rtol=1e-6)


def test_alias_names():
    assert layers.Convolution1D is layers.Conv1D and layers.MaxPool1D is layers.MaxPooling1D
    assert layers.AvgPool1D is layers.AveragePooling1D
    assert layers.GlobalMaxPool1D is layers.GlobalMaxPooling1D
    assert layers.GlobalAvgPool1D is layers.GlobalAveragePooling1D
    for alias in ("Convolution1D", "MaxPool1D", "AvgPool1D", "GlobalMaxPool1D", "GlobalAvgPool1D"):
        assert layer_class(alias) is getattr(layers, alias)


def test_masks_follow_keras():
    mask = torch.tensor([[True] * 6 + [False] * 2, [True] * 8])
    for layer in (
        layers.Activation("relu"),
        layers.LayerNormalization(),
        layers.BatchNormalization(),
    ):
        layer(X)
        assert torch.equal(layer.compute_mask(torch.tensor(X), mask), mask)
    for layer in (
        layers.Conv1D(2, 3),
        layers.MaxPooling1D(),
        layers.AveragePooling1D(2),
        layers.Flatten(),
    ):
        layer(X)
        with pytest.warns(UserWarning, match="does not support masking"):
            assert layer.compute_mask(torch.tensor(X), mask) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert layers.Conv1D(2, 3).compute_mask(torch.tensor(X), None) is None
    x = X.copy()
    x[0, 2:4] = 0.0
    masking = layers.Masking()
    expected = torch.ones(2, 8, dtype=torch.bool)
    expected[0, 2:4] = False
    assert torch.equal(masking.compute_mask(torch.tensor(x)), expected)
    out = masking(np.where(x == 0.0, 0.0, x))
    assert torch.equal(out[0, 2:4], torch.zeros(2, 4))


def test_masking_skips_steps_in_an_lstm():
    x = X.copy()
    x[:, 5:] = 0.0  # post-padding
    lstm = layers.LSTM(3)
    model = Sequential([layers.Masking(), lstm])
    full = model(torch.tensor(x)).detach()
    np.testing.assert_allclose(
        lstm(torch.tensor(x[:, :5])).detach().numpy(), full.numpy(), rtol=1e-5, atol=1e-6
    )


def test_shapes_and_valid_too_short():
    assert layers.Conv1D(32, 7).compute_output_shape((None, 100, 64)) == (None, 94, 32)
    assert layers.Conv1D(8, 3, strides=2, padding="same").compute_output_shape((None, 9, 2)) == (
        None,
        5,
        8,
    )
    assert layers.Conv1D(8, 3, padding="causal").compute_output_shape((None, None, 2)) == (
        None,
        None,
        8,
    )
    assert layers.MaxPooling1D(5).compute_output_shape((None, 100, 32)) == (None, 20, 32)
    assert layers.AveragePooling1D(3, 2, "same").compute_output_shape((None, 9, 2)) == (None, 5, 2)
    assert layers.Flatten().compute_output_shape((None, 20, 32)) == (None, 640)
    assert layers.Flatten().compute_output_shape((None, None, 32)) == (None, None)
    with pytest.raises(ValueError, match="fewer than the window"):
        layers.Conv1D(2, 9)(X)
    with pytest.raises(ValueError, match="fewer than the window"):
        layers.MaxPooling1D(9)(X)


def test_conv1d_weights_are_in_keras_layout_and_groups():
    conv = layers.Conv1D(6, 3, groups=2)
    conv(X)
    assert [w.shape for w in conv.get_weights()] == [(3, 2, 6), (6,)]
    kernel = np.zeros((3, 2, 6), "float32")
    kernel[1, 0, 0] = 1.0  # filter 0 copies channel 0 at the window's middle tap
    conv.set_weights([kernel, np.zeros(6, "float32")])
    out = conv(X).detach().numpy()
    np.testing.assert_allclose(out[:, :, 0], X[:, 1:-1, 0], rtol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="argument `filters`"):
        layers.Conv1D(0, 3)
    with pytest.raises(ValueError, match="evenly divisible by the number of groups"):
        layers.Conv1D(5, 3, groups=2)
    with pytest.raises(ValueError, match="input channels must be evenly divisible"):
        layers.Conv1D(4, 3, groups=4)(np.zeros((1, 5, 6), "float32"))
    with pytest.raises(ValueError, match="argument `padding`"):
        layers.Conv1D(4, 3, padding="full")
    with pytest.raises(ValueError, match="argument `padding`"):
        layers.MaxPooling1D(padding="causal")
    with pytest.raises(ValueError, match="dilation_rate > 1"):
        layers.Conv1D(4, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="argument `kernel_size`"):
        layers.Conv1D(4, (3, 3))
    with pytest.raises(ValueError, match="argument `data_format`"):
        layers.Flatten(data_format="nchw")
    with pytest.raises(TypeError):
        layers.AveragePooling1D()  # type: ignore[call-arg]  # no default pool size, as in Keras
    with pytest.raises(ValueError, match="out of bounds"):
        layers.BatchNormalization(axis=3)(X)
    with pytest.raises(ValueError, match="argument `mask_value`"):
        layers.Masking(mask_value="pad")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="argument `axis`"):
        layers.LayerNormalization(axis="last")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rank 3"):
        layers.Conv1D(2, 2)(np.zeros((2, 3), "float32"))


def test_top_level_names():
    for name in (
        "Conv1D",
        "MaxPooling1D",
        "AveragePooling1D",
        "Flatten",
        "Activation",
        "Masking",
        "LayerNormalization",
        "BatchNormalization",
        "GlobalMaxPool1D",
        "GlobalAvgPool1D",
    ):
        assert getattr(keras.layers, name) is getattr(layers, name)
