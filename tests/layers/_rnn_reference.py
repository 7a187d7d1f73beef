"""An independent NumPy reference for the recurrent layers, step by step from Keras's equations.

Deliberately naive: one sample and one step at a time, float64, no PyTorch. It follows Keras's
backend `rnn()` with TensorFlow's / PyTorch's masking rule: a masked step keeps the states and
outputs the previous output (zeros before the first unmasked step), or zeros with
`zero_output_for_mask`; `go_backwards` processes the reversed sequence and returns outputs in
processing order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "linear": lambda x: x,
    "hard_sigmoid": lambda x: np.clip((x + 3.0) / 6.0, 0.0, 1.0),
}


def _step(kind, x, states, weights, act, rec_act, reset_after, in_masks, rec_masks):
    """One step for one sample: x (features,), states [h] or [h, c]; returns new states."""
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if len(weights) > 2 else None
    u = recurrent.shape[0]
    h = states[0]

    def xin(g):  # the input seen by gate g (dropout masks)
        if in_masks is None:
            return x
        return x * in_masks[g if len(in_masks) > 1 else 0]

    def hin(g):
        if rec_masks is None:
            return h
        return h * rec_masks[g if len(rec_masks) > 1 else 0]

    if kind == "simple_rnn":
        z = xin(0) @ kernel + hin(0) @ recurrent
        if bias is not None:
            z = z + bias
        return [act(z)]
    if kind == "lstm":
        c = states[1]
        # With recurrent dropout Keras's LSTM cell has one input and one state mask per gate.
        z = np.concatenate(
            [
                xin(q) @ kernel[:, q * u : (q + 1) * u] + hin(q) @ recurrent[:, q * u : (q + 1) * u]
                for q in range(4)
            ]
        )
        if bias is not None:
            z = z + bias
        i = rec_act(z[:u])
        f = rec_act(z[u : 2 * u])
        g = act(z[2 * u : 3 * u])
        o = rec_act(z[3 * u :])
        c_new = f * c + i * g
        return [o * act(c_new), c_new]
    # GRU, gates z, r, h
    if bias is None:
        b_in = np.zeros(3 * u)
        b_rec = np.zeros(3 * u)
    elif reset_after:
        b_in, b_rec = bias[0], bias[1]
    else:
        b_in, b_rec = bias, np.zeros(3 * u)
    x_z = xin(0) @ kernel[:, :u] + b_in[:u]
    x_r = xin(1) @ kernel[:, u : 2 * u] + b_in[u : 2 * u]
    x_h = xin(2) @ kernel[:, 2 * u :] + b_in[2 * u :]
    zg = rec_act(x_z + hin(0) @ recurrent[:, :u] + b_rec[:u])
    rg = rec_act(x_r + hin(1) @ recurrent[:, u : 2 * u] + b_rec[u : 2 * u])
    if reset_after:
        hh = act(x_h + rg * (hin(2) @ recurrent[:, 2 * u :] + b_rec[2 * u :]))
    else:
        hh = act(x_h + (rg * hin(2)) @ recurrent[:, 2 * u :])
    return [zg * h + (1.0 - zg) * hh]


def reference_rnn(
    kind: str,
    x: np.ndarray,
    weights: Sequence[np.ndarray],
    *,
    activation: str = "tanh",
    recurrent_activation: str = "sigmoid",
    reset_after: bool = True,
    mask: np.ndarray | None = None,
    initial_state: Sequence[np.ndarray] | None = None,
    go_backwards: bool = False,
    return_sequences: bool = False,
    return_state: bool = False,
    zero_output_for_mask: bool = False,
    input_masks: Sequence[np.ndarray] | None = None,
    recurrent_masks: Sequence[np.ndarray] | None = None,
):
    """Keras's layer output for inputs `x` (batch, steps, features) and Keras-layout `weights`.

    `input_masks` / `recurrent_masks`: per-sample dropout masks, each (batch, features) /
    (batch, units), one (shared by the gates) or one per gate (LSTM four, GRU three).
    """
    x = np.asarray(x, dtype=np.float64)
    weights = [np.asarray(w, dtype=np.float64) for w in weights]
    act, rec_act = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    batch, steps, _ = x.shape
    units = weights[1].shape[0]
    n_states = 2 if kind == "lstm" else 1
    all_outputs = np.zeros((batch, steps, units))
    final_states = [np.zeros((batch, units)) for _ in range(n_states)]
    order = list(range(steps))[::-1] if go_backwards else list(range(steps))
    for b in range(batch):
        if initial_state is None:
            states = [np.zeros(units) for _ in range(n_states)]
        else:
            states = [np.asarray(s[b], dtype=np.float64) for s in initial_state]
        prev_output = np.zeros(units)
        in_m = None if input_masks is None else [m[b] for m in input_masks]
        rec_m = None if recurrent_masks is None else [m[b] for m in recurrent_masks]
        for j, t in enumerate(order):
            new_states = _step(kind, x[b, t], states, weights, act, rec_act, reset_after, in_m, rec_m)
            if mask is None or mask[b, t]:
                states = new_states
                output = new_states[0]
            else:
                output = np.zeros(units) if zero_output_for_mask else prev_output
            all_outputs[b, j] = output
            prev_output = output
        for i in range(n_states):
            final_states[i][b] = states[i]
    output = all_outputs if return_sequences else all_outputs[:, -1]
    if return_state:
        return [output, *final_states]
    return output
