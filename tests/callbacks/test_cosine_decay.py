import math

import numpy as np
import pytest

from textrnn.callbacks import Callback, CosineDecay
from textrnn.layers import Dense
from textrnn.models import Sequential


def test_schedule_values():
    cb = CosineDecay(0.1, warmup_fraction=0.1, alpha=0.0)
    total = 100
    assert cb.learning_rate_at(0, total) == pytest.approx(0.01)
    assert cb.learning_rate_at(9, total) == pytest.approx(0.1)
    assert cb.learning_rate_at(10, total) == pytest.approx(0.1)
    assert cb.learning_rate_at(55, total) == pytest.approx(0.05)
    assert cb.learning_rate_at(100, total) == pytest.approx(0.0, abs=1e-12)
    floor = CosineDecay(0.1, alpha=0.2)
    assert floor.learning_rate_at(0, 10) == pytest.approx(0.1)
    assert floor.learning_rate_at(10, 10) == pytest.approx(0.02)


class _Record(Callback):
    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(self.model.optimizer.learning_rate)


def _model():
    model = Sequential([Dense(1, activation="sigmoid")])
    model.build((None, 3))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def test_fit_follows_the_curve_and_a_resume_continues_it():
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    full, rec = CosineDecay(0.01, warmup_fraction=0.25), _Record()
    _model().fit(x, y, batch_size=10, epochs=3, verbose=0, shuffle=False, callbacks=[full, rec])
    expected = [full.learning_rate_at(i, 12) for i in range(12)]
    assert rec.rates == pytest.approx(expected)
    assert rec.rates[2] == pytest.approx(0.01) and rec.rates[-1] < 0.001
    resumed, rec2 = CosineDecay(0.01, warmup_fraction=0.25), _Record()
    _model().fit(x, y, batch_size=10, epochs=3, initial_epoch=2, verbose=0, callbacks=[resumed, rec2])
    assert rec2.rates == pytest.approx(expected[8:])


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"initial_learning_rate": 0}, "`initial_learning_rate`"),
        ({"initial_learning_rate": math.nan}, "`initial_learning_rate`"),
        ({"initial_learning_rate": 0.1, "warmup_fraction": 1.5}, "`warmup_fraction`"),
        ({"initial_learning_rate": 0.1, "alpha": -0.1}, "`alpha`"),
    ],
)
def test_invalid_arguments_raise(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        CosineDecay(**kwargs)
