"""LSTM: Long Short-Term Memory (Keras's `LSTM`, gates i, f, c, o)."""

from __future__ import annotations

from typing import Any

import torch

from textrnn import activations, initializers
from textrnn.checks import boolean
from textrnn.layers.recurrent import BaseRNN


class LSTM(BaseRNN):
    """Long Short-Term Memory layer (Hochreiter 1997), with Keras's equations and weight layout.

    With `z = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias` split into gates i, f, c, o:
    `c_t = σ(f) * c_{t-1} + σ(i) * tanh(c)`, `h_t = σ(o) * tanh(c_t)` (σ the recurrent activation).

    Args:
        units: positive int, size of the output and of each state.
        activation: default `"tanh"`.
        recurrent_activation: default `"sigmoid"` (tanh + sigmoid run PyTorch's fused kernel; other
            activations the step loop).
        use_bias: default True.
        kernel_initializer: default `"glorot_uniform"`.
        recurrent_initializer: default `"orthogonal"`.
        bias_initializer: default `"zeros"`.
        unit_forget_bias: default True: the forget-gate bias starts at 1 (the other gates use
            `bias_initializer`), as in Keras.
        dropout, recurrent_dropout: default 0.0; see `BaseRNN`.
        seed: seed of the dropout masks; default None.
        return_sequences, return_state, go_backwards: default False; see `BaseRNN`.
        stateful, unroll, zero_output_for_mask: see `BaseRNN`.
        name, trainable: see `Layer`.

    Weights (Keras's order): `kernel (features, 4 units)`, `recurrent_kernel (units, 4 units)`,
    `bias (4 units,)`. Parameters: `4 × (features + units + 1) × units`.

    Returns:
        `(batch, units)`, or `(batch, steps, units)` with return_sequences; with return_state
        `[output, h, c]`.

    Raises:
        ValueError: for a bad argument value.

    Example:
        >>> layer = LSTM(32, return_sequences=True)
        >>> layer(np.zeros((4, 10, 32), "float32")).shape
        torch.Size([4, 10, 32])
        >>> layer.count_params()
        8320
    """

    cell_kind = "lstm"
    num_gates = 4

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        unit_forget_bias: bool = True,
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
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = boolean("unit_forget_bias", unit_forget_bias)

    def make_bias_initializer(self) -> Any:
        if not self.unit_forget_bias:
            return self.bias_initializer
        base = initializers.get(self.bias_initializer)
        units = self.units

        def bias_init(shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
            # Keras: bias_initializer for i, ones for f, bias_initializer for c and o.
            i = torch.as_tensor(base((units,), dtype=dtype), dtype=dtype)
            co = torch.as_tensor(base((2 * units,), dtype=dtype), dtype=dtype)
            return torch.cat([i, torch.ones(units, dtype=dtype), co])

        return bias_init

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config["unit_forget_bias"] = self.unit_forget_bias
        return config
