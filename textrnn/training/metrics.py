"""Metrics by Keras name or object: per-sample means over the epoch, and stateful metrics.

`metrics=["acc"]` (or `"accuracy"`) means binary, categorical or sparse categorical accuracy, chosen
from the loss and output size as Keras does, and the history key is the name as written (`acc` or
`accuracy`). `"auc"`, `"precision"`, `"recall"`, `"f1_score"` (or `AUC()`, `Precision()`, ...)
are stateful: they accumulate confusion counts over a pass, as Keras's, and are reset when the
next pass begins. Metrics see what the model outputs: probabilities after a final sigmoid or
softmax (textrnn may compute the loss from that layer's logits internally, which changes no
metric); with a `from_logits=True` loss the model outputs logits and the metrics see them, so
accuracy thresholds logits at 0.5, as Keras does (the trainer warns once).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from textrnn import checks
from textrnn.training.losses import Loss

MetricFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def binary_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Per-sample share of outputs on the right side of `threshold`. Shapes `(batch, units)`."""
    return ((y_pred > threshold).to(y_true.dtype) == y_true).float().mean(dim=-1)


def categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """1 where the arg-max of the output matches the arg-max of the one-hot target."""
    return (y_pred.argmax(dim=-1) == y_true.argmax(dim=-1)).float()


def sparse_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """1 where the arg-max of the output equals the integer target."""
    return (y_pred.argmax(dim=-1) == y_true.reshape(-1).long()).float()


