"""Several inputs or outputs (functional models): Keras 3's rules for structured data and compile.

A model with several inputs takes `x` as a list or tuple (one array per input, in the model's
order) or a dict keyed by input names; checked, it is a tuple of tensors that the batching and the
loops slice as one. A model with several outputs takes `y` (and optionally `sample_weight`) the
same way, by output, and compiles with Keras 3's rules:

- `loss`: one loss (applied to every output), a list with one per output, or a dict keyed by
  output name covering every output;
- `loss_weights`: a list or dict with one weight per output (the total loss is the weighted sum);
- `metrics`: a list with one entry per output (a metric or a list of metrics), or a dict keyed by
  output names (outputs left out get none). A flat list of another length is refused, as Keras.

Logs carry `loss` (the weighted total), `<output>_loss` for each output (not weighted by
`loss_weights`) and `<output>_<metric>`; `evaluate` lists them in Keras's order: `loss`, the
per-output losses, then the metrics sorted by name.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from textrnn import checks
from textrnn.training import losses as losses_mod
from textrnn.training import metrics as metrics_mod


class LazyRows:
    """Rows converted batch by batch: a raw `(samples, ...)` CPU tensor (e.g. a view of a
    memory-mapped file, never copied whole) and the conversion each selected batch gets before
    it moves to `device`. The batching and the loops slice it as a tensor.

    Args:
        raw: the rows as stored.
        convert: turns a batch of raw rows into what the step takes (e.g. float32 targets).
        device: where selected batches go.
    """

    def __init__(
        self,
        raw: torch.Tensor,
        convert: Callable[[torch.Tensor], torch.Tensor],
        device: torch.device | None = None,
    ) -> None:
        self.raw = raw
        self.convert = convert
        self.device = device or torch.device("cpu")

    @property
    def shape(self) -> torch.Size:
        return self.raw.shape

    def to(self, device: torch.device) -> LazyRows:
        return LazyRows(self.raw, self.convert, device)

    def index_select(self, dim: int, idx: torch.Tensor) -> torch.Tensor:
        return self.convert(self.raw.index_select(dim, idx.cpu())).to(self.device)

    def __getitem__(self, rows: slice) -> LazyRows:
        return LazyRows(self.raw[rows], self.convert, self.device)


#: checked data for one or several inputs (targets, sample weights): a tensor, or one per name
Data = torch.Tensor | LazyRows | tuple[torch.Tensor, ...]


def rows(x: Data) -> int:
    """The number of samples of `x`."""
    return int((x if not isinstance(x, tuple) else x[0]).shape[0])


def to(x: Data, device: torch.device) -> Data:
    """`x` (each tensor of it) on `device`."""
    return tuple(t.to(device) for t in x) if isinstance(x, tuple) else x.to(device)


def select(x: Data, idx: torch.Tensor) -> Data:
    """Rows `idx` of `x` (each tensor of it)."""
    if isinstance(x, tuple):
        return tuple(t.index_select(0, idx) for t in x)
    return x.index_select(0, idx)


def cut(x: Data, start: int | None, end: int | None) -> Data:
    """Rows `start:end` of `x` (each tensor of it)."""
    if isinstance(x, tuple):
        return tuple(t[start:end] for t in x)
    return x[start:end]


def by_name(value: Any, names: Sequence[str], argument: str, what: str) -> list[Any]:
    """`value` as one entry per name: a list or tuple in `names` order, or a dict keyed by them.

    Raises:
        ValueError: for another number of entries, unknown or missing keys, or a single array.
    """
    names = list(names)
    how = (
        f"Pass one array per {what}, as a list in the model's order or a dict keyed by {what} name "
        f"(e.g. {{{', '.join(repr(n) + ': ...' for n in names)}}})."
    )
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        missing = [n for n in names if n not in value]
        if unknown or missing:
            detail = f"unknown key(s) {unknown}" if unknown else f"no entry for {missing}"
            raise ValueError(
                f"`{argument}` is a dict with {detail}, but the model's {what}s are {names}. {how}"
            )
        return [value[n] for n in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(
                f"`{argument}` holds {len(value)} arrays, but the model has {len(names)} {what}s "
                f"{names}. {how}"
            )
        return list(value)
    got = type(value).__name__
    raise ValueError(
        f"The model has {len(names)} {what}s {names}, so `{argument}` must be a list of "
        f"{len(names)} arrays or a dict keyed by these names, got one {got}. {how}"
    )


def entry_argument(argument: str, name: str) -> str:
    """How an error names one input's (or output's) array: `x['tokens']`."""
    return f"{argument}[{name!r}]"


def check_same_rows(tensors: Sequence[torch.Tensor], names: Sequence[str], argument: str) -> None:
    """All arrays of a structured argument hold the same number of samples."""
    counts = [int(t.shape[0]) for t in tensors]
    if len(set(counts)) > 1:
        sizes = ", ".join(f"{n!r}: {c}" for n, c in zip(names, counts, strict=True))
        raise ValueError(
            f"All arrays of `{argument}` must hold the same number of samples, got {sizes}. Give "
            "every input and output one row per sample."
        )


@dataclass
class Outputs:
    """The compiled losses, loss weights and metrics of a model with several outputs.

    Attributes:
        names: the names logs use for the outputs (the output layers' names, or the keys of a
            model made with a dict of outputs).
        losses: one `Loss` per output.
        weights: one loss weight per output (1.0 when none was given).
        metrics: one list of metrics per output, each named `<output>_<metric>`.
        loss_ids, weight_ids, metric_ids: the `compile` arguments as given (for the compile
            config).
    """

    names: list[str]
    losses: list[losses_mod.Loss]
    weights: list[float]
    metric_ids: Any
    loss_ids: Any
    weight_ids: Any
    metrics: list[list[metrics_mod.Metric]] | None = None

    @property
    def loss_names(self) -> list[str]:
        """`<output>_loss` for each output."""
        return [f"{n}_loss" for n in self.names]

    def resolve_metrics(self, units: Sequence[int]) -> list[list[metrics_mod.Metric]]:
        """The metrics of each output, resolved for its loss and `units` (once)."""
        if self.metrics is None:
            self.metrics = _metrics(self.metric_ids, self.names, self.losses, units)
        return self.metrics

    def flat_metrics(self) -> list[metrics_mod.Metric]:
        """Every output's metrics, output by output (the order of a step's sums)."""
        if self.metrics is None:
            return []
        return [m for per in self.metrics for m in per]

    def evaluate_order(self) -> list[str]:
        """Keras's order of `evaluate`'s list: `loss`, the per-output losses, the metrics by name."""
        return ["loss", *self.loss_names, *sorted(m.name for m in self.flat_metrics())]


def compile_outputs(loss: Any, loss_weights: Any, metrics: Any, names: Sequence[str]) -> Outputs:
    """Check and resolve `compile`'s `loss`, `loss_weights` and `metrics` for outputs `names`.

    Raises:
        ValueError, TypeError: for a structure that does not match the outputs, or a bad entry.
    """
    names = list(names)
    if isinstance(loss, dict):
        if set(loss) != set(names):
            raise ValueError(
                f"Expected keys {names} in loss dict, but found loss.keys()={list(loss)}. Give every "
                "output a loss."
            )
        per_loss = [loss[n] for n in names]
    elif isinstance(loss, (list, tuple)):
        if len(loss) != len(names):
            raise ValueError(
                f"`loss` holds {len(loss)} losses, but the model has {len(names)} outputs {names}: "
                "pass one loss per output, a dict keyed by output name, or one loss for all."
            )
        per_loss = list(loss)
    else:
        per_loss = [loss] * len(names)
    for n, entry in zip(names, per_loss, strict=True):
        if entry is None:
            raise ValueError(f"Output {n!r} has no loss (None); textrnn trains every output: give it a loss.")
    losses = [losses_mod.get(entry) for entry in per_loss]
    if loss_weights is None:
        weights = [1.0] * len(names)
    elif isinstance(loss_weights, dict):
        if set(loss_weights) != set(names):
            raise ValueError(
                f"`loss_weights` must have one weight per output {names}, got keys {list(loss_weights)}."
            )
        weights = [loss_weights[n] for n in names]
    elif isinstance(loss_weights, (list, tuple)):
        if len(loss_weights) != len(names):
            raise ValueError(
                f"`loss_weights` must match the number of losses, got {len(names)} losses and "
                f"{len(loss_weights)} weights."
            )
        weights = list(loss_weights)
    else:
        expected = f"a list or dict with one weight per output {names}"
        raise checks.invalid("loss_weights", expected, loss_weights, error=TypeError)
    for w in weights:
        if isinstance(w, bool) or not isinstance(w, (int, float)):
            raise checks.invalid("loss_weights", "numbers", loss_weights, error=TypeError)
    if metrics is not None and not isinstance(metrics, (list, tuple, dict)):
        expected = "a list (one entry per output) or a dict keyed by output name"
        raise checks.invalid("metrics", expected, metrics, error=TypeError)
    out = Outputs(names, losses, [float(w) for w in weights], metrics, loss, loss_weights)
    _per_output(metrics, names)  # refuse a bad structure at compile time, as Keras
    return out


def _per_output(metrics: Any, names: list[str]) -> list[list[Any]]:
    """`compile(metrics=...)` as one list of metric identifiers per output (Keras 3's rule)."""
    if not metrics:
        return [[] for _ in names]
    if isinstance(metrics, (list, tuple)) and len(metrics) == len(names):
        entries = list(metrics)
    elif isinstance(metrics, dict) and set(metrics) <= set(names):
        entries = [metrics.get(n) for n in names]
    else:
        structure = ["X"] * len(names)
        raise ValueError(
            "Invalid `metrics`. `metrics` should contain metrics objects and either be a dict or a "
            f"list matching the output names of the functional model {names} or match the output "
            f"structure of the model: {structure}. Received: metrics={metrics!r}. For the same "
            f"metric on every output, repeat it: metrics={[['accuracy']] * len(names)}."
        )
    return [[] if e is None else list(e) if isinstance(e, (list, tuple)) else [e] for e in entries]


def _metrics(
    metrics: Any, names: list[str], losses: list[losses_mod.Loss], units: Sequence[int]
) -> list[list[metrics_mod.Metric]]:
    taken: dict[str, int] = {}
    resolved = []
    for name, ids, loss, n_units in zip(names, _per_output(metrics, names), losses, units, strict=True):
        per = []
        for identifier in ids:
            if isinstance(identifier, metrics_mod.Metric):
                metric = copy.deepcopy(identifier)  # each output keeps its own state and name
            else:
                metric = metrics_mod.get(identifier, loss, n_units)
            full = f"{name}_{metric.name}"
            if full in taken:  # Keras: a repeated name gets `_1`, `_2`, ...
                taken[full] += 1
                full = f"{full}_{taken[full] - 1}"
            else:
                taken[full] = 1
            metric.name = full
            if isinstance(metric, metrics_mod.StatefulMetric):
                metric.reset_state()
            per.append(metric)
        resolved.append(per)
    return resolved
