"""`DataParallel`: what `Trainer.fit` does differently when its model trains in several processes.

The trainer asks its `distribution` (None for one process) at four points, and nothing else
changes (`textrnn.training.trainer`):

- `shard(planner)`: the training batcher becomes this rank's share of every global batch
  (`textrnn.training.batching.ShardedPlanner`; rank 0 plans, so the order is a single
  process's), and the model is wrapped in `DistributedDataParallel` (which broadcasts rank 0's
  weights once);
- `forward(x, ...)`: the training forward pass goes through the DDP wrapper, which averages the
  gradients over the ranks during `backward`;
- `scale_loss(per_sample)`: the loss whose gradient is taken, `sum(per_sample) * world_size /
  global_batch`, so DDP's average is the gradient of the global batch's mean loss: the step one
  process takes on the whole batch, whatever the split (an empty slice gives zero);
- `reduce_logs(logs)` and `agree(stop)`: the epoch's training figures become the global
  sample-weighted means, and every rank stops when any rank's callbacks stop training.

Validation, `evaluate` and `predict` are left alone: every rank evaluates the whole validation
data with the same weights, so validation figures are exactly one process's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from textrnn.distributed.group import Group
from textrnn.training.batching import BatchPlanner, ShardedPlanner


class _Forward(nn.Module):
    """The trainer's forward pass as a module's `forward`, for DDP to wrap."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, training: bool, logits: bool) -> torch.Tensor:
        if x.shape[0] == 0:
            # an empty slice: run one padding row and keep none of it, so DDP still sees every
            # parameter used and this rank adds zero gradients to the average
            out = self.model.compute_output(x.new_zeros((1, *x.shape[1:])), training=training, logits=logits)
            return out[:0]
        return self.model.compute_output(x, training=training, logits=logits)


class DataParallel:
    """Data-parallel training of `model` over the process group `group` (see the module).

    Attach it as `model.distribution` (`textrnn.distributed.strategy` does, and takes it off
    again); `fit` then trains on this rank's share of each batch.

    Args:
        model: the model (a `textrnn.training.Trainer`), compiled.
        group: the joined process group (`textrnn.distributed.init()`).
    """

    def __init__(self, model: Any, group: Group) -> None:
        self.model = model
        self.group = group
        self.ddp: DistributedDataParallel | None = None
        self._planner: ShardedPlanner | None = None
        self._sizes: Iterator[int] = iter(())

    @property
    def rank(self) -> int:
        return self.group.rank

    @property
    def is_main(self) -> bool:
        return self.group.is_main

    def _wrap(self) -> DistributedDataParallel:
        if self.ddp is None:
            ids = [self.group.device.index] if self.group.device.type == "cuda" else None
            self.ddp = DistributedDataParallel(_Forward(self.model), device_ids=ids)
        return self.ddp

    def shard(self, planner: BatchPlanner) -> ShardedPlanner:
        """This rank's share of `planner`'s batches; wraps the (built, placed) model in DDP."""
        self._wrap()
        sharded = ShardedPlanner(planner, self.group.rank, self.group.world_size, self._share)
        self._planner = sharded
        return sharded

    def _share(self, plan: Any) -> Any:
        plan = self.group.share(plan)
        self._sizes = plan.batch_sizes()
        return plan

    def forward(self, x: torch.Tensor, *, training: bool, logits: bool) -> torch.Tensor:
        """The training forward pass through DDP."""
        return self._wrap()(x, training, logits)

    def scale_loss(self, per_sample: torch.Tensor) -> torch.Tensor:
        """The loss to differentiate for a step: this slice's sum × world size / global batch."""
        size = next(self._sizes, None)
        if size is None:  # a step outside fit's plan: this slice is the global batch
            size = int(per_sample.shape[0]) * self.group.world_size
        return per_sample.sum() * (self.group.world_size / max(size, 1))

    def reduce_logs(self, logs: dict[str, float]) -> dict[str, float]:
        """An epoch's training logs (this rank's means) as the means over every rank's rows."""
        rows = self._planner.local_rows if self._planner is not None else 0
        keys = list(logs)  # the same names in the same order on every rank
        local = torch.tensor([rows, *[logs[k] * rows for k in keys]], dtype=torch.float64)
        total = self.group.sum(local)
        count = max(float(total[0]), 1.0)
        return {k: float(total[i + 1]) / count for i, k in enumerate(keys)}

    def agree(self, stop: bool) -> bool:
        """Whether to stop training: True on every rank when any rank's callbacks asked to."""
        return self.group.any(stop)

    def close(self) -> None:
        """Drop the DDP wrapper (the model itself is untouched)."""
        self.ddp = None
        self._planner = None


__all__ = ["DataParallel"]
