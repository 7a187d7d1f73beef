"""Sequence utilities with Keras's semantics: `pad_sequences`."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np

from textrnn import checks

_SIDES = ("pre", "post")


def pad_sequences(
    sequences: Sequence[Any],
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Pads sequences to the same length (Keras's `pad_sequences`).

    Turns a list of `num_samples` sequences (lists of integers) into a 2D NumPy array of shape
    `(num_samples, num_timesteps)`, where `num_timesteps` is `maxlen` if given, else the length of
    the longest sequence. Shorter sequences are padded with `value`; longer ones are truncated.
    Padding and truncation happen at the start (`"pre"`, the default) or the end (`"post"`).
    Sequences whose items are themselves arrays (e.g. vectors) give a `(num_samples, num_timesteps,
    *item_shape)` array, as in Keras.

    Args:
        sequences: list of sequences (each a list or array of integers). Empty sequences are
            allowed and come out as all padding.
        maxlen: `None` (default) or a positive integer, the length of every output row.
        dtype: type of the output, `"int32"` by default. Use `object` for variable-length
            strings.
        padding: `"pre"` (default) or `"post"`: pad before or after each sequence.
        truncating: `"pre"` (default) or `"post"`: remove values from the start or the end of
            sequences longer than `maxlen`.
        value: padding value, `0.0` by default (cast to `dtype`).

    Returns:
        NumPy array of shape `(len(sequences), maxlen)`.

    Raises:
        ValueError: for a bad `padding`, `truncating` or `maxlen`, a non-iterable sequence,
            items of inconsistent shapes, or a string `value` with a non-string `dtype`.

    Example:
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2)
        array([[0, 1],
               [2, 3],
               [5, 6]], dtype=int32)
    """
    for name, side in (("padding", padding), ("truncating", truncating)):
        if side not in _SIDES:
            raise checks.invalid(name, "'pre' or 'post'", side)
    maxlen = checks.optional_positive_int("maxlen", maxlen)
    if not hasattr(sequences, "__len__"):
        raise ValueError(
            f"`sequences` must be a list of sequences, got {type(sequences).__name__}. "
            "Pass a list, e.g. `list(sequences)`."
        )
    is_str_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_str_dtype:
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: {type(value).__name__}. "
            "Set `dtype=object` to pad variable-length strings."
        )

    lengths = np.empty(len(sequences), dtype=np.int64)
    sample_shape: tuple[int, ...] = ()
    found_first = False
    for i, seq in enumerate(sequences):
        try:
            lengths[i] = len(seq)
        except TypeError as e:
            raise ValueError(
                f"`sequences` must be a list of iterables, found a non-iterable at position {i}: {seq!r}."
            ) from e
        if not found_first and lengths[i]:
            # The item shape of the first non-empty sequence; the others must match it.
            sample_shape = np.asarray(seq).shape[1:]
            found_first = True

    num_samples = len(sequences)
    if maxlen is None:
        maxlen = int(lengths.max()) if num_samples else 0
    maxlen = int(maxlen)
    try:
        x = np.full((num_samples, maxlen, *sample_shape), value, dtype=dtype)
        if num_samples == 0 or maxlen == 0:
            return x
        if sample_shape == () and dtype is not object and not is_str_dtype:
            flat = _flatten(sequences, int(lengths.sum()), x.dtype)
            if flat is not None:
                _scatter(x, flat, lengths, maxlen, padding, truncating)
                return x
        return _pad_slow(x, sequences, maxlen, dtype, padding, truncating, sample_shape)
    except OverflowError as e:  # e.g. 2**31 into int32
        raise ValueError(
            f"A value in `sequences` or `value` does not fit `dtype` {dtype!r} ({e}). "
            "Pass a wider `dtype`, e.g. `dtype='int64'`."
        ) from None


def _flatten(sequences: Sequence[Any], total: int, dtype: np.dtype) -> np.ndarray | None:
    """All items end to end as one array, or None when an item is not a scalar."""
    try:
        return np.fromiter(chain.from_iterable(sequences), dtype=dtype, count=total)
    except (TypeError, ValueError):
        return None


def _scatter(
    x: np.ndarray, flat: np.ndarray, lengths: np.ndarray, maxlen: int, padding: str, truncating: str
) -> None:
    """Copy the kept part of every sequence into its row of `x` in a few vectorised steps."""
    kept = np.minimum(lengths, maxlen)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    src_start = starts + (lengths - kept) if truncating == "pre" else starts
    dst_start = maxlen - kept if padding == "pre" else np.zeros_like(kept)
    total = int(kept.sum())
    # Position of every copied item inside its own kept slice.
    within = np.arange(total) - np.repeat(np.cumsum(kept) - kept, kept)
    rows = np.repeat(np.arange(len(lengths)), kept)
    x[rows, np.repeat(dst_start, kept) + within] = flat[np.repeat(src_start, kept) + within]


def _pad_slow(
    x: np.ndarray,
    sequences: Sequence[Any],
    maxlen: int,
    dtype: Any,
    padding: str,
    truncating: str,
    sample_shape: tuple[int, ...],
) -> np.ndarray:
    """Row-by-row copy for items that are arrays, strings or objects."""
    for i, seq in enumerate(sequences):
        if not len(seq):
            continue
        trunc = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError(
                f"Shape of sample {trunc.shape[1:]} of sequence at position {i} is different from the "
                f"expected shape {sample_shape} (taken from the first non-empty sequence)."
            )
        if padding == "post":
            x[i, : len(trunc)] = trunc
        else:
            x[i, -len(trunc) :] = trunc
    return x


def pad_flat(
    ids: np.ndarray,
    offsets: np.ndarray,
    maxlen: int,
    padding: str = "pre",
    truncating: str = "pre",
    dtype: Any = "int32",
) -> np.ndarray:
    """`pad_sequences` of sequences laid end to end, as `Vocabulary.encode_flat` returns them.

    Args:
        ids: `(total,)` integers, sequence `i` being `ids[offsets[i] : offsets[i + 1]]`.
        offsets: `(samples + 1,)` non-decreasing integers from 0 to `total`.
        maxlen: a positive integer, the length of every output row.
        padding, truncating: `"pre"` (default) or `"post"`, as in `pad_sequences`.
        dtype: type of the output, `"int32"` by default.

    Returns:
        `(samples, maxlen)` array, padded with zeros: `pad_sequences` of the same sequences.

    Raises:
        ValueError: for a bad `padding`, `truncating` or `maxlen`, or offsets that do not fit `ids`.

    Example:
        >>> pad_flat(np.array([1, 2, 3, 4, 5, 6]), np.array([0, 1, 3, 6]), maxlen=2)
        array([[0, 1],
               [2, 3],
               [5, 6]], dtype=int32)
    """
    for name, side in (("padding", padding), ("truncating", truncating)):
        if side not in _SIDES:
            raise checks.invalid(name, "'pre' or 'post'", side)
    maxlen = int(checks.positive_int("maxlen", maxlen))
    offsets = np.asarray(offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    if (
        offsets.ndim != 1
        or not len(offsets)
        or offsets[0] != 0
        or offsets[-1] != len(ids)
        or (lengths < 0).any()
    ):
        raise ValueError(
            f"`offsets` must rise from 0 to len(ids) = {len(ids)}, one more entry than there are "
            "sequences; pass what `Vocabulary.encode_flat` returns."
        )
    x = np.zeros((len(lengths), maxlen), dtype=dtype)
    if len(lengths):
        _scatter(x, np.asarray(ids), lengths, maxlen, padding, truncating)
    return x
