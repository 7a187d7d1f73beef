"""GRU: Gated Recurrent Unit (Keras's `GRU`, gates z, r, h; `reset_after` True or False)."""

from __future__ import annotations

from typing import Any

from textrnn import activations
from textrnn.checks import boolean
from textrnn.layers.recurrent import BaseRNN


class GRU(BaseRNN):
    """Gated Recurrent Unit (Cho et al. 2014), with Keras's equations and weight layout.

    `z = σ(x W_z + h U_z + b_z)`, `r = σ(x W_r + h U_r + b_r)`, the candidate
    `hh = tanh(x W_h + r * (h U_h + b'_h))` with `reset_after=True` (PyTorch's and cuDNN's GRU) or
    `tanh(x W_h + (r * h) U_h + b_h)` with `reset_after=False`, and `h_t = z * h + (1 - z) * hh`.

    Args:
        units: positive int, size of the output and state.
        activation: default `"tanh"`.
        recurrent_activation: default `"sigmoid"`.
        use_bias: default True.
        kernel_initializer: default `"glorot_uniform"`.
        recurrent_initializer: default `"orthogonal"`.
        bias_initializer: default `"zeros"`.
        dropout, recurrent_dropout: default 0.0; see `BaseRNN`. With recurrent dropout each gate
            gets its own input and state mask, as in Keras.
        seed: seed of the dropout masks; default None.
        return_sequences, return_state, go_backwards: default False; see `BaseRNN`.
        stateful, unroll, zero_output_for_mask: see `BaseRNN`.
        reset_after: default True (fused kernel); False runs the step loop.
        name, trainable: see `Layer`.

    Weights (Keras's order): `kernel (features, 3 units)`, `recurrent_kernel (units, 3 units)`,
    `bias (2, 3 units)` with reset_after (input bias row 0, recurrent bias row 1), else
    `(3 units,)`. Parameters: `3 × (features + units + 2) × units` with reset_after.

    Returns:
        `(batch, units)`, or `(batch, steps, units)` with return_sequences; with return_state
        `[output, h]`.

    Raises:
        ValueError: for a bad argument value.

    Example:
        >>> layer = GRU(32)
        >>> layer(np.zeros((4, 10, 32), "float32")).shape
        torch.Size([4, 32])
        >>> layer.count_params()
        6336
    """

    cell_kind = "gru"
    num_gates = 3

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
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
        reset_after: bool = True,
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
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = boolean("reset_after", reset_after)

    def bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config["reset_after"] = self.reset_after
        return config
