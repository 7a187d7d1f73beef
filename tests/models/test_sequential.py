import json
import math

import numpy as np
import pytest
import torch

from textrnn.callbacks import Callback
from textrnn.errors import NotCompiledError
from textrnn.layers import (
    LSTM,
    Dense,
    Dropout,
    Embedding,
    GlobalAveragePooling1D,
    Layer,
    SimpleRNN,
)
from textrnn.models import Sequential
from textrnn.optimizers import SGD, RMSprop
from textrnn.utils import set_random_seed


def pooled_model(vocab=20, dim=8, mask_zero=False, dropout=0.0):
    layers = [Embedding(vocab, dim, mask_zero=mask_zero), GlobalAveragePooling1D()]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(1, activation="sigmoid"))
    return Sequential(layers)


def compiled(model, lr=0.01, metrics=("acc",)):
    model.compile(optimizer=RMSprop(learning_rate=lr), loss="binary_crossentropy", metrics=list(metrics))
    return model


# ---------------------------------------------------------------- structure
def test_add_pop_and_layers():
    model = Sequential(name="m")
    e, d = Embedding(10, 4), Dense(1)
    model.add(e)
    model.add(d)
    assert model.layers == [e, d]
    assert model.pop() is d
    assert model.layers == [e]


def test_add_rejects_non_layers_and_duplicate_names():
    model = Sequential()
    with pytest.raises(TypeError, match="Only textrnn layers"):
        model.add(torch.nn.Linear(2, 2))
    model.add(Dense(2, name="same"))
    with pytest.raises(ValueError, match="unique names.*`same`"):
        model.add(Dense(2, name="same"))
    with pytest.raises(TypeError, match="`layers`"):
        Sequential(Dense(1))


def test_embedding_model_builds_without_data():
    model = Sequential([Embedding(10000, 32), SimpleRNN(32), Dense(1, activation="sigmoid")])
    assert model.count_params() == 320000 + 2080 + 33
    assert model.layer_output_shapes == [(None, None, 32), (None, 32), (None, 1)]


def test_feature_model_needs_build_or_data():
    model = Sequential([Dense(4), Dense(1)])
    # Keras 3 prints an unbuilt model's summary (`?`, `0 (unbuilt)`); what needs sizes raises.
    assert "0 (unbuilt)" in model.summary_text()
    with pytest.raises(ValueError, match=r"model.build\(\(None, num_features\)\)"):
        model.count_params()
    model.build((None, 3))
    assert model.count_params() == (3 + 1) * 4 + (4 + 1) * 1
    assert model.output_shape == (None, 1)


def test_call_returns_probabilities():
    model = pooled_model()
    out = model(np.array([[1, 2, 3]]))
    assert out.shape == (1, 1) and 0 < out.item() < 1


def test_get_set_weights_across_layers():
    a = Sequential([Embedding(10, 4), LSTM(3), Dense(1)])
    b = Sequential([Embedding(10, 4), LSTM(3), Dense(1)])
    b.set_weights(a.get_weights())
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert [w.shape for w in a.get_weights()] == [(10, 4), (4, 12), (3, 12), (12,), (3, 1), (1,)]
    with pytest.raises(ValueError, match="expects 6 weight arrays"):
        b.set_weights(a.get_weights()[:-1])


