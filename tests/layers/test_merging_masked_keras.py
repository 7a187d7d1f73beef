"""Merge layers on masked inputs against real Keras 3: values and output masks, each layer on its
own with all, some or none of its inputs masked, and a model with `Embedding(mask_zero=True)` into
`Multiply`.

The fixture (tests/fixtures/keras/extra/masked_merges.npz) is written by
`tests/fixtures/make_keras_fixtures.py masked_merges` with Keras 3 on JAX; Keras is not needed here.
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

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "keras" / "extra" / "masked_merges.npz"
DATA = np.load(FIXTURE)
SPEC = json.loads(str(DATA["spec"]))
CASES = {c["case"]: c for c in SPEC["cases"]}


def test_fixture_covers_every_merge_layer():
    assert {c["class"] for c in CASES.values()} == {
        "Add",
        "Subtract",
        "Multiply",
        "Average",
        "Maximum",
        "Minimum",
        "Concatenate",
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_matches_keras(case):
    spec = CASES[case]
    layer = getattr(layers, spec["class"])(**spec["config"])
    xs = [torch.from_numpy(DATA[f"{case}__input_{i}"]) for i in range(spec["inputs"])]
    masks = [
        torch.from_numpy(DATA[f"{case}__mask_{i}"]) if f"{case}__mask_{i}" in DATA.files else None
        for i in range(spec["inputs"])
    ]
    given = None if all(m is None for m in masks) else masks
    with torch.no_grad():
        out = layer(xs, mask=given)
    np.testing.assert_allclose(out.numpy(), DATA[f"{case}__output"], atol=1e-6, rtol=0)
    out_mask = layer.compute_mask(xs, given)
    if f"{case}__output_mask" in DATA.files:
        assert out_mask is not None
        np.testing.assert_array_equal(out_mask.numpy(), DATA[f"{case}__output_mask"])
    else:
        assert out_mask is None


def test_masked_multiply_model_matches_keras():
    reset_names()
    inputs = keras.Input(shape=(7,), dtype="int32")
    e1 = layers.Embedding(10, 4, mask_zero=True)(inputs)
    e2 = layers.Embedding(10, 4, mask_zero=True)(inputs)
    x = layers.Multiply()([e1, e2])
    x = layers.LSTM(3, return_sequences=True)(x)
    model = keras.Model(inputs, layers.Dense(2)(x))
    count = sum(k.startswith("model__weight_") for k in DATA.files)
    model.set_weights([DATA[f"model__weight_{i}"] for i in range(count)])
    got = model.predict(DATA["model__input"], verbose=0)
    np.testing.assert_allclose(got, DATA["model__output"], atol=1e-6, rtol=0)
