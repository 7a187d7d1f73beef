"""Weights move between Keras and textrnn: real Keras outputs, recorded by
tests/fixtures/make_keras_fixtures.py, are reproduced from the recorded configs and weights.

Keras is not needed: each fixture holds the Keras layer configs, weights (`get_weights()` order),
inputs, masks, initial states and outputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from textrnn.layers import (
    GRU,
    LSTM,
    Activation,
    AveragePooling1D,
    BatchNormalization,
    Bidirectional,
    Conv1D,
    Dense,
    Embedding,
    Flatten,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    Layer,
    LayerNormalization,
    Masking,
    MaxPooling1D,
    SimpleRNN,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "keras"
CASES = sorted(p.stem for p in FIXTURES.glob("*.npz"))
CLASSES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        SimpleRNN,
        LSTM,
        GRU,
        Bidirectional,
        Embedding,
        Dense,
        GlobalAveragePooling1D,
        GlobalMaxPooling1D,
        Conv1D,
        MaxPooling1D,
        AveragePooling1D,
        Flatten,
        Activation,
        Masking,
        LayerNormalization,
        BatchNormalization,
    )
}
# Keras 3 config keys for features textrnn does not have, with the only value it accepts.
DEFAULT_ONLY = {
    "rms_scaling": False,
    "synchronized": False,
    "renorm": False,
    "renorm_clipping": None,
}


def convert_config(config: dict[str, Any]) -> dict[str, Any]:
    """A Keras 3 layer config as textrnn's constructor takes it (the same names and values)."""
    out = {}
    for key, value in config.items():
        if key == "dtype":
            assert value["config"]["name"] == "float32"
            continue
        if key.endswith(("_regularizer", "_constraint")) or key in (
            "quantization_config",
            "lora_rank",
            "lora_alpha",
        ):
            assert value is None, f"{key} is not supported"
            continue
        if key == "renorm_momentum":  # used only with renorm=True
            continue
        if key in DEFAULT_ONLY:
            assert value == DEFAULT_ONLY[key], f"{key}={value!r} is not supported"
            continue
        if key.endswith("_initializer") and isinstance(value, dict):
            value = {
                "class_name": value["class_name"],
                "config": {k: v for k, v in value["config"].items() if v is not None or k == "seed"},
            }
        if key in ("layer", "backward_layer"):
            value = {"class_name": value["class_name"], "config": convert_config(value["config"])}
        out[key] = value
    return out


def from_keras(serialized: dict[str, Any]) -> Layer:
    return CLASSES[serialized["class_name"]].from_config(convert_config(serialized["config"]))


def load(case: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    with np.load(FIXTURES / f"{case}.npz") as data:
        arrays = {k: data[k] for k in data.files}
    return json.loads(str(arrays.pop("spec"))), arrays


def numbered(arrays: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    n = sum(1 for k in arrays if k.startswith(prefix))
    return [arrays[f"{prefix}{i}"] for i in range(n)]


def build_layers(spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> list[Layer]:
    layers = [from_keras(s) for s in spec["layers"]]
    shape: Any = (None, *arrays["inputs"].shape[1:])
    weights = numbered(arrays, "weight_")
    start = 0
    for layer, count in zip(layers, spec["weight_counts"], strict=True):
        layer.maybe_build(shape)
        if count:
            layer.set_weights(weights[start : start + count])
        start += count
        shape = layer.compute_output_shape(shape)
    assert start == len(weights)
    return layers


def test_fixtures_exist_and_are_small():
    assert len(CASES) >= 54
    assert sum(p.stat().st_size for p in FIXTURES.rglob("*.npz")) < 1_000_000


@pytest.mark.parametrize("case", CASES)
def test_textrnn_reproduces_keras(case):
    spec, arrays = load(case)
    layers = build_layers(spec, arrays)
    expected = numbered(arrays, "output_")
    x: Any = arrays["inputs"]
    if spec["kind"] == "layer":
        initial_state = numbered(arrays, "initial_state_") or None
        out = layers[0](x, mask=arrays.get("mask"), initial_state=initial_state, training=False)
    else:
        mask = None
        for layer in layers:  # a Sequential's chain: each layer passes its mask on
            out = layer(x, mask=mask, training=False)
            mask = layer.compute_mask(x, mask)
            x = out
    got = [o.detach().numpy() for o in out] if isinstance(out, list) else [out.detach().numpy()]
    assert len(got) == len(expected) == spec["call"]["outputs"]
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.startswith("bidirectional") or c.startswith("embedding_bigru")]
)
def test_keras_weight_order_round_trips(case):
    spec, arrays = load(case)
    layers = build_layers(spec, arrays)
    ours = [w for layer in layers for w in layer.get_weights()]
    for a, b in zip(ours, numbered(arrays, "weight_"), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("embedding_")])
def test_sequential_reproduces_keras_models(case):
    models = pytest.importorskip("textrnn.models")
    spec, arrays = load(case)
    model = models.Sequential(build_layers(spec, arrays))
    with torch.no_grad():
        out = model(torch.as_tensor(arrays["inputs"]), training=False)
    np.testing.assert_allclose(out.numpy(), arrays["output_0"], atol=1e-5, rtol=1e-5)
