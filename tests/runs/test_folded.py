"""`FoldedLSTM` (the Predictor's fast path) gives the model's own probabilities: every padding
and truncating side, masked or not, other tails, weights changed in place; and it steps aside
where it does not apply."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from textrnn import kernels
from textrnn.layers import GRU, LSTM, Dense, Dropout, Embedding
from textrnn.models import Sequential
from textrnn.preprocessing.sequence import pad_sequences
from textrnn.preprocessing.text import Vocabulary
from textrnn.runs.folded import FoldedLSTM
from textrnn.runs.predictor import Predictor

native = pytest.mark.skipif(not kernels.available(), reason="native kernels not built here")

WORDS = "good bad film plot acting dull great long short fine awful superb".split()


def _texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randrange(0, 14)
        out.append(" ".join(rng.choice(WORDS + ["unseen", "Film!", "<br />"]) for _ in range(k)))
    return out + ["", "!!!"]


def _model(mask: bool, units: int = 16, tail: str = "sigmoid", **lstm_kwargs) -> Sequential:
    torch.manual_seed(0)
    head = (
        [Dense(1, activation="sigmoid")]
        if tail == "sigmoid"
        else [Dropout(0.5), Dense(3, activation="softmax")]
    )
    model = Sequential([Embedding(20, 8, mask_zero=mask), LSTM(units, **lstm_kwargs), *head])
    model.build((None, 6))
    with torch.no_grad():  # weights large enough that the outputs differ clearly between texts
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.7)
    return model


def _reference(model, vocab, texts, maxlen, padding, truncating, mask):
    """The model on the padded ids. Not length-bucketed: with `zero_output_for_mask` a bucketed
    batch's trimmed padding would change which rows end on a masked step."""
    x = pad_sequences(vocab.encode(texts), maxlen=maxlen, padding=padding, truncating=truncating)
    return model.predict(x, batch_size=7, verbose=0)


def _labels(model) -> list[str]:
    return ["neg", "pos"] if model.output_shape[-1] == 1 else ["a", "b", "c"]


@native
@pytest.mark.parametrize("mask", [False, True])
@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_folded_predictions_equal_the_models(mask, padding, truncating):
    vocab = Vocabulary.build([" ".join(WORDS)], num_words=20)
    model = _model(mask)
    texts = _texts(60)
    for maxlen in (1, 6, 30):
        predictor = Predictor(model, vocab, ["neg", "pos"], maxlen, padding, truncating)
        assert predictor._folded is not None
        want = _reference(model, vocab, texts, maxlen, padding, truncating, mask)[:, 0]
        got = predictor.predict_proba(texts)[:, 1]
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
        assert maxlen == 1 or np.ptp(want) > 1e-3  # the check sees real differences between texts (>> atol)


@native
@pytest.mark.parametrize("mask", [False, True])
def test_folded_with_other_tails_no_bias_and_zero_output_for_mask(mask):
    vocab = Vocabulary.build([" ".join(WORDS)], num_words=20, start_char=None)  # empty rows too
    texts = _texts(40, seed=3)
    for model in (
        _model(mask, tail="softmax"),
        _model(mask, use_bias=False),
        _model(mask, zero_output_for_mask=True),
        _model(mask, units=32),
    ):
        for padding in ("pre", "post"):
            predictor = Predictor(model, vocab, _labels(model), 5, padding, "pre")
            assert predictor._folded is not None
            want = _reference(model, vocab, texts, 5, padding, "pre", mask)
            got = predictor.predict_proba(texts)
            if want.shape[1] == 1:
                want = np.concatenate([1 - want, want], axis=1)
            np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


@native
def test_folded_follows_weights_changed_in_place():
    vocab = Vocabulary.build([" ".join(WORDS)], num_words=20)
    model = _model(False)
    texts = _texts(30, seed=5)
    predictor = Predictor(model, vocab, ["neg", "pos"], 8)
    before = predictor.predict_proba(texts)
    for layer in model.layers[:2]:
        with torch.no_grad():
            for p in layer.parameters():
                p.mul_(-1.3)
    after = predictor.predict_proba(texts)
    assert np.abs(after - before).max() > 0.05
    want = _reference(model, vocab, texts, 8, "pre", "pre", False)[:, 0]
    np.testing.assert_allclose(after[:, 1], want, atol=1e-5, rtol=0)


@native
def test_folded_steps_aside_for_masked_zeros_and_out_of_range_ids():
    # oov_char=0 puts zeros inside texts: a masked model masks them there, the model's own path.
    vocab = Vocabulary.build([" ".join(WORDS)], num_words=20, oov_char=0)
    model = _model(True)
    texts = _texts(30, seed=7)
    predictor = Predictor(model, vocab, ["neg", "pos"], 10)
    ids, offsets = vocab.encode_flat(texts)
    assert predictor._folded.predict(ids, offsets, 10, "pre", "pre") is None
    want = _reference(model, vocab, texts, 10, "pre", "pre", True)[:, 0]
    np.testing.assert_allclose(predictor.predict_proba(texts)[:, 1], want, atol=1e-6, rtol=0)
    # Ids past the Embedding: the model's own error.
    big = Vocabulary.build([" ".join(WORDS + [f"w{i}" for i in range(30)])])
    predictor = Predictor(_model(False), big, ["neg", "pos"], 10)
    with pytest.raises(ValueError, match="input_dim=20"):
        predictor.predict_proba(["w1 w2 w29"])