def test_config_json_round_trip_gives_same_predictions():
    model = Sequential(
        [
            Embedding(30, 8, mask_zero=True),
            LSTM(4, return_sequences=True),
            SimpleRNN(3),
            Dense(1, activation="sigmoid"),
        ],
        name="round",
    )
    config = json.loads(json.dumps(model.get_config()))
    twin = Sequential.from_config(config)
    assert twin.name == "round"
    assert [type(layer).__name__ for layer in twin.layers] == ["Embedding", "LSTM", "SimpleRNN", "Dense"]
    assert twin.get_config() == model.get_config()
    twin.set_weights(model.get_weights())
    x = np.array([[0, 0, 3, 4, 5], [1, 2, 3, 4, 5]])
    np.testing.assert_allclose(twin.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_from_config_unknown_layer():
    with pytest.raises(ValueError, match="Unknown layer class 'Conv9D'"):
        Sequential.from_config({"name": "x", "layers": [{"class_name": "Conv9D", "config": {}}]})


# ---------------------------------------------------------------- compile
def test_compile_errors():
    model = pooled_model()
    with pytest.raises(ValueError, match="`optimizer`"):
        model.compile(optimizer="adamax", loss="binary_crossentropy")
    with pytest.raises(TypeError, match=r"expected a list such as \['acc'\]"):
        model.compile(loss="binary_crossentropy", metrics="acc")
    with pytest.raises(ValueError, match="unique"):
        model.compile(loss="binary_crossentropy", metrics=["acc", "acc"])


def test_fit_and_evaluate_before_compile():
    model = pooled_model()
    x, y = np.ones((4, 3), dtype=int), np.zeros(4)
    with pytest.raises(NotCompiledError, match=r"call `compile\(\)` before `fit\(\)`"):
        model.fit(x, y)
    with pytest.raises(NotCompiledError, match="evaluate"):
        model.evaluate(x, y)
    assert model.predict(x, verbose=0).shape == (4, 1)  # predict needs no compile, as in Keras


# ---------------------------------------------------------------- fit
def test_history_keys_follow_metric_names(token_five):
    x, y = token_five(n=64)
    for name in ("acc", "accuracy"):
        model = compiled(pooled_model(), metrics=[name])
        h = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        assert list(h.history) == [name, "loss"]
        assert h.epoch == [0, 1] and all(len(v) == 2 for v in h.history.values())
        h = model.fit(x, y, epochs=1, batch_size=16, validation_split=0.25, verbose=0)
        assert list(h.history) == [name, "loss", f"val_{name}", "val_loss"]
    assert model.history is h
    assert h.params == {"verbose": 0, "epochs": 1, "steps": 3}


def test_validation_split_holds_out_the_last_rows(token_five):
    x, y = token_five(n=100)
    model = compiled(pooled_model())
    h = model.fit(x, y, epochs=1, batch_size=8, validation_split=0.2, verbose=0)
    assert h.params["steps"] == math.ceil(80 / 8)
    last = model.evaluate(x[80:], y[80:], verbose=0, return_dict=True)
    first = model.evaluate(x[:20], y[:20], verbose=0, return_dict=True)
    assert h.history["val_loss"][0] == pytest.approx(last["loss"], rel=1e-6)
    assert h.history["val_acc"][0] == pytest.approx(last["acc"], rel=1e-6)
    assert h.history["val_loss"][0] != pytest.approx(first["loss"], rel=1e-6)


def test_validation_split_rounds_down_like_keras():
    x, y = np.ones((10, 3), dtype=int), np.zeros(10)
    model = compiled(pooled_model())
    h = model.fit(x, y, batch_size=1, validation_split=0.25, verbose=0)
    assert h.params["steps"] == 7  # floor(10 * 0.75)
    with pytest.raises(ValueError, match="not sufficient to split"):
        model.fit(x[:1], y[:1], validation_split=0.5, verbose=0)


def test_validation_data(token_five):
    x, y = token_five(n=80)
    model = compiled(pooled_model())
    h = model.fit(x[:60], y[:60], epochs=1, validation_data=(x[60:], y[60:]), verbose=0)
    assert h.history["val_loss"][0] == pytest.approx(model.evaluate(x[60:], y[60:], verbose=0)[0], rel=1e-6)


def test_epoch_loss_is_sample_weighted_over_uneven_batches():
    # Batches of 4, 4 and 2 rows whose losses differ a lot; weights barely move (lr 1e-12).
    x = np.array([[1, 1]] * 8 + [[2, 2]] * 2)
    y = np.zeros(10, dtype=int)  # rows 1-8 badly wrong (loss ~8), rows 9-10 right (loss ~0)
    model = pooled_model(vocab=3)
    model.compile(optimizer=SGD(learning_rate=1e-12), loss="binary_crossentropy", metrics=["acc"])
    model.build()
    emb = model.layers[0].embeddings
    with torch.no_grad():
        emb[1] = 1.0
        emb[2] = -1.0
        model.layers[-1].kernel.fill_(1.0)
    per_sample_mean = model.evaluate(x, y, verbose=0)[0]
    h = model.fit(x, y, batch_size=4, shuffle=False, verbose=0)
    assert h.history["loss"][0] == pytest.approx(per_sample_mean, rel=1e-5)
    p = model.predict(x, verbose=0)[:, 0].astype(np.float64)
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert per_sample_mean == pytest.approx(bce.mean(), rel=1e-5)
    batch_means = [bce[:4].mean(), bce[4:8].mean(), bce[8:].mean()]
    assert h.history["loss"][0] != pytest.approx(np.mean(batch_means), rel=1e-3)


def test_rnn_learns_whether_token_5_occurs(token_five):
    set_random_seed(1)
    x, y = token_five(n=448, steps=8, seed=1)
    model = Sequential([Embedding(20, 8), LSTM(8), Dense(1, activation="sigmoid")])
    model.compile(optimizer=RMSprop(learning_rate=0.02), loss="binary_crossentropy", metrics=["acc"])
    h = model.fit(x[:384], y[:384], epochs=5, batch_size=32, validation_data=(x[384:], y[384:]), verbose=0)
    assert h.history["acc"][-1] >= 0.95
    assert h.history["val_acc"][-1] >= 0.95
    assert h.history["loss"][-1] < h.history["loss"][0]


def test_same_seed_same_history(token_five):
    x, y = token_five(n=96)

    def run():
        set_random_seed(42)
        model = compiled(pooled_model(dropout=0.3))
        return model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0).history

    assert run() == run()


