import csv

import numpy as np
import pytest

from textrnn.callbacks import Callback, CSVLogger, EarlyStopping, History, ModelCheckpoint
from textrnn.layers import Dense, Embedding, GlobalAveragePooling1D
from textrnn.models import Sequential, load_model
from textrnn.optimizers import RMSprop

X = np.random.default_rng(0).integers(1, 10, size=(32, 5))
Y = (X[:, 0] > 5).astype(int)


def model():
    m = Sequential([Embedding(10, 4), GlobalAveragePooling1D(), Dense(1, activation="sigmoid")])
    m.compile(optimizer=RMSprop(learning_rate=0.05), loss="binary_crossentropy", metrics=["acc"])
    return m


class Scripted(Callback):
    """Puts scripted values into the epoch logs (runs before the callbacks after it) and records weights."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values, self.weights = key, values, []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.weights.append(self.model.get_weights())


def _fit(callbacks, epochs, **kwargs):
    m = model()
    h = m.fit(X, Y, epochs=epochs, batch_size=8, callbacks=callbacks, verbose=0, **kwargs)
    return m, h


def test_hook_order():
    calls = []

    class Recorder(Callback):
        def __getattribute__(self, name):
            if name.startswith("on_"):
                calls.append(name)
            return object.__getattribute__(self, name)

        def on_train_batch_end(self, batch, logs=None):
            pass

    _fit([Recorder()], 1, validation_split=0.25)
    assert calls[0] == "on_train_begin" and calls[1] == "on_epoch_begin"
    assert calls.count("on_train_batch_end") == 3
    assert calls[-4:] == ["on_test_begin", "on_test_end", "on_epoch_end", "on_train_end"]


def test_history_is_the_model_history():
    m, h = _fit([], 2)
    assert isinstance(h, History) and m.history is h
    assert h.epoch == [0, 1] and set(h.history) == {"acc", "loss"}


def test_early_stopping_stops_after_patience():
    s = Scripted("score", [3.0, 2.0, 2.5, 2.6, 1.0, 0.5])
    stop = EarlyStopping(monitor="score", mode="min", patience=1)
    _, h = _fit([s, stop], 6)
    assert h.epoch == [0, 1, 2]
    assert stop.stopped_epoch == 2 and stop.best == 2.0


def test_early_stopping_restores_best_weights():
    s = Scripted("score", [3.0, 2.0, 2.5, 2.6, 2.7])
    stop = EarlyStopping(monitor="score", mode="min", patience=2, restore_best_weights=True)
    m, h = _fit([s, stop], 5)
    assert h.epoch == [0, 1, 2, 3]
    for got, best in zip(m.get_weights(), s.weights[1], strict=True):
        np.testing.assert_array_equal(got, best)
    assert not all(np.array_equal(a, b) for a, b in zip(s.weights[1], s.weights[3], strict=True))


def test_restore_best_weights_without_stopping_early():
    s = Scripted("score", [3.0, 1.0, 2.0])
    stop = EarlyStopping(monitor="score", mode="min", patience=10, restore_best_weights=True)
    m, h = _fit([s, stop], 3)
    assert h.epoch == [0, 1, 2] and stop.stopped_epoch == 0
    for got, best in zip(m.get_weights(), s.weights[1], strict=True):
        np.testing.assert_array_equal(got, best)


def test_early_stopping_min_delta_baseline_and_start_epoch():
    s = Scripted("score", [3.0, 2.95, 2.9, 2.85, 2.8])
    stop = EarlyStopping(monitor="score", mode="min", min_delta=0.1, patience=1)
    _, h = _fit([s, stop], 5)
    assert h.epoch == [0, 1]  # 0.05 steps are not improvements
    s = Scripted("score", [3.0, 3.0, 3.0, 3.0])
    _, h = _fit([s, EarlyStopping(monitor="score", mode="min", patience=2)], 4)
    assert h.epoch == [0, 1, 2]
    s = Scripted("score", [3.0, 3.0, 3.0, 3.0])
    _, h = _fit([s, EarlyStopping(monitor="score", mode="min", patience=2, baseline=1.0)], 4)
    assert h.epoch == [0, 1]  # never beats the baseline, so patience is not reset
    s = Scripted("score", [3.0, 4.0, 5.0, 6.0, 7.0])
    _, h = _fit([s, EarlyStopping(monitor="score", mode="min", patience=0, start_from_epoch=3)], 5)
    assert h.epoch == [0, 1, 2, 3, 4]


def test_early_stopping_auto_mode():
    s = Scripted("val_acc", [0.5, 0.6, 0.55, 0.5])
    stop = EarlyStopping(monitor="val_acc", patience=1)
    _, h = _fit([s, stop], 4)
    assert h.epoch == [0, 1, 2] and stop.best == 0.6
    with pytest.raises(ValueError, match="mode='max'"):
        _fit([Scripted("score", [1.0]), EarlyStopping(monitor="score")], 1)


def test_early_stopping_warns_on_missing_key():
    with pytest.warns(UserWarning, match="`val_loss`, which is not in the logs"):
        _fit([EarlyStopping()], 1)


def test_early_stopping_argument_checks():
    with pytest.raises(ValueError, match="`patience`"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="`mode`"):
        EarlyStopping(mode="up")


def test_model_checkpoint_save_best_only(tmp_path):
    s = Scripted("val_loss", [1.0, 0.5, 0.7, 0.4])
    ckpt = ModelCheckpoint(str(tmp_path / "ckpt-{epoch:02d}"), save_best_only=True)
    m, _ = _fit([s, ckpt], 4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-01", "ckpt-02", "ckpt-04"]
    for got, expected in zip(load_model(tmp_path / "ckpt-02").get_weights(), s.weights[1], strict=True):
        np.testing.assert_array_equal(got, expected)


def test_model_checkpoint_every_epoch_weights_only_and_log_formatting(tmp_path):
    s = Scripted("val_loss", [1.0, 0.5])
    ckpt = ModelCheckpoint(
        str(tmp_path / "w-{epoch}-{val_loss:.2f}.weights.safetensors"), save_weights_only=True
    )
    m, _ = _fit([s, ckpt], 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "w-1-1.00.weights.safetensors",
        "w-2-0.50.weights.safetensors",
    ]
    twin = model()
    twin.load_weights(tmp_path / "w-2-0.50.weights.safetensors")
    for got, expected in zip(twin.get_weights(), m.get_weights(), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_model_checkpoint_overwrites_one_path_with_the_best(tmp_path):
    s = Scripted("val_acc", [0.5, 0.7, 0.6])
    ckpt = ModelCheckpoint(tmp_path / "best", monitor="val_acc", save_best_only=True)
    _fit([s, ckpt], 3)
    assert ckpt.best == 0.7
    for got, expected in zip(load_model(tmp_path / "best").get_weights(), s.weights[1], strict=True):
        np.testing.assert_array_equal(got, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]


def test_csv_logger(tmp_path):
    path = tmp_path / "log.csv"
    _, h = _fit([CSVLogger(path)], 2, validation_split=0.25)
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["epoch", "acc", "loss", "val_acc", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    assert float(rows[2][2]) == pytest.approx(h.history["loss"][1])
    _fit([CSVLogger(path, append=True)], 1, validation_split=0.25)
    rows = list(csv.reader(path.open()))
    assert len(rows) == 4 and rows[0][0] == "epoch" and rows[3][0] == "0"
    _fit([CSVLogger(path, separator=";")], 1)
    assert path.read_text().splitlines()[0] == "epoch;acc;loss"
    assert [p.name for p in tmp_path.iterdir()] == ["log.csv"]


def test_csv_logger_is_complete_after_each_epoch(tmp_path):
    path = tmp_path / "log.csv"
    seen = []

    class Peek(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(path.read_text() if path.exists() else "")

    _fit([CSVLogger(path), Peek()], 2)
    assert seen[0].count("\n") == 2 and seen[1].count("\n") == 3
