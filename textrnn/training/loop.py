"""The training, evaluation and prediction loops behind `Trainer.fit` / `evaluate` / `predict`.

A loop gets its batches from a feed: `array_batches` cuts them out of tensors already on the
device with a plan's index tensors (`index_select`, plus a column slice under length bucketing; an
`EpochPlan`, or a `WindowedPlan` made as it goes); a stream of the user's own batches (a
generator, a `DataLoader`) arrives already converted (`textrnn.training.batching.StreamPlan`).
Each batch goes to the trainer's public `train_step` / `test_step` / `predict_step`. The loops own
the rest: the mode (train or eval, gradients or none), callbacks and the progress bar. Losses and
mean metrics are summed on the device and read back only at the end of a pass, or when the
progress bar redraws or a callback asks for batch logs, so a GPU is never made to wait per step
without a reason. Stateful metrics (`AUC`, `Precision`, ...) are reset when a pass begins and read
at its end.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

import torch

from textrnn.callbacks.callback import CallbackList
from textrnn.training import threads_policy
from textrnn.training.batching import Plan
from textrnn.training.metrics import Metric, StatefulMetric
from textrnn.training.multi_io import Data, rows, select
from textrnn.training.progress import ProgressBar

if TYPE_CHECKING:
    from textrnn.training.trainer import Trainer

Logs = dict[str, Any]
#: one batch of a pass: the row indices it came from (None for a stream) and the step's input
Fed = tuple[torch.Tensor | None, Any]


def batches(plan: Plan, device: torch.device) -> Iterator[tuple[int, torch.Tensor, tuple[int, int] | None]]:
    """`(step, row indices on device, column window or None)` per batch (`plan.each`)."""
    for i, (idx, cols) in enumerate(plan.each(device)):
        yield i, idx, cols


def take(x: torch.Tensor, idx: torch.Tensor, cols: tuple[int, int] | None) -> torch.Tensor:
    """Rows `idx` of `x`, restricted to the column window `cols` when given."""
    if cols is not None:
        return x[:, cols[0] : cols[1]].index_select(0, idx)
    return x.index_select(0, idx)


def array_batches(plan: Plan, device: torch.device, x: Data, *rest: Data | None) -> Iterator[Fed]:
    """A plan's batches of `x` (and of the targets and sample weights in `rest`, when given):
    `(indices, x_batch)` without `rest`, else `(indices, (x_batch, y_batch[, w_batch]))`."""
    others = [t for t in rest if t is not None]
    for _, idx, cols in batches(plan, device):
        # several inputs (outputs, weights): a tuple of tensors, each sliced alike
        if isinstance(x, torch.Tensor):
            xb: Any = take(x, idx, cols)
        else:  # inputs are tensors (only targets and weights may be `LazyRows`)
            xb = tuple(take(t, idx, cols) for t in cast(tuple[torch.Tensor, ...], x))
        if not rest:
            yield idx, xb
        else:
            yield idx, (xb, *[select(t, idx) for t in others])


class RunningLogs:
    """Sample-weighted sums of the loss and mean metrics, kept on the device, and the stateful
    metrics (reset here, read with `result()`). `metrics` are the compiled metrics (or their
    names alone, when none is stateful).

    Logs come out in Keras 3's order: the metrics as named in `compile`, then `loss`.
    """

    def __init__(self, metrics: Sequence[Metric | str], device: torch.device) -> None:
        self.metrics = [m for m in metrics if isinstance(m, Metric)]
        self.names = [*[m if isinstance(m, str) else m.name for m in metrics], "loss"]
        self.sums = torch.zeros(len(self.names), device=device)
        self.count = 0
        for m in metrics:
            if isinstance(m, StatefulMetric):
                m.reset_state()

    def add(self, sums: torch.Tensor, count: int) -> None:
        """Add a step's sums over `count` rows: `(metrics + 1,)`, each metric's, then the loss's."""
        self.sums += sums
        self.count += count

    def logs(self) -> Logs:
        values: list[Any] = (self.sums / max(self.count, 1)).tolist()  # the only device sync
        for i, m in enumerate(self.metrics):
            if isinstance(m, StatefulMetric):  # (metric objects are given in `names` order)
                values[i] = m.result()
        return dict(zip(self.names, values, strict=True))


