import numpy as np
import pytest


def token_five_data(n=400, steps=12, vocab=20, seed=0, pad=False):
    """Label 1 iff token 5 occurs; optionally pre-padded to random lengths (0 is padding)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, vocab, size=(n, steps))
    x[x == 5] = 6
    y = rng.integers(0, 2, size=n)
    pos = rng.integers(0, steps, size=n)
    rows = np.arange(n)[y == 1]
    x[rows, pos[y == 1]] = 5
    if pad:
        lengths = rng.integers(2, steps + 1, size=n)
        for i, length in enumerate(lengths):
            tokens = [t for t in x[i] if t != 5] if y[i] == 0 else list(x[i])
            tokens = tokens[-length:]
            if y[i] == 1 and 5 not in tokens:
                tokens[-1] = 5
            x[i] = 0
            x[i, steps - len(tokens) :] = tokens
    return x.astype(np.int64), y.astype(np.int64)


@pytest.fixture
def token_five():
    return token_five_data
