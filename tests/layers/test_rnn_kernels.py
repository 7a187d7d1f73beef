"""The recurrence paths (fused, packed, loop) compute the same numbers, and the choice among them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from textrnn.layers import GRU, LSTM, SimpleRNN, rnn_kernels

BATCH, STEPS, FEATURES, UNITS = 5, 7, 3, 4

CELLS = [
    (SimpleRNN, {}),
    (SimpleRNN, {"activation": "relu"}),
    (LSTM, {}),
    (GRU, {}),
]


def make(cls, kwargs, **flags):
    layer = cls(UNITS, **kwargs, **flags)
    layer.build((None, None, FEATURES))
    rng = np.random.default_rng(3)
    layer.set_weights([rng.uniform(-0.8, 0.8, w.shape).astype("float32") for w in layer.get_weights()])
    return layer


def random_masks():
    rng = np.random.default_rng(4)
    arbitrary = rng.random((BATCH, STEPS)) > 0.4
    arbitrary[0] = False  # a row with no step at all
    arbitrary[1] = True
    lengths = np.array([7, 3, 1, 5, 6])
    post = np.arange(STEPS)[None, :] < lengths[:, None]
    pre = post[:, ::-1].copy()
    return {"arbitrary": arbitrary, "post": post, "pre": pre}


def outputs(layer, x, mask, h0, path):
    with rnn_kernels.force_path(path):
        out = layer(x, mask=mask, initial_state=h0, training=False)
    return [o.detach() for o in out] if isinstance(out, list) else [out.detach()]


@pytest.mark.parametrize("cls,kwargs", CELLS, ids=lambda v: getattr(v, "__name__", str(v)))
@pytest.mark.parametrize(
    "return_sequences,return_state,go_backwards,zero_output", list(itertools.product([False, True], repeat=4))
)
def test_fused_and_packed_equal_loop(cls, kwargs, return_sequences, return_state, go_backwards, zero_output):
    layer = make(
        cls,
        kwargs,
        return_sequences=return_sequences,
        return_state=return_state,
        go_backwards=go_backwards,
        zero_output_for_mask=zero_output,
    )
    x = torch.tensor(np.random.default_rng(5).normal(size=(BATCH, STEPS, FEATURES)).astype("float32"))
    n = len(layer.state_size)
    h0 = [
        torch.tensor(np.random.default_rng(6 + i).normal(size=(BATCH, UNITS)).astype("float32"))
        for i in range(n)
    ]
    for mask in [None, *random_masks().values()]:
        m = None if mask is None else torch.tensor(mask)
        loop = outputs(layer, x, m, h0, "loop")
        fused = outputs(layer, x, m, h0, "fused")  # the packed path when masked
        for a, b in zip(fused, loop, strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_choose_path():
    spec = make(LSTM, {}).cell_spec()
    mask = torch.tensor(random_masks()["arbitrary"])
    assert rnn_kernels.choose_path(spec, None) == "fused"
    assert rnn_kernels.choose_path(spec, torch.ones(2, 3, dtype=torch.bool)) == "fused"
    assert rnn_kernels.choose_path(spec, mask) == "packed"
    assert rnn_kernels.choose_path(spec, None, input_masks=[torch.ones(1)]) == "fused"
    assert rnn_kernels.choose_path(spec, None, recurrent_masks=[torch.ones(1)]) == "loop"
    # Recurrent dropout fuses where textrnn's native kernels run.
    assert rnn_kernels.choose_path(spec, None, recurrent_masks=[torch.ones(1)], native=True) == "fused"
    assert rnn_kernels.choose_path(spec, mask, recurrent_masks=[torch.ones(1)], native=True) == "packed"
    relu = make(SimpleRNN, {"activation": "linear"}).cell_spec()
    assert rnn_kernels.choose_path(relu, None, recurrent_masks=[torch.ones(1)], native=True) == "loop"
    assert rnn_kernels.choose_path(make(GRU, {}).cell_spec(), None, input_masks=[torch.ones(1)] * 3) == "loop"
    assert rnn_kernels.choose_path(make(GRU, {"reset_after": False}).cell_spec(), None) == "loop"
    assert (
        rnn_kernels.choose_path(make(LSTM, {"recurrent_activation": "hard_sigmoid"}).cell_spec(), None)
        == "loop"
    )
    assert rnn_kernels.choose_path(make(SimpleRNN, {"activation": "relu"}).cell_spec(), mask) == "packed"
    assert rnn_kernels.choose_path(make(SimpleRNN, {"activation": "linear"}).cell_spec(), None) == "loop"
    with rnn_kernels.force_path("loop"):
        assert rnn_kernels.choose_path(spec, None) == "loop"
    assert rnn_kernels.choose_path(spec, None) == "fused"  # restored


def test_fully_masked_rows_keep_their_initial_state_on_every_path():
    layer = make(LSTM, {}, return_sequences=True, return_state=True)
    x = torch.randn(2, STEPS, FEATURES)
    mask = torch.zeros(2, STEPS, dtype=torch.bool)
    mask[1, 2] = True
    h0 = [torch.randn(2, UNITS), torch.randn(2, UNITS)]
    for path in ("fused", "loop"):
        out, h, c = outputs(layer, x, mask, h0, path)
        torch.testing.assert_close(h[0], h0[0][0])
        torch.testing.assert_close(c[0], h0[1][0])
        assert torch.count_nonzero(out[0]) == 0
        assert torch.count_nonzero(out[1, :2]) == 0 and torch.count_nonzero(out[1, 2:]) > 0
