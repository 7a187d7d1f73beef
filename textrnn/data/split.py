"""A stratified, seeded hold-out split for datasets that come without a test file."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from textrnn import checks


def stratified_split(
    labels: Sequence[str], test_split: float, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a train/test split that keeps each class's share in both parts.

    Each class contributes `round(test_split × its count)` examples to the test part, at least one
    and at most all but one when it has two or more examples (a class with a single example stays
    in training). Within each part, indices are in their original order.

    Args:
        labels: the label of every example.
        test_split: fraction held out for testing, in (0, 1).
        seed: seed of the shuffle inside each class; the same seed gives the same split.

    Returns:
        `(train_indices, test_indices)`, sorted int64 arrays that together cover every index once.

    Raises:
        ValueError: if `test_split` is not in (0, 1).

    Example:
        >>> train, test = stratified_split(["a"] * 8 + ["b"] * 2, 0.5, seed=0)
        >>> len(train), len(test)
        (5, 5)
    """
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float)) or not 0.0 < test_split < 1.0:
        raise checks.invalid("test_split", "a fraction in (0, 1)", test_split)
    rng = np.random.default_rng(seed)
    labels_arr = np.asarray(list(labels), dtype=object)
    test_parts: list[np.ndarray] = []
    for label in sorted(set(labels_arr.tolist())):
        idx = np.flatnonzero(labels_arr == label)
        if len(idx) < 2:
            continue
        n_test = min(max(int(round(test_split * len(idx))), 1), len(idx) - 1)
        test_parts.append(rng.permutation(idx)[:n_test])
    test = np.sort(np.concatenate(test_parts)) if test_parts else np.empty(0, dtype=np.int64)
    mask = np.ones(len(labels_arr), dtype=bool)
    mask[test] = False
    return np.flatnonzero(mask).astype(np.int64), test.astype(np.int64)