def test_folded_does_not_apply_to_other_models():
    gru = Sequential([Embedding(20, 8), GRU(16), Dense(1, activation="sigmoid")])
    gru.build((None, 6))
    seqs = Sequential([Embedding(20, 8), LSTM(16, return_sequences=True), LSTM(16), Dense(1)])
    seqs.build((None, 6))
    backwards = Sequential([Embedding(20, 8), LSTM(16, go_backwards=True), Dense(1)])
    backwards.build((None, 6))
    odd = Sequential([Embedding(20, 8), LSTM(5), Dense(1, activation="sigmoid")])
    odd.build((None, 6))
    for model in (gru, seqs, backwards, odd):
        assert FoldedLSTM.of(model) is None
    # A model without the fast path still predicts through model.predict.
    vocab = Vocabulary.build([" ".join(WORDS)], num_words=20)
    texts = _texts(10)
    got = Predictor(odd, vocab, ["neg", "pos"], 6).predict_proba(texts)[:, 1]
    np.testing.assert_allclose(got, _reference(odd, vocab, texts, 6, "pre", "pre", False)[:, 0], atol=1e-6)


@native
def test_lstm_last_ids_equals_lstm_last_and_checks_ids():
    torch.manual_seed(1)
    units, vocab_rows = 16, 11
    table = torch.randn(vocab_rows, 4 * units)
    recurrent = torch.randn(units, 4 * units) * 0.3
    lengths = torch.tensor([5, 0, 3, 7], dtype=torch.int64)
    ids = torch.randint(0, vocab_rows, (int(lengths.sum()) + 2,), dtype=torch.int32)
    offsets = torch.tensor([2, 0, 7, 10], dtype=torch.int64)
    h0 = torch.randn(2, units)
    c0 = torch.randn(2, units)
    rows = torch.tensor([1, 0, 0, 1], dtype=torch.int64)
    h, c = kernels.lstm_last_ids(table, ids, offsets, lengths, rows, h0, c0, recurrent)
    steps = int(lengths.max())
    xw = torch.zeros(4, steps, 4 * units)
    for b in range(4):
        n = int(lengths[b])
        xw[b, :n] = table[ids[offsets[b] : offsets[b] + n].long()]
    want_h, want_c = kernels.lstm_last(xw, h0[rows], c0[rows], recurrent, lengths)
    torch.testing.assert_close(h, want_h, atol=1e-6, rtol=0)
    torch.testing.assert_close(c, want_c, atol=1e-6, rtol=0)
    one_h, one_c = kernels.lstm_last_ids(table, ids, offsets, lengths, rows, h0, c0, recurrent, max_threads=1)
    assert torch.equal(one_h, h) and torch.equal(one_c, c)  # rows never interact: any split is exact
    bad = ids.clone()
    bad[3] = vocab_rows
    with pytest.raises(IndexError, match="out of range"):
        kernels.lstm_last_ids(table, bad, offsets, lengths, rows, h0, c0, recurrent)
    with pytest.raises(ValueError, match="would read ids"):
        kernels.lstm_last_ids(table, ids, offsets + 10, lengths, rows, h0, c0, recurrent)
    with pytest.raises(ValueError, match="state row"):
        kernels.lstm_last_ids(table, ids, offsets, lengths, rows + 1, h0, c0, recurrent)


@native
def test_padding_states_are_one_run_through_the_padding():
    model = _model(False)
    folded = FoldedLSTM.of(model)
    table = folded._refresh()
    maxlen = 150  # crosses the anchors every 64 steps
    h, c = folded._padding_states(table, maxlen)
    rows = maxlen + 1
    zeros = torch.zeros((1, model.layers[1].units))
    want_h, want_c = kernels.lstm_last_ids(
        table,
        torch.zeros(maxlen, dtype=torch.int32),
        torch.zeros(rows, dtype=torch.int64),
        torch.arange(rows, dtype=torch.int64),
        torch.zeros(rows, dtype=torch.int64),
        zeros,
        zeros,
        model.layers[1].recurrent_kernel.detach(),
    )
    assert torch.equal(h, want_h) and torch.equal(c, want_c)
    # And the predictions at this maxlen are the model's.
    vocab = Vocabulary.build([" ".join(WORDS)], num_words=20)
    texts = _texts(30, seed=9) + [" ".join(WORDS * 20)]  # one text longer than maxlen
    got = Predictor(model, vocab, ["neg", "pos"], maxlen).predict_proba(texts)[:, 1]
    want = _reference(model, vocab, texts, maxlen, "pre", "pre", False)[:, 0]
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
