"""Merge layers: values against NumPy, broadcasting, masks, configs and Keras's error messages.

(Keras's own numbers for Add, Multiply, Average and Concatenate in models, masked and not, are
checked in tests/models/test_functional.py; every merge layer on masked inputs in
tests/layers/test_merging_masked_keras.py.)
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from textrnn import layers

RNG = np.random.default_rng(7)
A = RNG.normal(size=(3, 4, 2)).astype("float32")
B = RNG.normal(size=(3, 4, 2)).astype("float32")
C = RNG.normal(size=(3, 1, 2)).astype("float32")


def run(layer, *arrays, mask=None):
    with torch.no_grad():
        return layer([torch.from_numpy(a) for a in arrays], mask=mask).numpy()


@pytest.mark.parametrize(
    "cls, expected",
    [
        (layers.Add, A + B + C),
        (layers.Multiply, A * B * C),
        (layers.Average, (A + B + C) / 3),
        (layers.Maximum, np.maximum(np.maximum(A, B), C)),
        (layers.Minimum, np.minimum(np.minimum(A, B), C)),
    ],
)
def test_elementwise_values_and_broadcasting(cls, expected):
    layer = cls()
    np.testing.assert_allclose(run(layer, A, B, C), expected, rtol=1e-6)
    assert layer.compute_output_shape([(None, 4, 2), (None, 4, 2), (None, 1, 2)]) == (None, 4, 2)
    twin = cls.from_config(json.loads(json.dumps(layer.get_config())))
    assert type(twin) is cls and twin.get_config() == layer.get_config()


def test_subtract_takes_exactly_two():
    np.testing.assert_allclose(run(layers.Subtract(), A, B), A - B, rtol=1e-6)
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        layers.Subtract().build([(None, 2), (None, 2), (None, 2)])


def test_concatenate_axes_and_config():
    np.testing.assert_allclose(run(layers.Concatenate(), A, B), np.concatenate([A, B], -1))
    np.testing.assert_allclose(run(layers.Concatenate(axis=1), A, C), np.concatenate([A, C], 1))
    layer = layers.Concatenate(axis=1)
    assert layer.get_config()["axis"] == 1
    assert layers.Concatenate.from_config(layer.get_config()).axis == 1
    assert layer.compute_output_shape([(None, 4, 2), (None, None, 2)]) == (None, None, 2)
    with pytest.raises(ValueError, match="matching shapes except for the concatenation axis"):
        layers.Concatenate().build([(None, 4, 2), (None, 3, 2)])
    with pytest.raises(ValueError, match="argument `axis`"):
        layers.Concatenate(axis="x")


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="should be called on a list of inputs"):
        layers.Add().compute_output_shape((None, 3))
    with pytest.raises(ValueError, match="incompatible shapes"):
        layers.Add().build([(None, 3), (None, 4)])
    with pytest.raises(ValueError, match="different batch sizes"):
        layers.Add().build([(2, 3), (5, 3)])
    with pytest.raises(ValueError, match="same rank"):
        layers.Add().build([(None, 3), (None, 2, 3)])


def test_masks():
    m1 = torch.tensor([[True, True, False, False]] * 3)
    m2 = torch.tensor([[True, False, True, False]] * 3)
    a, b = torch.from_numpy(A), torch.from_numpy(B)
    # element-wise, as Keras 3: OR of the masks when every input is masked, else no mask
    assert torch.equal(layers.Add().compute_mask([a, b], [m1, m2]), m1 | m2)
    assert layers.Add().compute_mask([a, b], [m1, None]) is None
    assert layers.Add().compute_mask([a, b], None) is None
    # Concatenate on features: a step is kept if any input keeps it (unmasked inputs keep all)
    cat = layers.Concatenate()
    assert torch.equal(cat.compute_mask([a, b], [m1, m2]), m1 | m2)
    assert bool(cat.compute_mask([a, b], [m1, None]).all())
    # on the time axis: the masks are joined
    joined = layers.Concatenate(axis=1).compute_mask([a, b], [m1, m2])
    assert torch.equal(joined, torch.cat([m1, m2], dim=1))
    with pytest.raises(ValueError, match="same length"):
        cat.compute_mask([a, b], [m1])
