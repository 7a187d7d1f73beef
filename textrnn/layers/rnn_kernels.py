"""The one place where the computation of a recurrence is chosen and run.

Every recurrent layer describes its cell with a `CellSpec` (weights in Keras's layout, activations)
and calls `run()`, which follows the contract of Keras's backend `rnn()`:

- `go_backwards` reverses the sequence (and its mask) before processing; outputs stay in
  processing order, so a backward layer's sequence output is reversed in time.
- A masked step leaves the states unchanged. Its output is the previous step's output (zeros before
  the first unmasked step), or zeros when `zero_output_for_mask` (what `Bidirectional` sets).
- Without `return_sequences` the output is the (masked) output of the last processed step.

Three paths compute the same numbers:

- `"fused"`: PyTorch's fused kernels (`torch.lstm`, `torch.gru`, `torch.rnn_tanh`, `torch.rnn_relu`;
  oneDNN on CPU, cuDNN on GPU) with weight lists built from the Keras-layout parameters, so
  gradients reach those parameters.
- `"packed"`: the fused kernels on masked input. Each row's unmasked steps are moved to the left
  (stably) and run as one batch up to the longest row (an LSTM's final `c`, when asked for, needs
  PyTorch's packed-sequence kernel with per-row lengths); the outputs are then spread back over
  the steps.
- `"loop"`: a Python loop over time steps, for what no fused kernel does (other activations, GRU
  `reset_after=False`), and for `recurrent_dropout` where textrnn's native kernels cannot run.

On CPU, the "fused" and "packed" paths run textrnn's own C++ kernels (`textrnn.kernels`, with
per-row lengths for masks) instead of PyTorch's when they are available (see "native kernels"
below; `TEXTRNN_KERNELS=torch` turns them off). The native kernels also take recurrent dropout
(Keras's masks per gate, fixed per sequence), which PyTorch's fused kernels cannot.

To add a kernel (e.g. a custom C++ one): write a function with the signature of `_fused_path`,
`(spec, inputs, states, mask, return_sequences, return_state, zero_output_for_mask) -> (output,
states)` with
inputs already in processing order and input dropout applied, name it in `PathName`, and dispatch
to it from `choose_path` and `run`. A kernel that takes per-row lengths of left-aligned rows can
reuse `left_align` and `spread_outputs` for masks, as the packed path does. The tests in
`tests/layers/test_rnn_kernels.py` compare every path with the loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from textrnn import checks

CellKind = Literal["simple_rnn", "lstm", "gru"]
PathName = Literal["fused", "packed", "loop"]
Activation = Callable[[torch.Tensor], torch.Tensor]

_FORCED_PATH: PathName | None = None


@dataclass(frozen=True)
class CellSpec:
    """What a recurrence computes, with its weights in Keras's layout.

    Attributes:
        kind: `"simple_rnn"`, `"lstm"` (gates i, f, c, o) or `"gru"` (gates z, r, h).
        kernel: `(features, G * units)`.
        recurrent_kernel: `(units, G * units)`.
        bias: `(G * units,)`, for a GRU with `reset_after` `(2, 3 * units)` (input row, recurrent
            row), or None.
        activation, recurrent_activation: the functions (recurrent_activation unused by SimpleRNN).
        activation_name, recurrent_activation_name: their Keras names when known (None for custom
            callables); only `tanh`/`relu` (SimpleRNN) and `tanh` + `sigmoid` (LSTM, GRU) have a
            fused kernel.
        reset_after: GRU only: the reset gate applies after the recurrent matmul (PyTorch's and
            cuDNN's convention) when True, before it when False.
    """

    kind: CellKind
    kernel: torch.Tensor
    recurrent_kernel: torch.Tensor
    bias: torch.Tensor | None
    activation: Activation
    recurrent_activation: Activation
    activation_name: str | None
    recurrent_activation_name: str | None
    reset_after: bool = True

    @property
    def units(self) -> int:
        return int(self.recurrent_kernel.shape[0])

    @property
    def num_states(self) -> int:
        return 2 if self.kind == "lstm" else 1


def has_fused_kernel(spec: CellSpec) -> bool:
    """Whether PyTorch has a fused kernel computing exactly this cell."""
    if spec.kind == "simple_rnn":
        return spec.activation_name in ("tanh", "relu")
    if spec.activation_name != "tanh" or spec.recurrent_activation_name != "sigmoid":
        return False
    return spec.kind == "lstm" or spec.reset_after


def choose_path(
    spec: CellSpec,
    mask: torch.Tensor | None,
    input_masks: Sequence[torch.Tensor] | None = None,
    recurrent_masks: Sequence[torch.Tensor] | None = None,
    native: bool = False,
) -> PathName:
    """The path `run()` takes for these arguments (`force_path` overrides it). `native`: textrnn's
    kernels can run these inputs, so recurrent dropout (and per-gate input masks) fuse too."""
    plain = not recurrent_masks and len(input_masks or ()) <= 1
    fusable = has_fused_kernel(spec) and (plain or native)
    if _FORCED_PATH is not None:
        if _FORCED_PATH != "loop" and not fusable:
            raise ValueError(
                f"The {_FORCED_PATH!r} recurrence path cannot compute this {spec.kind} cell "
                "(activation, reset_after=False or recurrent_dropout); use 'loop' or 'auto'."
            )
        if _FORCED_PATH == "fused" and mask is not None:
            return "packed"
        return _FORCED_PATH
    if not fusable:
        return "loop"
    if mask is None or bool(mask.all()):
        return "fused"
    return "packed"


@contextlib.contextmanager
def force_path(path: PathName | Literal["auto"]) -> Iterator[None]:
    """Force one path inside a `with` block (for tests and benchmarks): "fused", "packed", "loop"
    or "auto". "fused" on masked input runs the packed path."""
    global _FORCED_PATH
    if path not in ("fused", "packed", "loop", "auto"):
        raise checks.invalid("path", "one of 'fused', 'packed', 'loop', 'auto'", path)
    previous = _FORCED_PATH
    _FORCED_PATH = None if path == "auto" else path
    try:
        yield
    finally:
        _FORCED_PATH = previous


def run(
    spec: CellSpec,
    inputs: torch.Tensor,
    initial_states: Sequence[torch.Tensor],
    *,
    mask: torch.Tensor | None = None,
    go_backwards: bool = False,
    return_sequences: bool = False,
    return_state: bool = True,
    zero_output_for_mask: bool = False,
    input_masks: Sequence[torch.Tensor] | None = None,
    recurrent_masks: Sequence[torch.Tensor] | None = None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Run the recurrence of `spec` over `inputs`.

    Args:
        spec: the cell.
        inputs: `(batch, steps, features)`.
        initial_states: `[h]` or, for an LSTM, `[h, c]`, each `(batch, units)`.
        mask: boolean `(batch, steps)`, True where a step is used, or None.
        go_backwards: process the sequence in reverse (outputs stay in processing order).
        return_sequences: return the output of every step instead of the last one.
        return_state: return the final states (an LSTM's final `c` on masked input needs PyTorch's
            packed kernel, slower on CPU than the fused kernel the other cases run).
        zero_output_for_mask: masked steps output zeros instead of the previous output.
        input_masks: dropout masks `(batch, features)` multiplied into the inputs at every step:
            one, or one per gate as Keras's cells use with recurrent dropout (LSTM four: i, f, c,
            o; GRU three: z, r, h). None: no dropout.
        recurrent_masks: dropout masks `(batch, units)` for the previous state: one (shared by
            every gate), or one per gate (LSTM four, GRU three). None: no recurrent dropout.

    Returns:
        `(output, states)`: output `(batch, steps, units)` or `(batch, units)`, and the final states
        (`[]` without return_state).
    """
    if go_backwards:
        inputs = torch.flip(inputs, dims=(1,))
        if mask is not None:
            mask = torch.flip(mask, dims=(1,))
    dropout: Dropout | None = None
    native = False
    if recurrent_masks or len(input_masks or ()) > 1:
        native = has_fused_kernel(spec) and _use_native(spec, inputs, initial_states)
    path = choose_path(spec, mask, input_masks, recurrent_masks, native=native)
    if path == "loop":
        output, states = _loop_path(
            spec,
            inputs,
            list(initial_states),
            mask,
            return_sequences,
            zero_output_for_mask,
            input_masks,
            recurrent_masks,
        )
        return output, (states if return_state else [])
    if input_masks and len(input_masks) == 1:
        inputs = inputs * input_masks[0].unsqueeze(1)  # the same mask at every step
    if recurrent_masks or len(input_masks or ()) > 1:
        dropout = _dropout_for_kernels(spec, input_masks, recurrent_masks)
    if path == "packed" and mask is not None:
        return _packed_path(
            spec,
            inputs,
            list(initial_states),
            mask,
            return_sequences,
            return_state,
            zero_output_for_mask,
            dropout,
        )
    return _fused_path(
        spec,
        inputs,
        list(initial_states),
        None,
        return_sequences,
        return_state,
        zero_output_for_mask,
        dropout,
    )


def run_embedded(
    spec: CellSpec,
    ids: torch.Tensor,
    embeddings: torch.Tensor,
    initial_states: Sequence[torch.Tensor],
    *,
    mask: torch.Tensor | None = None,
    return_sequences: bool = False,
    return_state: bool = True,
    zero_output_for_mask: bool = False,
) -> tuple[torch.Tensor, list[torch.Tensor]] | None:
    """`run(spec, embeddings[ids], ...)` with the Embedding folded into the input projection
    (`textrnn.kernels.embedded_projection`), or None where that does not apply (then call `run`).

    It applies to the native kernels with no dropout and no `go_backwards`, when the batch has at
    least as many steps as the vocabulary has rows (the table of every id's projection is then the
    smaller product), without a gradient only to batches of up to `_NO_GRAD_ROWS` rows (larger
    ones run in slices), and when a `mask`, if any, leaves one run of steps per row (as padding
    does). The numbers are `run`'s up to float rounding.
    """
    from textrnn import kernels

    if ids.numel() < embeddings.shape[0]:
        return None
    if not torch.is_grad_enabled() and ids.shape[0] > _NO_GRAD_ROWS:
        return None
    if not has_fused_kernel(spec) or not _use_native(spec, embeddings, initial_states):
        return None
    starts = lengths = None
    if mask is not None:
        windows = _mask_windows(mask)
        if windows is None:
            return None
        starts, lengths = windows
    if _reads_table(spec, embeddings):
        recurrent_bias = _gru_recurrent_bias(spec, embeddings) if spec.kind == "gru" else None
        out, final = kernels.embedded_rnn(
            spec.kind, ids, embeddings, spec.kernel, _input_bias(spec), list(initial_states),
            spec.recurrent_kernel, recurrent_bias, lengths, starts, outputs=return_sequences,
        )  # fmt: skip
    else:
        xw = kernels.embedded_projection(ids, embeddings, spec.kernel, _input_bias(spec))
        out, final = _native_recurrence(spec, xw, initial_states, lengths, starts, None, return_sequences)
    if mask is None or starts is None or lengths is None:
        return (out if return_sequences else final[0]), (final if return_state else [])
    return _windows_output(
        out, final, mask, starts, lengths, return_sequences, return_state, zero_output_for_mask
    )


def _gru_recurrent_bias(spec: CellSpec, like: torch.Tensor) -> torch.Tensor:
    """A GRU's recurrent bias (`reset_after`: the bias's second row), zeros without a bias."""
    return spec.bias[1] if spec.bias is not None else like.new_zeros(3 * spec.units)


def _reads_table(spec: CellSpec, embeddings: torch.Tensor) -> bool:
    """Whether the folded recurrence reads its steps' inputs straight from the table of every
    id's projection (`kernels.embedded_rnn`): float32 with units that fill whole vector
    registers."""
    from textrnn import kernels

    if embeddings.dtype != torch.float32:
        return False
    lanes = kernels.fused_lanes()
    return lanes > 0 and spec.units % lanes == 0


@dataclass(frozen=True)
class Dropout:
    """Dropout masks for the native kernels: `gate_inputs`, one `(batch, features)` input mask per
    gate (or None), and `recurrent`, `(batch, G * units)`, each gate's mask on the previous state
    (or None)."""

    gate_inputs: tuple[torch.Tensor, ...] | None
    recurrent: torch.Tensor | None

    def rows(self, begin: int, end: int) -> Dropout:
        return Dropout(
            None if self.gate_inputs is None else tuple(m[begin:end] for m in self.gate_inputs),
            None if self.recurrent is None else self.recurrent[begin:end],
        )


def _dropout_for_kernels(
    spec: CellSpec,
    input_masks: Sequence[torch.Tensor] | None,
    recurrent_masks: Sequence[torch.Tensor] | None,
) -> Dropout:
    gates = {"simple_rnn": 1, "lstm": 4, "gru": 3}[spec.kind]
    recurrent = None
    if recurrent_masks:
        masks = list(recurrent_masks)
        if len(masks) == 1:  # one mask shared by every gate
            masks = masks * gates
        recurrent = torch.cat(masks, dim=1)
    gate_inputs = None
    if input_masks and len(input_masks) > 1:
        gate_inputs = tuple(input_masks)
    return Dropout(gate_inputs, recurrent)


# --------------------------------------------------------------------------- fused kernels
def _torch_weights(spec: CellSpec) -> tuple[list[torch.Tensor], bool]:
    """PyTorch's `[w_ih, w_hh, b_ih, b_hh]` from the Keras-layout weights (differentiable views)."""
    kernel, recurrent, bias = spec.kernel, spec.recurrent_kernel, spec.bias
    if spec.kind == "gru":
        u = spec.units

        def reorder(w: torch.Tensor) -> torch.Tensor:  # Keras z, r, h -> PyTorch r, z, n
            return torch.cat([w[..., u : 2 * u], w[..., :u], w[..., 2 * u :]], dim=-1)

        weights = [reorder(kernel).t().contiguous(), reorder(recurrent).t().contiguous()]
        if bias is None:
            return weights, False
        return [*weights, reorder(bias[0]), reorder(bias[1])], True
    # LSTM gates i, f, c, o are PyTorch's i, f, g, o; a single Keras bias is PyTorch's b_ih.
    weights = [kernel.t().contiguous(), recurrent.t().contiguous()]
    if bias is None:
        return weights, False
    return [*weights, bias, torch.zeros_like(bias)], True


def _call_fused(
    spec: CellSpec,
    data: torch.Tensor,
    batch_sizes: torch.Tensor | None,
    states: list[torch.Tensor],
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """One fused-kernel call: `(batch, steps, features)` input, or packed data with batch_sizes."""
    weights, has_biases = _torch_weights(spec)
    hx = [s.unsqueeze(0).contiguous() for s in states]  # (1, batch, units)
    train = torch.is_grad_enabled()  # cuDNN keeps what backward needs only in train mode
    if spec.kind == "lstm":
        if batch_sizes is None:
            out, h, c = torch.lstm(data, hx, weights, has_biases, 1, 0.0, train, False, True)
        else:
            out, h, c = torch.lstm(data, batch_sizes, hx, weights, has_biases, 1, 0.0, train, False)
        return out, [h.squeeze(0), c.squeeze(0)]
    if spec.kind == "gru":
        fn = torch.gru
    else:
        fn = torch.rnn_tanh if spec.activation_name == "tanh" else torch.rnn_relu
    if batch_sizes is None:
        out, h = fn(data, hx[0], weights, has_biases, 1, 0.0, train, False, True)
    else:
        out, h = fn(data, batch_sizes, hx[0], weights, has_biases, 1, 0.0, train, False)
    return out, [h.squeeze(0)]


def _fused_path(
    spec: CellSpec,
    inputs: torch.Tensor,
    states: list[torch.Tensor],
    mask: torch.Tensor | None,
    return_sequences: bool,
    return_state: bool,
    zero_output_for_mask: bool,
    dropout: Dropout | None = None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    if dropout is not None or _use_native(spec, inputs, states):
        out, final = _native_call(spec, inputs, states, None, dropout=dropout, need_outputs=return_sequences)
    else:
        out, final = _call_fused(spec, inputs, None, states)  # (batch, steps, units)
    return (out if return_sequences else final[0]), (final if return_state else [])


def left_align(inputs: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Move each row's unmasked steps to the left, in time order.

    Returns `(compact, lengths)`: compact `(batch, steps, features)`, valid up to `lengths[b]`
    (`(batch,)` int64) per row; the steps after that are masked ones, to be ignored.
    """
    batch, steps, features = inputs.shape
    order = torch.argsort((~mask).to(torch.uint8), dim=1, stable=True)  # unmasked first, stable
    compact = inputs.gather(1, order.unsqueeze(-1).expand(batch, steps, features))
    return compact, mask.sum(dim=1)


def spread_outputs(compact_out: torch.Tensor, mask: torch.Tensor, zero_output_for_mask: bool) -> torch.Tensor:
    """Per-step outputs `(batch, steps, units)` from left-aligned ones (`compact_out[b, j]`, the
    output of the j-th unmasked step, `j < lengths[b]`): a masked step repeats the latest unmasked
    output (zeros before the first one), or is zero with `zero_output_for_mask`."""
    batch, steps = mask.shape
    units = compact_out.shape[-1]
    seen = mask.cumsum(dim=1)  # unmasked steps up to and including t
    index = (seen - 1).clamp(min=0).unsqueeze(-1).expand(batch, steps, units)
    out = compact_out.gather(1, index)  # the output of the latest unmasked step <= t
    keep = mask if zero_output_for_mask else seen > 0
    return torch.where(keep.unsqueeze(-1), out, torch.zeros_like(out))


def _packed_path(
    spec: CellSpec,
    inputs: torch.Tensor,
    states: list[torch.Tensor],
    mask: torch.Tensor,
    return_sequences: bool,
    return_state: bool,
    zero_output_for_mask: bool,
    dropout: Dropout | None = None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    if dropout is not None or _use_native(spec, inputs, states):
        windows = _mask_windows(mask)
        if windows is not None:  # one run of steps per row: no re-alignment needed
            return _native_windows_path(
                spec,
                inputs,
                states,
                mask,
                *windows,
                return_sequences,
                return_state,
                zero_output_for_mask,
                dropout,
            )
    batch, steps, _ = inputs.shape
    units = spec.units
    compact, lengths = left_align(inputs, mask)
    empty = (lengths == 0).unsqueeze(-1)  # (batch, 1)
    longest = int(lengths.max())
    if longest == 0:  # nothing to run: every row keeps its initial states
        return inputs.new_zeros((batch, steps, units) if return_sequences else (batch, units)), (
            list(states) if return_state else []
        )
    if dropout is not None or _use_native(spec, compact, states):
        # Each row stops at its own length: outputs and final states (an LSTM's c too) are exact.
        compact_out, final = _native_call(
            spec, compact[:, :longest], states, lengths, dropout=dropout, need_outputs=return_sequences
        )
    elif spec.kind == "lstm" and return_state:
        # The final c of each row is only exposed by PyTorch's packed kernel.
        compact_out, final = _packed_kernel(spec, compact, lengths, states, return_sequences)
    else:
        # Left-aligned rows run as one unpacked batch up to the longest row: a row's outputs up to
        # its length are exact, what follows is ignored, and its final h is its last real output.
        compact_out, _ = _call_fused(spec, compact[:, :longest], None, states)  # (batch, longest, units)
        index = (lengths - 1).clamp(min=0).view(batch, 1, 1).expand(batch, 1, units)
        final = [torch.where(empty, states[0], compact_out.gather(1, index).squeeze(1))]
    if return_sequences:
        output = spread_outputs(compact_out, mask, zero_output_for_mask)
    else:
        keep = mask[:, -1:] if zero_output_for_mask else ~empty
        output = torch.where(keep, final[0], torch.zeros_like(final[0]))
    return output, (final if return_state else [])


def _packed_kernel(
    spec: CellSpec,
    compact: torch.Tensor,
    lengths: torch.Tensor,
    states: list[torch.Tensor],
    return_sequences: bool,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """PyTorch's packed-sequence kernel on left-aligned rows: `(compact outputs, final states)`."""
    # Rows without any unmasked step run one dummy step; their states are replaced below.
    packed = pack_padded_sequence(compact, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
    sorted_indices, unsorted_indices = packed.sorted_indices, packed.unsorted_indices
    if sorted_indices is None or unsorted_indices is None:  # never with enforce_sorted=False
        raise RuntimeError("pack_padded_sequence returned no sorting indices.")
    sorted_states = [s.index_select(0, sorted_indices) for s in states]
    out_data, final_sorted = _call_fused(spec, packed.data, packed.batch_sizes, sorted_states)
    empty = (lengths == 0).unsqueeze(-1)
    final = [
        torch.where(empty, s0, s.index_select(0, unsorted_indices))
        for s0, s in zip(states, final_sorted, strict=True)
    ]
    if not return_sequences:
        return compact.new_zeros((0,)), final
    compact_out, _ = pad_packed_sequence(
        PackedSequence(out_data, packed.batch_sizes, sorted_indices, unsorted_indices),
        batch_first=True,
    )  # (batch, longest, units)
    return compact_out, final


# --------------------------------------------------------------------------- native kernels
# textrnn.kernels (our C++/OpenMP recurrence, CPU only) stands in for PyTorch's fused kernels in the
# "fused" and "packed" paths on CPU when it is available; TEXTRNN_KERNELS=torch turns it off. On
# CUDA these paths keep cuDNN.
def _use_native(spec: CellSpec, inputs: torch.Tensor, states: Sequence[torch.Tensor]) -> bool:
    if inputs.device.type != "cpu" or inputs.dtype not in (torch.float32, torch.float64):
        return False
    if spec.kind == "simple_rnn" and spec.activation_name != "tanh":
        return False
    if any(t.dtype != inputs.dtype for t in (spec.kernel, spec.recurrent_kernel, *states)):
        return False
    from textrnn import kernels

    return kernels.available()


_NO_GRAD_ROWS = 256  # rows per native call when no gradient is needed


def _native_call(
    spec: CellSpec,
    inputs: torch.Tensor,
    states: Sequence[torch.Tensor],
    lengths: torch.Tensor | None,
    starts: torch.Tensor | None = None,
    dropout: Dropout | None = None,
    need_outputs: bool = True,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """One native call on `(batch, steps, features)`: `(outputs (batch, steps, units), final
    states)`. With `lengths`, row b runs `lengths[b]` steps from `starts[b]` (0 when None); its
    outputs elsewhere are zero. `dropout`: per-gate input masks and recurrent masks, or None.
    Without `need_outputs` and without gradients the outputs may come back empty `(batch, 0,
    units)` (the caller only wants the final states)."""
    from textrnn import kernels

    rows = inputs.shape[0]
    if rows > _NO_GRAD_ROWS and not torch.is_grad_enabled():
        # Rows are independent: without a backward pass, run them in slices so the projection and
        # per-step activations of a large evaluation batch never live at once (same numbers).
        parts = [
            _native_call(
                spec,
                inputs[i : i + _NO_GRAD_ROWS],
                [s[i : i + _NO_GRAD_ROWS] for s in states],
                None if lengths is None else lengths[i : i + _NO_GRAD_ROWS],
                None if starts is None else starts[i : i + _NO_GRAD_ROWS],
                None if dropout is None else dropout.rows(i, i + _NO_GRAD_ROWS),
                need_outputs,
            )
            for i in range(0, rows, _NO_GRAD_ROWS)
        ]
        if need_outputs:
            outputs = torch.cat([out for out, _ in parts])
        else:
            outputs = inputs.new_zeros((rows, 0, spec.units))
        finals = [torch.cat([fin[k] for _, fin in parts]) for k in range(len(parts[0][1]))]
        return outputs, finals
    input_bias = _input_bias(spec)
    # The input projection, time-major (the kernels run faster on it; outputs come back likewise).
    if dropout is not None and dropout.gate_inputs is not None:
        xw = _gate_projection(spec, inputs, dropout.gate_inputs, input_bias)
    else:
        xw = kernels.project(inputs, spec.kernel, input_bias)
    return _native_recurrence(spec, xw, states, lengths, starts, dropout, need_outputs)


def _input_bias(spec: CellSpec) -> torch.Tensor | None:
    bias = spec.bias
    return None if bias is None else (bias[0] if bias.dim() == 2 else bias)


def _native_recurrence(
    spec: CellSpec,
    xw: torch.Tensor,
    states: Sequence[torch.Tensor],
    lengths: torch.Tensor | None,
    starts: torch.Tensor | None,
    dropout: Dropout | None,
    need_outputs: bool,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The native recurrence over the input projection `xw` (`_native_call` after projecting)."""
    from textrnn import kernels

    rows = xw.shape[0]
    rmask = None if dropout is None else dropout.recurrent
    if spec.kind == "simple_rnn":
        out, h = kernels.simple_rnn(xw, states[0], spec.recurrent_kernel, lengths, starts, rmask)
        return out, [h]
    if spec.kind == "lstm":
        if not need_outputs and rmask is None and not torch.is_grad_enabled():
            # Inference wanting the last state: nothing saved, no sequence written.
            h, c = kernels.lstm_last(xw, states[0], states[1], spec.recurrent_kernel, lengths, starts)
            return xw.new_zeros((rows, 0, spec.units)), [h, c]
        out, h, c = kernels.lstm(xw, states[0], states[1], spec.recurrent_kernel, lengths, starts, rmask)
        return out, [h, c]
    out, h = kernels.gru(
        xw, states[0], spec.recurrent_kernel, _gru_recurrent_bias(spec, xw), lengths, starts, rmask
    )
    return out, [h]


def _gate_projection(
    spec: CellSpec,
    inputs: torch.Tensor,
    masks: Sequence[torch.Tensor],
    input_bias: torch.Tensor | None,
) -> torch.Tensor:
    """`xw` with one input dropout mask per gate (Keras's cells with recurrent dropout): gate q's
    columns are `(inputs * masks[q]) @ kernel_q`, computed time-major."""
    u = spec.units
    steps_first = inputs.transpose(0, 1)  # (steps, batch, features)
    xw = torch.cat(
        [(steps_first * m.unsqueeze(0)) @ spec.kernel[:, q * u : (q + 1) * u] for q, m in enumerate(masks)],
        dim=-1,
    )  # (steps, batch, G * units)
    if input_bias is not None:
        xw = xw + input_bias
    return xw.transpose(0, 1)


def _mask_windows(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """`(starts, lengths)` when every row's unmasked steps form one run (padding before and/or
    after, as `pad_sequences` makes), else None."""
    from textrnn import kernels

    if mask.device.type == "cpu" and mask.dtype == torch.bool and kernels.available():
        return kernels.mask_windows(mask)  # one pass, in place of eleven operators
    lengths = mask.sum(dim=1)
    starts = mask.to(torch.uint8).argmax(dim=1)  # the first unmasked step (0 for empty rows)
    steps = torch.arange(mask.shape[1], device=mask.device)
    inside = (steps >= starts.unsqueeze(1)) & (steps < (starts + lengths).unsqueeze(1))
    return (starts, lengths) if bool(torch.equal(inside, mask)) else None


def _native_windows_path(
    spec: CellSpec,
    inputs: torch.Tensor,
    states: list[torch.Tensor],
    mask: torch.Tensor,
    starts: torch.Tensor,
    lengths: torch.Tensor,
    return_sequences: bool,
    return_state: bool,
    zero_output_for_mask: bool,
    dropout: Dropout | None = None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The masked path for rows whose steps form one run each: the native kernels run each row
    over its own steps in place (outputs zero elsewhere, states frozen outside them)."""
    out, final = _native_call(spec, inputs, states, lengths, starts, dropout, need_outputs=return_sequences)
    return _windows_output(
        out, final, mask, starts, lengths, return_sequences, return_state, zero_output_for_mask
    )


def _windows_output(
    out: torch.Tensor,
    final: list[torch.Tensor],
    mask: torch.Tensor,
    starts: torch.Tensor,
    lengths: torch.Tensor,
    return_sequences: bool,
    return_state: bool,
    zero_output_for_mask: bool,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """What the layer returns from a native call over each row's run of steps (Keras's outputs at
    the masked steps)."""
    empty = (lengths == 0).unsqueeze(-1)  # (batch, 1)
    if not return_sequences:
        keep = mask[:, -1:] if zero_output_for_mask else ~empty
        output = torch.where(keep, final[0], torch.zeros_like(final[0]))
    elif zero_output_for_mask:
        output = out
    else:  # a masked step repeats the latest output: zeros before a row's run, its last one after
        steps = torch.arange(mask.shape[1], device=mask.device)
        after = (steps >= (starts + lengths).unsqueeze(1)) & ~empty  # (batch, steps)
        output = torch.where(after.unsqueeze(-1), final[0].unsqueeze(1), out)
    return output, (final if return_state else [])


# --------------------------------------------------------------------------- step loop
def _loop_path(
    spec: CellSpec,
    inputs: torch.Tensor,
    states: list[torch.Tensor],
    mask: torch.Tensor | None,
    return_sequences: bool,
    zero_output_for_mask: bool,
    input_masks: Sequence[torch.Tensor] | None,
    recurrent_masks: Sequence[torch.Tensor] | None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    u = spec.units
    kernel, recurrent, bias = spec.kernel, spec.recurrent_kernel, spec.bias
    input_bias = None if bias is None else (bias[0] if bias.dim() == 2 else bias)
    recurrent_bias = bias[1] if bias is not None and bias.dim() == 2 else None
    # Input projections of every step at once: (batch, steps, G * units).
    if input_masks and len(input_masks) > 1:  # one mask per GRU gate
        proj = torch.cat(
            [(inputs * m.unsqueeze(1)) @ kernel[:, g * u : (g + 1) * u] for g, m in enumerate(input_masks)],
            dim=-1,
        )
    else:
        proj = (inputs * input_masks[0].unsqueeze(1) if input_masks else inputs) @ kernel
    if input_bias is not None:
        proj = proj + input_bias
    act, rec_act = spec.activation, spec.recurrent_activation
    rmasks = list(recurrent_masks) if recurrent_masks else None

    def gate_state(h: torch.Tensor, g: int) -> torch.Tensor:
        if rmasks is None:
            return h
        return h * rmasks[g if len(rmasks) > 1 else 0]

    def step(x_t: torch.Tensor, st: list[torch.Tensor]) -> list[torch.Tensor]:
        h = st[0]
        if spec.kind == "simple_rnn":
            return [act(x_t + gate_state(h, 0) @ recurrent)]
        if spec.kind == "lstm":
            if rmasks is not None and len(rmasks) > 1:  # one mask per gate i, f, c, o (Keras)
                z = x_t + torch.cat(
                    [gate_state(h, q) @ recurrent[:, q * u : (q + 1) * u] for q in range(4)], dim=-1
                )
            else:
                z = x_t + gate_state(h, 0) @ recurrent
            zi, zf, zc, zo = z.split(u, dim=-1)
            c = rec_act(zf) * st[1] + rec_act(zi) * act(zc)
            return [rec_act(zo) * act(c), c]
        xz, xr, xh = x_t.split(u, dim=-1)
        if rmasks is None:
            inner = h @ (recurrent if spec.reset_after else recurrent[:, : 2 * u])
            if recurrent_bias is not None:
                inner = inner + recurrent_bias
            hz, hr = inner[:, :u], inner[:, u : 2 * u]
        else:
            hz = gate_state(h, 0) @ recurrent[:, :u]
            hr = gate_state(h, 1) @ recurrent[:, u : 2 * u]
            if recurrent_bias is not None:
                hz, hr = hz + recurrent_bias[:u], hr + recurrent_bias[u : 2 * u]
        z, r = rec_act(xz + hz), rec_act(xr + hr)
        if spec.reset_after:
            if rmasks is None:
                hh = inner[:, 2 * u :]
            else:
                hh = gate_state(h, 2) @ recurrent[:, 2 * u :]
                if recurrent_bias is not None:
                    hh = hh + recurrent_bias[2 * u :]
            candidate = act(xh + r * hh)
        else:
            candidate = act(xh + (r * gate_state(h, 2)) @ recurrent[:, 2 * u :])
        return [z * h + (1.0 - z) * candidate]

    steps = inputs.shape[1]
    outputs: list[torch.Tensor] = []
    prev_out = torch.zeros_like(states[0])
    for t in range(steps):
        new = step(proj[:, t], states)
        out = new[0]
        if mask is not None:
            m = mask[:, t : t + 1]  # (batch, 1)
            out = torch.where(m, out, torch.zeros_like(out) if zero_output_for_mask else prev_out)
            new = [torch.where(m, n, s) for n, s in zip(new, states, strict=True)]
        states, prev_out = new, out
        if return_sequences:
            outputs.append(out)
    if return_sequences:
        if not outputs:
            return proj.new_zeros((inputs.shape[0], 0, u)), states
        return torch.stack(outputs, dim=1), states
    return prev_out, states
