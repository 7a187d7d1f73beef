import random

import numpy as np
import pytest
import torch

from textrnn.layers import LSTM, Dense, Dropout, Embedding
from textrnn.models import Sequential
from textrnn.training import set_random_seed


def test_seeds_python_numpy_and_torch():
    set_random_seed(7)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    set_random_seed(7)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a


@pytest.mark.parametrize("bad", [-1, 1.5, "1", True])
def test_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="`seed`"):
        set_random_seed(bad)


def test_two_runs_after_the_same_seed_are_identical():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 30, size=(60, 7))
    y = rng.integers(0, 2, size=60)

    def run():
        set_random_seed(123)
        model = Sequential([Embedding(30, 6), LSTM(4), Dropout(0.3), Dense(1, activation="sigmoid")])
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
        h = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.2, verbose=0)
        return h.history, model.get_weights()

    (h1, w1), (h2, w2) = run(), run()
    assert h1 == h2
    for a, b in zip(w1, w2, strict=True):
        np.testing.assert_array_equal(a, b)
