"""The kernels' recurrent dropout masks against plain PyTorch step loops with autograd.

Keras's semantics: one mask per row fixed for the whole sequence, multiplied into h_{t-1} before
the recurrent product; an LSTM has one mask per gate (i, f, c, o), a GRU per gate (z, r, h).
"""

from __future__ import annotations

import pytest
import torch

import textrnn.kernels as K


@pytest.fixture(autouse=True)
def native() -> None:
    if not K.available():
        pytest.skip(f"native kernels unavailable: {K.build_info()['error']}")


def _rows(t, lengths, starts, like):
    if lengths is None:
        return None
    first = torch.zeros_like(lengths) if starts is None else starts
    return ((t >= first) & (t < first + lengths)).unsqueeze(1).expand_as(like)


def _keep(new, old, m):
    return new if m is None else torch.where(m, new, old)


def _out(new, m):
    return new if m is None else torch.where(m, new, torch.zeros_like(new))


def ref_simple_rnn(xw, h0, u_, mask, lengths=None, starts=None):
    h, outs = h0, []
    for t in range(xw.shape[1]):
        new = torch.tanh(xw[:, t] + (h * mask) @ u_)
        m = _rows(t, lengths, starts, new)
        outs.append(_out(new, m))
        h = _keep(new, h, m)
    return torch.stack(outs, 1), h


