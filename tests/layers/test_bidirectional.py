"""Bidirectional: Keras 3's own test numbers (bidirectional_test.py), merge modes, weights, configs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from _keras_constants import constant_init
from _rnn_reference import reference_rnn

from textrnn.layers import GRU, LSTM, Bidirectional, SimpleRNN

SEQ_2_3_4 = np.arange(24).reshape((2, 3, 4)).astype("float32")
SEQ_2_4_3 = np.arange(24).reshape((2, 4, 3)).astype("float32")


def check(out, expected, atol=1e-6):
    np.testing.assert_allclose(out.detach().numpy(), np.asarray(expected), atol=atol, rtol=1e-5)


def test_keras_correctness():
    forward = SimpleRNN(2, **constant_init())
    check(
        Bidirectional(forward)(SEQ_2_3_4),
        [[0.39687276, 0.39687276, 0.10004295, 0.10004295], [0.7237238, 0.7237238, 0.53391594, 0.53391594]],
    )
    check(
        Bidirectional(forward, merge_mode="ave")(SEQ_2_3_4),
        [[0.24845785, 0.24845785], [0.6288199, 0.6288199]],
    )
    out1, out2 = Bidirectional(forward, merge_mode=None)(SEQ_2_3_4)
    check(out1, [[0.39687276, 0.39687276], [0.7237238, 0.7237238]])
    check(out2, [[0.10004295, 0.10004295], [0.53391594, 0.53391594]])
    backward = SimpleRNN(2, go_backwards=True, **constant_init(kernel=0.03, bias=0.01))
    check(
        Bidirectional(forward, backward_layer=backward, merge_mode="mul")(SEQ_2_3_4),
        [[0.08374989, 0.08374989], [0.6740834, 0.6740834]],
    )
    gru = GRU(2, return_sequences=True, **constant_init())
    check(
        Bidirectional(gru, merge_mode="sum")(SEQ_2_3_4),
        [
            [[0.20937867, 0.20937867], [0.34462988, 0.34462988], [0.40290534, 0.40290534]],
            [[0.59829646, 0.59829646], [0.6734641, 0.6734641], [0.6479671, 0.6479671]],
        ],
        atol=1e-5,
    )


def test_keras_initial_state():
    states = [np.arange(4).reshape((2, 2)).astype("float32") * k for k in (1, 2, 3, 4)]
    check(
        Bidirectional(LSTM(2, **constant_init()))(SEQ_2_4_3, initial_state=states),
        [[0.20794602, 0.4577124, 0.14046375, 0.48191673], [0.6682636, 0.6711909, 0.60943645, 0.60950446]],
    )


def test_keras_masking():
    mask = np.array([[True, True, False, True], [True, False, False, True]])
    check(
        Bidirectional(GRU(2, **constant_init()))(SEQ_2_4_3, mask=mask),
        [[0.19393763, 0.19393763, 0.11669192, 0.11669192], [0.30818558, 0.30818558, 0.28380975, 0.28380975]],
    )


def test_keras_return_state():
    output, h1, c1, h2, c2 = Bidirectional(LSTM(2, return_state=True, **constant_init()))(SEQ_2_4_3)
    check(
        output,
        [[0.1990008, 0.1990008, 0.12659755, 0.12659755], [0.52335435, 0.52335435, 0.44717982, 0.44717982]],
    )
    check(h1, [[0.1990008, 0.1990008], [0.52335435, 0.52335435]])
    check(c1, [[0.35567185, 0.35567185], [1.0492687, 1.0492687]])
    check(h2, [[0.12659755, 0.12659755], [0.44717982, 0.44717982]])
    check(c2, [[0.2501858, 0.2501858], [0.941473, 0.941473]])


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
def test_output_shapes(merge_mode, return_sequences, return_state):
    x = np.array([[[101, 202], [303, 404], [1, 2]]], dtype="float32")
    layer = Bidirectional(
        LSTM(2, return_sequences=return_sequences, return_state=return_state), merge_mode=merge_mode
    )
    out = layer(x)
    shape = layer.compute_output_shape(x.shape)
    if not return_state and merge_mode is not None:
        assert tuple(out.shape) == tuple(shape)
    else:
        assert [tuple(o.shape) for o in out] == [tuple(s) for s in shape]
        assert len(out) == (2 if merge_mode is None else 1) + (4 if return_state else 0)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_merge_modes_against_the_reference_with_a_mask(merge_mode):
    layer = Bidirectional(GRU(3, return_sequences=True), merge_mode=merge_mode)
    x = np.random.default_rng(0).normal(size=(3, 5, 2)).astype("float32")
    mask = np.array([[True, False, True, True, False], [False, False, True, True, True], [True] * 5])
    layer.build((None, None, 2))
    weights = layer.get_weights()
    fwd = reference_rnn("gru", x, weights[:3], mask=mask, return_sequences=True, zero_output_for_mask=True)
    bwd = reference_rnn(
        "gru", x, weights[3:], mask=mask, return_sequences=True, zero_output_for_mask=True, go_backwards=True
    )[:, ::-1]
    want = {
        "concat": np.concatenate([fwd, bwd], -1),
        "sum": fwd + bwd,
        "mul": fwd * bwd,
        "ave": (fwd + bwd) / 2,
        None: None,
    }[merge_mode]
    out = layer(x, mask=mask, training=False)
    if merge_mode is None:
        check(out[0], fwd, atol=1e-5)
        check(out[1], bwd, atol=1e-5)
    else:
        check(out, want, atol=1e-5)
    assert np.all(np.stack([fwd, bwd])[:, ~mask] == 0)  # masked steps are zeros in both directions


def test_weights_names_and_counts():
    layer = Bidirectional(LSTM(32))
    layer.build((None, None, 32))
    assert layer.count_params() == 16640
    assert layer.forward_layer.name.startswith("forward_lstm")
    assert layer.backward_layer.name.startswith("backward_lstm")
    assert layer.backward_layer.go_backwards and not layer.forward_layer.go_backwards
    assert [w.shape for w in layer.get_weights()] == [(32, 128), (32, 128), (128,)] * 2
    new = [np.full(w.shape, i, dtype="float32") for i, w in enumerate(layer.get_weights())]
    layer.set_weights(new)
    np.testing.assert_array_equal(layer.forward_layer.get_weights()[2], new[2])
    np.testing.assert_array_equal(layer.backward_layer.get_weights()[0], new[3])
    assert len(list(layer.parameters())) == 6


def test_config_json_round_trip():
    layer = Bidirectional(GRU(3, return_sequences=True, reset_after=False), merge_mode="ave")
    x = np.random.default_rng(1).normal(size=(2, 4, 5)).astype("float32")
    mask = np.array([[True, True, False, True], [False, True, True, True]])
    out = layer(x, mask=mask, training=False)
    config = json.loads(json.dumps(layer.get_config()))
    assert config["layer"]["class_name"] == "GRU" and config["backward_layer"]["config"]["go_backwards"]
    twin = Bidirectional.from_config(config)
    assert twin.get_config() == layer.get_config()
    twin.build((None, None, 5))
    twin.set_weights(layer.get_weights())
    torch.testing.assert_close(twin(x, mask=mask, training=False), out)


def test_compute_mask():
    mask = torch.ones(2, 3, dtype=torch.bool)
    assert Bidirectional(LSTM(2)).compute_mask(None, mask) is None
    assert Bidirectional(LSTM(2, return_sequences=True)).compute_mask(None, mask) is mask
    assert Bidirectional(LSTM(2, return_sequences=True), merge_mode=None).compute_mask(None, mask) == [
        mask,
        mask,
    ]


def test_trainable_false_freezes_both_directions():
    layer = Bidirectional(SimpleRNN(2), trainable=False)
    layer.build((None, None, 3))
    assert all(not p.requires_grad for p in layer.parameters())
    layer.trainable = True
    assert all(p.requires_grad for p in layer.parameters())


def test_errors():
    with pytest.raises(TypeError, match="`layer`, expected a SimpleRNN, LSTM or GRU instance"):
        Bidirectional("lstm")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`merge_mode`.*got 'max'"):
        Bidirectional(LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="different `go_backwards`"):
        Bidirectional(LSTM(2), backward_layer=LSTM(2))
    with pytest.raises(ValueError, match="same `return_sequences`"):
        Bidirectional(LSTM(2), backward_layer=LSTM(2, go_backwards=True, return_sequences=True))
    layer = Bidirectional(LSTM(2))
    with pytest.raises(ValueError, match="not built yet"):
        layer.set_weights([])
    layer.build((None, None, 3))
    with pytest.raises(ValueError, match="expects 6 weight arrays"):
        layer.set_weights(layer.get_weights()[:3])
    with pytest.raises(ValueError, match="list of 4 tensors"):
        layer(SEQ_2_4_3, initial_state=[np.zeros((2, 2), "float32")] * 2)
