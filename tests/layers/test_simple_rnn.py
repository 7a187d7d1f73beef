"""SimpleRNN: Keras 3's own test numbers (keras/src/layers/rnn/simple_rnn_test.py), parameter counts."""

from __future__ import annotations

import numpy as np
import pytest
from _keras_constants import constant_init

from textrnn.layers import SimpleRNN

SEQ_2_3_4 = np.arange(24).reshape((2, 3, 4)).astype("float32")
SEQ_2_4_3 = np.arange(24).reshape((2, 4, 3)).astype("float32")
MASK = np.array([[True, True, False, True], [True, False, False, True]])


def rows(*values, width):
    return np.array([[v] * width for v in values], dtype="float32")


def check(out, expected):
    np.testing.assert_allclose(out.detach().numpy(), expected, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("unroll", [False, True])
def test_keras_correctness(unroll):
    check(SimpleRNN(4, unroll=unroll, **constant_init())(SEQ_2_3_4), rows(0.405432, 0.73605347, width=4))
    check(
        SimpleRNN(4, go_backwards=True, unroll=unroll, **constant_init())(SEQ_2_3_4),
        rows(0.11144729, 0.5528889, width=4),
    )


def test_keras_initial_state():
    h0 = np.arange(8).reshape((2, 4)).astype("float32")
    check(SimpleRNN(4, **constant_init())(SEQ_2_4_3, initial_state=h0), rows(0.33621645, 0.6262637, width=4))
    check(
        SimpleRNN(4, go_backwards=True, **constant_init())(SEQ_2_4_3, initial_state=h0),
        rows(0.07344437, 0.43043602, width=4),
    )


def test_keras_masking():
    check(
        SimpleRNN(4, unroll=True, **constant_init())(SEQ_2_4_3, mask=MASK),
        rows(0.32951632, 0.61799484, width=4),
    )
    out = SimpleRNN(2, return_sequences=True, **constant_init())(SEQ_2_4_3, mask=MASK)
    check(out[0], rows(0.0599281, 0.15122814, 0.15122814, 0.32394567, width=2))
    check(out[1], rows(0.3969304, 0.3969304, 0.3969304, 0.608085, width=2))
    out = SimpleRNN(2, return_sequences=True, zero_output_for_mask=True, **constant_init())(
        SEQ_2_4_3, mask=MASK
    )
    check(out[0], rows(0.0599281, 0.15122814, 0.0, 0.32394567, width=2))
    check(out[1], rows(0.3969304, 0.0, 0.0, 0.608085, width=2))
    check(
        SimpleRNN(4, go_backwards=True, **constant_init())(SEQ_2_4_3, mask=MASK),
        rows(0.07376196, 0.43645123, width=4),
    )


def test_parameter_counts_match_keras():
    layer = SimpleRNN(32)
    layer.build((None, None, 32))
    assert layer.count_params() == 2080
    # The tutorial's stack: SimpleRNN(64) -> SimpleRNN(32) -> SimpleRNN(32) on 32-d embeddings.
    counts = []
    features = 32
    for units in (64, 32, 32):
        layer = SimpleRNN(units, return_sequences=True)
        layer.build((None, None, features))
        counts.append(layer.count_params())
        features = units
    assert counts == [6208, 3104, 2080]


def test_weight_shapes():
    layer = SimpleRNN(5)
    layer.build((None, 7, 3))
    assert [w.shape for w in layer.get_weights()] == [(3, 5), (5, 5), (5,)]
