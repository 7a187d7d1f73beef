"""Which rows go into which batch, epoch by epoch: plain shuffled batches or length buckets.

A batcher works on row indices only, never on the data: `plan()` returns an `EpochPlan` (an order
of the rows and the batch boundaries in it, plus for length bucketing the column window each batch
keeps). The training loop moves the order to the device once per epoch and slices batches out of
the dataset tensors with it, so no per-sample Python runs on the hot path. Shuffling draws from
PyTorch's global generator, so `set_random_seed` makes the order reproducible.

The trainer gets every batcher from `make_batcher`, the one place that chooses one: another
batching scheme (a distributed sampler, a streaming reader's planner, ...) is a `BatcherFactory`
passed there, e.g. by setting `model.batcher_factory`, with no edit to the models or the trainer.

The user's own batches (a generator, a `torch.utils.data.DataLoader`, a list of `(x, y)` tuples,
`text_dataset_from_directory`) cannot be indexed: `make_batcher` plans them with a
`StreamBatcher`, whose `plan()` is one pass over converted batches (a `StreamPlan`), with Keras's
`steps_per_epoch` semantics.

For data-parallel training, `ShardedPlanner` gives each rank its slice of every batch of the plan
rank 0 made (`shard_plan`), so N processes train on exactly one process's batches.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from textrnn import checks


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

    def each(self, device: torch.device) -> Iterator[tuple[torch.Tensor, tuple[int, int] | None]]:
        """`(row indices on device, column window or None)` per batch; one transfer per epoch."""
        order = self.order.to(device, non_blocking=True)
        for i, (s, e) in enumerate(self.batches):
            yield order[s:e], (self.columns[i] if self.columns is not None else None)

    def first(self, steps: int) -> EpochPlan:
        """The first `steps` batches."""
        columns = self.columns[:steps] if self.columns is not None else None
        return EpochPlan(self.order, self.batches[:steps], columns)

    def shard(self, rank: int, world_size: int) -> EpochPlan:
        """Rank `rank`'s share of every batch (`shard_plan`)."""
        return shard_plan(self, rank, world_size)

    def batch_sizes(self) -> Iterator[int]:
        """The rows of each batch, in order."""
        return (e - s for s, e in self.batches)

    def rows(self) -> int:
        """The rows of all batches together."""
        return sum(e - s for s, e in self.batches)

    def bind(self, planner: Any) -> EpochPlan:
        """This plan as it runs on a rank whose planner is `planner` (a plan sent from rank 0
        may need the rank's own data; this one does not)."""
        return self


