"""The native kernels against plain PyTorch step loops with autograd (values and all gradients)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch

import textrnn.kernels as K


def _require_native() -> None:
    if not K.available():
        pytest.skip(f"native kernels unavailable: {K.build_info()['error']}")


@pytest.fixture(autouse=True)
def native() -> None:
    _require_native()


# --------------------------------------------------------------------------- references
def _mask(t: int, lengths, starts, like: torch.Tensor) -> torch.Tensor | None:
    """Rows that run step t: t in [starts, starts + lengths) (starts 0 when None)."""
    if lengths is None:
        return None
    first = torch.zeros_like(lengths) if starts is None else starts
    return ((t >= first) & (t < first + lengths)).unsqueeze(1).expand_as(like)


def _advance(new: torch.Tensor, old: torch.Tensor, m: torch.Tensor | None) -> torch.Tensor:
    return new if m is None else torch.where(m, new, old)


def _emit(new: torch.Tensor, m: torch.Tensor | None) -> torch.Tensor:
    return new if m is None else torch.where(m, new, torch.zeros_like(new))


def ref_simple_rnn(xw, h0, u_, lengths=None, starts=None):
    h, outs = h0, []
    for t in range(xw.shape[1]):
        new = torch.tanh(xw[:, t] + h @ u_)
        m = _mask(t, lengths, starts, new)
        outs.append(_emit(new, m))
        h = _advance(new, h, m)
    return torch.stack(outs, 1), h


def ref_lstm(xw, h0, c0, u_, lengths=None, starts=None):
    h, c, outs = h0, c0, []
    for t in range(xw.shape[1]):
        i, f, g, o = (xw[:, t] + h @ u_).chunk(4, dim=1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(c_new)
        m = _mask(t, lengths, starts, h_new)
        outs.append(_emit(h_new, m))
        h, c = _advance(h_new, h, m), _advance(c_new, c, m)
    return torch.stack(outs, 1), h, c


def ref_gru(xw, h0, u_, rb, lengths=None, starts=None):
    h, outs = h0, []
    for t in range(xw.shape[1]):
        xz, xr, xh = xw[:, t].chunk(3, dim=1)
        hz, hr, hh = (h @ u_ + rb).chunk(3, dim=1)
        z = torch.sigmoid(xz + hz)
        r = torch.sigmoid(xr + hr)
        cand = torch.tanh(xh + r * hh)
        new = z * h + (1 - z) * cand
        m = _mask(t, lengths, starts, new)
        outs.append(_emit(new, m))
        h = _advance(new, h, m)
    return torch.stack(outs, 1), h


@dataclass
class Cell:
    name: str
    gates: int
    native: Callable
    reference: Callable
    has_c: bool = False
    has_rbias: bool = False

    def inputs(self, batch: int, steps: int, units: int, dtype: torch.dtype, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        args = [
            torch.randn(batch, steps, self.gates * units, generator=g, dtype=dtype),
            torch.randn(batch, units, generator=g, dtype=dtype) * 0.5,
        ]
        if self.has_c:
            args.append(torch.randn(batch, units, generator=g, dtype=dtype) * 0.5)
        args.append(torch.randn(units, self.gates * units, generator=g, dtype=dtype) / units**0.5)
        if self.has_rbias:
            args.append(torch.randn(self.gates * units, generator=g, dtype=dtype) * 0.3)
        return [a.requires_grad_() for a in args]


CELLS = [
    Cell("simple_rnn", 1, K.simple_rnn, ref_simple_rnn),
    Cell("lstm", 4, K.lstm, ref_lstm, has_c=True),
    Cell("gru", 3, K.gru, ref_gru, has_rbias=True),
]
CELL_IDS = [c.name for c in CELLS]


def time_major(xw: torch.Tensor) -> torch.Tensor:
    """The same (batch, steps, .) values laid out time-major in memory (differentiable)."""
    return xw.transpose(0, 1).contiguous().transpose(0, 1)


def _run_both(
    cell: Cell,
    args,
    lengths,
    seed: int = 1,
    use_outputs: bool = True,
    use_states: bool = True,
    layout: str = "batch",
    starts=None,
):
    """Outputs and gradients (w.r.t. every argument) of the kernel and of the reference."""
    results = []
    for fn in (cell.native, cell.reference):
        leaves = [a.detach().clone().requires_grad_() for a in args]
        if fn is cell.native:
            xw = time_major(leaves[0]) if layout == "time" else leaves[0]
            outs = fn(xw, *leaves[1:], lengths=lengths, starts=starts)
            if layout == "time" and xw.shape[0] > 1 and xw.shape[1] > 1:
                assert outs[0].transpose(0, 1).is_contiguous()  # outputs follow the layout
        else:
            outs = fn(*leaves, lengths, starts)
        g = torch.Generator().manual_seed(seed)
        loss = sum(
            (o * torch.randn(o.shape, generator=g, dtype=o.dtype)).sum()
            for k, o in enumerate(outs)
            if (k == 0 and use_outputs) or (k > 0 and use_states)
        )
        grads = torch.autograd.grad(loss, leaves, allow_unused=True)
        results.append(([o.detach() for o in outs], grads))
    return results


def _assert_match(cell, args, lengths, rtol, atol, **kw):
    (n_out, n_grad), (r_out, r_grad) = _run_both(cell, args, lengths, **kw)
    for a, b in zip(n_out, r_out, strict=True):
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol)
    for k, (a, b) in enumerate(zip(n_grad, r_grad, strict=True)):
        b = torch.zeros_like(args[k]) if b is None else b
        assert a is not None, f"no gradient for argument {k}"
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol, msg=lambda m, k=k: f"arg {k}: {m}")


# ------------------------------------------------------------------------------ values
LAYOUTS = ["batch", "time"]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("cell", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize(
    "batch,steps,units",
    [(5, 7, 32), (9, 12, 10), (6, 9, 24), (1, 1, 8), (1, 6, 16), (7, 1, 5)],
)
def test_float32_matches_reference(cell, batch, steps, units, layout):
    args = cell.inputs(batch, steps, units, torch.float32)
    _assert_match(cell, args, None, rtol=2e-5, atol=2e-5, layout=layout)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("cell", CELLS, ids=CELL_IDS)
def test_float32_lengths_match_reference(cell, layout):
    batch, steps, units = 9, 11, 16
    args = cell.inputs(batch, steps, units, torch.float32, seed=3)
    lengths = torch.tensor([11, 0, 3, 11, 1, 7, 10, 2, 11])
    _assert_match(cell, args, lengths, rtol=2e-5, atol=2e-5, layout=layout)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("cell", CELLS, ids=CELL_IDS)
def test_float32_starts_match_reference(cell, layout):
    # Rows padded in front (Keras's pad_sequences), at the back, in the middle, empty, and full.
    batch, steps, units = 8, 10, 32
    args = cell.inputs(batch, steps, units, torch.float32, seed=23)
    lengths = torch.tensor([10, 4, 0, 3, 1, 6, 0, 9])
    starts = torch.tensor([0, 6, 10, 2, 9, 0, 4, 1])
    _assert_match(cell, args, lengths, rtol=2e-5, atol=2e-5, layout=layout, starts=starts)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("cell", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("use_outputs,use_states", [(True, False), (False, True)])
def test_gradient_from_outputs_or_states_alone(cell, use_outputs, use_states, layout):
    # Keras's return_sequences=False only uses the last state (the outputs get no gradient).
    args = cell.inputs(6, 8, 32, torch.float32, seed=5)
    lengths = torch.tensor([8, 3, 0, 8, 5, 1])
    _assert_match(
        cell,
        args,
        lengths,
        rtol=2e-5,
        atol=2e-5,
        use_outputs=use_outputs,
        use_states=use_states,
        layout=layout,
    )


def test_lengths_freeze_state_and_zero_outputs():
    args = CELLS[1].inputs(3, 6, 4, torch.float32)
    lengths = torch.tensor([6, 2, 0])
    out, h, c = K.lstm(*args, lengths=lengths)
    assert torch.equal(out[1, 2:], torch.zeros(4, 4))
    assert torch.equal(h[1], out[1, 1])
    assert torch.equal(h[2], args[1][2].detach())  # length 0: the initial state comes back
    assert torch.equal(c[2], args[2][2].detach())
    full, h_full, _ = K.lstm(*args)
    torch.testing.assert_close(out[0], full[0])
    torch.testing.assert_close(h[0], h_full[0])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("cell", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("with_lengths", [False, True])
def test_gradcheck_float64(cell, with_lengths, layout):
    args = cell.inputs(3, 4, 3, torch.float64, seed=7)
    lengths = torch.tensor([4, 0, 2]) if with_lengths else None

    def fn(xw, *a):
        return cell.native(time_major(xw) if layout == "time" else xw, *a, lengths=lengths)

    assert torch.autograd.gradcheck(fn, args, eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("cell", CELLS, ids=CELL_IDS)
def test_gradcheck_float64_starts(cell):
    args = cell.inputs(4, 5, 3, torch.float64, seed=29)
    lengths, starts = torch.tensor([2, 5, 0, 3]), torch.tensor([3, 0, 1, 1])

    def fn(xw, *a):
        return cell.native(time_major(xw), *a, lengths=lengths, starts=starts)

    assert torch.autograd.gradcheck(fn, args, eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("cell", CELLS, ids=CELL_IDS)
def test_float64_matches_reference_tightly(cell):
    args = cell.inputs(4, 9, 6, torch.float64, seed=11)
    _assert_match(cell, args, torch.tensor([9, 4, 0, 1]), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("cell", CELLS, ids=CELL_IDS)
def test_same_results_with_one_or_two_threads(cell):
    args = cell.inputs(16, 10, 16, torch.float32, seed=13)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = cell.native(*[a.detach() for a in args])
        torch.set_num_threads(2)
        two = cell.native(*[a.detach() for a in args])
    finally:
        torch.set_num_threads(before)
    for a, b in zip(one, two, strict=True):
        assert torch.equal(a, b)


def test_non_contiguous_xw():
    xw_t = torch.randn(7, 5, 8).transpose(0, 1)  # (5, 7, 8), not contiguous
    h0, u_ = torch.zeros(5, 8), torch.randn(8, 8) * 0.3
    out, h = K.simple_rnn(xw_t, h0, u_)
    ref_out, ref_h = ref_simple_rnn(xw_t, h0, u_)
    torch.testing.assert_close(out, ref_out, rtol=2e-5, atol=2e-5)


def test_frozen_recurrent_kernel_gets_no_gradient():
    xw = torch.randn(4, 5, 12, requires_grad=True)
    u_ = torch.randn(4, 12) * 0.3  # requires_grad False: its GEMM is skipped
    out, h = K.gru(xw, torch.zeros(4, 4), u_, torch.zeros(12))
    h.sum().backward()
    assert xw.grad is not None and u_.grad is None


def test_large_magnitudes_stay_finite():
    xw = torch.full((2, 30, 4 * 8), 200.0)
    xw[1] = -200.0
    out, h, c = K.lstm(xw, torch.zeros(2, 8), torch.zeros(2, 8), torch.zeros(8, 32))
    ref_out, ref_h, ref_c = ref_lstm(xw, torch.zeros(2, 8), torch.zeros(2, 8), torch.zeros(8, 32))
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(c, ref_c)


def test_recycled_buffers_never_overwrite_live_tensors():
    # Above the pool's 1 MiB threshold (outputs 1.3 MB): outputs and gates come from recycled buffers.
    args = [a.detach() for a in CELLS[1].inputs(64, 160, 32, torch.float32, seed=17)]
    first = K.lstm(*args)
    kept = [t.clone() for t in first]
    other = [a * 0.5 for a in args]
    for _ in range(3):  # reuses the buffers of the outputs dropped at each iteration
        second = K.lstm(*other)
    for a, b in zip(first, kept, strict=True):
        assert torch.equal(a, b)
    del first
    third = K.lstm(*args)  # may now reuse the first call's buffers
    for a, b in zip(third, kept, strict=True):
        assert torch.equal(a, b)
    assert K.empty_cache() >= 0
    assert torch.equal(second[0], K.lstm(*other)[0])


def test_backward_after_buffers_recycled():
    # Saved activations of a graph still alive must not be reused by later calls.
    args = CELLS[2].inputs(64, 80, 32, torch.float32, seed=19)
    out, h = K.gru(*args)
    for _ in range(3):
        K.gru(*[a.detach() * 0.3 for a in args])
    grads = torch.autograd.grad(h.sum(), args)
    ref_out, ref_h = ref_gru(*args)
    ref_grads = torch.autograd.grad(ref_h.sum(), args)
    for a, b in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("with_bias", [True, False])
def test_project_matches_matmul(with_bias):
    g = torch.Generator().manual_seed(31)
    x = torch.randn(6, 40, 12, generator=g, requires_grad=True)
    w = torch.randn(12, 96, generator=g, requires_grad=True)
    b = torch.randn(96, generator=g, requires_grad=True) if with_bias else None
    xw = K.project(x, w, b)
    assert xw.shape == (6, 40, 96) and xw.transpose(0, 1).is_contiguous()
    ref = x @ w + (b if b is not None else 0)
    torch.testing.assert_close(xw, ref)
    upstream = torch.randn(6, 40, 96, generator=g)
    leaves = [x, w] + ([b] if b is not None else [])
    got = torch.autograd.grad((xw * upstream).sum(), leaves)
    want = torch.autograd.grad((ref * upstream).sum(), leaves)
    for a, c in zip(got, want, strict=True):
        torch.testing.assert_close(a, c, rtol=1e-5, atol=1e-5)


def test_project_gradcheck_and_feeds_the_kernels():
    g = torch.Generator().manual_seed(37)
    x = torch.randn(3, 4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(5, 12, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(12, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(K.project, (x, w, b))
    u_ = torch.randn(3, 12, generator=g, dtype=torch.float64, requires_grad=True)
    h0 = torch.zeros(3, 3, dtype=torch.float64)

    def layer(x, w, b, u_):
        out, h, c = K.lstm(K.project(x, w, b), h0, h0, u_, lengths=torch.tensor([4, 1, 0]))
        return out, h, c

    assert torch.autograd.gradcheck(layer, (x, w, b, u_))


@pytest.mark.parametrize("layout", ["batch", "time", "strided"])
def test_project_takes_any_input_layout(layout):
    g = torch.Generator().manual_seed(41)
    base = torch.randn(300, 7, 10, generator=g)  # (steps, batch, features)
    if layout == "batch":
        x = base.transpose(0, 1).contiguous()
    elif layout == "time":
        x = base.transpose(0, 1)  # a view of time-major memory
    else:
        x = torch.randn(7, 300, 20, generator=g)[..., ::2]  # features not contiguous
    w = torch.randn(10, 16, generator=g)
    b = torch.randn(16, generator=g)
    torch.testing.assert_close(K.project(x, w, b), x @ w + b)
    torch.testing.assert_close(K.project(x, w), x @ w)
