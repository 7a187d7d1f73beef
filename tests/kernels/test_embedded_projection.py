"""The Embedding folded into a recurrent layer's input projection (`kernels.embedded_projection`,
`Sequential`'s `Embedding -> RNN` pair): the same outputs and gradients as the two layers apart."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import textrnn.kernels as K
from textrnn import layers
from textrnn.models import Sequential

pytestmark = pytest.mark.skipif(not K.available(), reason="native kernels unavailable")

VOCAB, DIM, UNITS, BATCH, STEPS = 40, 6, 16, 12, 9


def _ids(mask_zero: bool, rng: np.random.Generator) -> torch.Tensor:
    ids = rng.integers(1, VOCAB, size=(BATCH, STEPS))
    if mask_zero:  # padding in front, of every length (all padding in row 0)
        for row, n in enumerate(rng.integers(0, STEPS + 1, size=BATCH)):
            ids[row, : STEPS - n] = 0
        ids[0] = 0
    return torch.from_numpy(ids)


def test_embedded_projection_matches_lookup_then_projection():
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, VOCAB, (BATCH, STEPS), generator=gen)
    for bias in (True, False):
        emb = torch.randn(VOCAB, DIM, generator=gen, requires_grad=True)
        kernel = torch.randn(DIM, 4 * UNITS, generator=gen, requires_grad=True)
        b = torch.randn(4 * UNITS, generator=gen, requires_grad=True) if bias else None
        weights = [emb, kernel] + ([b] if bias else [])
        up = torch.randn(BATCH, STEPS, 4 * UNITS, generator=gen)
        folded = K.embedded_projection(ids, emb, kernel, b)
        apart = K.project(emb[ids], kernel, b)
        torch.testing.assert_close(folded, apart, rtol=1e-5, atol=1e-5)
        assert folded.transpose(0, 1).is_contiguous()  # time-major, as `project` lays it out
        got = torch.autograd.grad((folded * up).sum(), weights)
        want = torch.autograd.grad((apart * up).sum(), weights)
        for a, w in zip(got, want, strict=True):
            torch.testing.assert_close(a, w, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="int64"):
        K.embedded_projection(ids.int(), emb, kernel)
    with pytest.raises(ValueError, match="kernel"):
        K.embedded_projection(ids, emb, kernel[1:])


@pytest.fixture
def folds(monkeypatch) -> list[str]:
    """The folded calls made, by name: `embedded_projection` (the gathered input projection, then
    the recurrence) or `embedded_rnn` (the recurrence reading the table directly)."""
    calls: list[str] = []
    for name in ("embedded_projection", "embedded_rnn"):
        original = getattr(K, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(K, name, counted)
    return calls


def _model(kind: str, mask_zero: bool, **rnn_kwargs) -> Sequential:
    rnn = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[kind]
    model = Sequential(
        [layers.Embedding(VOCAB, DIM, mask_zero=mask_zero), rnn(UNITS, **rnn_kwargs), layers.Dense(3)]
    )
    model.build((None, STEPS))
    rng = np.random.default_rng(3)
    model.set_weights([rng.uniform(-0.4, 0.4, w.shape).astype("float32") for w in model.get_weights()])
    return model


def _forward_backward(model: Sequential, ids: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    out = model.compute_output(ids, training=True)
    loss = (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum()
    return out.detach(), list(torch.autograd.grad(loss, list(model.parameters())))


def _folded_matches_apart(model: Sequential, ids: torch.Tensor) -> None:
    """`model`'s outputs and gradients on `ids` as it runs (folded, where it applies) against the
    two layers kept apart by a no-op hook on the Embedding (as Captum's attributions set)."""
    folded_out, folded_grads = _forward_backward(model, ids)
    handle = model.layers[0].register_forward_hook(lambda *args: None)
    try:
        apart_out, apart_grads = _forward_backward(model, ids)
    finally:
        handle.remove()
    torch.testing.assert_close(folded_out, apart_out, rtol=1e-5, atol=1e-5)
    for a, b in zip(folded_grads, apart_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def _reads_table(units: int) -> bool:
    """Whether a recurrent layer of `units` reads the projection table itself (`embedded_rnn`)."""
    lanes = K.fused_lanes()
    return lanes > 0 and units % lanes == 0


@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("mask_zero", [False, True], ids=["exact", "mask_zero"])
@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
def test_the_pair_runs_folded_with_the_outputs_and_gradients_of_the_layers_apart(
    kind, mask_zero, return_sequences, folds
):
    model = _model(kind, mask_zero, return_sequences=return_sequences)
    if return_sequences:  # Dense on every step, then one number per row
        model = Sequential([*model.layers[:2], layers.GlobalMaxPooling1D(), model.layers[2]])
    ids = _ids(mask_zero, np.random.default_rng(1))
    _folded_matches_apart(model, ids)
    # once, not again with the hook; units that fill whole vector registers read the table
    assert folds == ["embedded_rnn" if _reads_table(UNITS) else "embedded_projection"]


def test_the_pair_stays_apart_where_the_fold_does_not_apply(folds):
    ids = _ids(False, np.random.default_rng(2))
    cases = [
        (_model("lstm", False, dropout=0.3), ids, True),  # dropout on the inputs
        (_model("lstm", False, go_backwards=True), ids, True),
        (_model("gru", False, reset_after=False), ids, True),  # no native kernel: the step loop
        (_model("simple_rnn", False, activation="relu"), ids, True),
        (_model("lstm", False), ids[:2, :3], True),  # fewer steps than the vocabulary has rows
        (_model("lstm", False), ids.float(), True),  # float ids: the Embedding converts them
    ]
    for model, x, training in cases:
        model.compute_output(x, training=training)
    with torch.no_grad():  # evaluation of a large batch: the slices of the unfolded path
        many = torch.from_numpy(np.random.default_rng(5).integers(0, VOCAB, size=(300, STEPS)))
        _model("lstm", False).compute_output(many, training=False)
    gaps = ids.clone()
    gaps[3, 4] = 0  # a padding id inside a row: not one run of steps
    _model("gru", True).compute_output(gaps, training=True)
    assert folds == []
    out_of_range = ids.clone()
    out_of_range[0, 0] = VOCAB
    with pytest.raises(ValueError, match="token indices must lie in"):
        _model("lstm", False).compute_output(out_of_range, training=True)


def test_fit_trains_the_folded_pair_as_the_pair_apart(folds):
    rng = np.random.default_rng(4)
    x = rng.integers(0, VOCAB, size=(64, STEPS))
    y = rng.integers(0, 2, size=64).astype("float32")
    weights = []
    for hooked in (False, True):
        model = _model("lstm", False)
        model = Sequential([*model.layers[:2], layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="rmsprop", loss="binary_crossentropy")
        if hooked:
            model.layers[0].register_forward_hook(lambda *args: None)
        torch.manual_seed(0)
        model.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
        weights.append(model.get_weights())
        assert len(folds) == (0 if hooked else 8)  # every training batch, folded (2 epochs of 4)
        folds.clear()
    for a, b in zip(*weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mask_zero", [False, True], ids=["exact", "mask_zero"])
@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
def test_evaluation_without_a_gradient_runs_folded_too(kind, mask_zero, folds):
    model = _model(kind, mask_zero)
    ids = _ids(mask_zero, np.random.default_rng(6))
    expected = ["embedded_rnn" if _reads_table(UNITS) else "embedded_projection"]
    with torch.no_grad():
        folded = model.compute_output(ids, training=False)
        assert folds == expected
        handle = model.layers[0].register_forward_hook(lambda *args: None)
        apart = model.compute_output(ids, training=False)
        handle.remove()
    assert folds == expected
    torch.testing.assert_close(folded, apart, rtol=1e-5, atol=1e-5)


needs_lanes = pytest.mark.skipif(
    not K.available() or K.fused_lanes() == 0, reason="fused steps not compiled in"
)


@needs_lanes
@pytest.mark.parametrize("windows", [False, True], ids=["every_step", "windows"])
@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
def test_embedded_rnn_is_the_projection_then_the_recurrence_bit_for_bit(kind, windows):
    units, gates = K.fused_lanes(), {"simple_rnn": 1, "lstm": 4, "gru": 3}[kind]
    gen = torch.Generator().manual_seed(7)
    ids = torch.randint(0, VOCAB, (BATCH, STEPS), generator=gen)
    lengths = starts = None
    if windows:  # padding in front and behind, one empty row
        lengths = torch.randint(0, STEPS + 1, (BATCH,), generator=gen)
        lengths[2] = 0
        starts = torch.minimum(torch.randint(0, STEPS + 1, (BATCH,), generator=gen), STEPS - lengths)

    def weights():
        g = torch.Generator().manual_seed(8)
        shapes = [(VOCAB, DIM), (DIM, gates * units), (gates * units,), (units, gates * units)]
        shapes += [(BATCH, units)] * (2 if kind == "lstm" else 1)
        shapes += [(gates * units,)] if kind == "gru" else []
        return [(torch.randn(s, generator=g) * 0.4).requires_grad_() for s in shapes]

    def run(direct: bool):
        w = weights()
        emb, kernel, bias, recurrent = w[:4]
        states = w[4:6] if kind == "lstm" else w[4:5]
        rbias = w[5] if kind == "gru" else None
        if direct:
            out, final = K.embedded_rnn(
                kind, ids, emb, kernel, bias, states, recurrent, rbias, lengths, starts
            )
        else:
            xw = K.embedded_projection(ids, emb, kernel, bias)
            if kind == "lstm":
                out, *final = K.lstm(xw, *states, recurrent, lengths, starts)
            elif kind == "gru":
                out, *final = K.gru(xw, *states, recurrent, rbias, lengths, starts)
            else:
                out, *final = K.simple_rnn(xw, *states, recurrent, lengths, starts)
        loss = (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum()
        loss = loss + sum((k + 1) * s.sum() for k, s in enumerate(final))
        return [out.detach(), *(s.detach() for s in final), *torch.autograd.grad(loss, w)]

    for got, want in zip(run(True), run(False), strict=True):
        assert torch.equal(got, want)


@needs_lanes
@pytest.mark.parametrize("windows", [False, True], ids=["every_step", "windows"])
def test_the_lstm_last_state_without_a_gradient_saves_nothing_and_matches(windows):
    units = K.fused_lanes()
    gen = torch.Generator().manual_seed(12)
    ids = torch.randint(0, VOCAB, (BATCH, STEPS), generator=gen)
    lengths = starts = None
    if windows:
        lengths = torch.randint(0, STEPS + 1, (BATCH,), generator=gen)
        starts = STEPS - lengths  # padding in front, as pad_sequences makes it
    emb, kernel, bias = torch.randn(VOCAB, DIM), torch.randn(DIM, 4 * units) * 0.4, torch.randn(4 * units)
    h0, c0, recurrent = (
        torch.randn(BATCH, units),
        torch.randn(BATCH, units),
        torch.randn(units, 4 * units) * 0.3,
    )
    args = (ids, emb, kernel, bias, [h0, c0], recurrent, None, lengths, starts)
    with torch.no_grad():
        out, (h, c) = K.embedded_rnn("lstm", *args, outputs=False)
        full, (h_full, c_full) = K.embedded_rnn("lstm", *args)
        xw = K.embedded_projection(ids, emb, kernel, bias)
        h_last, c_last = K.lstm_last(xw, h0, c0, recurrent, lengths, starts)
    assert out.shape == (BATCH, 0, units) and full.shape == (BATCH, STEPS, units)
    for got in (h_full, h_last):
        assert torch.equal(h, got)
    for got in (c_full, c_last):
        assert torch.equal(c, got)
    weights = [w.clone().requires_grad_() for w in (emb, kernel, bias)]  # a gradient wanted: saved
    out, (h, c) = K.embedded_rnn(
        "lstm", ids, *weights, [h0, c0], recurrent, None, lengths, starts, outputs=False
    )
    assert out.shape == (BATCH, STEPS, units) and h.requires_grad and torch.equal(h.detach(), h_last)


@needs_lanes
def test_embedded_rnn_refuses_what_it_cannot_run():
    units = K.fused_lanes()
    ids = torch.randint(0, VOCAB, (BATCH, STEPS))
    emb, kernel = torch.randn(VOCAB, DIM), torch.randn(DIM, 4 * units)
    h0, recurrent = torch.zeros(BATCH, units), torch.randn(units, 4 * units)
    with pytest.raises(ValueError, match="multiple of"):
        K.embedded_rnn("lstm", ids, emb, kernel[:, :-4], None, [h0[:, :-1]] * 2, recurrent[:-1, :-4])
    with pytest.raises(TypeError, match="float32"):
        K.embedded_rnn(
            "lstm", ids, emb.double(), kernel.double(), None, [h0.double()] * 2, recurrent.double()
        )
    with pytest.raises(ValueError, match="int64"):
        K.embedded_rnn("lstm", ids.int(), emb, kernel, None, [h0, h0], recurrent)
    with pytest.raises(ValueError, match="h0"):
        K.embedded_rnn("lstm", ids, emb, kernel, None, [h0[1:], h0], recurrent)
    with pytest.raises(ValueError, match=r"\[h0, c0\]"):
        K.embedded_rnn("lstm", ids, emb, kernel, None, [h0], recurrent)
    with pytest.raises(ValueError, match="recurrent_bias"):
        K.embedded_rnn("gru", ids, emb, kernel[:, : 3 * units], None, [h0], recurrent[:, : 3 * units])
    with pytest.raises(ValueError, match="kind"):
        K.embedded_rnn("rnn", ids, emb, kernel, None, [h0], recurrent)
    bad = ids.clone()
    bad[3, 5] = VOCAB
    with pytest.raises(IndexError, match="out of range"):
        K.embedded_rnn("lstm", bad, emb, kernel, None, [h0, h0], recurrent)


def test_a_gru_without_biases_reads_the_table_as_the_layers_apart(folds):
    _folded_matches_apart(_model("gru", True, use_bias=False), _ids(True, np.random.default_rng(10)))
    assert folds == ["embedded_rnn" if _reads_table(UNITS) else "embedded_projection"]


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
def test_other_widths_fold_through_the_gathered_projection(kind, folds):
    units = UNITS + 4 if K.fused_lanes() else UNITS  # not a multiple of the vector width
    rnn = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[kind]
    model = Sequential([layers.Embedding(VOCAB, DIM), rnn(units), layers.Dense(3)])
    model.build((None, STEPS))
    _folded_matches_apart(model, _ids(False, np.random.default_rng(9)))
    assert folds == ["embedded_projection"]


def test_compact_ids_names_the_rows_used_and_renumbers_the_ids():
    ids = torch.tensor([[7, 3, 3, 0], [9, 7, 0, 0]])
    used, local = K._functions._ext().compact_ids(ids, 12, 9)
    assert used.tolist() == [0, 3, 7, 9]  # increasing
    assert torch.equal(used[local], ids)
    assert K._functions._ext().compact_ids(ids, 12, 3) == []  # more than `most` rows used
    strided = torch.tensor([[1, 5, 5], [8, 1, 2]]).t()  # a transposed view
    used, local = K._functions._ext().compact_ids(strided, 10, 10)
    assert used.tolist() == [1, 2, 5, 8] and torch.equal(used[local], strided)
    with pytest.raises(IndexError, match="out of range"):
        K._functions._ext().compact_ids(torch.tensor([[1, 12]]), 12, 12)


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
def test_a_batch_naming_few_rows_takes_the_table_of_those_rows_alone(kind, monkeypatch):
    """A vocabulary of 2,000 rows, batches naming at most 60 of them: the table and its gradient
    are taken for the rows used (`_used_rows`), with the numbers of the whole table, and the
    rows no id names get a zero gradient."""
    units = K.fused_lanes() or 8
    gates = {"simple_rnn": 1, "lstm": 4, "gru": 3}[kind]
    rows, gen = 2000, torch.Generator().manual_seed(13)
    ids = torch.randint(0, 60, (BATCH, STEPS), generator=gen) * 31  # rows 0, 31, ..., 1829
    lengths = torch.randint(1, STEPS + 1, (BATCH,), generator=gen)
    starts = STEPS - lengths
    shapes = [(rows, DIM), (DIM, gates * units), (gates * units,), (units, gates * units)]
    shapes += [(BATCH, units)] * (2 if kind == "lstm" else 1)
    shapes += [(gates * units,)] if kind == "gru" else []
    values = [torch.randn(s, generator=gen) * 0.4 for s in shapes]
    calls = []
    original = K._functions._used_rows

    def run(compact: bool):
        def used_rows(ids, n):
            found = original(ids, n) if compact else (None, ids)
            calls.append(found[0] is not None)
            return found

        monkeypatch.setattr(K._functions, "_used_rows", used_rows)
        w = [v.clone().requires_grad_() for v in values]
        emb, kernel, bias, recurrent = w[:4]
        states = w[4:6] if kind == "lstm" else w[4:5]
        rbias = w[5] if kind == "gru" else None
        if _reads_table(units):
            out, final = K.embedded_rnn(
                kind, ids, emb, kernel, bias, states, recurrent, rbias, lengths, starts
            )
        else:
            xw = K.embedded_projection(ids, emb, kernel, bias)
            step = {"simple_rnn": K.simple_rnn, "lstm": K.lstm, "gru": K.gru}[kind]
            extra = (rbias,) if kind == "gru" else ()
            out, *final = step(xw, *states, recurrent, *extra, lengths, starts)
        loss = (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum() + final[0].sum()
        return [out.detach(), *torch.autograd.grad(loss, w)]

    compacted, whole = run(True), run(False)
    assert calls == [True, False]
    for got, want in zip(compacted, whole, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    unused = torch.ones(rows, dtype=torch.bool)
    unused[ids.unique()] = False
    assert torch.count_nonzero(compacted[1][unused]) == 0  # the embeddings' gradient
    assert torch.count_nonzero(compacted[1][~unused]) > 0


@pytest.mark.parametrize("rows, width", [(10, 20), (1000, 128), (333, 35)])
def test_the_table_and_its_gradient_are_the_same_bits_at_one_and_two_threads(rows, width):
    """The table's products are taken row by row, each sum over the features in order: a threaded
    GEMM split the sums of a 10-row table differently at two threads than at one on an AMD CPU."""
    gen = torch.Generator().manual_seed(14)
    ids = torch.randint(0, rows, (BATCH, 40), generator=gen)
    values = [
        torch.randn(rows, DIM, generator=gen),
        torch.randn(DIM, width, generator=gen),
        torch.randn(width),
    ]
    up = torch.randn(BATCH, 40, width, generator=gen)

    def run(threads: int) -> list[torch.Tensor]:
        torch.set_num_threads(threads)
        w = [v.clone().requires_grad_() for v in values]
        xw = K.embedded_projection(ids, *w)
        return [xw.detach(), *torch.autograd.grad((xw * up).sum(), w)]

    before = torch.get_num_threads()
    try:
        one, two = run(1), run(2)
    finally:
        torch.set_num_threads(before)
    for a, b in zip(one, two, strict=True):
        assert torch.equal(a, b)
    want = values[0][ids] @ values[1] + values[2]
    torch.testing.assert_close(one[0], want, rtol=1e-5, atol=1e-5)


def test_projection_table_and_its_input_gradient_refuse_rows_out_of_range():
    ext = K._functions._ext()
    emb, kernel = torch.randn(5, DIM), torch.randn(DIM, 8)
    table = ext.projection_table(emb, torch.tensor([4, 0]), kernel, None)
    torch.testing.assert_close(table, emb[[4, 0]] @ kernel)
    grad = ext.table_input_grad(torch.ones(2, 8), kernel, torch.tensor([4, 0]), 5)
    torch.testing.assert_close(grad[[4, 0]], torch.ones(2, 8) @ kernel.t())
    assert torch.count_nonzero(grad[1:4]) == 0
    with pytest.raises(IndexError, match="out of range"):
        ext.projection_table(emb, torch.tensor([5]), kernel, None)
    with pytest.raises(IndexError, match="out of range"):
        ext.table_input_grad(torch.ones(1, 8), kernel, torch.tensor([7]), 5)


def test_mask_windows_finds_each_rows_run_as_the_tensor_ops_do():
    from textrnn.layers import rnn_kernels

    rng = np.random.default_rng(15)
    masks = [torch.from_numpy(rng.random((7, 9)) < p) for p in (0.1, 0.5, 0.9)]  # mostly gaps
    for _ in range(20):  # one run per row, of every kind: empty, full, in front, behind, inside
        starts = rng.integers(0, 10, size=7)
        lengths = np.minimum(rng.integers(0, 10, size=7), 9 - np.minimum(starts, 9))
        steps = np.arange(9)
        masks.append(torch.from_numpy((steps >= starts[:, None]) & (steps < (starts + lengths)[:, None])))
    masks.append(masks[-1].t().contiguous().t())  # a transposed view's strides
    for mask in masks:
        lengths = mask.sum(dim=1)
        first = mask.to(torch.uint8).argmax(dim=1)
        steps = torch.arange(mask.shape[1])
        one_run = torch.equal((steps >= first[:, None]) & (steps < (first + lengths)[:, None]), mask)
        got = K.mask_windows(mask)
        assert (got is not None) == one_run
        if got is not None:
            assert torch.equal(got[0], first) and torch.equal(got[1], lengths)
        assert (rnn_kernels._mask_windows(mask) is None) == (not one_run)  # the layers' use of it
    with pytest.raises(ValueError, match="bool"):
        K.mask_windows(torch.ones(2, 3))


def test_the_table_of_the_rows_used_passes_gradcheck_in_float64():
    ids = torch.randint(0, 6, (3, 4), generator=torch.Generator().manual_seed(16)) * 5  # <= 6 of 30 rows
    assert K._functions._used_rows(ids, 30)[0] is not None
    gen = torch.Generator().manual_seed(17)
    emb, kernel, bias = (
        torch.randn(*s, generator=gen, dtype=torch.float64, requires_grad=True)
        for s in ((30, 3), (3, 8), (8,))
    )
    assert torch.autograd.gradcheck(lambda e, k, b: K.embedded_projection(ids, e, k, b), (emb, kernel, bias))
    assert torch.autograd.gradcheck(lambda e, k: K.embedded_projection(ids, e, k), (emb, kernel))
    assert K.embedded_projection(ids[:0], emb, kernel, bias).shape == (0, 4, 8)  # no rows at all