def test_initial_epoch_and_stop_training(token_five):
    x, y = token_five(n=64)
    model = compiled(pooled_model())
    h = model.fit(x, y, epochs=4, initial_epoch=2, verbose=0)
    assert h.epoch == [2, 3]

    class StopAfterTwoBatches(Callback):
        def __init__(self):
            super().__init__()
            self.batches = 0

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1
            assert set(logs) == {"acc", "loss"}
            if batch == 1:
                self.model.stop_training = True

    cb = StopAfterTwoBatches()
    h = model.fit(x, y, epochs=5, batch_size=8, callbacks=[cb], verbose=0)
    assert cb.batches == 2 and h.epoch == [0]


def test_sparse_categorical_model(token_five):
    x, y = token_five(n=64)
    model = Sequential([Embedding(20, 8), GlobalAveragePooling1D(), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=1, verbose=0)
    assert set(h.history) == {"accuracy", "loss"}
    assert model.predict(x[:2], verbose=0).sum(axis=1) == pytest.approx([1.0, 1.0])


def test_progress_output(token_five, capsys):
    x, y = token_five(n=64)
    model = compiled(pooled_model())
    model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "3/3 ━━━━━━━━━━━━━━━━━━━━" in out
    assert " - acc: " in out and " - val_loss: " in out
    model.fit(x, y, epochs=1, verbose=2)
    assert capsys.readouterr().out.splitlines()[-1].startswith("2/2 - ")
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_mixed_precision_trains(token_five):
    x, y = token_five(n=64)
    model = pooled_model()
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"], mixed_precision=True)
    h = model.fit(x, y, epochs=1, verbose=0)
    assert math.isfinite(h.history["loss"][0])
    assert model.predict(x[:2], verbose=0).dtype == np.float32


def test_model_moves_to_its_device():
    model = pooled_model()
    assert model.device.type in ("cpu", "cuda")
    model.to("cpu")
    assert model.device == torch.device("cpu")


# ---------------------------------------------------------------- evaluate / predict
def test_evaluate_matches_an_independent_computation(token_five):
    x, y = token_five(n=50)
    model = compiled(pooled_model())
    p = model.predict(x, verbose=0)[:, 0].astype(np.float64)
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
    acc = ((p > 0.5) == y).mean()
    loss, got_acc = model.evaluate(x, y, batch_size=7, verbose=0)
    assert loss == pytest.approx(bce, rel=1e-5)
    assert got_acc == pytest.approx(acc)
    assert model.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(
        {"loss": bce, "acc": acc}, rel=1e-5
    )
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    assert model.evaluate(x, y, verbose=0) == pytest.approx(bce, rel=1e-5)


def test_predict_matches_call(token_five):
    x, _ = token_five(n=30)
    model = pooled_model()
    with torch.no_grad():
        direct = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x, batch_size=8, verbose=0), direct, rtol=1e-6)


# ---------------------------------------------------------------- bucketing
class WidthSpy(Layer):
    supports_masking = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.widths = []

    def call(self, inputs, mask=None, training=False, **kwargs):
        self.widths.append(int(inputs.shape[1]))
        return inputs


def test_bucketing_gives_the_same_predictions_for_a_masked_model(token_five):
    set_random_seed(0)
    x, _ = token_five(n=120, steps=16, pad=True)
    model = Sequential(
        [
            Embedding(20, 8, mask_zero=True),
            LSTM(6, return_sequences=True),
            GlobalAveragePooling1D(),
            Dense(1, activation="sigmoid"),
        ]
    )
    plain = model.predict(x, batch_size=16, verbose=0)
    bucketed = model.predict(x, batch_size=16, verbose=0, bucket_by_length=True)
    np.testing.assert_allclose(bucketed, plain, rtol=1e-5, atol=1e-6)


def test_bucketing_trims_padding_columns_in_fit(token_five):
    x, y = token_five(n=128, steps=16, pad=True)
    spy = WidthSpy()
    model = Sequential([Embedding(20, 8, mask_zero=True), spy, SimpleRNN(4), Dense(1, activation="sigmoid")])
    compiled(model)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, bucket_by_length=True)
    assert len(spy.widths) == 8
    assert min(spy.widths) < 16 and max(spy.widths) <= 16
    spy.widths.clear()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert spy.widths == [16] * 8


