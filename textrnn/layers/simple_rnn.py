"""SimpleRNN: a fully connected recurrence whose output is fed back (Keras's `SimpleRNN`)."""

from __future__ import annotations

from typing import Any

from textrnn.layers.recurrent import BaseRNN


class SimpleRNN(BaseRNN):
    """`h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`; the output is `h_t`.

    Args:
        units: positive int, size of the output and state.
        activation: default `"tanh"` (`"tanh"` and `"relu"` run PyTorch's fused kernel; others the
            step loop).
        use_bias: default True.
        kernel_initializer: default `"glorot_uniform"`.
        recurrent_initializer: default `"orthogonal"`.
        bias_initializer: default `"zeros"`.
        dropout, recurrent_dropout: default 0.0; see `BaseRNN`.
        seed: seed of the dropout masks; default None.
        return_sequences, return_state, go_backwards: default False; see `BaseRNN`.
        stateful, unroll, zero_output_for_mask: see `BaseRNN`.
        name, trainable: see `Layer`.

    Weights (Keras's order): `kernel (features, units)`, `recurrent_kernel (units, units)`,
    `bias (units,)`. Parameters: `(features + units + 1) × units`.

    Returns:
        `(batch, units)`, or `(batch, steps, units)` with return_sequences; with return_state
        `[output, h]`.

    Raises:
        ValueError: for a bad argument value (`units` not a positive int, a rate outside [0, 1)).

    Example:
        >>> layer = SimpleRNN(32)
        >>> layer(np.zeros((4, 10, 8), "float32")).shape
        torch.Size([4, 32])
        >>> layer.count_params()
        1312
    """

    cell_kind = "simple_rnn"
    num_gates = 1

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        *,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            name=name,
            trainable=trainable,
        )