def _mse(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    return (y_pred - y_true.to(y_pred.dtype).reshape(y_pred.shape)).square().mean(dim=-1)


def _mae(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    return (y_pred - y_true.to(y_pred.dtype).reshape(y_pred.shape)).abs().mean(dim=-1)


class Metric:
    """A per-sample metric with a name (the history key) and a direction (`"up"` is better when higher).

    Args:
        name: the key in logs and history.
        fn: `fn(y_true, y_pred) -> (batch,)` values, averaged over samples.
        direction: `"up"` or `"down"`, used by `EarlyStopping`/`ModelCheckpoint` in `mode="auto"`.
    """

    def __init__(self, name: str, fn: MetricFn, direction: str = "up") -> None:
        if direction not in ("up", "down"):
            raise checks.invalid("direction", "'up' or 'down'", direction)
        self.name = name
        self.fn = fn
        self.direction = direction

    def __call__(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return self.fn(y_true, y_pred)

    def __repr__(self) -> str:
        return f"Metric(name={self.name!r}, direction={self.direction!r})"


class BinaryAccuracy(Metric):
    """Keras's `BinaryAccuracy(name="binary_accuracy", threshold=0.5)`: the share of outputs on
    the right side of `threshold` (applied to whatever the model outputs, logits included)."""

    def __init__(self, name: str = "binary_accuracy", threshold: float = 0.5) -> None:
        self.threshold = float(threshold)
        super().__init__(name, lambda t, p: binary_accuracy(t, p, self.threshold), "up")


class Accuracy(Metric):
    """Keras's `Accuracy(name="accuracy")`: how often the output equals the label exactly."""

    def __init__(self, name: str = "accuracy") -> None:
        super().__init__(name, _exact_accuracy, "up")


def _exact_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    y_true = y_true.to(y_pred.dtype).reshape(y_pred.shape)
    return (y_true == y_pred).float().reshape(y_pred.shape[0], -1).mean(dim=-1)


class StatefulMetric(Metric):
    """A metric that accumulates state over a pass (Keras's `update_state` / `result` /
    `reset_state`): confusion counts for `AUC`, `Precision`, `Recall`, `F1Score`.

    The loops reset it when a pass begins and read `result()` for the logs; calling it updates
    the state and returns zeros (its share of the per-sample sums the loops keep).
    """

    def __init__(self, name: str, direction: str = "up") -> None:
        super().__init__(name, self._zeros, direction)
        self.reset_state()

    @staticmethod
    def _zeros(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return torch.zeros(1, device=y_pred.device)

    def __call__(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        self.update_state(y_true, y_pred)
        return self._zeros(y_true, y_pred)

    def reset_state(self) -> None:
        raise NotImplementedError

    def update_state(self, y_true: Any, y_pred: Any) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError


def _pair(y_true: Any, y_pred: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """`(y_true, y_pred)` as float tensors of the prediction's shape."""
    p = torch.as_tensor(y_pred).detach().float()
    t = torch.as_tensor(y_true, device=p.device).detach().float()
    if p.ndim == 1:
        p = p.reshape(-1, 1)
    if t.numel() != p.numel():
        raise ValueError(
            f"This metric needs labels of the outputs' shape {tuple(p.shape)} (0/1 per output; "
            f"one-hot labels for several outputs), got labels of shape {tuple(t.shape)}."
        )
    return t.reshape(p.shape), p


class _Confusion(StatefulMetric):
    """True/false positives and negatives of `y_pred > threshold`, for each threshold, summed
    over every output of every sample (Keras's `multi_label=False`)."""

    def __init__(self, name: str, thresholds: list[float], from_logits: bool = False) -> None:
        self.thresholds = torch.tensor(thresholds, dtype=torch.float64)
        self.from_logits = from_logits
        self.clip = False
        super().__init__(name)

    def reset_state(self) -> None:
        n = len(self.thresholds)
        self.tp = torch.zeros(n, dtype=torch.float64)
        self.fp = torch.zeros(n, dtype=torch.float64)
        self.tn = torch.zeros(n, dtype=torch.float64)
        self.fneg = torch.zeros(n, dtype=torch.float64)

    def update_state(self, y_true: Any, y_pred: Any) -> None:
        t, p = _pair(y_true, y_pred)
        if self.from_logits:
            p = torch.sigmoid(p)
        if self.clip:
            p = p.clamp(0.0, 1.0)  # Keras's bucketed path for evenly spaced thresholds
        t = t.reshape(-1).double() != 0
        p = p.reshape(-1).double()
        th = self.thresholds.to(p.device)
        above = p.unsqueeze(0) > th.unsqueeze(1)  # (thresholds, values)
        pos, neg = t.unsqueeze(0), ~t.unsqueeze(0)
        self.tp = self.tp.to(p.device) + (above & pos).sum(dim=1).double()
        self.fp = self.fp.to(p.device) + (above & neg).sum(dim=1).double()
        self.fneg = self.fneg.to(p.device) + (~above & pos).sum(dim=1).double()
        self.tn = self.tn.to(p.device) + (~above & neg).sum(dim=1).double()


def _ratio(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """`a / b`, 0 where `b` is 0 (Keras's `divide_no_nan`)."""
    return torch.where(b > 0, a / torch.where(b > 0, b, torch.ones_like(b)), torch.zeros_like(a))


def _threshold_list(thresholds: Any) -> list[float]:
    if thresholds is None:
        return [0.5]
    values = [thresholds] if isinstance(thresholds, (int, float)) else list(thresholds)
    for v in values:
        if not 0.0 <= float(v) <= 1.0:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: {values}")
    return [float(v) for v in values]


class Precision(_Confusion):
    """Keras's `Precision(thresholds=None, name="precision")`: TP / (TP + FP) of
    `y_pred > 0.5` (or each of `thresholds`, giving a list), accumulated over the pass."""

    def __init__(self, thresholds: Any = None, name: str = "precision") -> None:
        super().__init__(name, _threshold_list(thresholds))
        self._many = thresholds is not None and not isinstance(thresholds, (int, float))

    def result(self) -> Any:
        values = _ratio(self.tp, self.tp + self.fp).tolist()
        return values if self._many else values[0]


class Recall(_Confusion):
    """Keras's `Recall(thresholds=None, name="recall")`: TP / (TP + FN), as `Precision`."""

    def __init__(self, thresholds: Any = None, name: str = "recall") -> None:
        super().__init__(name, _threshold_list(thresholds))
        self._many = thresholds is not None and not isinstance(thresholds, (int, float))

    def result(self) -> Any:
        values = _ratio(self.tp, self.tp + self.fneg).tolist()
        return values if self._many else values[0]


class AUC(_Confusion):
    """Keras's `AUC(num_thresholds=200, curve="ROC", summation_method="interpolation")`: the
    area under the ROC (or PR) curve from confusion counts at `num_thresholds` thresholds
    (Keras's: 0 - 1e-7, (i + 1) / (num_thresholds - 1), 1 + 1e-7), accumulated over the pass.

    `summation_method="interpolation"` sums trapezoids for ROC and uses Davis & Goadrich's
    interpolation for PR, as Keras; `"minoring"` / `"majoring"` take the lower / upper heights.
    """

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str = "auc",
        thresholds: Any = None,
        from_logits: bool = False,
    ) -> None:
        from textrnn import checks

        self.curve = checks.choice("curve", str(curve).upper(), ("ROC", "PR"))
        self.summation_method = checks.choice(
            "summation_method", summation_method, ("interpolation", "minoring", "majoring")
        )
        if thresholds is not None:
            inner = sorted(_threshold_list(thresholds))
        else:
            if not isinstance(num_thresholds, int) or num_thresholds <= 1:
                raise ValueError(
                    "Argument `num_thresholds` must be an integer > 1. "
                    f"Received: num_thresholds={num_thresholds}"
                )
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.num_thresholds = len(inner) + 2
        super().__init__(name, [0.0 - 1e-7, *inner, 1.0 + 1e-7], from_logits)
        # Keras clips predictions to [0, 1] when its thresholds are evenly spaced (the default)
        self.clip = thresholds is None

    def result(self) -> float:
        tp, fp, tn, fn = self.tp, self.fp, self.tn, self.fneg
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr()
        recall = _ratio(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _ratio(fp, fp + tn), recall
        else:
            x, y = recall, _ratio(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return float(((x[:-1] - x[1:]) * heights).sum())

    def _interpolate_pr(self) -> float:
        tp, fp, fn = self.tp, self.fp, self.fneg
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        prec_slope = _ratio(dtp, torch.clamp(dp, min=0))
        intercept = tp[1:] - prec_slope * p[1:]
        safe_p_ratio = torch.where(
            (p[:-1] > 0) & (p[1:] > 0),
            _ratio(p[:-1], torch.clamp(p[1:], min=0)),
            torch.ones_like(p[1:]),
        )
        pr_auc_increment = _ratio(
            prec_slope * (dtp + intercept * torch.log(safe_p_ratio)),
            torch.clamp(tp[1:] + fn[1:], min=0),
        )
        return float(pr_auc_increment.sum())


class F1Score(StatefulMetric):
    """Keras's `F1Score(average=None, threshold=None, name="f1_score")` on `(batch, classes)`
    outputs: per class `2 * P * R / (P + R)` from counts over the pass (with Keras's 1e-7).

    `threshold=None` marks each row's arg-max as the predicted class (Keras's rule: for one
    output column every prediction is then 1); a number thresholds each output. `average`:
    None (per class: a list in the logs, a number for one class), `"micro"`, `"macro"`,
    `"weighted"` (by each class's number of positives).
    """

    def __init__(
        self, average: str | None = None, threshold: float | None = None, name: str = "f1_score"
    ) -> None:
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(
                "Invalid `average` argument value. Expected one of: "
                "{None, 'micro', 'macro', 'weighted'}. "
                f"Received: average={average}"
            )
        if threshold is not None and not (0.0 < float(threshold) <= 1.0):
            raise ValueError(
                "Invalid `threshold` argument value. It should be a Python float in the range "
                f"]0, 1]. Received: threshold={threshold}"
            )
        self.average = average
        self.threshold = threshold
        super().__init__(name)

    def reset_state(self) -> None:
        self.tp: torch.Tensor | None = None
        self.fp: torch.Tensor | None = None
        self.fneg: torch.Tensor | None = None
        self.support: torch.Tensor | None = None

    def update_state(self, y_true: Any, y_pred: Any) -> None:
        t, p = _pair(y_true, y_pred)
        t, p = t.double(), p.double()
        if self.threshold is None:
            pred = torch.zeros_like(p)
            pred.scatter_(1, p.argmax(dim=1, keepdim=True), 1.0)
        else:
            pred = (p > self.threshold).double()
        sums = [(pred * t).sum(0), (pred * (1 - t)).sum(0), ((1 - pred) * t).sum(0), t.sum(0)]
        if self.tp is None:
            self.tp, self.fp, self.fneg, self.support = sums
        else:
            assert self.fp is not None and self.fneg is not None and self.support is not None
            self.tp, self.fp = self.tp + sums[0], self.fp + sums[1]
            self.fneg, self.support = self.fneg + sums[2], self.support + sums[3]

    def result(self) -> Any:
        if self.tp is None or self.fp is None or self.fneg is None or self.support is None:
            return 0.0
        tp, fp, fn = self.tp, self.fp, self.fneg
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        eps = 1e-7
        precision = (tp / (tp + fp + eps)).float()
        recall = (tp / (tp + fn + eps)).float()
        f1 = 2 * (precision * recall) / (precision + recall + eps)
        if self.average == "weighted":
            weights = self.support / (self.support.sum() + eps)
            return float((f1 * weights).sum())
        if self.average is not None:
            return float(f1.mean())
        values = f1.reshape(-1).tolist()
        return values[0] if len(values) == 1 else values


_STATEFUL: dict[str, Callable[[], StatefulMetric]] = {
    "auc": AUC,
    "precision": Precision,
    "recall": Recall,
    "f1_score": F1Score,
}


_NAMED: dict[str, tuple[MetricFn, str]] = {
    "binary_accuracy": (binary_accuracy, "up"),
    "categorical_accuracy": (categorical_accuracy, "up"),
    "sparse_categorical_accuracy": (sparse_categorical_accuracy, "up"),
    "mse": (_mse, "down"),
    "mean_squared_error": (_mse, "down"),
    "mae": (_mae, "down"),
    "mean_absolute_error": (_mae, "down"),
}


def get(identifier: Any, loss: Loss, units: int) -> Metric:
    """Resolve one entry of `compile(metrics=...)` for a model with `units` outputs trained with `loss`.

    Raises:
        ValueError: for an unknown name.
        TypeError: for anything that is not a name or a `Metric`.
    """
    if isinstance(identifier, Metric):
        return identifier
    if not isinstance(identifier, str):
        raise TypeError(
            "Received an invalid value in argument `metrics`, expected metric names such as 'acc' or "
            "`Metric` "
            f"objects, got {identifier!r}."
        )
    key = identifier.lower()
    if key in ("acc", "accuracy"):
        if loss.accuracy == "binary_accuracy" and units > 1 and loss.logits_activation is None:
            kind = "categorical_accuracy"  # regression-style loss on several outputs: Keras's shape rule
        else:
            kind = loss.accuracy
        fn, direction = _NAMED[kind]
        return Metric(identifier, fn, direction)
    if key in _NAMED:
        fn, direction = _NAMED[key]
        return Metric(identifier, fn, direction)
    if key in _STATEFUL:
        metric = _STATEFUL[key]()
        metric.name = identifier
        return metric
    raise ValueError(
        "Received an invalid value in argument `metrics`, expected one of "
        f"{sorted(['acc', 'accuracy', *_NAMED, *_STATEFUL])}, "
        f"got {identifier!r}."
    )


def direction_of(name: str) -> str | None:
    """`"up"`/`"down"` for a known metric name (without `val_`), None when unknown."""
    key = name.lower()
    if key in ("acc", "accuracy"):
        return "up"
    if key == "loss" or key.endswith("_loss"):  # also an output's loss: `out_1_loss`
        return "down"
    if key in _STATEFUL or key.startswith(("auc", "precision", "recall", "f1_score")):
        return "up"
    return _NAMED[key][1] if key in _NAMED else None
