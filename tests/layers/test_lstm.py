"""LSTM: Keras 3's own test numbers (keras/src/layers/rnn/lstm_test.py), bias init, parameter counts."""

from __future__ import annotations

import numpy as np
import pytest
from _keras_constants import constant_init

from textrnn.layers import LSTM

SEQ_3_6_4 = np.arange(72).reshape((3, 6, 4)).astype("float32")
SEQ_2_4_3 = np.arange(24).reshape((2, 4, 3)).astype("float32")
MASK = np.array([[True, True, False, True], [True, False, False, True]])


def rows(*values, width):
    return np.array([[v] * width for v in values], dtype="float32")


def check(out, expected):
    np.testing.assert_allclose(np.asarray(out.detach().numpy()), expected, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        ({}, [0.6288687, 0.86899155, 0.9460773]),
        ({"go_backwards": True}, [0.35622165, 0.74789524, 0.8872726]),
        ({"unroll": True}, [0.6288687, 0.86899155, 0.9460773]),
        ({"unit_forget_bias": False}, [0.57019705, 0.8661914, 0.9459622]),
        ({"use_bias": False}, [0.54986924, 0.86226785, 0.9443936]),
    ],
)
def test_keras_correctness(kwargs, expected):
    check(LSTM(3, **constant_init(), **kwargs)(SEQ_3_6_4), rows(*expected, width=3))


def test_keras_initial_state():
    h0 = [np.arange(4).reshape((2, 2)).astype("float32")] * 2
    check(
        LSTM(2, **constant_init())(SEQ_2_4_3, initial_state=h0),
        np.array([[0.20574439, 0.3558822], [0.64930826, 0.66276]]),
    )
    check(
        LSTM(2, go_backwards=True, **constant_init())(SEQ_2_4_3, initial_state=h0),
        np.array([[0.13281618, 0.2790356], [0.5839337, 0.5992567]]),
    )


def test_keras_masking():
    check(LSTM(2, unroll=True, **constant_init())(SEQ_2_4_3, mask=MASK), rows(0.1524914, 0.35969394, width=2))
    out = LSTM(2, return_sequences=True, **constant_init())(SEQ_2_4_3, mask=MASK)
    check(out[0], rows(0.0158891, 0.05552047, 0.05552047, 0.1524914, width=2))
    check(out[1], rows(0.14185596, 0.14185596, 0.14185596, 0.35969394, width=2))
    out = LSTM(2, return_sequences=True, zero_output_for_mask=True, **constant_init())(SEQ_2_4_3, mask=MASK)
    check(out[0], rows(0.0158891, 0.05552047, 0.0, 0.1524914, width=2))
    check(out[1], rows(0.14185596, 0.0, 0.0, 0.35969394, width=2))
    check(
        LSTM(2, go_backwards=True, **constant_init())(SEQ_2_4_3, mask=MASK),
        rows(0.10056866, 0.31006062, width=2),
    )


def test_unit_forget_bias_sets_the_forget_gate_to_one():
    layer = LSTM(3, bias_initializer="zeros")
    layer.build((None, None, 2))
    np.testing.assert_array_equal(layer.get_weights()[2], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    layer = LSTM(3, unit_forget_bias=False, bias_initializer="ones")
    layer.build((None, None, 2))
    np.testing.assert_array_equal(layer.get_weights()[2], np.ones(12))


def test_return_state_gives_h_and_c():
    out, h, c = LSTM(2, return_state=True, **constant_init())(SEQ_2_4_3)
    np.testing.assert_array_equal(out.detach().numpy(), h.detach().numpy())
    assert c.shape == (2, 2) and not np.allclose(c.detach().numpy(), h.detach().numpy())


def test_parameter_count_and_shapes_match_keras():
    layer = LSTM(32)
    layer.build((None, None, 32))
    assert layer.count_params() == 8320
    assert [w.shape for w in layer.get_weights()] == [(32, 128), (32, 128), (128,)]
    assert LSTM(32).state_size == [32, 32]


def test_config_keeps_lstm_arguments():
    config = LSTM(4, recurrent_activation="hard_sigmoid", unit_forget_bias=False).get_config()
    assert config["recurrent_activation"] == "hard_sigmoid"
    assert config["unit_forget_bias"] is False
    twin = LSTM.from_config(config)
    assert twin.get_config() == config
