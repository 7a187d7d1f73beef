"""Which rows go into which batch, epoch by epoch: plain shuffled batches or length buckets.

A batcher works on row indices only, never on the data: `plan()` returns an `EpochPlan` (an order
of the rows and the batch boundaries in it, plus for length bucketing the column window each batch
keeps). The training loop moves the order to the device once per epoch and slices batches out of
the dataset tensors with it, so no per-sample Python runs on the hot path. Shuffling draws from
PyTorch's global generator, so `set_random_seed` makes the order reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class EpochPlan:
    """One epoch of batches.

    Attributes:
        order: `(samples,)` int64 row indices; batch `i` is `order[start:end]` for `batches[i]`.
        batches: `[start, end)` positions into `order`, one pair per batch.
        columns: for length bucketing, the `[lo, hi)` column window of each batch (all-padding
            columns outside it are dropped); None to keep every column.
    """

    order: torch.Tensor
    batches: list[tuple[int, int]]
    columns: list[tuple[int, int]] | None = None

    def __len__(self) -> int:
        return len(self.batches)


def _check_batch_size(batch_size: object) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"Received an invalid value for argument `batch_size`, expected a positive integer, got {batch_size!r}.")
    return batch_size


def _bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    return [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]


class Batcher:
    """Batches of `batch_size` consecutive rows of a (re-)shuffled order; the last may be smaller.

    Args:
        num_samples: number of rows.
        batch_size: rows per batch.
        shuffle: draw a new random order every epoch (Keras's `shuffle=True`).

    Example:
        >>> plan = Batcher(10, 4, shuffle=False).plan()
        >>> plan.batches
        [(0, 4), (4, 8), (8, 10)]
    """

    def __init__(self, num_samples: int, batch_size: int, *, shuffle: bool = True) -> None:
        if num_samples <= 0:
            raise ValueError(f"Expected at least one sample to batch, got {num_samples}.")
        self.num_samples = int(num_samples)
        self.batch_size = _check_batch_size(batch_size)
        self.shuffle = bool(shuffle)

    def __len__(self) -> int:
        return -(-self.num_samples // self.batch_size)

    def plan(self) -> EpochPlan:
        n = self.num_samples
        order = torch.randperm(n) if self.shuffle else torch.arange(n)
        return EpochPlan(order, _bounds(n, self.batch_size))


def padding_spans(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each row of a `(samples, steps)` token matrix, the first non-padding column and one past
    the last (padding is 0). All-padding rows get `(steps, 0)`, so they never widen a window."""
    nz = x != 0  # (samples, steps)
    steps = x.shape[1]
    has = nz.any(dim=1)
    first = torch.where(has, nz.to(torch.uint8).argmax(dim=1), torch.full_like(has, steps, dtype=torch.long))
    last = torch.where(has, steps - nz.flip(1).to(torch.uint8).argmax(dim=1), torch.zeros_like(has, dtype=torch.long))
    return first.long().cpu(), last.long().cpu()


class BucketBatcher(Batcher):
    """Batches of rows with similar non-padding length, each trimmed to its non-padding columns.

    Each epoch the rows are shuffled, cut into chunks of `chunk_batches × batch_size` rows, sorted
    by length inside each chunk and batched, and the batch order is shuffled again. Every batch
    then keeps only the columns from its earliest first token to its latest last token, so
    pre-padded (Keras's default) batches lose their all-padding leading columns and post-padded
    ones their trailing columns. This changes nothing for a model that masks padding
    (`Embedding(mask_zero=True)`), and cuts the recurrent steps run per batch.

    Args:
        first: `(samples,)` first non-padding column of each row (see `padding_spans`).
        end: `(samples,)` one past the last non-padding column of each row.
        batch_size: rows per batch.
        shuffle: shuffle rows and batch order each epoch; without it the whole dataset is sorted
            by length once (best for evaluation and prediction).
        chunk_batches: batches per sorting chunk; larger chunks trim more and randomise less.
    """

    def __init__(
        self,
        first: torch.Tensor,
        end: torch.Tensor,
        batch_size: int,
        *,
        shuffle: bool = True,
        chunk_batches: int = 50,
    ) -> None:
        super().__init__(int(first.shape[0]), batch_size, shuffle=shuffle)
        if isinstance(chunk_batches, bool) or not isinstance(chunk_batches, int) or chunk_batches <= 0:
            raise ValueError(
                f"Received an invalid value for argument `chunk_batches`, expected a positive integer, got {chunk_batches!r}."
            )
        self.first = first.long().cpu()
        self.end = end.long().cpu()
        self.lengths = (self.end - self.first).clamp(min=0)
        self.chunk_batches = chunk_batches

    def plan(self) -> EpochPlan:
        n = self.num_samples
        if self.shuffle:
            perm = torch.randperm(n)
            chunk = self.batch_size * self.chunk_batches
            pieces = []
            for s in range(0, n, chunk):
                rows = perm[s : s + chunk]
                pieces.append(rows[torch.argsort(self.lengths[rows], stable=True)])
            sorted_rows = torch.cat(pieces)
        else:
            sorted_rows = torch.argsort(self.lengths, stable=True)
        bounds = _bounds(n, self.batch_size)
        if self.shuffle:
            # Shuffle the batch order, then lay the batches out contiguously again.
            bounds = [bounds[i] for i in torch.randperm(len(bounds)).tolist()]
            order = torch.cat([sorted_rows[s:e] for s, e in bounds])
            sizes = [e - s for s, e in bounds]
            starts = [0]
            for size in sizes[:-1]:
                starts.append(starts[-1] + size)
            bounds = [(s, s + size) for s, size in zip(starts, sizes, strict=True)]
        else:
            order = sorted_rows
        columns = []
        for s, e in bounds:
            rows = order[s:e]
            lo = int(self.first[rows].min())
            hi = int(self.end[rows].max())
            if hi <= lo:  # every row is all padding: keep one (masked) column
                lo, hi = 0, 1
            columns.append((lo, hi))
        return EpochPlan(order, bounds, columns)
