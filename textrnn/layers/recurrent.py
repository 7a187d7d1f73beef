"""The shared base of SimpleRNN, LSTM and GRU: arguments, shapes, masks, states, dropout, configs.

A subclass creates its weights in `build_cell(features)` (with `add_weight`, in Keras's order) and
describes its cell in `cell_spec()`; the recurrence itself runs in `textrnn.layers.rnn_kernels`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from textrnn import activations, checks, initializers
from textrnn.backend import FLOATX, to_tensor
from textrnn.checks import boolean, positive_int
from textrnn.checks import rate as check_rate
from textrnn.layers import rnn_kernels
from textrnn.layers.base import Layer, Shape

_RNN_CLASSES: dict[str, type[BaseRNN]] = {}


def rnn_class(class_name: str) -> type[BaseRNN]:
    """The recurrent layer class called `class_name` (`"LSTM"`, ...), for configs."""
    try:
        return _RNN_CLASSES[class_name]
    except KeyError:
        raise ValueError(
            f"Unknown recurrent layer class {class_name!r}. Expected one of: "
            f"{', '.join(sorted(_RNN_CLASSES))}."
        ) from None


def _initializer(name: str, value: Any) -> Any:
    """Check an initializer argument; a serialised (dict) one becomes an object, so configs round-trip."""
    try:
        resolved = initializers.get(value)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"Received an invalid value for argument `{name}`: {exc}") from None
    return resolved if isinstance(value, dict) else value


def activation_name(fn: Any) -> str | None:
    try:
        return activations.serialize(fn)
    except ValueError:
        return None


class BaseRNN(Layer):
    """Base class of the recurrent layers (not used directly).

    Args (shared by SimpleRNN, LSTM, GRU; Keras's names and defaults):
        units: positive int, size of the output and of each state.
        activation: Keras name or callable; default `"tanh"`. None is linear.
        use_bias: whether the layer has a bias; default True.
        kernel_initializer: default `"glorot_uniform"`.
        recurrent_initializer: default `"orthogonal"`.
        bias_initializer: default `"zeros"`.
        dropout: fraction in [0, 1) of the inputs dropped in training, one mask per sequence used
            at every step (as Keras). Default 0.
        recurrent_dropout: fraction in [0, 1) of the previous state dropped in training (one mask
            per sequence; an LSTM or GRU draws one per gate, and then one input mask per gate, as
            Keras's cells do). Runs in the native kernels on CPU, else in the step loop. Default 0.
        seed: int seed for the dropout masks, or None for PyTorch's global generator.
        return_sequences: return the output of every step `(batch, steps, units)` instead of the
            last one `(batch, units)`. Default False.
        return_state: also return the final states: `[output, *states]`. Default False.
        go_backwards: process the sequence in reverse; sequence outputs come back in reversed
            order, as in Keras. Default False.
        stateful: must be False (stateful layers are not supported).
        unroll: accepted for Keras compatibility; textrnn chooses its kernel itself and the numbers
            are the same either way. Default False.
        zero_output_for_mask: with `return_sequences`, masked steps output zeros instead of the
            previous output (`Bidirectional` sets this). Default False.
        name, trainable: see `Layer`.

    Call arguments:
        inputs: float `(batch, steps, features)` tensor or array.
        mask: optional boolean `(batch, steps)`, True where a step is used. A masked step leaves
            the states unchanged and outputs the previous step's output (zeros before the first
            unmasked step; zeros everywhere it is masked if `zero_output_for_mask`).
        training: whether dropout is active; default: the module's training mode.
        initial_state: a tensor or list of tensors `(batch, units)` (LSTM: `[h, c]`); zeros by
            default.
    """

    supports_masking = True
    cell_kind: ClassVar[rnn_kernels.CellKind]
    num_gates: ClassVar[int]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _RNN_CLASSES[cls.__name__] = cls

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
        super().__init__(name=name, trainable=trainable)
        self.units = positive_int("units", units)
        self.activation = activations.get(activation)
        self.use_bias = boolean("use_bias", use_bias)
        self.kernel_initializer = _initializer("kernel_initializer", kernel_initializer)
        self.recurrent_initializer = _initializer("recurrent_initializer", recurrent_initializer)
        self.bias_initializer = _initializer("bias_initializer", bias_initializer)
        self.dropout = check_rate("dropout", dropout)
        self.recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise checks.invalid("seed", "an int or None", seed, error=TypeError)
        self.seed = seed
        self._seed_draws = 0
        self.return_sequences = boolean("return_sequences", return_sequences)
        self.return_state = boolean("return_state", return_state)
        self.go_backwards = boolean("go_backwards", go_backwards)
        if boolean("stateful", stateful):
            raise ValueError(
                "Received stateful=True, but textrnn's recurrent layers are not stateful. Pass the "
                "previous batch's final states explicitly with `initial_state=` (get them with "
                "`return_state=True`), or use stateful=False."
            )
        self.stateful = False
        self.unroll = boolean("unroll", unroll)
        self.zero_output_for_mask = boolean("zero_output_for_mask", zero_output_for_mask)

    # ----------------------------------------------------------------- shapes and weights
    @property
    def state_size(self) -> list[int]:
        """The size of each state: `[units]`, for an LSTM `[units, units]` (h, c)."""
        return [self.units] * (2 if self.cell_kind == "lstm" else 1)

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 3:
            raise ValueError(
                f"{type(self).__name__} `{self.name}` expects input of shape (batch, steps, features), "
                f"got shape {tuple(input_shape)}. Put an Embedding layer before it for token ids."
            )
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                f"{type(self).__name__} `{self.name}` needs the size of its input's last axis "
                f"(features), got shape {tuple(input_shape)}."
            )
        self.build_cell(int(features))
        super().build(input_shape)

    def build_cell(self, features: int) -> None:
        """Create `kernel`, `recurrent_kernel` and `bias` (Keras's order) for `features` inputs."""
        g = self.num_gates
        self.kernel = self.add_weight("kernel", (features, g * self.units), self.kernel_initializer)
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel", (self.units, g * self.units), self.recurrent_initializer
        )
        if self.use_bias:
            self.bias = self.add_weight("bias", self.bias_shape(), self.make_bias_initializer())

    def bias_shape(self) -> tuple[int, ...]:
        return (self.num_gates * self.units,)

    def make_bias_initializer(self) -> Any:
        return self.bias_initializer

    def compute_output_shape(self, input_shape: Shape) -> Any:
        """`(batch, units)`, `(batch, steps, units)` with return_sequences; with return_state a list
        `[output_shape, *state_shapes]`."""
        batch = input_shape[0]
        out: Shape = (batch, input_shape[1], self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [out, *[(batch, s) for s in self.state_size]]
        return out

    def compute_mask(self, inputs: Any, mask: torch.Tensor | None = None) -> Any:
        """The mask passes on with return_sequences; a list with a None per state with return_state."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        if self.return_state:
            return [out, *[None for _ in self.state_size]]
        return out

    # ----------------------------------------------------------------- calling
    def cell_spec(self) -> rnn_kernels.CellSpec:
        """The cell, with this layer's current weights, for `rnn_kernels.run`."""
        recurrent_activation = getattr(self, "recurrent_activation", activations.linear)
        return rnn_kernels.CellSpec(
            kind=self.cell_kind,
            kernel=self.kernel,
            recurrent_kernel=self.recurrent_kernel,
            bias=self.bias if self.use_bias else None,
            activation=self.activation,
            recurrent_activation=recurrent_activation,
            activation_name=activation_name(self.activation),
            recurrent_activation_name=activation_name(recurrent_activation),
            reset_after=bool(getattr(self, "reset_after", True)),
        )

    def call(
        self,
        inputs: Any,
        mask: torch.Tensor | None = None,
        training: bool = False,
        initial_state: Any = None,
        **kwargs: Any,
    ) -> Any:
        if kwargs:
            raise TypeError(
                f"{type(self).__name__} `{self.name}` got unexpected call arguments: "
                f"{', '.join(sorted(kwargs))}. "
                "It accepts inputs, mask, training and initial_state."
            )
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(
                f"{type(self).__name__} `{self.name}` expects one float tensor or array of shape "
                f"(batch, steps, features), got {type(inputs).__name__}."
            )
        if inputs.dim() != 3:
            raise ValueError(
                f"{type(self).__name__} `{self.name}` expects input of shape (batch, steps, features), "
                f"got shape {tuple(inputs.shape)}. Put an Embedding layer before it for token ids."
            )
        if not inputs.is_floating_point():
            inputs = inputs.to(FLOATX)
        batch, steps, features = inputs.shape
        if features != self.kernel.shape[0]:
            raise ValueError(
                f"{type(self).__name__} `{self.name}` was built for {self.kernel.shape[0]} input features, "
                f"got input of shape {tuple(inputs.shape)}."
            )
        if steps == 0:
            raise ValueError(
                f"{type(self).__name__} `{self.name}` got a sequence with 0 steps: {tuple(inputs.shape)}."
            )
        inputs = inputs.to(self.kernel.dtype)
        if mask is not None:
            if tuple(mask.shape) != (batch, steps):
                raise ValueError(
                    f"The mask of {type(self).__name__} `{self.name}` must have shape (batch, steps) = "
                    f"{(batch, steps)}, got {tuple(mask.shape)}."
                )
            mask = mask.to(device=inputs.device, dtype=torch.bool)
        states = self._initial_states(initial_state, batch, inputs)
        input_masks, recurrent_masks = None, None
        # With recurrent dropout, Keras's LSTM and GRU cells draw one mask per gate (four, three).
        per_gate = {"lstm": 4, "gru": 3}.get(self.cell_kind, 1)
        if training and self.dropout > 0.0:
            count = per_gate if self.recurrent_dropout > 0.0 else 1
            input_masks = self._dropout_masks(count, (batch, features), self.dropout, inputs)
        if training and self.recurrent_dropout > 0.0:
            recurrent_masks = self._dropout_masks(
                per_gate, (batch, self.units), self.recurrent_dropout, inputs
            )
        output, final_states = rnn_kernels.run(
            self.cell_spec(),
            inputs,
            states,
            mask=mask,
            go_backwards=self.go_backwards,
            return_sequences=self.return_sequences,
            return_state=self.return_state,
            zero_output_for_mask=self.zero_output_for_mask,
            input_masks=input_masks,
            recurrent_masks=recurrent_masks,
        )
        if self.return_state:
            return [output, *final_states]
        return output

    def call_embedded(
        self, ids: torch.Tensor, embeddings: torch.Tensor, mask: torch.Tensor | None, training: bool
    ) -> Any:
        """`call(embeddings[ids], mask, training)` with the lookup folded into this layer's input
        projection (`rnn_kernels.run_embedded`), or None where that does not apply. `ids` are
        `(batch, steps)` int64 rows of `embeddings`, already checked."""
        if self.go_backwards or (training and (self.dropout > 0.0 or self.recurrent_dropout > 0.0)):
            return None
        if embeddings.shape[1] != self.kernel.shape[0] or embeddings.dtype != self.kernel.dtype:
            return None
        batch = ids.shape[0]
        states = [embeddings.new_zeros((batch, self.units)) for _ in self.state_size]
        ran = rnn_kernels.run_embedded(
            self.cell_spec(),
            ids,
            embeddings,
            states,
            mask=mask,
            return_sequences=self.return_sequences,
            return_state=self.return_state,
            zero_output_for_mask=self.zero_output_for_mask,
        )
        if ran is None:
            return None
        output, final_states = ran
        return [output, *final_states] if self.return_state else output

    def _initial_states(self, initial_state: Any, batch: int, inputs: torch.Tensor) -> list[torch.Tensor]:
        n = len(self.state_size)
        if initial_state is None:
            return [inputs.new_zeros((batch, self.units)) for _ in range(n)]
        given = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(given) != n:
            raise ValueError(
                f"{type(self).__name__} `{self.name}` has {n} state(s) "
                f"({'[h, c]' if n == 2 else '[h]'}), but `initial_state` holds {len(given)} tensor(s)."
            )
        states = []
        for s in given:
            t = to_tensor(s, dtype=inputs.dtype, device=inputs.device)
            if tuple(t.shape) != (batch, self.units):
                raise ValueError(
                    f"Each `initial_state` of {type(self).__name__} `{self.name}` must have shape "
                    f"(batch, units) = {(batch, self.units)}, got {tuple(t.shape)}."
                )
            states.append(t)
        return states

    def _dropout_masks(
        self, count: int, shape: tuple[int, int], rate: float, like: torch.Tensor
    ) -> list[torch.Tensor]:
        """`count` masks of 0 and 1 / (1 - rate), one per sequence (Keras's DropoutRNNCell)."""
        generator = None
        if self.seed is not None:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self._seed_draws)
            self._seed_draws += 1
        masks = []
        for _ in range(count):
            if generator is None:
                keep = torch.empty(shape, device=like.device, dtype=like.dtype).bernoulli_(1.0 - rate)
            else:
                keep = (
                    torch.empty(shape, dtype=like.dtype)
                    .bernoulli_(1.0 - rate, generator=generator)
                    .to(like.device)
                )
            masks.append(keep / (1.0 - rate))
        return masks

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        try:
            activation = activations.serialize(self.activation)
        except ValueError as exc:
            raise ValueError(f"Cannot save the config of `{self.name}`: {exc}") from None
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activation,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }

    def extra_repr(self) -> str:
        return f"name={self.name!r}, units={self.units}"
