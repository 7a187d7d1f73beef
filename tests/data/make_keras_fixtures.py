"""Write the Keras reference fixtures in tests/data/keras_fixtures/ (run by hand, needs Keras).

The tests do not need Keras: they read the `.npz` files this script writes. To regenerate them, in a
throwaway environment outside the repository:

    python -m venv /tmp/kvenv
    /tmp/kvenv/bin/pip install keras jax jaxlib numpy keras-preprocessing  # or ".[fixtures]"
    KERAS_BACKEND=jax /tmp/kvenv/bin/python tests/data/make_keras_fixtures.py

(`... make_keras_fixtures.py issue11` rewrites only the cases added for issue 11,
`... make_keras_fixtures.py functional` only the functional models, and
`... make_keras_fixtures.py textvec` only its TextVectorization, weighting and metric cases,
which need TensorFlow beside Keras, since Keras's TextVectorization runs on `tf.strings`:
`pip install tensorflow-cpu` in the same environment.)

Each case is a Keras layer called on its own, or a chain of layers (a small model), with random
weights (biases included) and random inputs. A case's `.npz` holds:

- `spec`: a JSON string: `{"kind": "layer" | "chain", "layers": [serialized Keras layers],
  "weight_counts": [arrays per layer], "keras_version": ..., "backend": ..., "call": {...}}`
- `inputs`, and `mask` (boolean) and `initial_state_<i>` when the call used them,
- `weight_<i>`: every layer's `get_weights()`, in order,
- `output_<i>`: the Keras outputs (one, or several for return_state / merge_mode=None).

`extra/` holds the cases that are not one layer's call: BatchNormalization in training (its
moving statistics after the step), Keras 2's `Tokenizer` (from `keras-preprocessing`, since Keras
3 dropped it), optimizer steps (Adagrad, Nadam, AdamW) and the learning rates that
ReduceLROnPlateau and LearningRateScheduler set.

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


def issue11() -> None:
    """Only the cases added for issue 11 (the older fixtures stay byte for byte)."""
    conv_and_normalisation_cases()
    tokenizer_cases()
    optimizer_cases()
    callback_cases()
    functional_cases()
    textvec()


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
    issue11()
    total = sum(p.stat().st_size for p in OUT.glob("*.npz"))
    print(f"{len(list(OUT.glob('*.npz')))} fixtures, {total / 1024:.1f} KiB in {OUT}")


# ----------------------------------------------------------------- issue 11: beyond the tutorial
EXTRA = OUT / "extra"  # not layer cases: read by their own tests


def with_zero_steps(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x[0, 1] = 0.0
    x[1, :3] = 0.0
    x[2, -1] = 0.0
    return x


def batch_norm_case(name: str, layer: keras.layers.Layer, x: np.ndarray, mask=None) -> None:
    """Inference with given (positive-variance) statistics, then one training call: the output and
    the updated moving statistics."""
    layer(x)
    features = x.shape[-1]
    weights = [
        RNG.uniform(0.5, 1.5, features).astype("float32"),
        RNG.uniform(-0.5, 0.5, features).astype("float32"),
        RNG.uniform(-0.5, 0.5, features).astype("float32"),
        RNG.uniform(0.5, 2.0, features).astype("float32"),
    ]
    layer.set_weights(weights)
    inference = np.asarray(layer(x, training=False))
    kwargs = {"mask": mask} if mask is not None else {}
    training = np.asarray(layer(x, training=True, **kwargs))
    arrays = {"inputs": x, "inference": inference, "training": training}
    arrays.update({f"weight_{i}": w for i, w in enumerate(weights)})
    arrays.update({f"after_{i}": np.asarray(w) for i, w in enumerate(layer.get_weights())})
    if mask is not None:
        arrays["mask"] = mask
    arrays["config"] = np.array(json.dumps(keras.saving.serialize_keras_object(layer)))
    np.savez_compressed(EXTRA / f"{name}.npz", **arrays)
    print(f"extra/{name}")


def conv_and_normalisation_cases() -> None:
    global RNG
    RNG = np.random.default_rng(20261102)  # its own stream: `issue11` reruns only these cases
    x = float_inputs(batch=3, steps=9, features=4)
    for padding in ("valid", "same", "causal"):
        layer_case(f"conv1d_{padding}", layers.Conv1D(5, 3, padding=padding, activation="relu"), x)
    layer_case("conv1d_same_strides", layers.Conv1D(4, 4, strides=2, padding="same"), x)
    layer_case(
        "conv1d_causal_dilation",
        layers.Conv1D(3, 2, padding="causal", dilation_rate=2, use_bias=False),
        x,
    )
    layer_case(
        "conv1d_groups_channels_first",
        layers.Conv1D(6, 3, groups=3, data_format="channels_first"),
        float_inputs(3, 6, 7),
    )
    layer_case("conv1d_kernel1_tanh", layers.Conv1D(2, 1, activation="tanh"), x)
    for cls in (layers.MaxPooling1D, layers.AveragePooling1D):
        short = cls.__name__.lower()
        layer_case(f"{short}_default", cls() if cls is layers.MaxPooling1D else cls(2), x)
        layer_case(f"{short}_3_2_same", cls(3, strides=2, padding="same"), x)
        layer_case(f"{short}_4_valid", cls(4, strides=1), x)
        channels_first = cls(2, padding="same", data_format="channels_first")
        layer_case(f"{short}_channels_first_same", channels_first, x)
    layer_case("flatten", layers.Flatten(), x)
    layer_case("flatten_channels_first", layers.Flatten(data_format="channels_first"), x)
    layer_case("activation_softmax", layers.Activation("softmax"), x)
    layer_case("masking_zero", layers.Masking(0.0), with_zero_steps(x))
    layer_case("layer_normalization", layers.LayerNormalization(), x)
    layer_case(
        "layer_normalization_axes_no_center",
        layers.LayerNormalization(axis=[1, 2], center=False, epsilon=1e-5),
        x,
    )
    layer_case("batch_normalization_inference", layers.BatchNormalization(), x)
    # Small models through these layers.
    chain_case(
        "masking_lstm_dense",
        [layers.Masking(0.0), layers.LSTM(4), layers.Dense(1, activation="sigmoid")],
        with_zero_steps(x),
    )
    chain_case(
        "embedding_conv1d_maxpool_globalmax_dense",
        [
            layers.Embedding(12, 6, mask_zero=True),  # Conv1D drops the mask, as in Keras
            layers.Conv1D(5, 3, padding="same", activation="relu"),
            layers.MaxPooling1D(2),
            layers.GlobalMaxPooling1D(),
            layers.Dense(1, activation="sigmoid"),
        ],
        PRE_PADDED,
    )
    chain_case(
        "embedding_conv1d_flatten_layernorm_dense",
        [
            layers.Embedding(12, 4),
            layers.Conv1D(3, 2, strides=2),
            layers.AveragePooling1D(2, padding="same"),
            layers.Flatten(),
            layers.LayerNormalization(),
            layers.Activation("relu"),
            layers.Dense(2, activation="softmax"),
        ],
        POST_PADDED,
    )
    EXTRA.mkdir(parents=True, exist_ok=True)
    batch_norm_case("batch_normalization_3d", layers.BatchNormalization(), x)
    batch_norm_case(
        "batch_normalization_2d_momentum",
        layers.BatchNormalization(momentum=0.9, epsilon=1e-2),
        x[:, 0],
    )
    bn_mask = MASK[:3, :6].repeat(2, axis=1)[:, :9]  # (3, 9)
    batch_norm_case("batch_normalization_masked", layers.BatchNormalization(), x, mask=bn_mask)


TEXTS = [
    "The cat sat on the mat.",
    "The dog sat on the log!",
    "Dogs and cats: friends? Not always...",
    "It's a dog's life, isn't it?\tYes\nno",
    "THE END. the end the end",
]


def tokenizer_cases() -> None:
    from keras_preprocessing.text import Tokenizer, text_to_word_sequence  # Keras 2's own code

    settings = {
        "default": {},
        "num_words_oov": {"num_words": 6, "oov_token": "<OOV>"},
        "num_words": {"num_words": 5},
        "no_lower_no_filters": {"lower": False, "filters": ""},
        "char_level": {"char_level": True, "num_words": 10},
        "split_comma": {"split": ",", "filters": ""},
    }
    probe = ["the cat and the unseen bird", "", "end end end dog", "a mat, a log"]
    cases = {}
    for name, kwargs in settings.items():
        tok = Tokenizer(**kwargs)
        tok.fit_on_texts(TEXTS)
        seqs = tok.texts_to_sequences(probe)
        case = {
            "kwargs": kwargs,
            "word_index": tok.word_index,
            "word_counts": dict(tok.word_counts),
            "word_docs": dict(tok.word_docs),
            "index_docs": {str(k): v for k, v in tok.index_docs.items()},
            "document_count": tok.document_count,
            "sequences": seqs,
            "texts": tok.sequences_to_texts(seqs + [[1, 2, 3, 99, 0]]),
            "matrix": {
                m: tok.texts_to_matrix(probe, mode=m).tolist()
                for m in ("binary", "count", "freq", "tfidf")
            },
            "json": tok.to_json(),
        }
        cases[name] = case
    list_input = Tokenizer(oov_token="?")
    list_input.fit_on_texts([["Alpha", "beta"], ["beta", "gamma", "beta"]])
    cases["token_lists"] = {
        "word_index": list_input.word_index,
        "sequences": list_input.texts_to_sequences([["beta", "delta", "ALPHA"]]),
    }
    cases["text_to_word_sequence"] = [text_to_word_sequence(t) for t in TEXTS]
    payload = {"texts": TEXTS, "probe": probe, "cases": cases}
    (EXTRA / "tokenizer.json").write_text(json.dumps(payload, indent=1, sort_keys=True))
    print("extra/tokenizer.json")


def optimizer_cases() -> None:
    """Five steps of each optimizer on two weights with given gradients."""
    w0 = [RNG.normal(size=(3, 2)).astype("float32"), RNG.normal(size=(4,)).astype("float32")]
    grads = [[RNG.normal(size=w.shape).astype("float32") for w in w0] for _ in range(5)]
    configs = {
        "adagrad_default": keras.optimizers.Adagrad(),
        "adagrad_custom": keras.optimizers.Adagrad(
            learning_rate=0.1, initial_accumulator_value=0.5, epsilon=1e-3
        ),
        "adagrad_weight_decay": keras.optimizers.Adagrad(learning_rate=0.05, weight_decay=0.1),
        "nadam_default": keras.optimizers.Nadam(),
        "nadam_custom": keras.optimizers.Nadam(
            learning_rate=0.05, beta_1=0.8, beta_2=0.99, epsilon=1e-4
        ),
        "adamw_default": keras.optimizers.AdamW(),
        "adamw_custom": keras.optimizers.AdamW(learning_rate=0.05, weight_decay=0.1, amsgrad=True),
        "adamw_clipnorm": keras.optimizers.AdamW(learning_rate=0.02, clipnorm=0.5),
    }
    arrays: dict[str, np.ndarray] = {f"w0_{i}": w for i, w in enumerate(w0)}
    for s, gs in enumerate(grads):
        for i, g in enumerate(gs):
            arrays[f"grad_{s}_{i}"] = g
    specs = {}
    for name, opt in configs.items():
        variables = [keras.Variable(w) for w in w0]
        for s, gs in enumerate(grads):
            tensors = [keras.ops.convert_to_tensor(g) for g in gs]
            opt.apply_gradients(zip(tensors, variables, strict=True))
            for i, v in enumerate(variables):
                arrays[f"{name}_{s}_{i}"] = np.asarray(v)
        specs[name] = {k: v for k, v in opt.get_config().items() if not isinstance(v, dict)}
    spec = {"configs": specs, "steps": len(grads), "keras_version": keras.__version__}
    arrays["spec"] = np.array(json.dumps(spec))
    np.savez_compressed(EXTRA / "optimizers.npz", **arrays)
    print("extra/optimizers.npz")


def callback_cases() -> None:
    """ReduceLROnPlateau's learning rate after each epoch, and LearningRateScheduler's, for given
    monitored values, on a compiled Keras model."""
    values = [1.0, 0.9, 0.95, 0.9, 0.91, 0.92, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9, 0.7, 0.71]
    settings = {
        "default_patience2": {"patience": 2},
        "factor_half_cooldown": {"factor": 0.5, "patience": 1, "cooldown": 2},
        "min_lr": {"factor": 0.2, "patience": 1, "min_lr": 2e-4},
        "min_delta": {"patience": 1, "min_delta": 0.06, "factor": 0.5},
        "max_mode": {"monitor": "val_acc", "mode": "max", "patience": 1, "factor": 0.5},
        "patience0": {"patience": 0, "factor": 0.9},
    }
    out = {"values": values, "reduce_lr_on_plateau": {}, "keras_version": keras.__version__}
    for name, kwargs in settings.items():
        model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
        cb = keras.callbacks.ReduceLROnPlateau(**kwargs)
        cb.set_model(model)
        cb.on_train_begin()
        rates = []
        monitor = kwargs.get("monitor", "val_loss")
        for epoch, v in enumerate(values):
            logs = {monitor: v}
            cb.on_epoch_end(epoch, logs)
            rates.append(float(np.asarray(model.optimizer.learning_rate)))
        out["reduce_lr_on_plateau"][name] = {
            "kwargs": kwargs,
            "rates": rates,
            "logged": logs["learning_rate"],
        }
    model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
    cb = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.5)
    cb.set_model(model)
    rates = []
    for epoch in range(5):
        cb.on_epoch_begin(epoch)
        rates.append(float(np.asarray(model.optimizer.learning_rate)))
    out["learning_rate_scheduler_halving"] = rates
    (EXTRA / "callbacks.json").write_text(json.dumps(out, indent=1))
    print("extra/callbacks.json")


def functional_cases() -> None:
    """Functional models (`keras.Input`, layers called on tensors, `keras.Model`): each one's
    weights, inputs, outputs, parameter count, weight shapes in `get_weights()` order, config and
    the text of `summary()`; plus the summary of an unbuilt Sequential."""
    rng = np.random.default_rng(20261202)  # its own stream: reruns leave the other cases alone
    import io
    from contextlib import redirect_stdout

    def summary_of(model: keras.Model) -> str:
        buf = io.StringIO()
        model.summary(print_fn=lambda line, **_: buf.write(line + "\n"), line_length=None)
        return buf.getvalue()

    def record(name: str, model: keras.Model, inputs: list[np.ndarray]) -> None:
        shapes = [w.shape for w in model.get_weights()]
        model.set_weights([rng.uniform(-0.5, 0.5, s).astype("float32") for s in shapes])
        outputs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
        outs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        arrays: dict[str, np.ndarray] = {}
        for i, x in enumerate(inputs):
            arrays[f"input_{i}"] = x
        for i, w in enumerate(model.get_weights()):
            arrays[f"weight_{i}"] = np.asarray(w, dtype="float32")
        for i, o in enumerate(outs):
            arrays[f"output_{i}"] = np.asarray(o, dtype="float32")
        with redirect_stdout(io.StringIO()):
            text = summary_of(model)
        spec = {
            "keras_version": keras.__version__,
            "count_params": model.count_params(),
            "layers": [[layer.name, type(layer).__name__] for layer in model.layers],
            "weight_shapes": [list(w.shape) for w in model.get_weights()],
            "output_shapes": [list(o.shape) for o in model.outputs],
            "summary": text,
            "config": json.loads(json.dumps(model.get_config(), default=str)),
        }
        arrays["spec"] = np.array(json.dumps(spec))
        np.savez_compressed(EXTRA / f"functional_{name}.npz", **arrays)
        print(f"extra/functional_{name}.npz: {model.count_params()} params")

    keras.backend.clear_session()
    # keras-io's bidirectional LSTM on IMDB, small: the same graph, smaller sizes.
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(50, 8)(inputs)
    x = layers.Bidirectional(layers.LSTM(6, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(5))(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    ids = rng.integers(1, 50, size=(4, 7)).astype("int32")
    record("bidirectional_lstm", keras.Model(inputs, outputs), [ids])

    keras.backend.clear_session()
    # A shared layer: one Dense applied to two branches, then added, with a masked Embedding.
    inputs = keras.Input(shape=(7,), dtype="int32", name="tokens")
    e = layers.Embedding(20, 6, mask_zero=True)(inputs)
    a = layers.LSTM(5)(e)
    b = layers.GRU(5)(e)
    shared = layers.Dense(4, activation="tanh")
    merged = layers.Add()([shared(a), shared(b)])
    outputs = layers.Dense(3, activation="softmax")(merged)
    lengths = rng.integers(1, 8, size=(4, 1))
    padded = np.where(np.arange(7)[None, :] < lengths, rng.integers(1, 20, (4, 7)), 0)
    shared_model = keras.Model(inputs, outputs, name="shared")
    record("shared_dense_add", shared_model, [padded.astype("int32")])

    keras.backend.clear_session()
    # Two inputs: token ids and float features, concatenated.
    tokens = keras.Input(shape=(6,), dtype="int32", name="tokens")
    feats = keras.Input(shape=(3,), name="features")
    t = layers.GlobalAveragePooling1D()(layers.Embedding(15, 4)(tokens))
    x = layers.Concatenate()([t, layers.Dense(2)(feats)])
    x = layers.Dense(5, activation="relu")(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    x_ids = rng.integers(0, 15, size=(4, 6)).astype("int32")
    x_feats = rng.normal(size=(4, 3)).astype("float32")
    record("two_inputs_concatenate", keras.Model([tokens, feats], outputs), [x_ids, x_feats])

    keras.backend.clear_session()
    # Merge layers on one sequence input: Multiply, Average, Concatenate on the time axis.
    inputs = keras.Input(shape=(5, 3))
    p = layers.Dense(4)(inputs)
    q = layers.Dense(4, activation="tanh")(inputs)
    m = layers.Multiply()([p, q])
    v = layers.Average()([p, q, m])
    c = layers.Concatenate(axis=1)([m, v])
    outputs = layers.GlobalMaxPooling1D()(c)
    record("merges", keras.Model(inputs, outputs), [rng.normal(size=(4, 5, 3)).astype("float32")])

    keras.backend.clear_session()
    # Masks through merge layers: post-padded ids, two masked sequence branches merged by
    # Concatenate and Add, then an LSTM that must skip the padded steps.
    inputs = keras.Input(shape=(6,), dtype="int32")
    e = layers.Embedding(12, 4, mask_zero=True)(inputs)
    a = layers.LSTM(3, return_sequences=True)(e)
    b = layers.GRU(3, return_sequences=True)(e)
    x = layers.Concatenate()([layers.Concatenate()([a, b]), layers.Add()([a, b])])
    outputs = layers.Dense(2)(layers.LSTM(3)(x))
    record("masked_merges", keras.Model(inputs, outputs), [POST_PADDED[:3, :6]])

    keras.backend.clear_session()
    unbuilt = keras.Sequential([layers.Dense(4), layers.Dense(1)])
    with redirect_stdout(io.StringIO()):
        text = summary_of(unbuilt)
    (EXTRA / "summary_unbuilt.txt").write_text(text)
    print("extra/summary_unbuilt.txt")


# ----------------------------------------------------------------------------- issue 11, part 2
TV_CORPUS = [
    "The cat sat on the mat.",
    "The dog sat on the log!",
    "Dogs and cats: friends? Not always...",
    "It's a dog's life, isn't it?\tYes\nno",
    "THE END. the end the end",
    "Café CAFÉ café, Élan élan",
    "b a c b a c d",
]
TV_PROBE = ["the cat and the unseen bird", "", "end end END, dog!", "café élan zebra a b"]


def _lower_no_vowels(texts):
    """A callable `standardize` (Keras passes a NumPy array of str on its JAX backend)."""
    out = np.char.lower(texts)
    for vowel in "aeiou":
        out = np.char.replace(out, vowel, "")
    return out


def text_vectorization_cases() -> None:
    """Vocabularies and outputs of Keras's TextVectorization adapted on `TV_CORPUS`, called on
    `TV_PROBE`, for every output mode, standardize, split and ngrams setting."""
    settings = {
        "default": {},
        "sequence_length_5": {"output_sequence_length": 5},
        "sequence_length_2": {"output_sequence_length": 2},
        "max_tokens_6": {"max_tokens": 6},
        "lower": {"standardize": "lower"},
        "strip_punctuation": {"standardize": "strip_punctuation"},
        "no_standardize": {"standardize": None},
        "callable_standardize": {"standardize": "_lower_no_vowels"},
        "character": {"split": "character", "max_tokens": 12},
        "no_split": {"split": None},
        "ngrams_2": {"ngrams": 2},
        "ngrams_1_3": {"ngrams": (1, 3), "max_tokens": 20},
        "multi_hot": {"output_mode": "multi_hot"},
        "multi_hot_max_tokens": {"output_mode": "multi_hot", "max_tokens": 5},
        "multi_hot_pad": {"output_mode": "multi_hot", "max_tokens": 40, "pad_to_max_tokens": True},
        "count": {"output_mode": "count"},
        "count_ngrams_2": {"output_mode": "count", "ngrams": 2, "max_tokens": 15},
        "tf_idf": {"output_mode": "tf_idf"},
        "tf_idf_max_tokens": {"output_mode": "tf_idf", "max_tokens": 8},
        "tf_idf_pad": {"output_mode": "tf_idf", "max_tokens": 45, "pad_to_max_tokens": True},
        "tf_idf_ngrams_2": {"output_mode": "tf_idf", "ngrams": 2},
        "one_hot_no_split": {"output_mode": "one_hot", "split": None, "max_tokens": 6},
        "binary_alias": {"output_mode": "binary", "max_tokens": 7},
    }
    cases = {}
    for name, kwargs in settings.items():
        call = dict(kwargs)
        if call.get("standardize") == "_lower_no_vowels":
            call["standardize"] = _lower_no_vowels
        layer = layers.TextVectorization(**call)
        layer.adapt(TV_CORPUS)
        cases[name] = {
            "kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
            "vocabulary": [str(t) for t in layer.get_vocabulary()],
            "vocabulary_size": int(layer.vocabulary_size()),
            "output": np.asarray(layer(np.array(TV_PROBE))).tolist(),
        }
    given = layers.TextVectorization(vocabulary=["end", "the", "dog"], output_sequence_length=4)
    cases["given_vocabulary"] = {
        "kwargs": {"vocabulary": ["end", "the", "dog"], "output_sequence_length": 4},
        "vocabulary": [str(t) for t in given.get_vocabulary()],
        "vocabulary_size": int(given.vocabulary_size()),
        "output": np.asarray(given(np.array(TV_PROBE))).tolist(),
    }
    tfidf = layers.TextVectorization(output_mode="tf_idf")
    tfidf.set_vocabulary(["end", "the", "dog"], idf_weights=[0.5, 1.0, 2.0])
    cases["set_vocabulary_tf_idf"] = {
        "kwargs": {"output_mode": "tf_idf"},
        "set_vocabulary": {"vocabulary": ["end", "the", "dog"], "idf_weights": [0.5, 1.0, 2.0]},
        "vocabulary": [str(t) for t in tfidf.get_vocabulary()],
        "vocabulary_size": int(tfidf.vocabulary_size()),
        "output": np.asarray(tfidf(np.array(TV_PROBE))).tolist(),
    }
    payload = {"corpus": TV_CORPUS, "probe": TV_PROBE, "cases": cases,
               "keras_version": keras.__version__}
    (EXTRA / "text_vectorization.json").write_text(json.dumps(payload, indent=1))
    print("extra/text_vectorization.json")


def weighting_cases() -> None:
    """Losses of one SGD step with sample and class weights, the weights after it, and
    `evaluate` with sample weights over several batches."""
    rng = np.random.default_rng(20261203)
    x = rng.normal(size=(8, 3)).astype("float32")
    y_bin = np.array([0, 1, 1, 0, 1, 0, 0, 1], dtype="float32")
    y_cat = np.eye(3, dtype="float32")[[0, 2, 1, 1, 0, 2, 2, 0]]
    w = rng.uniform(0.1, 3.0, size=(8,)).astype("float32")
    kernel_bin = rng.normal(size=(3, 1)).astype("float32")
    kernel_cat = rng.normal(size=(3, 3)).astype("float32")
    bias_bin, bias_cat = np.array([0.1], "float32"), np.array([0.1, -0.2, 0.05], "float32")
    settings = {
        "binary_sample_weight": ("binary", {"sample_weight": w}),
        "binary_class_weight": ("binary", {"class_weight": {0: 0.5, 1: 2.5}}),
        "binary_unweighted": ("binary", {}),
        "categorical_class_weight": ("categorical", {"class_weight": {0: 1.0, 1: 3.0}}),
        "categorical_sample_weight": ("categorical", {"sample_weight": w}),
    }
    out = {"x": x.tolist(), "y_binary": y_bin.tolist(), "y_categorical": y_cat.tolist(),
           "sample_weight": w.tolist(), "kernel_binary": kernel_bin.tolist(),
           "kernel_categorical": kernel_cat.tolist(), "bias_binary": bias_bin.tolist(),
           "bias_categorical": bias_cat.tolist(), "cases": {}, "keras_version": keras.__version__}
    for name, (kind, kwargs) in settings.items():
        units, act = (1, "sigmoid") if kind == "binary" else (3, "softmax")
        loss = "binary_crossentropy" if kind == "binary" else "categorical_crossentropy"
        y = y_bin if kind == "binary" else y_cat
        model = keras.Sequential([keras.Input((3,)), layers.Dense(units, activation=act)])
        model.set_weights([kernel_bin, bias_bin] if kind == "binary" else [kernel_cat, bias_cat])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=loss,
                      metrics=["accuracy"])
        hist = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0, **kwargs)
        after = [wt.tolist() for wt in model.get_weights()]
        ev = model.evaluate(x, y, batch_size=3, sample_weight=w, verbose=0, return_dict=True)
        ev_plain = model.evaluate(x, y, batch_size=3, verbose=0, return_dict=True)
        out["cases"][name] = {
            "kind": kind,
            "kwargs": {k: (v.tolist() if isinstance(v, np.ndarray) else
                           {str(c): cw for c, cw in v.items()}) for k, v in kwargs.items()},
            "history": {k: [float(v) for v in vs] for k, vs in hist.history.items()},
            "weights_after": after,
            "evaluate_weighted": {k: float(v) for k, v in ev.items()},
            "evaluate": {k: float(v) for k, v in ev_plain.items()},
        }
    (EXTRA / "weighting.json").write_text(json.dumps(out, indent=1))
    print("extra/weighting.json")


def metric_cases() -> None:
    """Stateful metrics after `update_state` on three batches of given predictions, and the
    History names and values of a model trained with metrics by name and object."""
    rng = np.random.default_rng(20261204)
    y_true = [rng.integers(0, 2, size=(n, 1)).astype("float32") for n in (7, 5, 9)]
    y_pred = [rng.uniform(size=(n, 1)).astype("float32") for n in (7, 5, 9)]
    y_pred[1][0, 0] = 0.5  # exactly on the threshold
    labels = [np.eye(3, dtype="float32")[rng.integers(0, 3, size=n)] for n in (6, 4)]
    probs = [rng.dirichlet(np.ones(3), size=n).astype("float32") for n in (6, 4)]
    binary = {
        "auc": keras.metrics.AUC(),
        "auc_pr": keras.metrics.AUC(curve="PR"),
        "auc_5_minoring": keras.metrics.AUC(num_thresholds=5, summation_method="minoring"),
        "auc_majoring": keras.metrics.AUC(num_thresholds=20, summation_method="majoring"),
        "auc_from_logits": keras.metrics.AUC(from_logits=True),
        "precision": keras.metrics.Precision(),
        "precision_thresholds": keras.metrics.Precision(thresholds=[0.3, 0.7]),
        "recall": keras.metrics.Recall(),
        "recall_threshold": keras.metrics.Recall(thresholds=0.25),
        "binary_accuracy": keras.metrics.BinaryAccuracy(),
        "binary_accuracy_0_3": keras.metrics.BinaryAccuracy(threshold=0.3),
    }
    multi = {
        "f1_none": keras.metrics.F1Score(),
        "f1_micro": keras.metrics.F1Score(average="micro"),
        "f1_macro": keras.metrics.F1Score(average="macro"),
        "f1_weighted_threshold": keras.metrics.F1Score(average="weighted", threshold=0.4),
        "auc_multi": keras.metrics.AUC(),
        "precision_multi": keras.metrics.Precision(),
    }
    results = {}
    for name, metric in binary.items():
        for t, p in zip(y_true, y_pred, strict=True):
            metric.update_state(t, p)
        results[name] = np.asarray(metric.result()).tolist()
    for name, metric in multi.items():
        for t, p in zip(labels, probs, strict=True):
            metric.update_state(t, p)
        results[name] = np.asarray(metric.result()).tolist()
    f1_binary = keras.metrics.F1Score(threshold=0.5)
    for t, p in zip(y_true, y_pred, strict=True):
        f1_binary.update_state(t, p)
    results["f1_binary_threshold"] = np.asarray(f1_binary.result()).tolist()

    # A model trained with metrics by name and object, on logits with from_logits=True.
    x = rng.normal(size=(20, 3)).astype("float32")
    y = (x[:, :1] + 0.3 * rng.normal(size=(20, 1)) > 0).astype("float32")
    kernel = rng.normal(size=(3, 1)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    model.set_weights([kernel, np.array([0.2], "float32")])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.05),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=["accuracy", "auc", keras.metrics.Precision(), keras.metrics.Recall(name="rec")],
    )
    hist = model.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0,
                     validation_data=(x[:8], y[:8]))
    payload = {
        "y_true": [t.tolist() for t in y_true], "y_pred": [p.tolist() for p in y_pred],
        "labels": [t.tolist() for t in labels], "probs": [p.tolist() for p in probs],
        "results": results,
        "fit": {"x": x.tolist(), "y": y.tolist(), "kernel": kernel.tolist(), "bias": [0.2],
                "history": {k: [float(v) for v in vs] for k, vs in hist.history.items()}},
        "keras_version": keras.__version__,
    }
    (EXTRA / "metrics.json").write_text(json.dumps(payload, indent=1))
    print("extra/metrics.json")


def text_dataset_cases() -> None:
    """Which files `text_dataset_from_directory` puts in each subset, for a seed (the sets:
    `tf.data` then reshuffles them in an order of its own)."""
    import tempfile

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for c, name in enumerate(["neg", "pos", "unsure"]):
            (Path(tmp) / name / "deep").mkdir(parents=True)
            for i in range(7 + c):
                sub = "deep/" if i % 3 == 0 else ""
                (Path(tmp) / name / f"{sub}{i:02d}.txt").write_text(f"{name} text {i}")
            (Path(tmp) / name / "skip.md").write_text("not a text file")
        for seed in (7, 1337):
            train, val = keras.utils.text_dataset_from_directory(
                tmp, label_mode="int", batch_size=4, seed=seed, validation_split=0.3,
                subset="both", verbose=False,
            )
            pairs = {}
            for part, ds in (("training", train), ("validation", val)):
                items = []
                for x, y in ds:
                    pairs_ = zip(x.numpy(), y.numpy(), strict=True)
                    items += [[t.decode(), int(v)] for t, v in pairs_]
                pairs[part] = sorted(items)
            pairs["class_names"] = train.class_names
            out[str(seed)] = pairs
    out["keras_version"] = keras.__version__
    (EXTRA / "text_dataset.json").write_text(json.dumps(out, indent=1))
    print("extra/text_dataset.json")


def textvec() -> None:
    """Only the TextVectorization, weighting and metric cases (need TensorFlow installed)."""
    EXTRA.mkdir(parents=True, exist_ok=True)
    text_dataset_cases()
    text_vectorization_cases()
    weighting_cases()
    metric_cases()


if __name__ == "__main__":
    import sys

    modes = {"issue11": issue11, "functional": functional_cases, "textvec": textvec}
    modes[sys.argv[1]]() if sys.argv[1:] else main()