def _rows(batch: Any) -> int:
    return rows(batch[0])


def _work(batch: Any) -> float:
    """A batch's input elements (rows times steps), what its time is divided by to compare."""
    x = batch[0]
    parts = x.values() if isinstance(x, dict) else x if isinstance(x, (tuple, list)) else (x,)
    return float(sum(t.numel() for t in parts if isinstance(t, torch.Tensor))) or 1.0


def train_epoch(
    model: Trainer,
    feed: Iterable[Fed],
    callbacks: CallbackList,
    bar: ProgressBar,
    device: torch.device,
) -> Logs:
    """One epoch of `model.train_step` over the batches of `feed`; returns the epoch's mean logs."""
    running = RunningLogs(model.log_entries, device)
    want_begin = callbacks.wants("on_train_batch_begin")
    want_end = callbacks.wants("on_train_batch_end")
    step = model.train_step
    model.train()
    with threads_policy.adapting(threads_policy.controller_for(model, device)) as threads:
        for i, (_, batch) in enumerate(feed):
            if want_begin:
                callbacks.call("on_train_batch_begin", i, None)
            running.add(step(batch), _rows(batch))
            if threads is not None:
                threads.tick(_work(batch))
            if want_end:
                callbacks.call("on_train_batch_end", i, running.logs())
            if bar.due(i + 1):
                bar.update(i + 1, running.logs)
            if model.stop_training:
                break
    return running.logs()


def evaluate(
    model: Trainer,
    feed: Iterable[Fed],
    steps: int,
    device: torch.device,
    callbacks: CallbackList | None = None,
    verbose: int = 0,
) -> Logs:
    """Mean loss and metrics of `model.test_step` over `feed`, in eval mode without gradients."""
    running = RunningLogs(model.log_entries, device)
    want_begin = callbacks is not None and callbacks.wants("on_test_batch_begin")
    want_end = callbacks is not None and callbacks.wants("on_test_batch_end")
    step = model.test_step
    bar = ProgressBar(steps, verbose)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for i, (_, batch) in enumerate(feed):
                if want_begin and callbacks is not None:
                    callbacks.call("on_test_batch_begin", i, None)
                running.add(step(batch), _rows(batch))
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
    feed: Iterable[Fed],
    steps: int,
    n_rows: int | None,
    device: torch.device,
    callbacks: CallbackList | None = None,
    verbose: int = 0,
) -> torch.Tensor:
    """`model.predict_step` for every batch of `feed`, in the order of the data: rows of `n_rows`
    are put back where their indices say (batches may be reordered); a stream's (`n_rows` None)
    are concatenated in the order they come. Several outputs give a list of tensors."""
    out_all: list[torch.Tensor] | None = None
    pieces: list[list[torch.Tensor]] = []
    several = False
    want_begin = callbacks is not None and callbacks.wants("on_predict_batch_begin")
    want_end = callbacks is not None and callbacks.wants("on_predict_batch_end")
    step = model.predict_step
    bar = ProgressBar(steps, verbose)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for i, (idx, xb) in enumerate(feed):
                if want_begin and callbacks is not None:
                    callbacks.call("on_predict_batch_begin", i, None)
                out = step(xb)
                several = isinstance(out, list)
                parts: list[torch.Tensor] = out if isinstance(out, list) else [out]
                if idx is None or n_rows is None:
                    pieces.append(parts)
                else:
                    if out_all is None:
                        out_all = [
                            torch.empty((n_rows, *p.shape[1:]), dtype=p.dtype, device=device) for p in parts
                        ]
                    for buf, part in zip(out_all, parts, strict=True):
                        buf[idx] = part
                if want_end and callbacks is not None:
                    callbacks.call("on_predict_batch_end", i, {"outputs": out})
                if bar.due(i + 1):
                    bar.update(i + 1, {})
        bar.finish({})
    finally:
        bar.close()
        model.train(was_training)
    if out_all is None:
        if not pieces:
            raise ValueError("`predict` received no batches: the dataset is empty.")
        out_all = [torch.cat([p[k] for p in pieces]) for k in range(len(pieces[0]))]
    return out_all if several else out_all[0]  # type: ignore[return-value]
