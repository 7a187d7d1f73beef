"""The training, evaluation and prediction loops behind `Trainer.fit` / `evaluate` / `predict`.

The data arrive as tensors already on the device; each batch is cut out with an index tensor from
an `EpochPlan` (`index_select`, plus a column slice under length bucketing) and handed to the
trainer's public `train_step` / `test_step` / `predict_step`. The loops own the rest: the mode
(train or eval, gradients or none), callbacks and the progress bar. Losses and metrics are summed
on the device and read back only at the end of a pass, or when the progress bar redraws or a
callback asks for batch logs, so a GPU is never made to wait per step without a reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch

from textrnn.callbacks.callback import CallbackList
from textrnn.training.batching import EpochPlan
from textrnn.training.progress import ProgressBar

if TYPE_CHECKING:
    from textrnn.training.trainer import Trainer

Logs = dict[str, float]


def batches(plan: EpochPlan, device: torch.device) -> Iterator[tuple[int, torch.Tensor, tuple[int, int] | None]]:
    """`(step, row indices on device, column window or None)` per batch; one transfer per epoch."""
    order = plan.order.to(device, non_blocking=True)
    for i, (s, e) in enumerate(plan.batches):
        yield i, order[s:e], (plan.columns[i] if plan.columns is not None else None)


def take(x: torch.Tensor, idx: torch.Tensor, cols: tuple[int, int] | None) -> torch.Tensor:
    """Rows `idx` of `x`, restricted to the column window `cols` when given."""
    if cols is not None:
        return x[:, cols[0] : cols[1]].index_select(0, idx)
    return x.index_select(0, idx)


class RunningLogs:
    """Sample-weighted sums of the loss and metrics, kept on the device.

    Logs come out in Keras 3's order: the metrics as named in `compile`, then `loss`.
    """

    def __init__(self, metric_names: list[str], device: torch.device) -> None:
        self.names = [*metric_names, "loss"]
        self.sums = torch.zeros(len(self.names), device=device)
        self.count = 0

    def add(self, sums: torch.Tensor, count: int) -> None:
        """Add a step's sums over `count` rows: `(metrics + 1,)`, each metric's, then the loss's."""
        self.sums += sums
        self.count += count

    def logs(self) -> Logs:
        values = (self.sums / max(self.count, 1)).tolist()  # the only device sync
        return dict(zip(self.names, values, strict=True))


def train_epoch(
    model: Trainer,
    x: torch.Tensor,
    y: torch.Tensor,
    plan: EpochPlan,
    device: torch.device,
    callbacks: CallbackList,
    bar: ProgressBar,
) -> Logs:
    """One epoch of `model.train_step` over the batches of `plan`; returns the epoch's mean logs."""
    running = RunningLogs([m.name for m in model.compiled_metrics], device)
    want_begin = callbacks.wants("on_train_batch_begin")
    want_end = callbacks.wants("on_train_batch_end")
    step = model.train_step
    model.train()
    for i, idx, cols in batches(plan, device):
        if want_begin:
            callbacks.call("on_train_batch_begin", i, None)
        running.add(step((take(x, idx, cols), y.index_select(0, idx))), int(idx.shape[0]))
        if want_end:
            callbacks.call("on_train_batch_end", i, running.logs())
        if bar.due(i + 1):
            bar.update(i + 1, running.logs)
        if model.stop_training:
            break
    return running.logs()


def evaluate(
    model: Trainer,
    x: torch.Tensor,
    y: torch.Tensor,
    plan: EpochPlan,
    device: torch.device,
    callbacks: CallbackList | None = None,
    verbose: int = 0,
) -> Logs:
    """Mean loss and metrics of `model.test_step` over `(x, y)`, in eval mode without gradients."""
    running = RunningLogs([m.name for m in model.compiled_metrics], device)
    want_begin = callbacks is not None and callbacks.wants("on_test_batch_begin")
    want_end = callbacks is not None and callbacks.wants("on_test_batch_end")
    step = model.test_step
    bar = ProgressBar(len(plan), verbose)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for i, idx, cols in batches(plan, device):
                if want_begin and callbacks is not None:
                    callbacks.call("on_test_batch_begin", i, None)
                running.add(step((take(x, idx, cols), y.index_select(0, idx))), int(idx.shape[0]))
                if want_end and callbacks is not None:
                    callbacks.call("on_test_batch_end", i, running.logs())
                if bar.due(i + 1):
                    bar.update(i + 1, running.logs)
        logs = running.logs()
        bar.finish(logs)
        return logs
    finally:
        bar.close()
        model.train(was_training)


def predict(
    model: Trainer,
    x: torch.Tensor,
    plan: EpochPlan,
    device: torch.device,
    callbacks: CallbackList | None = None,
    verbose: int = 0,
) -> torch.Tensor:
    """`model.predict_step` for every row of `x`, in the order of `x` (batches may be reordered)."""
    n = int(x.shape[0])
    out_all: torch.Tensor | None = None
    want_begin = callbacks is not None and callbacks.wants("on_predict_batch_begin")
    want_end = callbacks is not None and callbacks.wants("on_predict_batch_end")
    step = model.predict_step
    bar = ProgressBar(len(plan), verbose)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for i, idx, cols in batches(plan, device):
                if want_begin and callbacks is not None:
                    callbacks.call("on_predict_batch_begin", i, None)
                out = step(take(x, idx, cols))
                if out_all is None:
                    out_all = torch.empty((n, *out.shape[1:]), dtype=out.dtype, device=device)
                out_all[idx] = out
                if want_end and callbacks is not None:
                    callbacks.call("on_predict_batch_end", i, {"outputs": out})
                if bar.due(i + 1):
                    bar.update(i + 1, {})
        bar.finish({})
    finally:
        bar.close()
        model.train(was_training)
    assert out_all is not None  # plans always hold at least one batch
    return out_all