class Plan(Protocol):
    """One pass of batches as the loops take them: `EpochPlan`, or a lazily generated one
    (`textrnn.training.windows.WindowedPlan`)."""

    def __len__(self) -> int: ...

    def each(self, device: torch.device) -> Iterator[tuple[torch.Tensor, tuple[int, int] | None]]: ...

    def first(self, steps: int) -> Plan: ...

    def shard(self, rank: int, world_size: int) -> Plan: ...

    def batch_sizes(self) -> Iterator[int]: ...

    def rows(self) -> int: ...

    def bind(self, planner: Any) -> Plan: ...


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """`[start, end)` of each batch of `n` consecutive rows; the last may be smaller."""
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
        self.batch_size = checks.positive_int("batch_size", batch_size)
        self.shuffle = bool(shuffle)

    def __len__(self) -> int:
        return -(-self.num_samples // self.batch_size)

    def plan(self) -> EpochPlan:
        n = self.num_samples
        order = torch.randperm(n) if self.shuffle else torch.arange(n)
        return EpochPlan(order, batch_bounds(n, self.batch_size))


#: rows per slice when finding padding spans, so a memory-mapped dataset is never copied whole
SPAN_ROWS = 65_536


def padding_spans(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each row of a `(samples, steps)` token matrix, the first non-padding column and one past
    the last (padding is 0), as int32. All-padding rows get `(steps, 0)`, so they never widen a
    window.

    The rows are read `SPAN_ROWS` at a time into preallocated outputs, so the temporary masks stay
    small and a memory-mapped matrix costs 8 bytes per row here, whatever its width."""
    n, steps = int(x.shape[0]), int(x.shape[1])
    firsts = torch.empty(n, dtype=torch.int32)
    lasts = torch.empty(n, dtype=torch.int32)
    for s in range(0, n, SPAN_ROWS):
        nz = x[s : s + SPAN_ROWS] != 0  # (rows, steps)
        has = nz.any(dim=1)
        first = nz.to(torch.uint8).argmax(dim=1)
        back = steps - nz.flip(1).to(torch.uint8).argmax(dim=1)
        firsts[s : s + SPAN_ROWS] = torch.where(has, first, torch.full_like(first, steps)).cpu()
        lasts[s : s + SPAN_ROWS] = torch.where(has, back, torch.zeros_like(back)).cpu()
    return firsts, lasts


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
        self.chunk_batches = checks.positive_int("chunk_batches", chunk_batches)
        # int32: 12 bytes a row for the three (a long column window never reaches 2**31)
        self.first = first.to(torch.int32).cpu()
        self.end = end.to(torch.int32).cpu()
        self.lengths = (self.end - self.first).clamp(min=0)

    def plan(self) -> EpochPlan:
        return bucket_plan(
            self.first, self.end, self.batch_size, shuffle=self.shuffle, chunk_batches=self.chunk_batches,
            lengths=self.lengths,
        )  # fmt: skip


def batch_order(n: int, generator: torch.Generator | None = None) -> list[int]:
    """A random order of `n` batches (from `generator`, default PyTorch's global one)."""
    return torch.randperm(n, generator=generator).tolist()


def bucket_plan(
    first: torch.Tensor,
    end: torch.Tensor,
    batch_size: int,
    *,
    shuffle: bool,
    chunk_batches: int,
    lengths: torch.Tensor | None = None,
    rows: torch.Tensor | None = None,
    batches: list[int] | None = None,
) -> EpochPlan:
    """`BucketBatcher`'s plan over the rows whose padding spans are `first` / `end` (int32).

    Shuffled, the row order is `rows` (default `torch.randperm(n)`) and the batch order `batches`
    (default `batch_order`), drawn in that order from the global generator.
    """
    n = int(first.shape[0])
    if lengths is None:
        lengths = (end - first).clamp(min=0)
    if shuffle:
        perm = torch.randperm(n) if rows is None else rows
        chunk = batch_size * chunk_batches
        # each piece is a copy (no view keeps `perm`): the peak stays at two row orders
        pieces = [_by_length(perm[s : s + chunk], lengths) for s in range(0, n, chunk)]
        del perm
        sorted_rows = torch.cat(pieces)
        del pieces
    else:
        sorted_rows = torch.argsort(lengths, stable=True)
    bounds = batch_bounds(n, batch_size)
    if shuffle:
        # Shuffle the batch order, then lay the batches out contiguously again.
        picks = batch_order(len(bounds)) if batches is None else batches
        bounds = [bounds[i] for i in picks]
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
        picked = order[s:e]
        lo = int(first[picked].min())
        hi = int(end[picked].max())
        if hi <= lo:  # every row is all padding: keep one (masked) column
            lo, hi = 0, 1
        columns.append((lo, hi))
    return EpochPlan(order, bounds, columns)


def _by_length(rows: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    return rows[torch.argsort(lengths[rows], stable=True)]


class BatchPlanner(Protocol):
    """What the trainer needs from a batcher: its batches per pass, and one pass's `EpochPlan`.

    `Batcher` and `BucketBatcher` are two; a planner need not subclass them.
    """

    def __len__(self) -> int: ...

    def plan(self) -> Plan: ...


class BatcherFactory(Protocol):
    """Makes one dataset's planner: `factory(x, batch_size, shuffle=..., bucket_by_length=...)`.

    `x` is the checked input tensor (rows first, on the CPU or the model's device); `shuffle` is
    True for training and False for validation, `evaluate` and `predict`, whose outputs must come
    back in row order whatever the plan (the loops put each batch's rows back where they were).
    """

    def __call__(
        self, x: torch.Tensor, batch_size: int, *, shuffle: bool, bucket_by_length: bool
    ) -> BatchPlanner: ...


def shard_plan(plan: EpochPlan, rank: int, world_size: int) -> EpochPlan:
    """Rank `rank`'s share of every batch of `plan`, for data-parallel training.

    Each batch of `n` rows is cut into `world_size` contiguous slices, rank `r` taking rows
    `[n*r // world_size, n*(r+1) // world_size)` of it, so the ranks together run exactly the
    batches of `plan`, in its order, with the same global batch size (a rank's slice of a batch
    with fewer rows than ranks may be empty). Each batch keeps its column window.

    Example:
        >>> plan = EpochPlan(torch.arange(5), [(0, 4), (4, 5)])
        >>> shard_plan(plan, 1, 2).order.tolist(), shard_plan(plan, 1, 2).batches
        ([2, 3, 4], [(0, 2), (2, 3)])
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"Expected 0 <= rank < world_size, got rank {rank} of {world_size}.")
    pieces, bounds, at = [], [], 0
    for s, e in plan.batches:
        n = e - s
        lo, hi = s + n * rank // world_size, s + n * (rank + 1) // world_size
        pieces.append(plan.order[lo:hi])
        bounds.append((at, at + hi - lo))
        at += hi - lo
    order = torch.cat(pieces) if pieces else plan.order[:0]
    return EpochPlan(order, bounds, plan.columns)


class ShardedPlanner:
    """This rank's share of another planner's batches (see `shard_plan`), one epoch at a time.

    Rank 0 plans each epoch with the wrapped planner (so its random generator, seeded as a
    single process's, decides the order: the same global batches as one process) and `share`
    sends that plan to every rank, which keeps its own slice of each batch. Length bucketing is
    kept: the slices of one batch come from the same length bucket and share its columns.

    Args:
        planner: the global planner (`Batcher`, `BucketBatcher`, or a factory's).
        rank: this process's rank.
        world_size: the number of processes.
        share: called on every rank with rank 0's plan (None elsewhere); returns rank 0's plan.
            Default: the identity, for a single process (or a test).

    Attributes:
        global_sizes: the global size of each batch of the last plan.
        local_rows: this rank's rows in the last plan.
    """

    def __init__(
        self,
        planner: BatchPlanner,
        rank: int,
        world_size: int,
        share: Callable[[Plan | None], Plan] | None = None,
    ) -> None:
        self.planner = planner
        self.rank = checks.non_negative_int("rank", rank)
        self.world_size = checks.positive_int("world_size", world_size)
        self.share = share
        self.global_sizes: list[int] = []
        self.local_rows = 0

    def __len__(self) -> int:
        return len(self.planner)

    def plan(self) -> Plan:
        plan = self.planner.plan() if self.rank == 0 or self.share is None else None
        if self.share is not None:
            plan = self.share(plan)
        assert plan is not None
        plan = plan.bind(self.planner)
        self.global_sizes = list(plan.batch_sizes())
        local = plan.shard(self.rank, self.world_size)
        self.local_rows = local.rows()
        return local


def default_batcher(x: torch.Tensor, batch_size: int, *, shuffle: bool, bucket_by_length: bool) -> Batcher:
    """`Batcher` over the rows of `x`, or with `bucket_by_length` a `BucketBatcher` on its padding
    spans (token ids, 0 is padding)."""
    if bucket_by_length:
        return BucketBatcher(*padding_spans(x), batch_size, shuffle=shuffle)
    return Batcher(int(x.shape[0]), batch_size, shuffle=shuffle)


def make_batcher(
    x: torch.Tensor,
    batch_size: int,
    *,
    shuffle: bool,
    bucket_by_length: bool = False,
    factory: BatcherFactory | None = None,
) -> BatchPlanner:
    """The batcher for one pass over `x`: `factory`'s, else `default_batcher`'s.

    Args:
        x: the checked inputs, `(samples, ...)`.
        batch_size: rows per batch.
        shuffle: a new random order each pass (training), or the rows' order.
        bucket_by_length: batch rows of similar length and trim all-padding columns.
        factory: a `BatcherFactory` to use instead of `default_batcher`.

    Example:
        >>> len(make_batcher(torch.zeros(10, 3), 4, shuffle=False))
        3
    """
    make = default_batcher if factory is None else factory
    return make(x, batch_size, shuffle=shuffle, bucket_by_length=bucket_by_length)


def make_stream_batcher(
    dataset: Iterable[Any], convert: Callable[[Any], Any], steps: int | None = None
) -> StreamBatcher:
    """The planner for an iterable of the user's batches (see `StreamBatcher`): the stream's own
    batches, in its order (its `batch_size` and shuffling are the stream's)."""
    return StreamBatcher(dataset, convert, steps)


# ----------------------------------------------------------------------------- streams
def is_batch_stream(x: Any) -> bool:
    """Whether `x` is an iterable of batches rather than one array: a generator or iterator, an
    iterable that is no array (a `DataLoader`, a dataset object), or a list of `(x, y)` tuples."""
    if x is None or isinstance(x, (str, bytes, np.ndarray, torch.Tensor, dict)):
        return False
    if hasattr(x, "__array__"):  # pandas Series / DataFrame and other array-likes are data
        return False
    if isinstance(x, (list, tuple)):
        first = x[0] if len(x) else None
        return (
            isinstance(first, tuple)
            and len(first) in (1, 2, 3)
            and isinstance(first[0], (np.ndarray, torch.Tensor, list, tuple))
        )
    return isinstance(x, Iterable)


class StreamPlan:
    """One pass over a stream's batches, each `(None, converted batch)` as the loops take them.

    Attributes:
        ran_out: whether the stream ended before `steps` batches (or gave none at all).
    """

    def __init__(
        self,
        source: Iterator[Any],
        convert: Callable[[Any], Any],
        steps: int | None,
        on_exhausted: Callable[[], None],
    ) -> None:
        self._source = source
        self._convert = convert
        self._steps = steps
        self._on_exhausted = on_exhausted
        self.ran_out = False
        self.count = 0

    def __iter__(self) -> Iterator[tuple[None, Any]]:
        while self._steps is None or self.count < self._steps:
            try:
                raw = next(self._source)
            except StopIteration:
                self._on_exhausted()
                if self._steps is not None or self.count == 0:
                    self.ran_out = True
                return
            self.count += 1
            yield None, self._convert(raw)


class StreamBatcher:
    """Plans passes over an iterable of batches, as Keras's epoch iterator.

    Without `steps`, each pass iterates the dataset afresh (a list or a `DataLoader` again from
    its start; a generator, once spent, gives nothing and the pass `ran_out`). With `steps`,
    passes take `steps` batches each from one iterator kept across passes, and a stream that
    ends early `ran_out` (Keras's "Your input ran out of data").

    Args:
        dataset: the iterable of batches.
        convert: turns one raw batch into what the step takes (checked tensors on the device).
        steps: batches per pass, or None for the whole iterable.
    """

    def __init__(
        self, dataset: Iterable[Any], convert: Callable[[Any], Any], steps: int | None = None
    ) -> None:
        self.dataset = dataset
        self.convert = convert
        self.steps = steps
        self._iterator: Iterator[Any] | None = None
        self._pending: list[Any] = []

    def __len__(self) -> int:
        """Batches per pass; 0 when unknown (a generator without `steps`)."""
        if self.steps is not None:
            return self.steps
        try:
            return len(self.dataset)  # type: ignore[arg-type]
        except TypeError:
            return 0

    def _forget(self) -> None:
        self._iterator = None

    def first(self) -> Any:
        """The first batch, converted (to build a model before its first step); the next pass
        still starts with it."""
        if self._iterator is None:
            self._iterator = iter(self.dataset)
        try:
            raw = next(self._iterator)
        except StopIteration:
            raise ValueError("The dataset gave no batches.") from None
        self._pending = [raw]
        return self.convert(raw)

    def plan(self) -> StreamPlan:  # type: ignore[override]
        pending, self._pending = self._pending, []
        if self.steps is None and not pending:
            return StreamPlan(iter(self.dataset), self.convert, None, self._forget)
        if self._iterator is None:
            self._iterator = iter(self.dataset)
        source = itertools.chain(pending, self._iterator) if pending else self._iterator
        if self.steps is None:
            self._iterator = None  # the next pass iterates the dataset afresh
        return StreamPlan(source, self.convert, self.steps, self._forget)


def warn_ran_out(what: str = "training") -> None:
    """Keras's warning when a stream ends before the steps asked of it."""
    warnings.warn(
        f"Your input ran out of data; interrupting {what}. Make sure that your dataset or "
        "generator can generate at least `steps_per_epoch * epochs` batches. You may need to "
        "make it repeat (e.g. a generator with an endless loop).",
        stacklevel=3,
    )
