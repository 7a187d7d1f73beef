"""ReduceLROnPlateau and LearningRateScheduler: the learning rates Keras 3's callbacks set for
the same monitored values (tests/fixtures/make_keras_fixtures.py, `callback_cases`), and in `fit`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import textrnn as keras
from textrnn.callbacks import LearningRateScheduler, ReduceLROnPlateau
from textrnn.layers import Dense
from textrnn.models import Sequential
from textrnn.training.optimizers import SGD

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "keras" / "extra" / "callbacks.json"
DATA = json.loads(FIXTURE.read_text())


def compiled(lr: float = 0.01) -> Sequential:
    model = Sequential([Dense(1)])
    model.build((None, 2))
    model.compile(optimizer=SGD(learning_rate=lr), loss="mse")
    return model


@pytest.mark.parametrize("name", sorted(DATA["reduce_lr_on_plateau"]))
def test_reduce_lr_on_plateau_matches_keras(name):
    case = DATA["reduce_lr_on_plateau"][name]
    model = compiled()
    cb = ReduceLROnPlateau(**case["kwargs"])
    cb.set_model(model)
    cb.on_train_begin()
    monitor = case["kwargs"].get("monitor", "val_loss")
    rates = []
    for epoch, value in enumerate(DATA["values"]):
        logs = {monitor: value}
        cb.on_epoch_end(epoch, logs)
        rates.append(model.optimizer.learning_rate)
    # Keras holds the rate in float32; textrnn in a Python float
    np.testing.assert_allclose(rates, case["rates"], rtol=1e-5)
    assert logs["learning_rate"] == pytest.approx(case["logged"], rel=1e-5)
    assert len(set(rates)) > 1  # every case reduces at least once


def test_learning_rate_scheduler_matches_keras():
    model = compiled()
    cb = LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.5)
    cb.set_model(model)
    rates = []
    for epoch in range(5):
        cb.on_epoch_begin(epoch)
        rates.append(model.optimizer.learning_rate)
    np.testing.assert_allclose(rates, DATA["learning_rate_scheduler_halving"], rtol=1e-6)


def test_one_argument_schedule_and_logs():
    model = compiled()
    cb = LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    cb.set_model(model)
    cb.on_epoch_begin(3)
    logs: dict = {}
    cb.on_epoch_end(3, logs)
    assert model.optimizer.learning_rate == pytest.approx(0.025) and logs["learning_rate"] == pytest.approx(
        0.025
    )


def test_in_fit():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0]], dtype="float32")).astype("float32")
    model = compiled(0.05)
    sched = LearningRateScheduler(lambda epoch, lr: 0.05 * 0.5**epoch)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[sched])
    assert model.optimizer.learning_rate == pytest.approx(0.0125)
    model = compiled(0.05)
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)  # never improves
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[plateau])
    assert model.optimizer.learning_rate == pytest.approx(0.05 * 0.5**2)  # epochs 2 and 3


def test_errors_and_warnings():
    with pytest.raises(ValueError, match="factor >= 1.0"):
        ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ValueError, match="argument `mode`"):
        ReduceLROnPlateau(mode="lowest")
    with pytest.raises(ValueError, match="argument `patience`"):
        ReduceLROnPlateau(patience=-1)
    model = compiled()
    cb = ReduceLROnPlateau()
    cb.set_model(model)
    with pytest.warns(UserWarning, match="`val_loss` which is not available"):
        cb.on_epoch_end(0, {"loss": 1.0})
    bad = LearningRateScheduler(lambda epoch, lr: "fast")
    bad.set_model(model)
    with pytest.raises(ValueError, match="should be a float"):
        bad.on_epoch_begin(0)
    with pytest.raises(TypeError, match="argument `schedule`"):
        LearningRateScheduler(0.1)  # type: ignore[arg-type]
    assert keras.callbacks.ReduceLROnPlateau is ReduceLROnPlateau
