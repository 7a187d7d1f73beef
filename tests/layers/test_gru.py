"""GRU: Keras 3's own test numbers (keras/src/layers/rnn/gru_test.py), reset_after, parameter counts."""

from __future__ import annotations

import numpy as np
import pytest
from _keras_constants import constant_init

from textrnn.layers import GRU

SEQ_3_6_4 = np.arange(72).reshape((3, 6, 4)).astype("float32")
SEQ_2_4_3 = np.arange(24).reshape((2, 4, 3)).astype("float32")
MASK = np.array([[True, True, False, True], [True, False, False, True]])


def rows(*values, width):
    return np.array([[v] * width for v in values], dtype="float32")


def check(out, expected):
    np.testing.assert_allclose(out.detach().numpy(), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        ({}, [0.5217289, 0.6371659, 0.39384964]),
        ({"go_backwards": True}, [0.24406259, 0.611516, 0.3928808]),
        ({"unroll": True}, [0.5217289, 0.6371659, 0.39384964]),
        ({"reset_after": False}, [0.51447755, 0.6426879, 0.40208298]),
        ({"use_bias": False}, [0.49988455, 0.64701194, 0.4103359]),
    ],
)
def test_keras_correctness(kwargs, expected):
    check(GRU(3, **constant_init(), **kwargs)(SEQ_3_6_4), rows(*expected, width=3))


@pytest.mark.parametrize("return_state", [False, True])
def test_keras_initial_and_return_state(return_state):
    h0 = np.arange(4).reshape((2, 2)).astype("float32")
    for go_backwards, expected in [
        (False, [[0.23774096, 0.33508456], [0.83659905, 1.0227708]]),
        (True, [[0.13486053, 0.23261218], [0.78257304, 0.9691353]]),
    ]:
        layer = GRU(2, go_backwards=go_backwards, return_state=return_state, **constant_init())
        out = layer(SEQ_2_4_3, initial_state=h0)
        if return_state:
            out, state = out
            check(state, np.array(expected))
        check(out, np.array(expected))


def test_keras_masking():
    check(GRU(2, unroll=True, **constant_init())(SEQ_2_4_3, mask=MASK), rows(0.19393763, 0.30818558, width=2))
    out = GRU(2, return_sequences=True, **constant_init())(SEQ_2_4_3, mask=MASK)
    check(out[0], rows(0.03606692, 0.09497581, 0.09497581, 0.19393763, width=2))
    check(out[1], rows(0.16051409, 0.16051409, 0.16051409, 0.30818558, width=2))
    out = GRU(2, return_sequences=True, zero_output_for_mask=True, **constant_init())(SEQ_2_4_3, mask=MASK)
    check(out[0], rows(0.03606692, 0.09497581, 0.0, 0.19393763, width=2))
    check(out[1], rows(0.16051409, 0.0, 0.0, 0.30818558, width=2))
    check(
        GRU(2, go_backwards=True, **constant_init())(SEQ_2_4_3, mask=MASK),
        rows(0.11669192, 0.28380975, width=2),
    )


def test_parameter_counts_and_bias_shapes_match_keras():
    layer = GRU(32)
    layer.build((None, None, 32))
    assert layer.count_params() == 6336
    assert [w.shape for w in layer.get_weights()] == [(32, 96), (32, 96), (2, 96)]
    layer = GRU(32, reset_after=False)
    layer.build((None, None, 32))
    assert layer.count_params() == 6240
    assert layer.get_weights()[2].shape == (96,)


def test_reset_after_is_in_the_config():
    config = GRU(3, reset_after=False).get_config()
    assert config["reset_after"] is False
    assert GRU.from_config(config).reset_after is False
