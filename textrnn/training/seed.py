"""One seed for every random number generator textrnn draws from."""

from __future__ import annotations

import random

import numpy as np
import torch

from textrnn import checks


def set_random_seed(seed: int) -> None:
    """Seed Python's `random`, NumPy and PyTorch (CPU and every CUDA device) at once.

    Weight initialisers, dropout and the per-epoch shuffling in `fit` all draw from these
    generators, so two CPU runs started after the same `set_random_seed(seed)` give identical
    weights and histories (as `keras.utils.set_random_seed` does).

    Args:
        seed: a non-negative integer.

    Raises:
        ValueError: if `seed` is not a non-negative integer.

    Example:
        >>> set_random_seed(1337)
    """
    seed = checks.non_negative_int("seed", seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
