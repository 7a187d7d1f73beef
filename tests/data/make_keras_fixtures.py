"""Write the Keras reference fixtures in tests/data/keras_fixtures/ (run by hand, needs Keras).

The tests do not need Keras: they read the `.npz` files this script writes. To regenerate them, in a
throwaway environment outside the repository:

    python -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install keras jax jaxlib numpy
    KERAS_BACKEND=jax /tmp/kvenv/bin/python tests/data/make_keras_fixtures.py

Each case is a Keras layer called on its own, or a chain of layers (a small model), with random
weights (biases included) and random inputs. A case's `.npz` holds:

- `spec`: a JSON string: `{"kind": "layer" | "chain", "layers": [serialized Keras layers],
  "weight_counts": [arrays per layer], "keras_version": ..., "backend": ..., "call": {...}}`
- `inputs`, and `mask` (boolean) and `initial_state_<i>` when the call used them,
- `weight_<i>`: every layer's `get_weights()`, in order,
- `output_<i>`: the Keras outputs (one, or several for return_state / merge_mode=None).

Masked cases keep zero initial states before the first unmasked step, where Keras's backends agree
(the JAX backend repeats the initial state there, TensorFlow and PyTorch output zeros, as textrnn).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

OUT = Path(__file__).resolve().parent / "keras_fixtures"
RNG = np.random.default_rng(20240601)

# Arbitrary masks: gaps in the middle, pre- and post-padding, and a row with no step at all.
MASK = np.array(
    [
        [True, True, False, True, False, True],
        [False, False, True, True, True, True],
        [True, True, True, True, False, False],
        [False, False, False, False, False, False],
    ]
)
# Every row's last step unmasked (for go_backwards with an initial state: see the docstring).
MASK_LAST = np.array(
    [
        [True, False, True, True, False, True],
        [False, True, True, False, True, True],
        [True, True, True, True, True, True],
        [False, False, False, False, False, True],
    ]
)
PRE_PADDED = np.array(
    [[0, 0, 3, 5, 7, 2, 9], [0, 4, 9, 1, 1, 8, 3], [0, 0, 0, 0, 0, 0, 6], [0, 0, 0, 0, 0, 0, 0]], dtype="int32"
)
POST_PADDED = np.array(
    [[3, 5, 7, 2, 9, 0, 0], [4, 9, 1, 1, 8, 3, 0], [6, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0]], dtype="int32"
)


def randomize(layer: keras.layers.Layer) -> None:
    layer.set_weights([RNG.uniform(-0.6, 0.6, w.shape).astype("float32") for w in layer.get_weights()])


def float_inputs(batch: int = 4, steps: int = 6, features: int = 3) -> np.ndarray:
    return RNG.normal(size=(batch, steps, features)).astype("float32")


def save(name: str, kind: str, chain: list[keras.layers.Layer], inputs: np.ndarray, outputs: object, **call: object) -> None:
    arrays: dict[str, np.ndarray] = {"inputs": inputs}
    if call.get("mask") is not None:
        arrays["mask"] = np.asarray(call["mask"], dtype=bool)
    for i, s in enumerate(call.get("initial_state") or []):
        arrays[f"initial_state_{i}"] = np.asarray(s, dtype="float32")
    weights = [w for layer in chain for w in layer.get_weights()]
    for i, w in enumerate(weights):
        arrays[f"weight_{i}"] = np.asarray(w, dtype="float32")
    outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    for i, o in enumerate(outs):
        arrays[f"output_{i}"] = np.asarray(o, dtype="float32")
    spec = {
        "kind": kind,
        "layers": [keras.saving.serialize_keras_object(layer) for layer in chain],
        "weight_counts": [len(layer.get_weights()) for layer in chain],
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "call": {
            "mask": call.get("mask") is not None,
            "initial_state": len(call.get("initial_state") or []),
            "outputs": len(outs),
        },
    }
    arrays["spec"] = np.array(json.dumps(spec))
    np.savez_compressed(OUT / f"{name}.npz", **arrays)
    print(f"{name}: {[tuple(o.shape) for o in arrays.values() if o.ndim][-len(outs):]}")


def layer_case(name: str, layer: keras.layers.Layer, inputs: np.ndarray, mask=None, initial_state=None) -> None:
    kwargs = {}
    if mask is not None:
        kwargs["mask"] = mask
    if initial_state is not None:
        kwargs["initial_state"] = [keras.ops.convert_to_tensor(s) for s in initial_state]
    layer(inputs, **kwargs)  # build
    randomize(layer)
    outputs = layer(inputs, **kwargs)
    outs = [np.asarray(o) for o in outputs] if isinstance(outputs, (list, tuple)) else np.asarray(outputs)
    save(name, "layer", [layer], inputs, outs, mask=mask, initial_state=initial_state)


def chain_case(name: str, chain: list[keras.layers.Layer], inputs: np.ndarray) -> None:
    model = keras.Sequential([keras.Input(shape=inputs.shape[1:], dtype=str(inputs.dtype)), *chain])
    for layer in chain:
        randomize(layer)
    outputs = np.asarray(model(inputs))
    save(name, "chain", chain, inputs, outputs)


def state(batch: int, units: int) -> np.ndarray:
    return RNG.normal(size=(batch, units)).astype("float32")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.npz"):
        old.unlink()
    x = float_inputs()

    # Each layer on its own.
    layer_case("simple_rnn_sequences_state_mask", layers.SimpleRNN(5, return_sequences=True, return_state=True), x, MASK)
    layer_case("simple_rnn_relu_backwards_mask", layers.SimpleRNN(4, activation="relu", go_backwards=True, return_sequences=True), x, MASK)
    layer_case("simple_rnn_initial_state", layers.SimpleRNN(4, return_state=True), x, initial_state=[state(4, 4)])
    layer_case("lstm_sequences_state_mask", layers.LSTM(5, return_sequences=True, return_state=True), x, MASK)
    layer_case("lstm_last_mask", layers.LSTM(5), x, MASK)
    layer_case(
        "lstm_backwards_initial_state_mask",
        layers.LSTM(4, go_backwards=True, return_sequences=True, return_state=True),
        x,
        MASK_LAST,
        [state(4, 4), state(4, 4)],
    )
    layer_case("lstm_no_bias", layers.LSTM(4, use_bias=False, return_sequences=True), x)
    layer_case("lstm_hard_sigmoid_mask", layers.LSTM(4, recurrent_activation="hard_sigmoid", return_sequences=True), x, MASK)
    layer_case("gru_sequences_state_mask", layers.GRU(5, return_sequences=True, return_state=True), x, MASK)
    layer_case("gru_backwards_initial_state", layers.GRU(4, go_backwards=True, return_sequences=True), x, initial_state=[state(4, 4)])
    layer_case("gru_reset_before_sequences_mask", layers.GRU(5, reset_after=False, return_sequences=True, return_state=True), x, MASK)
    layer_case("gru_reset_before_initial_state", layers.GRU(4, reset_after=False), x, initial_state=[state(4, 4)])
    layer_case("gru_no_bias_mask", layers.GRU(4, use_bias=False, return_sequences=True), x, MASK)

    # Bidirectional in every merge mode, with masks.
    for mode in ("concat", "sum", "mul", "ave", None):
        layer_case(f"bidirectional_lstm_{mode}_mask", layers.Bidirectional(layers.LSTM(4, return_sequences=True), merge_mode=mode), x, MASK)
    layer_case("bidirectional_gru_last_mask", layers.Bidirectional(layers.GRU(4)), x, MASK)
    layer_case("bidirectional_gru_state", layers.Bidirectional(layers.GRU(3, return_state=True), merge_mode="sum"), x, MASK)
    layer_case(
        "bidirectional_lstm_initial_state",
        layers.Bidirectional(layers.LSTM(3, return_state=True)),
        x,
        initial_state=[state(4, 3) for _ in range(4)],
    )

    # Stacks and small models: Embedding(mask_zero=True) with pre- and post-padding.
    chain_case(
        "stack_lstm_gru_simple_rnn",
        [layers.LSTM(6, return_sequences=True), layers.GRU(5, return_sequences=True), layers.SimpleRNN(4)],
        float_inputs(features=4),
    )
    for padding, ids in (("pre", PRE_PADDED), ("post", POST_PADDED)):
        chain_case(
            f"embedding_simple_rnn_dense_{padding}",
            [layers.Embedding(12, 6, mask_zero=True), layers.SimpleRNN(5), layers.Dense(1, activation="sigmoid")],
            ids,
        )
        chain_case(
            f"embedding_lstm_stack_dense_{padding}",
            [
                layers.Embedding(12, 6, mask_zero=True),
                layers.LSTM(5, return_sequences=True),
                layers.LSTM(4),
                layers.Dense(1, activation="sigmoid"),
            ],
            ids,
        )
        chain_case(
            f"embedding_bigru_avgpool_dense_{padding}",
            [
                layers.Embedding(12, 6, mask_zero=True),
                layers.Bidirectional(layers.GRU(4, return_sequences=True)),
                layers.GlobalAveragePooling1D(),
                layers.Dense(1, activation="sigmoid"),
            ],
            ids[:3],  # Keras averages a fully masked row as 0 / 0 (NaN); textrnn gives zeros
        )
    # Keras's GlobalMaxPooling1D ignores masks (textrnn's skips masked steps): compare unmasked.
    chain_case(
        "embedding_gru_maxpool_dense",
        [
            layers.Embedding(12, 6),
            layers.GRU(4, return_sequences=True),
            layers.GlobalMaxPooling1D(),
            layers.Dense(1, activation="sigmoid"),
        ],
        PRE_PADDED,
    )
    total = sum(p.stat().st_size for p in OUT.glob("*.npz"))
    print(f"{len(list(OUT.glob('*.npz')))} fixtures, {total / 1024:.1f} KiB in {OUT}")


if __name__ == "__main__":
    main()
