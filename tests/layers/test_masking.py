"""Masks: padding is skipped, whatever its side, and masked steps follow Keras's rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _rnn_reference import reference_rnn

from textrnn.layers import GRU, LSTM, Bidirectional, Embedding, SimpleRNN

TOKENS = [[5, 3, 8, 2], [7, 1], [4, 4, 9, 6, 2, 3]]
STEPS = 8


def pad(seqs, side):
    out = np.zeros((len(seqs), STEPS), dtype="int64")
    for i, s in enumerate(seqs):
        if side == "pre":
            out[i, STEPS - len(s) :] = s
        else:
            out[i, : len(s)] = s
    return out


def embed_then(layer, ids):
    torch.manual_seed(0)
    emb = Embedding(10, 4, mask_zero=True)
    x = emb(ids)
    return layer(x, mask=emb.compute_mask(torch.as_tensor(ids)), training=False), emb


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_padding_side_does_not_change_the_last_output(cls):
    torch.manual_seed(1)
    layer = cls(3)
    pre, _ = embed_then(layer, pad(TOKENS, "pre"))
    post, _ = embed_then(layer, pad(TOKENS, "post"))
    torch.testing.assert_close(pre, post, atol=1e-6, rtol=1e-5)
    # ... and equals running each sequence alone, without padding.
    for i, seq in enumerate(TOKENS):
        alone, _ = embed_then(layer, np.array([seq]))
        torch.testing.assert_close(pre[i : i + 1], alone, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_bidirectional_padding_side_does_not_change_the_output(cls):
    torch.manual_seed(2)
    layer = Bidirectional(cls(3))
    pre, _ = embed_then(layer, pad(TOKENS, "pre"))
    post, _ = embed_then(layer, pad(TOKENS, "post"))
    torch.testing.assert_close(pre, post, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("side", ["pre", "post"])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
def test_sequence_outputs_at_padded_steps(side, zero_output_for_mask):
    torch.manual_seed(3)
    layer = LSTM(3, return_sequences=True, zero_output_for_mask=zero_output_for_mask)
    ids = pad(TOKENS, side)
    out, emb = embed_then(layer, ids)
    out = out.detach().numpy()
    mask = ids != 0
    want = reference_rnn(
        "lstm",
        emb(ids).detach().numpy(),
        layer.get_weights(),
        mask=mask,
        return_sequences=True,
        zero_output_for_mask=zero_output_for_mask,
    )
    np.testing.assert_allclose(out, want, atol=1e-5)
    if side == "pre" or zero_output_for_mask:
        assert np.all(out[~mask] == 0)  # nothing seen yet (pre) or zeros asked for
    else:
        lengths = mask.sum(1)
        for i, n in enumerate(lengths):  # post-padding repeats the last real output
            np.testing.assert_array_equal(out[i, n:], np.repeat(out[i, n - 1 : n], STEPS - n, axis=0))


def test_integer_and_float_masks_are_accepted():
    torch.manual_seed(4)
    layer = GRU(2)
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    bool_mask = np.array([[1, 1, 0, 1], [0, 1, 1, 1]], dtype=bool)
    want = layer(x, mask=bool_mask, training=False)
    torch.testing.assert_close(layer(x, mask=bool_mask.astype("int64"), training=False), want)
    torch.testing.assert_close(
        layer(x, mask=torch.tensor(bool_mask, dtype=torch.float32), training=False), want
    )


def test_masked_steps_do_not_influence_anything():
    torch.manual_seed(5)
    layer = SimpleRNN(3, return_sequences=True, return_state=True)
    x = np.random.default_rng(1).normal(size=(2, 5, 3)).astype("float32")
    mask = np.array([[True, False, True, False, True], [False, True, True, True, False]])
    noisy = x.copy()
    noisy[~mask] = 1e3  # garbage where masked
    for a, b in zip(layer(x, mask=mask), layer(noisy, mask=mask), strict=True):
        torch.testing.assert_close(a, b)