def ref_lstm(xw, h0, c0, u_, mask, lengths=None, starts=None):
    units = h0.shape[1]
    h, c, outs = h0, c0, []
    for t in range(xw.shape[1]):
        z = xw[:, t] + torch.cat(
            [(h * m) @ u_[:, q * units : (q + 1) * units] for q, m in enumerate(mask.chunk(4, 1))], 1
        )
        i, f, g, o = z.chunk(4, dim=1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(c_new)
        m = _rows(t, lengths, starts, h_new)
        outs.append(_out(h_new, m))
        h, c = _keep(h_new, h, m), _keep(c_new, c, m)
    return torch.stack(outs, 1), h, c


def ref_gru(xw, h0, u_, rb, mask, lengths=None, starts=None):
    units = h0.shape[1]
    h, outs = h0, []
    for t in range(xw.shape[1]):
        xz, xr, xh = xw[:, t].chunk(3, dim=1)
        hz, hr, hh = (
            (h * m) @ u_[:, q * units : (q + 1) * units] + rb[q * units : (q + 1) * units]
            for q, m in enumerate(mask.chunk(3, 1))
        )
        z = torch.sigmoid(xz + hz)
        r = torch.sigmoid(xr + hr)
        new = z * h + (1 - z) * torch.tanh(xh + r * hh)
        m = _rows(t, lengths, starts, new)
        outs.append(_out(new, m))
        h = _keep(new, h, m)
    return torch.stack(outs, 1), h


def _case(kind, batch, steps, units, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    gates = {"simple_rnn": 1, "lstm": 4, "gru": 3}[kind]
    xw = torch.randn(batch, steps, gates * units, generator=g, dtype=dtype)
    h0 = torch.randn(batch, units, generator=g, dtype=dtype) * 0.5
    c0 = torch.randn(batch, units, generator=g, dtype=dtype) * 0.5
    u_ = torch.randn(units, gates * units, generator=g, dtype=dtype) / units**0.5
    rb = torch.randn(gates * units, generator=g, dtype=dtype) * 0.1
    keep = (torch.rand(batch, gates * units, generator=g) > 0.3).to(dtype) / 0.7
    return xw, h0, c0, u_, rb, keep


def _run(kind, native, xw, h0, c0, u_, rb, mask, lengths=None, starts=None):
    rows = {"lengths": lengths, "starts": starts}
    if native:
        rows["recurrent_mask"] = mask
        if kind == "simple_rnn":
            return K.simple_rnn(xw, h0, u_, **rows)
        if kind == "lstm":
            return K.lstm(xw, h0, c0, u_, **rows)
        return K.gru(xw, h0, u_, rb, **rows)
    if kind == "simple_rnn":
        return ref_simple_rnn(xw, h0, u_, mask, **rows)
    if kind == "lstm":
        return ref_lstm(xw, h0, c0, u_, mask, **rows)
    return ref_gru(xw, h0, u_, rb, mask, **rows)


def _values_and_grads(kind, native, tensors, mask, lengths, starts, time_major):
    leaves = [t.clone().requires_grad_() for t in tensors]
    xw = leaves[0]
    if time_major and native:
        xw = xw.transpose(0, 1).contiguous().transpose(0, 1)
    outs = _run(kind, native, xw, *leaves[1:], mask, lengths, starts)
    weights = torch.linspace(-1, 1, outs[0].numel(), dtype=outs[0].dtype).view_as(outs[0])
    loss = (outs[0] * weights).sum() + sum((o**2).sum() for o in outs[1:])
    loss.backward()
    used = [0, 1, 3] + ([2] if kind == "lstm" else []) + ([4] if kind == "gru" else [])
    return [o.detach() for o in outs], [leaves[i].grad for i in sorted(used)]


CASES = [
    ("simple_rnn", 16),
    ("simple_rnn", 5),
    ("lstm", 16),
    ("lstm", 5),
    ("gru", 16),
    ("gru", 5),
]


@pytest.mark.parametrize("kind,units", CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("rows", ["all", "lengths", "starts"])
@pytest.mark.parametrize("time_major", [False, True])
def test_masked_recurrence_matches_autograd_loop(kind, units, dtype, rows, time_major):
    batch, steps = 11, 9
    xw, h0, c0, u_, rb, keep = _case(kind, batch, steps, units, dtype)
    mask = keep[:, :units] if kind == "simple_rnn" else keep
    lengths = starts = None
    if rows != "all":
        lengths = torch.tensor([9, 0, 3, 7, 9, 1, 5, 2, 8, 4, 6])
    if rows == "starts":
        starts = torch.tensor([0, 2, 6, 1, 0, 3, 4, 7, 1, 5, 2])
        lengths = torch.minimum(lengths, steps - starts)
    tensors = [xw, h0, c0, u_, rb]
    want_out, want_grad = _values_and_grads(kind, False, tensors, mask, lengths, starts, False)
    got_out, got_grad = _values_and_grads(kind, True, tensors, mask, lengths, starts, time_major)
    tol = {"atol": 1e-5, "rtol": 1e-4} if dtype == torch.float32 else {"atol": 1e-10, "rtol": 1e-9}
    for a, b in zip(got_out, want_out, strict=True):
        torch.testing.assert_close(a, b, **tol)
    for a, b in zip(got_grad, want_grad, strict=True):
        torch.testing.assert_close(a, b, **tol)


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
def test_masked_gradcheck_float64(kind):
    xw, h0, c0, u_, rb, keep = _case(kind, 5, 4, 3, torch.float64, seed=3)
    mask = keep[:, :3] if kind == "simple_rnn" else keep
    lengths = torch.tensor([4, 2, 0, 3, 1])
    args = [xw, h0, c0, u_, rb]
    leaves = [a.clone().requires_grad_() for a in args]

    def f(*ts):
        return _run(kind, True, *ts, mask, lengths)

    assert torch.autograd.gradcheck(f, leaves)


def test_all_ones_mask_is_no_dropout():
    xw, h0, c0, u_, _, _ = _case("lstm", 6, 7, 16, torch.float32)
    plain = K.lstm(xw, h0, c0, u_)
    ones = K.lstm(xw, h0, c0, u_, recurrent_mask=torch.ones(6, 64))
    for a, b in zip(plain, ones, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("shape", [(6, 16), (6, 63), (5, 64)])
def test_mask_of_the_wrong_shape_is_refused(shape):
    xw, h0, c0, u_, _, _ = _case("lstm", 6, 7, 16, torch.float32)
    with pytest.raises(ValueError, match="`recurrent_mask` of `textrnn.kernels.lstm` must have shape"):
        K.lstm(xw, h0, c0, u_, recurrent_mask=torch.ones(shape))


# ------------------------------------------------------------------ lstm_last (inference)
@pytest.mark.parametrize("units", [16, 32, 5])
@pytest.mark.parametrize("rows", ["all", "lengths", "starts"])
@pytest.mark.parametrize("time_major", [False, True])
def test_lstm_last_matches_lstm(units, rows, time_major):
    xw, h0, c0, u_, _, _ = _case("lstm", 13, 9, units, torch.float32, seed=4)
    if time_major:
        xw = xw.transpose(0, 1).contiguous().transpose(0, 1)
    lengths = starts = None
    if rows != "all":
        lengths = torch.tensor([9, 0, 3, 7, 9, 1, 5, 2, 8, 4, 6, 9, 2])
    if rows == "starts":
        starts = torch.tensor([0, 2, 6, 1, 0, 3, 4, 7, 1, 5, 2, 0, 6])
        lengths = torch.minimum(lengths, 9 - starts)
    _, h_want, c_want = K.lstm(xw, h0, c0, u_, lengths, starts)
    with torch.no_grad():
        h, c = K.lstm_last(xw, h0, c0, u_, lengths, starts)
    torch.testing.assert_close(h, h_want, atol=0, rtol=0)
    torch.testing.assert_close(c, c_want, atol=0, rtol=0)


def test_lstm_last_refuses_a_gradient():
    xw, h0, c0, u_, _, _ = _case("lstm", 4, 3, 16, torch.float32)
    with pytest.raises(RuntimeError, match="computes no gradient"):
        K.lstm_last(xw.requires_grad_(), h0, c0, u_)
