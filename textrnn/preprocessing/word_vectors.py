"""Word vectors learned from unlabelled text: PPMI + truncated SVD (Levy, Goldberg & Dagan, 2015).

A fast, dependency-free alternative to word2vec for initialising an `Embedding`: count how often
words co-occur within a window, reweight the counts by positive pointwise mutual information
(PPMI) and keep the top singular directions. On IMDB's 75,000 training and unlabelled reviews
(about 20 million tokens) it takes about a minute on two CPU cores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from textrnn import checks


def _flatten(sequences: Sequence[Sequence[int]], gap: int) -> np.ndarray:
    """All sequences end to end, each followed by `gap` zeros so windows never span two texts."""
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    flat = np.zeros(int(lengths.sum()) + gap * len(sequences), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths + gap)[:-1]])
    for start, seq in zip(starts.tolist(), sequences, strict=True):
        flat[start : start + len(seq)] = seq
    return flat


def cooccurrence_counts(
    sequences: Sequence[Sequence[int]], input_dim: int, *, window: int = 5, min_index: int = 1
) -> torch.Tensor:
    """Symmetric co-occurrence counts of word indices, each pair weighted 1/distance.

    Args:
        sequences: lists of word indices (as `load_data` or `Vocabulary.encode` give them).
        input_dim: one past the largest index to count; larger indices are ignored.
        window: how many words either side count as context, default 5.
        min_index: indices below it (padding, start and out-of-vocabulary marks) are ignored,
            default 1.

    Returns:
        A coalesced sparse `(input_dim, input_dim)` float64 tensor.
    """
    checks.positive_int("input_dim", input_dim)
    checks.positive_int("window", window)
    flat = _flatten(sequences, window)
    flat[(flat < min_index) | (flat >= input_dim)] = -1
    # every pair within the window once, as the key of its unordered words (lo * input_dim + hi)
    # and its distance d in the low bits; sorted, a run of one key and d counts its pairs, and a
    # key's sum of 1/d is taken over its runs in order, so it does not depend on the texts' order
    bits = max(1, int(window).bit_length())
    keys = []
    for d in range(1, window + 1):
        a, b = flat[:-d], flat[d:]
        keep = (a >= 0) & (b >= 0)
        a, b = a[keep], b[keep]
        keys.append(((np.minimum(a, b) * input_dim + np.maximum(a, b)) << bits) | d)
    pairs = np.sort(np.concatenate(keys))
    firsts = np.flatnonzero(np.diff(pairs, prepend=-1))  # where each (key, d) run starts
    counts = np.diff(firsts, append=len(pairs))
    key, distance = pairs[firsts] >> bits, pairs[firsts] & ((1 << bits) - 1)
    starts = np.flatnonzero(np.diff(key, prepend=-1))  # where each key's runs start
    sums = np.add.reduceat(counts / distance, starts) if len(key) else np.zeros(0)
    lo, hi = np.divmod(key[starts], input_dim)
    # the upper triangle (lo <= hi) and its mirror; a word with itself counts both ways
    off = lo != hi
    rows = np.concatenate([lo, hi[off]])
    cols = np.concatenate([hi, lo[off]])
    values = np.concatenate([np.where(off, sums, 2.0 * sums), sums[off]])
    order = np.argsort(rows * input_dim + cols, kind="stable")
    indices = torch.from_numpy(np.stack([rows[order], cols[order]]))
    shape = (input_dim, input_dim)
    return torch.sparse_coo_tensor(
        indices, torch.from_numpy(values[order]), shape, check_invariants=False, is_coalesced=True
    )


def ppmi_svd_vectors(
    sequences: Sequence[Sequence[int]],
    input_dim: int,
    output_dim: int = 100,
    *,
    window: int = 5,
    context_smoothing: float = 0.75,
    min_index: int = 1,
    power_iterations: int = 4,
    seed: int = 0,
) -> np.ndarray:
    """Word vectors for indices `[0, input_dim)` from the co-occurrences in `sequences`.

    PPMI with context-distribution smoothing, then a randomised truncated SVD; a word's vector is
    its row of `U · sqrt(S)`, scaled to unit length. Indices that never co-occur (and those below
    `min_index`) get a zero vector: keep the `Embedding`'s own initial value for them.

    Args:
        sequences: lists of word indices, e.g. the encoded unlabelled and training texts.
        input_dim: the `Embedding`'s `input_dim`; larger indices are ignored.
        output_dim: size of the vectors, default 100.
        window: context words counted either side, default 5, each weighted 1/distance.
        context_smoothing: exponent of the context counts in PMI's denominator, default 0.75.
        min_index: indices below it are ignored, default 1 (3 skips IMDB's padding, start and
            out-of-vocabulary marks).
        power_iterations: of the randomised SVD, default 4.
        seed: of the randomised SVD, default 0.

    Returns:
        A float32 array `(input_dim, output_dim)`.

    Raises:
        ValueError: for a non-positive size or a `context_smoothing` outside (0, 1].

    Example:
        >>> vectors = ppmi_svd_vectors(imdb.encode(texts, num_words=30000), 30000, 100, min_index=3)
        >>> vectors.shape
        (30000, 100)
    """
    checks.positive_int("output_dim", output_dim)
    checks.number_in("context_smoothing", context_smoothing, 0.0, 1.0, low_open=True)
    if output_dim >= input_dim:
        expected = f"fewer dimensions than `input_dim` ({input_dim})"
        raise checks.invalid("output_dim", expected, output_dim)
    counts = cooccurrence_counts(sequences, input_dim, window=window, min_index=min_index)
    (rows, cols), values = counts.indices(), counts.values()
    word = torch.zeros(input_dim, dtype=torch.float64).index_add_(0, rows, values)
    context = word.pow(float(context_smoothing))
    total, context_total = float(values.sum()), float(context.sum())
    if total == 0:
        return np.zeros((input_dim, output_dim), dtype=np.float32)
    # PMI(w, c) = log( p(w, c) / (p(w) p_α(c)) ), clipped at 0
    pmi = torch.log(values / total) - torch.log(word[rows] / total) - torch.log(context[cols] / context_total)
    keep = pmi > 0
    kept = torch.stack([rows[keep], cols[keep]])
    shape = (input_dim, input_dim)
    ppmi = torch.sparse_coo_tensor(kept, pmi[keep].float(), shape, check_invariants=False)
    ppmi = ppmi.coalesce()
    generator = torch.Generator().manual_seed(seed)
    k = min(output_dim + 10, input_dim)
    # randomised range finder (Halko et al., 2011): Q spans the top singular directions of the PPMI matrix
    q = torch.linalg.qr(torch.sparse.mm(ppmi, torch.randn(input_dim, k, generator=generator)))[0]
    for _ in range(power_iterations):
        q = torch.linalg.qr(torch.sparse.mm(ppmi.t(), q))[0]
        q = torch.linalg.qr(torch.sparse.mm(ppmi, q))[0]
    small = torch.sparse.mm(ppmi.t(), q).t()  # (k, input_dim) = Qᵀ · PPMI
    u_small, s, _ = torch.linalg.svd(small, full_matrices=False)
    vectors = (q @ u_small[:, :output_dim]) * s[:output_dim].sqrt()  # (input_dim, output_dim)
    # words with no positive PMI have no vector (tiny rounding residues would otherwise be scaled up)
    present = torch.zeros(input_dim, dtype=torch.bool)
    present[ppmi.indices()[0]] = True
    norms = vectors.norm(dim=1, keepdim=True)
    usable = present.unsqueeze(1) & (norms > 0)
    vectors = torch.where(usable, vectors / norms.clamp(min=math.ulp(1.0)), torch.zeros_like(vectors))
    return vectors.numpy().astype(np.float32)
