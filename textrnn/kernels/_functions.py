"""Autograd functions over the C++ kernels, and the checked public entry points."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import torch
from torch.autograd.function import once_differentiable

from textrnn.errors import KernelUnavailableError
from textrnn.kernels._loader import available, extension

_FLOAT_DTYPES = (torch.float32, torch.float64)


def _ext() -> ModuleType:
    if not available():
        raise KernelUnavailableError(
            "The native recurrence kernels are not available here (see the warning issued by "
            "`textrnn.kernels.available()`). Check `available()` first, or set "
            "TEXTRNN_KERNELS=torch to use PyTorch's kernels."
        )
    module = extension()
    if module is None:  # available() returned True, so this cannot happen
        raise KernelUnavailableError("The native recurrence kernels failed to load.")
    return module


def _ext_loaded() -> ModuleType:
    """The module a forward pass already used (backward must not depend on TEXTRNN_KERNELS)."""
    module = extension()
    if module is None:
        raise KernelUnavailableError("The native recurrence kernels failed to load.")
    return module


class _SimpleRNN(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        xw: torch.Tensor,
        h0: torch.Tensor,
        kernel: torch.Tensor,
        lengths: torch.Tensor | None,
        starts: torch.Tensor | None,
        recurrent_mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out, h_last = _ext().simple_rnn_forward(xw, h0, kernel, lengths, starts, recurrent_mask)
        ctx.set_materialize_grads(False)
        ctx.rows = (lengths, starts)  # plain int64 tensors, never differentiated
        ctx.recurrent_mask = recurrent_mask  # a constant of the sequence, never differentiated
        ctx.save_for_backward(h0, kernel, out)
        return out, h_last

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, g_out: torch.Tensor | None, g_h: torch.Tensor | None) -> tuple[Any, ...]:
        h0, kernel, out = ctx.saved_tensors
        dxw, dh0, dkernel = _ext_loaded().simple_rnn_backward(
            g_out, g_h, h0, kernel, out, *ctx.rows, ctx.needs_input_grad[2], ctx.recurrent_mask
        )
        return dxw, dh0, dkernel, None, None, None


class _LSTM(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        xw: torch.Tensor,
        h0: torch.Tensor,
        c0: torch.Tensor,
        kernel: torch.Tensor,
        lengths: torch.Tensor | None,
        starts: torch.Tensor | None,
        recurrent_mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out, h_last, c_last, gates, cells = _ext().lstm_forward(
            xw, h0, c0, kernel, lengths, starts, recurrent_mask
        )
        ctx.set_materialize_grads(False)
        ctx.rows = (lengths, starts)
        ctx.recurrent_mask = recurrent_mask
        ctx.save_for_backward(h0, c0, kernel, out, gates, cells)
        return out, h_last, c_last

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, g_out: torch.Tensor | None, g_h: torch.Tensor | None, g_c: torch.Tensor | None
    ) -> tuple[Any, ...]:
        h0, c0, kernel, out, gates, cells = ctx.saved_tensors
        dxw, dh0, dc0, dkernel = _ext_loaded().lstm_backward(
            g_out,
            g_h,
            g_c,
            h0,
            c0,
            kernel,
            out,
            gates,
            cells,
            *ctx.rows,
            ctx.needs_input_grad[3],
            ctx.recurrent_mask,
        )
        return dxw, dh0, dc0, dkernel, None, None, None


class _GRU(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        xw: torch.Tensor,
        h0: torch.Tensor,
        kernel: torch.Tensor,
        recurrent_bias: torch.Tensor,
        lengths: torch.Tensor | None,
        starts: torch.Tensor | None,
        recurrent_mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out, h_last, saved = _ext().gru_forward(
            xw, h0, kernel, recurrent_bias, lengths, starts, recurrent_mask
        )
        ctx.set_materialize_grads(False)
        ctx.rows = (lengths, starts)
        ctx.recurrent_mask = recurrent_mask
        ctx.save_for_backward(h0, kernel, out, saved)
        return out, h_last

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, g_out: torch.Tensor | None, g_h: torch.Tensor | None) -> tuple[Any, ...]:
        h0, kernel, out, saved = ctx.saved_tensors
        dxw, dh0, dkernel, dbias = _ext_loaded().gru_backward(
            g_out,
            g_h,
            h0,
            kernel,
            out,
            saved,
            *ctx.rows,
            ctx.needs_input_grad[2],
            ctx.needs_input_grad[3],
            ctx.recurrent_mask,
        )
        return dxw, dh0, dkernel, dbias, None, None, None


class _Projection(torch.autograd.Function):
    """xw = x @ kernel + bias, computed time-major into a recycled buffer (see `project`)."""

    @staticmethod
    def forward(
        ctx: Any, inputs: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        ext = _ext()
        batch, steps, features = inputs.shape
        width = kernel.shape[1]
        # x time-major, with a column of ones when there is a bias: the bias then rides in the
        # GEMM as the last row of the weights, forward and backward (no separate add or sum).
        cols = features + (bias is not None)
        x_aug = ext.pooled_empty([steps, batch, cols], inputs)
        x_aug[..., :features].copy_(inputs.transpose(0, 1))
        weights = kernel
        if bias is not None:
            x_aug[..., features].fill_(1.0)
            weights = torch.cat([kernel, bias.unsqueeze(0)], dim=0)  # (features + 1, width)
        xw = ext.pooled_empty([steps, batch, width], inputs)
        torch.mm(x_aug.view(-1, cols), weights, out=xw.view(-1, width))
        ctx.save_for_backward(x_aug, kernel)
        ctx.has_bias = bias is not None
        return xw.transpose(0, 1)  # (batch, steps, width), time-major

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        x_aug, kernel = ctx.saved_tensors
        steps, batch, cols = x_aug.shape
        g = grad.transpose(0, 1).contiguous().view(steps * batch, -1)  # no copy if time-major
        d_inputs = d_kernel = d_bias = None
        if ctx.needs_input_grad[0]:
            d_inputs = (g @ kernel.t()).view(steps, batch, -1).transpose(0, 1)
        if ctx.needs_input_grad[1] or (ctx.has_bias and ctx.needs_input_grad[2]):
            # (cols, width), summed over the rows alike at any thread count (`grad_tn`)
            d_weights = _ext_loaded().grad_tn(x_aug.view(-1, cols), g)
            features = kernel.shape[0]
            d_kernel = d_weights[:features] if ctx.needs_input_grad[1] else None
            if ctx.has_bias and ctx.needs_input_grad[2]:
                d_bias = d_weights[features]
        return d_inputs, d_kernel, d_bias


# A batch whose ids use at most this share of the vocabulary's rows takes the table for those rows
# alone (`_used_rows`): a batch of 128 IMDB reviews names about a third of 10,000 words. At three
# quarters the renumbering and the scattered gradient cost about what the smaller products save
# (`benchmarks/embedding_fold.py --ids imdb-like`, exact mode).
COMPACT_SHARE = 0.5


def _used_rows(ids: torch.Tensor, rows: int) -> tuple[torch.Tensor | None, torch.Tensor]:
    """`(used, local)`: the rows of a vocabulary of `rows` that `ids` names, in increasing order,
    and `ids` renumbered into them; `(None, ids)` when they are more than `COMPACT_SHARE` of the
    rows (the whole table is then cheaper than the renumbering)."""
    found = _ext().compact_ids(ids, rows, int(rows * COMPACT_SHARE))
    return (found[0], found[1]) if found else (None, ids)


def _projection_table(
    ids: torch.Tensor, embeddings: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """`(table, used, local)`: the projection `embeddings @ kernel + bias` of the rows `ids` name
    (`_used_rows`; `used` None: of every row), and `ids` renumbered into the table's rows. Each of
    its sums runs over the features in order (`projection_table`): the same bits at any thread
    count, which a threaded GEMM does not promise on every CPU."""
    used, local = _used_rows(ids, int(embeddings.shape[0]))
    table: torch.Tensor = _ext().projection_table(embeddings, used, kernel, bias)
    return table, used, local


def _augmented(embeddings: torch.Tensor, used: torch.Tensor | None, has_bias: bool) -> torch.Tensor:
    """The table's rows of `embeddings` (those `used`, or all) with a column of ones when the
    projection has a bias, so that one `grad_tn` gives the kernel's and the bias's gradients."""
    ext = _ext_loaded()
    picked = embeddings if used is None else embeddings.index_select(0, used)
    if not has_bias:
        return picked
    rows, features = picked.shape
    # recycled buffers (`pooled_empty`): fresh megabytes would cost their page faults every batch
    e_aug = ext.pooled_empty([rows, features + 1], embeddings)
    e_aug[:, :features] = picked
    e_aug[:, features] = 1.0
    return e_aug


def _table_grads(
    grad: torch.Tensor,
    ids: torch.Tensor,
    embeddings: torch.Tensor,
    used: torch.Tensor | None,
    kernel: torch.Tensor,
    has_bias: bool,
    needs: tuple[bool, bool, bool],
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """The gradients of `(embeddings, kernel, bias)` from `grad` `(batch, steps, width)`, a view of
    time-major memory, the gradient of each step's table row (`needs`: which are wanted). `ids`
    name rows of the table: of `embeddings`, or of its rows `used` (`_used_rows`), the others'
    gradient then zero."""
    ext = _ext_loaded()
    features = kernel.shape[0]
    table_rows = int(embeddings.shape[0]) if used is None else int(used.shape[0])
    # the gradient of each id's table row: the sum of its steps' gradients, in the order of the
    # time-major memory (a fixed order: the same bits at any thread count)
    d_table = ext.embedding_backward(grad, ids, table_rows, True)  # (table rows, width)
    d_embeddings = d_kernel = d_bias = None
    if needs[0]:
        d_embeddings = ext.table_input_grad(d_table, kernel, used, int(embeddings.shape[0]))
    if needs[1] or (has_bias and needs[2]):
        d_weights = ext.grad_tn(_augmented(embeddings, used, has_bias), d_table)  # (features [+ 1], width)
        d_kernel = d_weights[:features] if needs[1] else None
        if has_bias and needs[2]:
            d_bias = d_weights[features]
    return d_embeddings, d_kernel, d_bias


class _EmbeddedProjection(torch.autograd.Function):
    """xw = embeddings[ids] @ kernel + bias as rows of one table, time-major (see
    `embedded_projection`)."""

    @staticmethod
    def forward(
        ctx: Any, ids: torch.Tensor, embeddings: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        ext = _ext()
        batch, steps = ids.shape
        width = kernel.shape[1]
        table, used, ids = _projection_table(ids, embeddings, kernel, bias)
        xw = ext.pooled_empty([steps, batch, width], embeddings)
        torch.index_select(table, 0, ids.t().reshape(-1), out=xw.view(-1, width))
        ctx.save_for_backward(ids, embeddings, used, kernel)
        ctx.has_bias = bias is not None
        return xw.transpose(0, 1)  # (batch, steps, width), time-major

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        ids, embeddings, used, kernel = ctx.saved_tensors
        needs = tuple(ctx.needs_input_grad[1:4])
        return None, *_table_grads(grad, ids, embeddings, used, kernel, ctx.has_bias, needs)


_TABLE_GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


class _EmbeddedRecurrence(torch.autograd.Function):
    """A recurrence whose steps read their input projection from the table of every id's
    projection (see `embedded_rnn`): `_EmbeddedProjection` and `_SimpleRNN` / `_LSTM` / `_GRU` in
    one, without the gathered xw. `c0` is None but for an LSTM, `recurrent_bias` but for a GRU."""

    @staticmethod
    def forward(
        ctx: Any,
        kind: str,
        ids: torch.Tensor,
        embeddings: torch.Tensor,
        kernel: torch.Tensor,
        bias: torch.Tensor | None,
        h0: torch.Tensor,
        c0: torch.Tensor | None,
        recurrent_kernel: torch.Tensor,
        recurrent_bias: torch.Tensor | None,
        lengths: torch.Tensor | None,
        starts: torch.Tensor | None,
    ) -> tuple[torch.Tensor, ...]:
        ext = _ext()
        table, used, ids = _projection_table(ids, embeddings, kernel, bias)
        saved: tuple[torch.Tensor | None, ...]
        results: tuple[torch.Tensor, ...]
        if kind == "lstm":
            out, h_last, c_last, gates, cells = ext.lstm_forward_ids(
                table, ids, h0, c0, recurrent_kernel, lengths, starts
            )
            saved, results = (c0, gates, cells), (out, h_last, c_last)
        elif kind == "gru":
            out, h_last, gru_saved = ext.gru_forward_ids(
                table, ids, h0, recurrent_kernel, recurrent_bias, lengths, starts
            )
            saved, results = (gru_saved,), (out, h_last)
        else:
            out, h_last = ext.simple_rnn_forward_ids(table, ids, h0, recurrent_kernel, lengths, starts)
            saved, results = (), (out, h_last)
        ctx.set_materialize_grads(False)
        ctx.kind = kind
        ctx.rows = (lengths, starts)
        ctx.has_bias = bias is not None
        ctx.save_for_backward(ids, embeddings, used, kernel, h0, recurrent_kernel, out, *saved)
        return results

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, g_out: torch.Tensor | None, g_h: torch.Tensor | None, *g_c: Any
    ) -> tuple[Any, ...]:
        ids, embeddings, used, kernel, h0, recurrent_kernel, out, *saved = ctx.saved_tensors
        needs = ctx.needs_input_grad
        ext = _ext_loaded()
        dc0 = d_rbias = None
        if ctx.kind == "lstm":
            c0, gates, cells = saved
            dxw, dh0, dc0, dkernel = ext.lstm_backward(
                g_out, g_h, g_c[0], h0, c0, recurrent_kernel, out, gates, cells, *ctx.rows, needs[7], None
            )
        elif ctx.kind == "gru":
            dxw, dh0, dkernel, d_rbias = ext.gru_backward(
                g_out, g_h, h0, recurrent_kernel, out, saved[0], *ctx.rows, needs[7], needs[8], None
            )
        else:
            dxw, dh0, dkernel = ext.simple_rnn_backward(
                g_out, g_h, h0, recurrent_kernel, out, *ctx.rows, needs[7], None
            )
        grads = _table_grads(dxw, ids, embeddings, used, kernel, ctx.has_bias, tuple(needs[2:5]))
        return None, None, *grads, dh0, dc0, dkernel, d_rbias, None, None


def embedded_projection(
    ids: torch.Tensor, embeddings: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """An Embedding folded into a recurrent layer's input projection: `embeddings[ids] @ kernel +
    bias`, laid out as `project` lays it out.

    The product is taken once per id of the vocabulary, `table = embeddings @ kernel + bias`
    `(rows, width)`, and each step's row is read from it; backward adds each step's gradient into
    its id's row of the table's gradient (`embedding_backward`, the same bits at any thread count)
    and takes the weights' gradients from that. The same numbers as `project(embeddings[ids],
    kernel, bias)` up to float rounding, for fewer products when the batch has more steps than the
    vocabulary has rows.

    Args:
        ids: `(batch, steps)` int64 CPU tensor of rows of `embeddings` (checked by the caller).
        embeddings: `(rows, features)` float32 or float64.
        kernel: `(features, width)`; bias: `(width,)` or None.

    Returns:
        `(batch, steps, width)`, a view of `(steps, batch, width)` memory, differentiable with
        respect to `embeddings`, `kernel` and `bias`.

    Raises:
        KernelUnavailableError: if `available()` is False.
        ValueError: for shapes that do not fit; IndexError: for an id outside `[0, rows)`.
    """
    ids, embeddings = _check_ids_and_embeddings(
        ids, embeddings, _FLOAT_DTYPES, ValueError, "embedded_projection"
    )
    _check_projection_weights(kernel, bias, embeddings, int(embeddings.shape[1]), "embedded_projection")
    xw: torch.Tensor = _EmbeddedProjection.apply(ids, embeddings, kernel, bias)
    return xw


def embedded_rnn(
    kind: str,
    ids: torch.Tensor,
    embeddings: torch.Tensor,
    kernel: torch.Tensor,
    bias: torch.Tensor | None,
    initial_states: tuple[torch.Tensor, ...] | list[torch.Tensor],
    recurrent_kernel: torch.Tensor,
    recurrent_bias: torch.Tensor | None = None,
    lengths: torch.Tensor | None = None,
    starts: torch.Tensor | None = None,
    outputs: bool = True,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """`simple_rnn`, `lstm` or `gru` over `embedded_projection(ids, embeddings, kernel, bias)`
    without the gathered input projection: each step reads its id's row of the table
    `embeddings @ kernel + bias` directly, so no `(steps, batch, G * units)` copy of the table's
    rows is written and read again. The same numbers bit for bit; backward as the two apart.

    Args:
        kind: "simple_rnn", "lstm" or "gru" (Keras's GRU with `reset_after=True`).
        ids: `(batch, steps)` int64 CPU tensor of rows of `embeddings`.
        embeddings: `(rows, features)` float32 CPU tensor.
        kernel: `(features, G * units)` (G = 1, 4, 3 gates); bias: `(G * units,)` or None.
        initial_states: `[h0]`, or `[h0, c0]` for an LSTM, each `(batch, units)`.
        recurrent_kernel: `(units, G * units)`, Keras's layout.
        recurrent_bias: the GRU's `(3 * units,)` recurrent bias (required for a GRU, else None).
        lengths, starts: optional `(batch,)` integers, as in `lstm`.
        outputs: False when only the final states are wanted: an LSTM that needs no gradient then
            saves nothing and writes no sequence (as `lstm_last`), and `outputs` comes back
            `(batch, 0, units)`. Defaults to True.

    Returns:
        `(outputs, final_states)`: `(batch, steps, units)` and the list of final states as
        `simple_rnn` / `lstm` / `gru` return them, differentiable with respect to `embeddings`,
        `kernel`, `bias`, the initial states, `recurrent_kernel` and `recurrent_bias`.

    Raises:
        KernelUnavailableError: if `available()` is False.
        ValueError, TypeError: for shapes, devices or dtypes that do not fit, or units that are
            not a multiple of `fused_lanes()`; IndexError: for an id outside `[0, rows)`.

    Example:
    >>> ids = torch.randint(0, 100, (4, 30))
    >>> units = fused_lanes()
    >>> out, (h, c) = embedded_rnn("lstm", ids, torch.randn(100, 8), torch.randn(8, 4 * units), None,
    ...                            [torch.zeros(4, units), torch.zeros(4, units)],
    ...                            torch.randn(units, 4 * units) * 0.1)
    >>> out.shape == (4, 30, units)
    True
    """
    if kind not in _TABLE_GATES:
        raise ValueError(
            f"`kind` of `textrnn.kernels.embedded_rnn` must be one of {list(_TABLE_GATES)}, got {kind!r}."
        )
    what = "embedded_rnn"
    ids, embeddings = _check_ids_and_embeddings(ids, embeddings, (torch.float32,), TypeError, what)
    _check_projection_weights(kernel, bias, embeddings, int(embeddings.shape[1]), what)
    gates, width = _TABLE_GATES[kind], int(kernel.shape[1])
    units, lanes = width // gates, fused_lanes()
    if width % gates or lanes == 0 or units % lanes:
        raise ValueError(
            f"`textrnn.kernels.{what}` needs units that are a multiple of "
            f"{lanes or 'the vector width'} (`fused_lanes()`), got a kernel of width {width}; use "
            f"`embedded_projection` and `{kind}`."
        )
    batch, steps = int(ids.shape[0]), int(ids.shape[1])
    states = list(initial_states)
    if len(states) != (2 if kind == "lstm" else 1):
        raise ValueError(
            f"`initial_states` of `textrnn.kernels.{what}` for {kind!r} must be "
            f"{'[h0, c0]' if kind == 'lstm' else '[h0]'}, got {len(states)} tensors."
        )
    for name, state in zip(("h0", "c0"), states, strict=False):
        _check_like(name, state, (batch, units), embeddings, what)
    _check_like("recurrent_kernel", recurrent_kernel, (units, width), embeddings, what)
    if kind == "gru":
        if recurrent_bias is None:
            raise ValueError(f"`textrnn.kernels.{what}` needs the GRU's `recurrent_bias` (3 * units,).")
        _check_like("recurrent_bias", recurrent_bias, (width,), embeddings, what)
    else:
        recurrent_bias = None
    lengths, starts = _check_rows(lengths, starts, batch, steps, what)
    c0 = states[1] if kind == "lstm" else None
    weights = (embeddings, kernel, bias, *states, recurrent_kernel)
    wants_grad = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in weights)
    if kind == "lstm" and not outputs and not wants_grad:
        table, _, local = _projection_table(ids, embeddings, kernel, bias)
        h, c = _ext().lstm_last_table(table, local, states[0], c0, recurrent_kernel, lengths, starts)
        return embeddings.new_zeros((batch, 0, units)), [h, c]
    out, *final = _EmbeddedRecurrence.apply(
        kind, ids, embeddings, kernel, bias, states[0], c0, recurrent_kernel, recurrent_bias, lengths, starts
    )
    return out, list(final)


# Whether `invariant_products()` is on (set by textrnn.training.threads_policy while it may change
# the thread count during training).
_invariant = [False]


@contextlib.contextmanager
def invariant_products(enabled: bool = True) -> Iterator[None]:
    """While on, layers that would call PyTorch's GEMMs on CPU (`Dense`) use `dense_product`,
    whose results do not depend on the thread count (MKL's threaded GEMM splits its sums by it)."""
    before = _invariant[0]
    _invariant[0] = enabled
    try:
        yield
    finally:
        _invariant[0] = before


def products_invariant() -> bool:
    """Whether `invariant_products()` is on."""
    return _invariant[0]


class _DenseProduct(torch.autograd.Function):
    """x @ kernel (+ bias), x (N, F): every product and sum by `grad_tn`."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        ext = _ext()
        out = ext.grad_tn(x.t(), kernel)
        if bias is not None:
            out += bias
        ctx.save_for_backward(x, kernel)
        ctx.has_bias = bias is not None
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        x, kernel = ctx.saved_tensors
        ext = _ext_loaded()
        d_x = ext.grad_tn(grad.t(), kernel.t()) if ctx.needs_input_grad[0] else None
        d_kernel = ext.grad_tn(x, grad) if ctx.needs_input_grad[1] else None
        d_bias = None
        if ctx.has_bias and ctx.needs_input_grad[2]:
            d_bias = ext.grad_tn(grad.new_ones((grad.shape[0], 1)), grad)[0]
        return d_x, d_kernel, d_bias


def dense_product(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """`x @ kernel + bias` on the last axis of a CPU tensor, forward and backward the same bits at
    any thread count (each sum over rows or features taken in fixed pieces, in order)."""
    lead = x.shape[:-1]
    out = _DenseProduct.apply(x.reshape(-1, x.shape[-1]), kernel, bias)
    return out.reshape(*lead, kernel.shape[1])


def project(inputs: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """The input projection `inputs @ kernel + bias`, laid out for the recurrence kernels.

    Computes the same numbers as `inputs @ kernel + bias` in one GEMM (the bias folded in, no
    separate addition or reduction in backward), in time-major memory (the faster layout for
    `simple_rnn`, `lstm`, `gru`) and in a recycled buffer (no fresh pages each batch).

    Args:
        inputs: `(batch, steps, features)`, float32 or float64, on CPU.
        kernel: `(features, G * units)`, Keras's layout.
        bias: `(G * units,)` or None. Defaults to `None`.

    Returns:
        `(batch, steps, G * units)`, a view of `(steps, batch, G * units)` memory. Differentiable
        with respect to all three arguments.

    Raises:
        KernelUnavailableError: if `available()` is False.
        ValueError, TypeError: for shapes, devices or dtypes that do not fit.

    Example:
    >>> xw = project(torch.randn(8, 20, 16), torch.randn(16, 32), torch.zeros(32))
    >>> xw.shape
    torch.Size([8, 20, 32])
    """
    inputs = _check_tensor("inputs", inputs)
    if inputs.dim() != 3:
        raise ValueError(
            "Argument `inputs` of `textrnn.kernels.project` must have shape (batch, steps, "
            f"features), got shape {tuple(inputs.shape)}."
        )
    if inputs.device.type != "cpu" or inputs.dtype not in _FLOAT_DTYPES:
        raise ValueError(
            "`textrnn.kernels.project` takes float32 or float64 CPU tensors, got `inputs` "
            f"{inputs.dtype} on {inputs.device}."
        )
    _check_projection_weights(kernel, bias, inputs, int(inputs.shape[2]), "project")
    xw: torch.Tensor = _Projection.apply(inputs, kernel, bias)
    return xw


# ------------------------------------------------------------------------------------ checks
def _check_tensor(name: str, t: Any) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"Argument `{name}` must be a torch.Tensor, got {type(t).__name__}.")
    return t


def _check_xw(xw: Any, gates: int, what: str) -> tuple[int, int, int]:
    xw = _check_tensor("xw", xw)
    if xw.dim() != 3 or xw.shape[2] % gates != 0 or xw.shape[2] == 0:
        expected = "(batch, steps, units)" if gates == 1 else f"(batch, steps, {gates} * units)"
        raise ValueError(
            f"Argument `xw` of `textrnn.kernels.{what}` must have shape {expected} (the input "
            f"projection x @ kernel + bias), got shape {tuple(xw.shape)}."
        )
    if xw.device.type != "cpu":
        raise ValueError(
            f"`textrnn.kernels.{what}` runs on CPU tensors only, got `xw` on {xw.device}. On "
            "CUDA the recurrent layers use cuDNN; move the tensors to the CPU to use these kernels."
        )
    if xw.dtype not in _FLOAT_DTYPES:
        raise TypeError(
            f"Argument `xw` of `textrnn.kernels.{what}` must be float32 or float64, got "
            f"{xw.dtype}. Convert it with `.float()`."
        )
    return int(xw.shape[0]), int(xw.shape[1]), int(xw.shape[2]) // gates


def _check_ids_and_embeddings(
    ids: Any, embeddings: Any, dtypes: tuple[torch.dtype, ...], dtype_error: type[Exception], what: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """int64 `ids` (batch, steps) and CPU `embeddings` (rows, features) of one of `dtypes` (else
    `dtype_error`), for the functions that fold an Embedding into the input projection."""
    ids = _check_tensor("ids", ids)
    embeddings = _check_tensor("embeddings", embeddings)
    if ids.dim() != 2 or ids.dtype != torch.int64 or embeddings.dim() != 2:
        raise ValueError(
            f"`textrnn.kernels.{what}` takes int64 `ids` (batch, steps) and `embeddings` "
            f"(rows, features), got {ids.dtype} {tuple(ids.shape)} and {tuple(embeddings.shape)}."
        )
    if embeddings.device.type != "cpu" or embeddings.dtype not in dtypes:
        names = " or ".join(str(d).removeprefix("torch.") for d in dtypes)
        raise dtype_error(
            f"`textrnn.kernels.{what}` takes {names} CPU tensors, got `embeddings` "
            f"{embeddings.dtype} on {embeddings.device}."
        )
    return ids, embeddings


def _check_projection_weights(kernel: Any, bias: Any, like: torch.Tensor, features: int, what: str) -> None:
    """`kernel` (features, width) and `bias` (width,) or None, of `like`'s dtype and device."""
    kernel = _check_tensor("kernel", kernel)
    if kernel.dim() != 2 or int(kernel.shape[0]) != features:
        raise ValueError(
            f"Argument `kernel` of `textrnn.kernels.{what}` must have shape ({features}, width), "
            f"got {tuple(kernel.shape)}."
        )
    _check_like("kernel", kernel, tuple(kernel.shape), like, what)
    if bias is not None:
        _check_like("bias", bias, (int(kernel.shape[1]),), like, what)


def _check_like(name: str, t: Any, shape: tuple[int, ...], xw: torch.Tensor, what: str) -> None:
    t = _check_tensor(name, t)
    if tuple(t.shape) != shape:
        raise ValueError(
            f"Argument `{name}` of `textrnn.kernels.{what}` must have shape {shape}, got {tuple(t.shape)}."
        )
    if t.device != xw.device or t.dtype != xw.dtype:
        raise TypeError(
            f"Argument `{name}` of `textrnn.kernels.{what}` must be a {xw.dtype} tensor on "
            f"{xw.device} like `xw`, got {t.dtype} on {t.device}."
        )


def _check_rows(
    lengths: Any, starts: Any, batch: int, steps: int, what: str
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """`lengths` and `starts` as CPU int64 tensors (or None) after checking them."""
    checked: list[torch.Tensor | None] = []
    for name, t in (("lengths", lengths), ("starts", starts)):
        if t is None:
            checked.append(None)
            continue
        t = _check_tensor(name, t)
        if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
            raise TypeError(
                f"Argument `{name}` of `textrnn.kernels.{what}` must be an integer tensor, got {t.dtype}."
            )
        if tuple(t.shape) != (batch,):
            raise ValueError(
                f"Argument `{name}` of `textrnn.kernels.{what}` must have shape ({batch},) (one "
                f"value per row), got {tuple(t.shape)}."
            )
        checked.append(t.to(device="cpu", dtype=torch.int64).contiguous())
    lengths, starts = checked
    if starts is not None and lengths is None:
        raise ValueError(
            f"Argument `starts` of `textrnn.kernels.{what}` needs `lengths` (how many steps each "
            "row runs from its start); pass both."
        )
    if lengths is not None and batch:
        first = starts if starts is not None else torch.zeros_like(lengths)
        end = first + lengths
        if int(lengths.min()) < 0 or int(first.min()) < 0 or int(end.max()) > steps:
            where = "" if starts is None else " from `starts`"
            raise ValueError(
                f"Argument `lengths` of `textrnn.kernels.{what}` must lie in [0, {steps}] (the "
                f"number of steps), and each row's steps{where} within them; got lengths from "
                f"{int(lengths.min())} to {int(lengths.max())}"
                + ("" if starts is None else f" and starts from {int(first.min())} to {int(first.max())}")
                + "."
            )
    return lengths, starts


# ------------------------------------------------------------------------------- public API
def simple_rnn(
    xw: torch.Tensor,
    h0: torch.Tensor,
    recurrent_kernel: torch.Tensor,
    lengths: torch.Tensor | None = None,
    starts: torch.Tensor | None = None,
    recurrent_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run Keras's SimpleRNN recurrence `h_t = tanh(xw_t + h_{t-1} @ recurrent_kernel)`.

    Args:
        xw: `(batch, steps, units)`, the input projection `x @ kernel + bias`, batch-major
            (contiguous) or time-major (a view of contiguous `(steps, batch, units)` memory, as
            `xw_t.transpose(0, 1)` gives). Time-major runs faster; the outputs (and gradient)
            come back in the layout of `xw`. Other layouts are copied to batch-major.
        h0: `(batch, units)`, the initial state.
        recurrent_kernel: `(units, units)`, in Keras's layout.
        lengths: optional `(batch,)` integers in `[0, steps]`: row `b` runs `lengths[b]` steps,
            from step 0 (left-aligned rows) or from `starts[b]`. Its state is unchanged outside
            them and its outputs there are zero. Defaults to `None` (every row runs all steps).
        starts: optional `(batch,)` integers, with `lengths`: the first step of each row (rows
            padded in front, as Keras's `pad_sequences` pads, need no re-alignment). Defaults to
            `None` (0).
        recurrent_mask: optional `(batch, units)` recurrent dropout mask (Keras's
            `recurrent_dropout`): the same mask multiplies `h_{t-1}` before the product at every
            step of a row. Not differentiated. Defaults to `None` (no dropout).

    Returns:
        `(outputs, h_last)`: `(batch, steps, units)` and `(batch, units)`. Differentiable with
        respect to `xw`, `h0` and `recurrent_kernel`.

    Raises:
        KernelUnavailableError: if `available()` is False.
        ValueError, TypeError: for shapes, devices (CPU only) or dtypes (float32/float64) that do
            not fit.

    Example:
    >>> xw = torch.randn(8, 20, 16)
    >>> out, h = simple_rnn(xw, torch.zeros(8, 16), torch.randn(16, 16) * 0.1)
    >>> out.shape, h.shape
    (torch.Size([8, 20, 16]), torch.Size([8, 16]))
    """
    batch, steps, units = _check_xw(xw, 1, "simple_rnn")
    _check_like("h0", h0, (batch, units), xw, "simple_rnn")
    _check_like("recurrent_kernel", recurrent_kernel, (units, units), xw, "simple_rnn")
    lengths, starts = _check_rows(lengths, starts, batch, steps, "simple_rnn")
    if recurrent_mask is not None:
        _check_like("recurrent_mask", recurrent_mask, (batch, units), xw, "simple_rnn")
        recurrent_mask = recurrent_mask.detach().contiguous()
    out, h_last = _SimpleRNN.apply(xw, h0, recurrent_kernel, lengths, starts, recurrent_mask)
    return out, h_last


def lstm(
    xw: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor,
    recurrent_kernel: torch.Tensor,
    lengths: torch.Tensor | None = None,
    starts: torch.Tensor | None = None,
    recurrent_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run Keras's LSTM recurrence (gates i, f, c, o; sigmoid and tanh).

    `a = xw_t + h_{t-1} @ recurrent_kernel`, `c_t = f * c_{t-1} + i * tanh(a_c)`,
    `h_t = o * tanh(c_t)` with `i, f, o` the sigmoid of their slices of `a`.

    Args:
        xw: `(batch, steps, 4 * units)`, the input projection `x @ kernel + bias`, batch- or
            time-major as in `simple_rnn`.
        h0: `(batch, units)`, the initial hidden state.
        c0: `(batch, units)`, the initial cell state.
        recurrent_kernel: `(units, 4 * units)`, in Keras's layout.
        lengths, starts: optional `(batch,)` integers, as in `simple_rnn`. Default to `None`.
        recurrent_mask: optional `(batch, 4 * units)` recurrent dropout masks of gates i, f, c, o
            (Keras's LSTM with `recurrent_dropout`): gate q's product takes `h_{t-1} *
            recurrent_mask[:, q * units:(q + 1) * units]`, the same at every step. Not
            differentiated. Defaults to `None`.

    Returns:
        `(outputs, h_last, c_last)`: `(batch, steps, units)`, `(batch, units)`, `(batch, units)`.
        Differentiable with respect to `xw`, `h0`, `c0` and `recurrent_kernel`.

    Raises:
        KernelUnavailableError: if `available()` is False.
        ValueError, TypeError: for shapes, devices (CPU only) or dtypes that do not fit.

    Example:
    >>> out, h, c = lstm(torch.randn(8, 20, 64), torch.zeros(8, 16), torch.zeros(8, 16),
    ...                  torch.randn(16, 64) * 0.1)
    >>> out.shape, c.shape
    (torch.Size([8, 20, 16]), torch.Size([8, 16]))
    """
    batch, steps, units = _check_xw(xw, 4, "lstm")
    _check_like("h0", h0, (batch, units), xw, "lstm")
    _check_like("c0", c0, (batch, units), xw, "lstm")
    _check_like("recurrent_kernel", recurrent_kernel, (units, 4 * units), xw, "lstm")
    lengths, starts = _check_rows(lengths, starts, batch, steps, "lstm")
    if recurrent_mask is not None:
        _check_like("recurrent_mask", recurrent_mask, (batch, 4 * units), xw, "lstm")
        recurrent_mask = recurrent_mask.detach().contiguous()
    out, h_last, c_last = _LSTM.apply(xw, h0, c0, recurrent_kernel, lengths, starts, recurrent_mask)
    return out, h_last, c_last


def lstm_last(
    xw: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor,
    recurrent_kernel: torch.Tensor,
    lengths: torch.Tensor | None = None,
    starts: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """`lstm`'s final `(h_last, c_last)` alone, for inference: nothing is saved for a backward
    pass and no sequence output is written (float32 with units a multiple of the vector width
    keeps each row's state in a little scratch; other cases run `lstm` and drop the rest).
    Same arguments and numbers as `lstm`; not differentiable.

    Raises:
        RuntimeError: if a gradient is required (use `lstm`).
    """
    batch, steps, units = _check_xw(xw, 4, "lstm_last")
    _check_like("h0", h0, (batch, units), xw, "lstm_last")
    _check_like("c0", c0, (batch, units), xw, "lstm_last")
    _check_like("recurrent_kernel", recurrent_kernel, (units, 4 * units), xw, "lstm_last")
    lengths, starts = _check_rows(lengths, starts, batch, steps, "lstm_last")
    if torch.is_grad_enabled() and any(t.requires_grad for t in (xw, h0, c0, recurrent_kernel)):
        raise RuntimeError(
            "`textrnn.kernels.lstm_last` computes no gradient; call it under `torch.no_grad()` "
            "or use `textrnn.kernels.lstm`."
        )
    h_last, c_last = _ext().lstm_forward_last(xw, h0, c0, recurrent_kernel, lengths, starts)
    return h_last, c_last


def fused_lanes() -> int:
    """The vector width in floats that `lstm_last_ids` needs the units to be a multiple of
    (16 with AVX-512, 8 with AVX2); 0 where the fused steps are not compiled in."""
    return int(_ext().fused_lanes())


def lstm_last_ids(
    table: torch.Tensor,
    ids: torch.Tensor,
    offsets: torch.Tensor,
    lengths: torch.Tensor,
    state_rows: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor,
    recurrent_kernel: torch.Tensor,
    max_threads: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """An Embedding followed by an LSTM, for inference, reading token ids straight from a table.

    `table` holds the LSTM's input projection of every token id, `embeddings @ kernel + bias`
    (`(input_dim, 4 * units)`): each step's input projection is then a row of it, and the
    sequences need no padding. Row `b` runs the ids `ids[offsets[b] : offsets[b] + lengths[b]]`
    starting from row `state_rows[b]` of `h0` and `c0`, and gives its final `(h, c)`: the numbers
    of `lstm_last` on `embeddings[ids] @ kernel + bias` up to float rounding. The GIL is released
    while it runs. Not differentiable.

    Args:
        table: float32 `(input_dim, 4 * units)`, units a multiple of `fused_lanes()`.
        ids: int32 `(total,)`, every id read in `[0, input_dim)`.
        offsets, lengths, state_rows: int64 `(batch,)`.
        h0, c0: float32 `(states, units)`.
        recurrent_kernel: float32 `(units, 4 * units)`.
        max_threads: at most this many threads (default 0: `torch.get_num_threads()`); 1 runs
            in the calling thread with no parallel region, which on a busy machine is faster for
            small batches (no waiting on a thread another process delays).

    Returns:
        `(h_last, c_last)`, each `(batch, units)`.

    Raises:
        KernelUnavailableError: if `available()` is False.
        ValueError, IndexError, TypeError: for arguments that do not fit (an id out of range, a
            row reaching past `ids`).
    """
    for name, t in (("table", table), ("h0", h0), ("c0", c0), ("recurrent_kernel", recurrent_kernel)):
        if _check_tensor(name, t).requires_grad and torch.is_grad_enabled():
            raise RuntimeError(
                "`textrnn.kernels.lstm_last_ids` computes no gradient; call it under `torch.no_grad()`."
            )
    for name, t in (("ids", ids), ("offsets", offsets), ("lengths", lengths), ("state_rows", state_rows)):
        _check_tensor(name, t)
    h, c = _ext().lstm_last_ids(
        table, ids, offsets, lengths, state_rows, h0, c0, recurrent_kernel, int(max_threads)
    )
    return h, c


class TokenTable:
    """A vocabulary's words as a native hash table, for `encode_texts`.

    Args:
        words: UTF-8 encoded words.
        ids: each word's id; a negative id drops the word's tokens.

    Raises:
        KernelUnavailableError: if `available()` is False.
    """

    def __init__(self, words: list[bytes], ids: list[int]) -> None:
        if len(words) != len(ids):
            raise ValueError(f"Expected one id per word, got {len(words)} words and {len(ids)} ids.")
        self._table = _ext().TokenTable(words, ids)

    def encode(self, data: bytes, texts: int, start: int, oov: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The ids of `texts` texts in `data`, UTF-8 text separated by NUL bytes whose tokens are
        separated by spaces (tokens are the non-empty runs between them).

        Args:
            data: the texts.
            texts: how many texts `data` holds (one more than its NUL bytes).
            start: an id put before every text's tokens, or -1 for none.
            oov: the id of a token not in the table, or -1 to drop it.

        Returns:
            `(ids, offsets)`: int32 `(total,)` and int64 `(texts + 1,)`; text `i`'s ids are
            `ids[offsets[i] : offsets[i + 1]]`. The GIL is released while it runs.

        Raises:
            ValueError: if `data` does not hold `texts` texts.
        """
        ids, offsets = _ext().encode_texts(self._table, data, texts, start, oov)
        return ids, offsets


def gru(
    xw: torch.Tensor,
    h0: torch.Tensor,
    recurrent_kernel: torch.Tensor,
    recurrent_bias: torch.Tensor,
    lengths: torch.Tensor | None = None,
    starts: torch.Tensor | None = None,
    recurrent_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run Keras's GRU recurrence with `reset_after=True` (gates z, r, h).

    `hu = h_{t-1} @ recurrent_kernel + recurrent_bias`, `z = sigmoid(xw_z + hu_z)`,
    `r = sigmoid(xw_r + hu_r)`, `hh = tanh(xw_h + r * hu_h)`, `h_t = z * h_{t-1} + (1 - z) * hh`.

    Args:
        xw: `(batch, steps, 3 * units)`, `x @ kernel + bias[0]` (the input bias), batch- or
            time-major as in `simple_rnn`.
        h0: `(batch, units)`, the initial state.
        recurrent_kernel: `(units, 3 * units)`, in Keras's layout.
        recurrent_bias: `(3 * units,)`, Keras's `bias[1]`.
        lengths, starts: optional `(batch,)` integers, as in `simple_rnn`. Default to `None`.
        recurrent_mask: optional `(batch, 3 * units)` recurrent dropout masks of gates z, r, h
            (Keras's GRU with `recurrent_dropout`), as in `lstm`. Defaults to `None`.

    Returns:
        `(outputs, h_last)`: `(batch, steps, units)` and `(batch, units)`. Differentiable with
        respect to `xw`, `h0`, `recurrent_kernel` and `recurrent_bias`.

    Raises:
        KernelUnavailableError: if `available()` is False.
        ValueError, TypeError: for shapes, devices (CPU only) or dtypes that do not fit.

    Example:
    >>> out, h = gru(torch.randn(8, 20, 48), torch.zeros(8, 16), torch.randn(16, 48) * 0.1,
    ...              torch.zeros(48))
    >>> out.shape
    torch.Size([8, 20, 16])
    """
    batch, steps, units = _check_xw(xw, 3, "gru")
    _check_like("h0", h0, (batch, units), xw, "gru")
    _check_like("recurrent_kernel", recurrent_kernel, (units, 3 * units), xw, "gru")
    _check_like("recurrent_bias", recurrent_bias, (3 * units,), xw, "gru")
    lengths, starts = _check_rows(lengths, starts, batch, steps, "gru")
    if recurrent_mask is not None:
        _check_like("recurrent_mask", recurrent_mask, (batch, 3 * units), xw, "gru")
        recurrent_mask = recurrent_mask.detach().contiguous()
    out, h_last = _GRU.apply(xw, h0, recurrent_kernel, recurrent_bias, lengths, starts, recurrent_mask)
    return out, h_last


def mask_windows(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """`(starts, lengths)`, int64 `(batch,)`, of each row's one run of True steps in the bool CPU
    `mask` `(batch, steps)` (an empty row starts at 0), in one pass; None when some row's True
    steps are not one run (padding inside a row).

    >>> mask_windows(torch.tensor([[False, True, True], [False, False, False]]))
    (tensor([1, 0]), tensor([2, 0]))
    >>> mask_windows(torch.tensor([[True, False, True]])) is None
    True
    """
    mask = _check_tensor("mask", mask)
    if mask.dim() != 2 or mask.dtype != torch.bool or mask.device.type != "cpu":
        raise ValueError(
            f"`textrnn.kernels.mask_windows` takes a bool CPU `mask` (batch, steps), got {mask.dtype} "
            f"{tuple(mask.shape)} on {mask.device}."
        )
    found = _ext().mask_windows(mask)
    return (found[0], found[1]) if found else None


def embedding_backward(
    grad: torch.Tensor, ids: torch.Tensor, rows: int, *, steps_first: bool = False
) -> torch.Tensor:
    """The gradient of an embedding lookup `weight[ids]` with respect to `weight`.

    Gives the same numbers, bit for bit, as a zero matrix followed by one sequential
    `index_add_(0, ids.reshape(-1), grad.reshape(-1, dim))`, whatever the thread count: threads
    split the columns (whole cache lines each) and every thread adds into each row in the order of
    the flattened ids. `grad` is read through its strides (a time-major view costs no copy), and
    the zeroing of the result is shared among the threads.

    Args:
        grad: `(batch, steps, dim)` float32 or float64 CPU tensor, the gradient of the lookup.
        ids: `(batch, steps)` int64 CPU tensor of row indices in `[0, rows)`.
        rows: number of rows of the embedding matrix.
        steps_first: add in step-major order instead (the ids flattened as `ids.t()`), the order
            of a time-major `grad`'s memory, which it then reads as one stream. Defaults to False.

    Returns:
        `(rows, dim)`, a new tensor (not differentiable).

    Raises:
        KernelUnavailableError: if `available()` is False.
        ValueError, TypeError, IndexError: for shapes, devices, dtypes or indices that do not fit.

    Example:
    >>> g = embedding_backward(torch.ones(2, 3, 4), torch.tensor([[1, 1, 0], [2, 0, 0]]), 5)
    >>> g[:, 0]
    tensor([3., 2., 1., 0., 0.])
    """
    grad = _check_tensor("grad", grad)
    ids = _check_tensor("ids", ids)
    if grad.dim() != 3 or ids.shape != grad.shape[:2]:
        raise ValueError(
            "Arguments of `textrnn.kernels.embedding_backward` must be `grad` (batch, steps, dim) "
            f"and `ids` (batch, steps), got shapes {tuple(grad.shape)} and {tuple(ids.shape)}."
        )
    if grad.device.type != "cpu" or ids.device.type != "cpu" or grad.dtype not in _FLOAT_DTYPES:
        raise TypeError(
            "`textrnn.kernels.embedding_backward` takes a float32 or float64 CPU `grad` and CPU "
            f"`ids`, got {grad.dtype} on {grad.device} and {ids.dtype} on {ids.device}."
        )
    if ids.dtype.is_floating_point or ids.dtype.is_complex or ids.dtype == torch.bool:
        raise TypeError(
            f"Argument `ids` of `textrnn.kernels.embedding_backward` must be an integer tensor, "
            f"got {ids.dtype}."
        )
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        raise ValueError(
            "Argument `rows` of `textrnn.kernels.embedding_backward` must be a non-negative "
            f"integer, got {rows!r}."
        )
    out: torch.Tensor = _ext().embedding_backward(grad, ids.long(), rows, bool(steps_first))
    return out


def rmsprop_update_(
    weight: torch.Tensor,
    grad: torch.Tensor,
    velocity: torch.Tensor,
    *,
    learning_rate: float,
    rho: float,
    epsilon: float,
) -> None:
    """Keras's RMSprop step (no momentum, not centered) on one weight, in place, in one pass.

    `velocity = rho * velocity + (1 - rho) * grad**2`, then
    `weight -= learning_rate * grad / sqrt(velocity + epsilon)`, with one read and write of each
    tensor instead of the five passes of the multi-tensor PyTorch update, and the same operations
    in the same order and precision, except that this square root is correctly rounded (PyTorch's
    vectorised float one is one unit in the last place off for a few inputs), so a few elements
    can differ from that update in their last bits. Results do not depend on the thread count.

    Args:
        weight, grad, velocity: contiguous CPU tensors of one float dtype and size.
        learning_rate, rho, epsilon: the optimizer's hyperparameters.

    Raises:
        KernelUnavailableError: if `available()` is False.
        ValueError, TypeError: for tensors that do not fit.
    """
    _ext().rmsprop_step(weight, grad, velocity, rho, 1.0 - rho, epsilon, -learning_rate)


def adam_update_(
    weight: torch.Tensor,
    grad: torch.Tensor,
    m: torch.Tensor,
    v: torch.Tensor,
    *,
    alpha: float,
    beta_1: float,
    beta_2: float,
    epsilon: float,
) -> None:
    """Keras's Adam step (not amsgrad) on one weight, in place, in one pass.

    `m += (1 - beta_1) * (grad - m)`, `v = beta_2 * v + (1 - beta_2) * grad**2`, then
    `weight -= alpha * m / (sqrt(v) + epsilon)`, where `alpha` is the step's bias-corrected
    learning rate (`lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`). One read and write of each tensor
    instead of the multi-tensor PyTorch update's seven passes, the same operations in the same
    order and precision, except the correctly rounded square root (as in `rmsprop_update_`).
    Results do not depend on the thread count.

    Args:
        weight, grad, m, v: contiguous CPU tensors of one float dtype and size.
        alpha, beta_1, beta_2, epsilon: the step's hyperparameters.

    Raises:
        KernelUnavailableError: if `available()` is False.
        ValueError, TypeError: for tensors that do not fit.
    """
    _ext().adam_step(weight, grad, m, v, 1.0 - beta_1, beta_2, 1.0 - beta_2, epsilon, -alpha)
