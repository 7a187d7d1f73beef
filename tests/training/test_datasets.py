"""Datasets of batches as `fit` / `evaluate` / `predict` input and `validation_data`:
generators, DataLoaders, lists of tuples, `text_dataset_from_directory`, and Keras's
`steps_per_epoch`, `validation_steps`, `validation_freq`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import textrnn as keras
from textrnn.callbacks import Callback

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "keras" / "extra"

RNG = np.random.default_rng(5)
X = RNG.integers(1, 20, size=(40, 6)).astype("int64")
Y = (X[:, 0] > 10).astype("float32")


def model():
    keras.utils.set_random_seed(1)
    m = keras.Sequential(
        [
            keras.layers.Embedding(20, 4),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    m.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    return m


def batches_of(x, y, size=8):
    return [(x[i : i + size], y[i : i + size]) for i in range(0, len(x), size)]


def test_a_list_of_batches_trains_as_the_same_arrays_unshuffled():
    expected = model().fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    got = model().fit(batches_of(X, Y), epochs=2, verbose=0).history
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-6)


def test_a_dataloader_and_a_generator_train_evaluate_and_predict():
    loader = DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(Y)), batch_size=8)
    m = model()
    history = m.fit(loader, epochs=2, verbose=0, validation_data=loader)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert m.evaluate(loader, verbose=0) == pytest.approx(m.evaluate(X, Y, verbose=0))
    gen = (xb for xb, _ in batches_of(X, Y))
    np.testing.assert_allclose(m.predict(gen, verbose=0), m.predict(X, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(m.predict(loader, verbose=0), m.predict(X, verbose=0), rtol=1e-6)


def test_steps_per_epoch_keeps_one_iterator_and_a_spent_generator_stops_with_keras_warning():
    seen = []

    class Count(Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batch)

    def gen():
        yield from batches_of(X, Y)  # 5 batches in all

    m = model()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = m.fit(gen(), epochs=4, steps_per_epoch=2, verbose=0, callbacks=[Count()])
    # Keras: epochs 1 and 2 take 2 batches each, epoch 3 gets the last one, the data runs out
    # (a warning) and that epoch ends on its one batch; epoch 4 gets none, which ends training
    assert seen == [0, 1, 0, 1, 0]
    assert len(history.history["loss"]) == 3
    m = model()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = m.fit(gen(), epochs=3, verbose=0)  # a generator is spent after one epoch
    assert len(history.history["loss"]) == 1


def test_steps_per_epoch_and_validation_steps_on_arrays():
    seen = []

    class Count(Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batch)

        def on_test_batch_begin(self, batch, logs=None):
            seen.append(f"v{batch}")

    model().fit(
        X,
        Y,
        batch_size=8,
        epochs=1,
        steps_per_epoch=3,
        verbose=0,
        validation_data=(X, Y),
        validation_steps=2,
        callbacks=[Count()],
    )
    assert seen == [0, 1, 2, "v0", "v1"]


@pytest.mark.parametrize(("freq", "epochs_with_val"), [(1, [0, 1, 2, 3]), (2, [1, 3]), ([1, 4], [0, 3])])
def test_validation_freq_as_keras(freq, epochs_with_val):
    logs_seen = {}

    class Keep(Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs_seen[epoch] = sorted(logs)

    model().fit(X, Y, epochs=4, verbose=0, validation_split=0.25, validation_freq=freq, callbacks=[Keep()])
    assert [e for e, keys in logs_seen.items() if "val_loss" in keys] == epochs_with_val


def test_dataset_argument_errors():
    m = model()
    with pytest.raises(ValueError, match="`y` must not be given"):
        m.fit(batches_of(X, Y), Y, verbose=0)
    with pytest.raises(ValueError, match="`validation_split` is only supported"):
        m.fit(batches_of(X, Y), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match=r"tuple `\(x, y\)`"):
        m.fit(iter([X[:4]]), verbose=0)
    with pytest.raises(ValueError, match="Expected `validation_freq` to be a list or int"):
        m.fit(X, Y, validation_freq="2", verbose=0)
    with pytest.raises(ValueError, match="same number of samples"):
        m.fit([(X[:4], Y[:3])], verbose=0)


# ---------------------------------------------------------------- text_dataset_from_directory
def make_tree(root):
    for c, name in enumerate(["neg", "pos", "unsure"]):
        (root / name / "deep").mkdir(parents=True)
        for i in range(7 + c):
            sub = "deep/" if i % 3 == 0 else ""
            (root / name / f"{sub}{i:02d}.txt").write_text(f"{name} text {i}")
        (root / name / "skip.md").write_text("not a text file")


@pytest.mark.parametrize("seed", ["7", "1337"])
def test_text_dataset_splits_the_files_as_keras(tmp_path, seed):
    expected = json.loads((FIXTURE / "text_dataset.json").read_text(encoding="utf-8"))[seed]
    make_tree(tmp_path)
    train, val = keras.utils.text_dataset_from_directory(
        tmp_path,
        batch_size=4,
        seed=int(seed),
        validation_split=0.3,
        subset="both",
        verbose=False,
    )
    assert train.class_names == expected["class_names"]
    for part, ds in (("training", train), ("validation", val)):
        items = sorted([str(t), int(v)] for x, y in ds for t, v in zip(x, y, strict=True))
        assert items == expected[part]
        for x, y in ds:
            assert x.dtype.kind == "U" and y.dtype == np.int32 and len(x) <= 4


def test_text_dataset_label_modes_and_errors(tmp_path):
    make_tree(tmp_path)
    ds = keras.utils.text_dataset_from_directory(
        tmp_path, label_mode="categorical", shuffle=False, batch_size=5, verbose=False
    )
    x, y = next(iter(ds))
    # Keras's order: the class folder's files, then its subfolders'
    assert y.shape == (5, 3) and y.dtype == np.float32 and x[0] == "neg text 1"
    binary = keras.utils.text_dataset_from_directory(
        tmp_path, class_names=["pos", "neg"], label_mode="binary", shuffle=False, verbose=False
    )
    x, y = next(iter(binary))
    assert y.shape[1] == 1 and x[0].startswith("pos") and y[0, 0] == 0.0
    texts_only = keras.utils.text_dataset_from_directory(
        tmp_path, labels=None, verbose=False, max_length=3, shuffle=False
    )
    assert next(iter(texts_only))[0] == "neg"
    with pytest.raises(ValueError, match="exactly 2 class_names"):
        keras.utils.text_dataset_from_directory(tmp_path, label_mode="binary", verbose=False)
    with pytest.raises(ValueError, match="must provide a `seed`"):
        keras.utils.text_dataset_from_directory(
            tmp_path, validation_split=0.2, subset="training", verbose=False
        )
    with pytest.raises(ValueError, match="`label_mode` argument must be one of"):
        keras.utils.text_dataset_from_directory(tmp_path, label_mode="sparse", verbose=False)


def test_a_text_vectorization_model_trains_on_a_text_dataset(tmp_path):
    for name, word in (("neg", "awful"), ("pos", "great")):
        (tmp_path / name).mkdir()
        for i in range(12):
            (tmp_path / name / f"{i}.txt").write_text(f"a {word} film number {i}")
    train = keras.utils.text_dataset_from_directory(
        tmp_path, batch_size=6, seed=3, label_mode="binary", verbose=False
    )
    vec = keras.layers.TextVectorization(max_tokens=30, output_mode="multi_hot")
    vec.adapt(train.map(lambda x, y: x))
    keras.utils.set_random_seed(0)
    m = keras.Sequential([vec, keras.layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer=keras.optimizers.Adam(0.1), loss="binary_crossentropy", metrics=["accuracy", "auc"])
    history = m.fit(train, epochs=8, verbose=0, validation_data=train)
    assert history.history["val_accuracy"][-1] == 1.0 and history.history["val_auc"][-1] == 1.0
    assert m.predict(["a great film"], verbose=0)[0, 0] > 0.5


def test_array_likes_are_data_not_streams():
    from textrnn.training.batching import is_batch_stream

    class Series:  # what pandas' Series looks like to the check
        def __init__(self, values):
            self.values = values

        def __array__(self, dtype=None, copy=None):
            return np.asarray(self.values, dtype=dtype)

        def __iter__(self):
            return iter(self.values)

    assert not is_batch_stream(Series(["a", "b"]))
    assert not is_batch_stream([[1, 2], [3, 4]]) and not is_batch_stream(["a b", "c"])
    assert is_batch_stream([(X[:2], Y[:2])]) and is_batch_stream(iter([]))


def test_f1_per_class_is_a_list_in_history_and_the_progress_line(capsys):
    keras.utils.set_random_seed(0)
    x = RNG.normal(size=(30, 4)).astype("float32")
    y = keras.utils.to_categorical(RNG.integers(0, 3, size=30), 3)
    m = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
    m.compile(loss="categorical_crossentropy", metrics=[keras.metrics.F1Score()])
    history = m.fit(x, y, epochs=1, verbose=2)
    assert len(history.history["f1_score"][0]) == 3
    assert "f1_score: [" in capsys.readouterr().out


def test_a_spent_validation_generator_is_explained_and_validation_steps_keep_reading():
    def gen():
        while True:
            yield from batches_of(X, Y)

    history = model().fit(X, Y, epochs=3, verbose=0, validation_data=gen(), validation_steps=2)
    assert len(history.history["val_loss"]) == 3
    with pytest.raises(ValueError, match="A generator is spent after one pass"):
        model().fit(X, Y, epochs=2, verbose=0, validation_data=iter(batches_of(X, Y)))
    assert model().evaluate(gen(), steps=5, verbose=0) == pytest.approx(model().evaluate(X, Y, verbose=0))


def test_class_weight_applies_to_dataset_batches_as_to_arrays():
    weights = {0: 0.3, 1: 2.0}
    expected = (
        model().fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0, class_weight=weights).history
    )
    got = model().fit(batches_of(X, Y), epochs=2, verbose=0, class_weight=weights).history
    np.testing.assert_allclose(got["loss"], expected["loss"], rtol=1e-6)
    plain = model().fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    assert plain["loss"] != pytest.approx(expected["loss"])
