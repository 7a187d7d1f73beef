"""Epoch plans built window by window, for data larger than memory (memory-mapped rows).

`Batcher` and `BucketBatcher` hold a few numbers per row (the padding spans, each epoch's
permutation of all rows), so their memory grows with the data. `WindowedBatcher` holds none.
Each epoch maps the row numbers through a random affine bijection `k -> (a*k + b) mod n` (`a`
coprime to `n`, near `n / golden ratio` so that consecutive `k` land evenly spread over the data;
`b` and the sign of `a` random), and cuts that order into windows of `window_rows` (rounded up
to whole batches). A window thus holds rows from all over the data (data sorted by class gives
every window each class's share), yet is known from its number alone. The windows come in a
shuffled order, each planned when the loop reaches it: its rows shuffled, or with
`bucket_by_length` length-bucketed within the window as `BucketBatcher` does (the padding spans
read from the window's rows then). Every row is in exactly one batch per epoch, only the last
window may end with a smaller batch (so an epoch has as many batches as `Batcher`'s), and only one
window's plan (a few bytes per row of the window) is held at a time.

A plan is drawn from a single seed taken from PyTorch's global generator (so `set_random_seed`,
and a resumed run's restored generator, give the same batches), each window's order from a
generator seeded by it and the window, so a window can be planned on its own, in any process:
ranks of a distributed job are sent the seed, not the rows. Without `shuffle` (validation,
`evaluate`, `predict`) the windows are the rows in order.

`textrnn train` uses it on streamed data (`textrnn.runs.single.fit_targets` sets the model's
`batcher_factory` to `windowed_batcher`); data in memory keeps `default_batcher`'s plans.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch

from textrnn import checks
from textrnn.training.batching import EpochPlan, batch_bounds, batch_order, bucket_plan, padding_spans

#: rows per window (rounded up to whole batches)
WINDOW_ROWS = 1 << 16
_MIX = 0x9E3779B97F4A7C15  # spreads (seed, window, draw) over the generator's seeds
_GOLDEN = (math.sqrt(5) - 1) / 2  # the stride that spreads consecutive rows most evenly
SPAN_GATHER = 8192  # rows gathered at a time to read a shuffled window's padding spans


class WindowedBatcher:
    """Batches planned one window of rows at a time (see the module).

    Args:
        x: the `(samples, steps)` token ids (CPU or device; memory-mapped rows stay mapped).
        batch_size: rows per batch.
        shuffle: shuffle the windows and the rows in each (training); without it the windows
            come in order, each in row order (sorted by length with `bucket_by_length`).
        bucket_by_length: batch rows of similar length within each window and trim each batch
            to its non-padding columns.
        window_rows: rows per window, rounded up to a multiple of `batch_size`, so that only the
            last window may end with a smaller batch.
        chunk_batches: batches per sorting chunk under `bucket_by_length` (as `BucketBatcher`).

    Example:
        >>> b = WindowedBatcher(torch.ones(10, 3, dtype=torch.int32), 4, window_rows=4)
        >>> len(b), b.windows
        (3, 3)
    """

    def __init__(
        self,
        x: torch.Tensor,
        batch_size: int,
        *,
        shuffle: bool = True,
        bucket_by_length: bool = False,
        window_rows: int = WINDOW_ROWS,
        chunk_batches: int = 50,
    ) -> None:
        n = int(x.shape[0])
        if n <= 0:
            raise ValueError(f"Expected at least one sample to batch, got {n}.")
        self.x: torch.Tensor | None = x
        self.num_samples = n
        self.batch_size = checks.positive_int("batch_size", batch_size)
        window_rows = checks.positive_int("window_rows", window_rows)
        self.window_rows = -(-window_rows // self.batch_size) * self.batch_size
        self.shuffle = bool(shuffle)
        self.bucket_by_length = bool(bucket_by_length)
        self.chunk_batches = checks.positive_int("chunk_batches", chunk_batches)

    @property
    def windows(self) -> int:
        return -(-self.num_samples // self.window_rows)

    def window(self, w: int) -> tuple[int, int]:
        """Window `w`'s positions `[start, end)` in the epoch's order (its rows, unshuffled)."""
        start = w * self.window_rows
        return start, min(start + self.window_rows, self.num_samples)

    def __len__(self) -> int:
        full, rest = divmod(self.num_samples, self.window_rows)
        return full * (self.window_rows // self.batch_size) + -(-rest // self.batch_size)

    def plan(self) -> WindowedPlan:
        seed = int(torch.randint(0, 2**62, (1,)).item()) if self.shuffle else 0
        return WindowedPlan(self, seed)

    def window_order(self, seed: int) -> list[int]:
        if not self.shuffle:
            return list(range(self.windows))
        return batch_order(self.windows, _generator(seed, -1, 0))

    def stride(self, seed: int) -> tuple[int, int]:
        """The epoch's bijection `k -> (a*k + b) mod n` as `(a, b)`."""
        n = self.num_samples
        if n == 1:
            return 1, 0
        g = _generator(seed, -1, 1)
        a = max(1, round(n * _GOLDEN))
        while math.gcd(a, n) != 1:
            a += 1
        a = a % n or 1
        if int(torch.randint(0, 2, (1,), generator=g)):
            a = n - a  # still coprime to n
        b = int(torch.randint(0, n, (1,), generator=g))
        return a, b

    def members(self, w: int, seed: int) -> torch.Tensor:
        """Window `w`'s rows in an epoch of `seed` (int64, before its shuffle); with `shuffle`
        False, rows `window(w)` in order."""
        start, end = self.window(w)
        k = torch.arange(start, end, dtype=torch.int64)
        if not self.shuffle:
            return k
        a, b = self.stride(seed)
        return (k * a + b) % self.num_samples  # exact in int64 below 3 * 10**9 rows

    def _spans(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.x is None:
            raise RuntimeError("This plan was sent without its data: `bind` it to the rank's planner first.")
        x = self.x
        if not self.shuffle:  # consecutive rows: a slice, read as it is
            return padding_spans(x[int(rows[0]) : int(rows[-1]) + 1])
        pieces = [
            padding_spans(x.index_select(0, rows[s : s + SPAN_GATHER].to(x.device)))
            for s in range(0, int(rows.shape[0]), SPAN_GATHER)
        ]
        return torch.cat([p[0] for p in pieces]), torch.cat([p[1] for p in pieces])

    def window_plan(self, w: int, seed: int) -> EpochPlan:
        """Window `w`'s batches in an epoch of `seed`, as row indices of the whole data."""
        rows = self.members(w, seed)
        n = int(rows.shape[0])
        if not self.bucket_by_length:
            if self.shuffle:
                rows = rows[torch.randperm(n, generator=_generator(seed, w, 0))]
            return EpochPlan(rows, batch_bounds(n, self.batch_size))
        first, last = self._spans(rows)
        perm = batches = None
        if self.shuffle:
            perm = torch.randperm(n, generator=_generator(seed, w, 0))
            batches = self._batch_order(w, seed)
        plan = bucket_plan(
            first, last, self.batch_size, shuffle=self.shuffle, chunk_batches=self.chunk_batches,
            rows=perm, batches=batches,
        )  # fmt: skip
        return EpochPlan(rows[plan.order], plan.batches, plan.columns)

    def _batch_order(self, w: int, seed: int) -> list[int]:
        start, end = self.window(w)
        return batch_order(-(-(end - start) // self.batch_size), _generator(seed, w, 1))

    def window_sizes(self, w: int, seed: int) -> list[int]:
        """The rows of each batch of window `w`, in the order `window_plan` gives them (without
        reading any row)."""
        start, end = self.window(w)
        sizes = [e - s for s, e in batch_bounds(end - start, self.batch_size)]
        if self.bucket_by_length and self.shuffle:
            sizes = [sizes[i] for i in self._batch_order(w, seed)]
        return sizes

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "x": None}  # a plan is sent between ranks without the data


def _generator(seed: int, window: int, draw: int) -> torch.Generator:
    mixed = (seed * 3 + draw + (window + 2) * _MIX) % (1 << 63)
    return torch.Generator().manual_seed(mixed)


class WindowedPlan:
    """One epoch of a `WindowedBatcher`: its seed, and optionally this rank's share of each
    batch (`shard`) or only the first batches (`first`). Batches are made as they are taken.
    """

    def __init__(
        self,
        batcher: WindowedBatcher,
        seed: int,
        *,
        rank: int = 0,
        world_size: int = 1,
        steps: int | None = None,
    ) -> None:
        self.batcher = batcher
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.steps = steps

    def __len__(self) -> int:
        total = len(self.batcher)
        return total if self.steps is None else min(self.steps, total)

    def _plans(self) -> Iterator[EpochPlan]:
        for w in self.batcher.window_order(self.seed):
            plan = self.batcher.window_plan(w, self.seed)
            yield plan.shard(self.rank, self.world_size) if self.world_size > 1 else plan

    def each(self, device: torch.device) -> Iterator[tuple[torch.Tensor, tuple[int, int] | None]]:
        left = len(self)
        for plan in self._plans():
            for idx, cols in plan.each(device):
                if left == 0:
                    return
                left -= 1
                yield idx, cols

    def first(self, steps: int) -> WindowedPlan:
        kept = steps if self.steps is None else min(steps, self.steps)
        return WindowedPlan(self.batcher, self.seed, rank=self.rank, world_size=self.world_size, steps=kept)

    def shard(self, rank: int, world_size: int) -> WindowedPlan:
        if not 0 <= rank < world_size:
            raise ValueError(f"Expected 0 <= rank < world_size, got rank {rank} of {world_size}.")
        return WindowedPlan(self.batcher, self.seed, rank=rank, world_size=world_size, steps=self.steps)

    def batch_sizes(self) -> Iterator[int]:
        """The global rows of each batch (before sharding), in order."""
        left = len(self)
        for w in self.batcher.window_order(self.seed):
            for size in self.batcher.window_sizes(w, self.seed):
                if left == 0:
                    return
                left -= 1
                yield size

    def rows(self) -> int:
        """This rank's rows over all batches (`shard_plan`'s slices)."""
        r, k = self.rank, self.world_size
        return sum(n * (r + 1) // k - n * r // k for n in self.batch_sizes())

    def bind(self, planner: Any) -> WindowedPlan:
        """This plan over `planner`'s rows (a plan sent from rank 0 comes without its data)."""
        if self.batcher.x is not None:
            return self
        if not isinstance(planner, WindowedBatcher):
            raise TypeError(f"A windowed plan needs a WindowedBatcher to read its rows, got {planner!r}.")
        return WindowedPlan(planner, self.seed, rank=self.rank, world_size=self.world_size, steps=self.steps)


def windowed_batcher(
    x: torch.Tensor, batch_size: int, *, shuffle: bool, bucket_by_length: bool
) -> WindowedBatcher:
    """A `BatcherFactory` of `WindowedBatcher`s (set it as a model's `batcher_factory`)."""
    return WindowedBatcher(x, batch_size, shuffle=shuffle, bucket_by_length=bucket_by_length)


__all__ = ["WINDOW_ROWS", "WindowedBatcher", "WindowedPlan", "windowed_batcher"]