def test_bucketing_needs_masking(token_five):
    x, y = token_five(n=32)
    model = compiled(pooled_model(mask_zero=False))
    with pytest.raises(ValueError, match=r"mask_zero=True"):
        model.fit(x, y, verbose=0, bucket_by_length=True)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "x,y,kwargs,error,message",
    [
        (np.arange(10), np.zeros(10), {}, ValueError, "pad_sequences"),
        ([[1, 2, 3], [1, 2]], [0, 1], {}, ValueError, "pad_sequences"),
        (np.ones((4, 3), dtype=int), np.zeros(5), {}, ValueError, "len(x)=4 and len(y)=5"),
        (np.ones((4, 3), dtype=int), np.array([0, 1, 2, 1]), {}, ValueError, "labels in [0, 1]"),
        (np.full((4, 3), 25), np.zeros(4), {}, ValueError, "token index 25"),
        (np.full((4, 3), -1), np.zeros(4), {}, ValueError, "negative token index -1"),
        (np.full((4, 3), 1.5), np.zeros(4), {}, ValueError, "integer token ids"),
        (np.ones((0, 3), dtype=int), np.zeros(0), {}, ValueError, "`x` is empty"),
        (np.ones((4, 3), dtype=int), None, {}, ValueError, "Received no labels"),
        (
            np.ones((4, 3), dtype=int),
            np.zeros(4),
            {"validation_split": 1.0},
            ValueError,
            "`validation_split`",
        ),
        (
            np.ones((4, 3), dtype=int),
            np.zeros(4),
            {"validation_split": -0.1},
            ValueError,
            "expected a float in [0, 1)",
        ),
        (np.ones((4, 3), dtype=int), np.zeros(4), {"batch_size": 0}, ValueError, "`batch_size`"),
        (np.ones((4, 3), dtype=int), np.zeros(4), {"epochs": -1}, ValueError, "`epochs`"),
        (
            np.ones((4, 3), dtype=int),
            np.zeros(4),
            {"validation_data": (np.ones((2, 3), dtype=int),)},
            ValueError,
            "(x_val, y_val)",
        ),
        (
            np.ones((4, 3), dtype=int),
            np.zeros(4),
            {"validation_data": (np.ones((2, 3), dtype=int), np.zeros(3))},
            ValueError,
            "len(validation_data[0])=2",
        ),
        (np.ones((4, 3), dtype=int), np.zeros(4), {"callbacks": [object()]}, TypeError, "`callbacks`"),
        (np.array(["a good film", "bad"]), np.zeros(2), {}, TypeError, "holds strings"),
        (np.ones((4, 3), dtype=int), np.array(["pos", "neg", "pos", "neg"]), {}, TypeError, "numeric labels"),
    ],
)
def test_bad_input(x, y, kwargs, error, message):
    model = compiled(pooled_model(vocab=20))
    with pytest.raises(error) as err:
        model.fit(x, y, verbose=0, **kwargs)
    assert message in str(err.value)


def test_token_index_error_names_the_fix():
    model = compiled(pooled_model(vocab=20))
    with pytest.raises(ValueError) as err:
        model.fit(np.array([[3, 19], [4, 40]]), np.zeros(2), verbose=0)
    text = str(err.value)
    assert (
        "token index 40" in text
        and "input_dim=20" in text
        and "num_words=20" in text
        and "at least 41" in text
    )


def test_unsigned_and_float_token_ids_are_accepted():
    model = compiled(pooled_model(vocab=20))
    for x in (np.ones((4, 3), dtype=np.uint16), np.ones((4, 3), dtype=np.float32)):
        h = model.fit(x, np.zeros(4), verbose=0)
        assert math.isfinite(h.history["loss"][0])


def test_output_with_time_axis_is_rejected():
    model = Sequential(
        [Embedding(20, 4), SimpleRNN(3, return_sequences=True), Dense(1, activation="sigmoid")]
    )
    compiled(model)
    with pytest.raises(ValueError, match="return_sequences=False"):
        model.fit(np.ones((4, 3), dtype=int), np.zeros(4), verbose=0)


def test_feature_model_fits_floats():
    set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    model = Sequential([Dense(1, activation="sigmoid")])
    compiled(model, lr=0.05)
    h = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert h.history["acc"][-1] > 0.8
    with pytest.raises(ValueError, match="built for input shape"):
        model.predict(np.ones((2, 4), dtype=np.float32), verbose=0)
