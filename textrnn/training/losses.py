"""Keras's losses by name, per sample, computed from logits when the model allows it.

Keras's `binary_crossentropy` on the output of a sigmoid (and `categorical_crossentropy` on a
softmax) is, on its TensorFlow backend, computed from the logits under the activation, which is
numerically stable. textrnn does the same explicitly: when the last layer is a `Dense` with a
sigmoid (softmax) activation, `Sequential` hands the loss the pre-activation output and
`from_logits=True`. Otherwise probabilities are clipped to `[1e-7, 1 - 1e-7]` as Keras does.

Each loss returns one value per sample (shape `(batch,)`); the model averages them over the batch
(Keras's `"sum_over_batch_size"` reduction).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from textrnn import checks

EPSILON = 1e-7


# ----------------------------------------------------------------------------- functions
def binary_crossentropy(
    y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool = False
) -> torch.Tensor:
    """Per-sample binary cross-entropy, averaged over the last axis. Shapes `(batch, units)`."""
    if from_logits:
        per = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        p = y_pred.clamp(EPSILON, 1.0 - EPSILON)
        per = -(y_true * torch.log(p) + (1.0 - y_true) * torch.log1p(-p))
    return per.mean(dim=-1)


def categorical_crossentropy(
    y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool = False
) -> torch.Tensor:
    """Per-sample cross-entropy against one-hot (or soft) targets of shape `(batch, classes)`."""
    if from_logits:
        logp = torch.log_softmax(y_pred, dim=-1)
    else:
        p = y_pred / y_pred.sum(dim=-1, keepdim=True)
        logp = torch.log(p.clamp(EPSILON, 1.0 - EPSILON))
    return -(y_true * logp).sum(dim=-1)


def sparse_categorical_crossentropy(
    y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool = False
) -> torch.Tensor:
    """Per-sample cross-entropy against integer class ids `(batch,)`; `y_pred` is `(batch, classes)`."""
    if from_logits:
        logp = torch.log_softmax(y_pred, dim=-1)
    else:
        p = y_pred / y_pred.sum(dim=-1, keepdim=True)
        logp = torch.log(p.clamp(EPSILON, 1.0 - EPSILON))
    return -logp.gather(-1, y_true.long().reshape(-1, 1)).squeeze(-1)


def mean_squared_error(y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool = False) -> torch.Tensor:
    """Per-sample mean squared error over the last axis."""
    return (y_pred - y_true).square().mean(dim=-1)


def mean_absolute_error(
    y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool = False
) -> torch.Tensor:
    """Per-sample mean absolute error over the last axis."""
    return (y_pred - y_true).abs().mean(dim=-1)


# ----------------------------------------------------------------------------- classes
class Loss:
    """A loss with Keras's name; `loss(y_true, y_pred, from_logits=False)` gives per-sample values.

    Args:
        from_logits: whether the model's outputs are logits (no final activation). When the last
            layer is `Dense(activation="sigmoid")` (or softmax), textrnn already passes logits, so
            leave this False as in the Keras tutorial.
    """

    name = "loss"
    #: the final activation under which this loss can use logits directly
    logits_activation: str | None = None
    #: True when targets are integer class ids
    sparse = False
    #: which accuracy `metrics=["acc"]` means with this loss
    accuracy = "binary_accuracy"

    def __init__(self, from_logits: bool = False) -> None:
        self.from_logits = bool(from_logits)

    def fn(self, y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool = False) -> torch.Tensor:
        return self.fn(y_true, y_pred, from_logits or self.from_logits)

    # ---- labels
    def check_labels(self, y: np.ndarray, units: int, argument: str = "y") -> None:
        """Raise a ValueError naming the problem if `y` cannot be targets for `units` outputs."""
        _check_finite(y, argument, self.name)

    def prepare_labels(self, y: np.ndarray, units: int) -> torch.Tensor:
        """Targets as a tensor in the layout this loss computes with (checked first)."""
        arr = np.asarray(y, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        return torch.from_numpy(np.ascontiguousarray(arr))

    def get_config(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(from_logits={self.from_logits})"


def _check_finite(y: np.ndarray, argument: str, loss: str) -> None:
    if not np.issubdtype(y.dtype, np.number) and y.dtype != np.bool_:
        raise TypeError(
            f"`{argument}` must hold numeric labels for `{loss}`, got an array of dtype {y.dtype}."
        )
    if np.issubdtype(y.dtype, np.floating) and not np.isfinite(y).all():
        raise ValueError(
            f"`{argument}` holds NaN or infinite labels; `{loss}` needs finite values. Remove or fix those "
            "rows."
        )


def _shape_matches(y: np.ndarray, units: int) -> bool:
    return (y.ndim == 1 and units == 1) or (y.ndim == 2 and y.shape[1] == units)


class BinaryCrossentropy(Loss):
    """Keras's `binary_crossentropy`: labels 0/1 (or in [0, 1]) against sigmoid outputs."""

    name = "binary_crossentropy"
    logits_activation = "sigmoid"

    def fn(self, y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool) -> torch.Tensor:
        return binary_crossentropy(y_true, y_pred, from_logits)

    def check_labels(self, y: np.ndarray, units: int, argument: str = "y") -> None:
        super().check_labels(y, units, argument)
        if not _shape_matches(y, units):
            raise ValueError(
                f"`binary_crossentropy` expects `{argument}` of shape (samples,) or (samples, {units}) to "
                "match the "
                f"model's {units} output unit(s), got shape {y.shape}. For one 0/1 label per sample end the "
                "model "
                "with `Dense(1, activation='sigmoid')`."
            )
        lo, hi = float(y.min()), float(y.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"`binary_crossentropy` needs labels in [0, 1] (0/1 classes), but `{argument}` holds values "
                "in "
                f"[{lo:g}, {hi:g}]. Map the classes to 0 and 1, or for more than two classes use "
                "`sparse_categorical_crossentropy` with `Dense(num_classes, activation='softmax')`."
            )


class CategoricalCrossentropy(Loss):
    """Keras's `categorical_crossentropy`: one-hot labels `(samples, classes)` against softmax outputs."""

    name = "categorical_crossentropy"
    logits_activation = "softmax"
    accuracy = "categorical_accuracy"

    def fn(self, y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool) -> torch.Tensor:
        return categorical_crossentropy(y_true, y_pred, from_logits)

    def check_labels(self, y: np.ndarray, units: int, argument: str = "y") -> None:
        super().check_labels(y, units, argument)
        if y.ndim != 2 or y.shape[1] != units:
            hint = (
                " These look like integer class ids: use `loss='sparse_categorical_crossentropy'`, or "
                "one-hot "
                "encode them first."
                if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)
                else ""
            )
            raise ValueError(
                f"`categorical_crossentropy` expects one-hot `{argument}` of shape (samples, {units}) to "
                "match the "
                f"model's {units} output units, got shape {y.shape}.{hint}"
            )
        lo, hi = float(y.min()), float(y.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"`categorical_crossentropy` needs one-hot labels with values in [0, 1], but `{argument}` "
                "holds "
                f"values in [{lo:g}, {hi:g}]."
            )

    def prepare_labels(self, y: np.ndarray, units: int) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(np.asarray(y, dtype=np.float32)))


class SparseCategoricalCrossentropy(Loss):
    """Keras's `sparse_categorical_crossentropy`: integer class ids `(samples,)` against softmax outputs."""

    name = "sparse_categorical_crossentropy"
    logits_activation = "softmax"
    sparse = True
    accuracy = "sparse_categorical_accuracy"

    def fn(self, y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool) -> torch.Tensor:
        return sparse_categorical_crossentropy(y_true, y_pred, from_logits)

    def check_labels(self, y: np.ndarray, units: int, argument: str = "y") -> None:
        super().check_labels(y, units, argument)
        if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
            hint = (
                " These look one-hot encoded: use `loss='categorical_crossentropy'`."
                if y.ndim == 2 and y.shape[1] == units
                else ""
            )
            raise ValueError(
                f"`sparse_categorical_crossentropy` expects integer class ids in `{argument}` of shape "
                "(samples,), "
                f"got shape {y.shape}.{hint}"
            )
        if np.issubdtype(y.dtype, np.floating) and not np.array_equal(y, np.round(y)):
            raise ValueError(
                f"`sparse_categorical_crossentropy` needs integer class ids, but `{argument}` holds "
                "fractional values. "
                "Convert the labels to integers 0 .. num_classes - 1."
            )
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= units:
            extra = (
                " A model with one output unit cannot hold two classes: use `Dense(1, activation='sigmoid')` "
                "with "
                "`binary_crossentropy`, or `Dense(2, activation='softmax')`."
                if units == 1
                else f" Give the last layer {hi + 1} units, or remap the labels to 0 .. {units - 1}."
            )
            raise ValueError(
                f"`sparse_categorical_crossentropy` needs class ids in [0, {units}) (one per output unit of "
                "the last "
                f"layer), but `{argument}` holds values in [{lo}, {hi}].{extra}"
            )

    def prepare_labels(self, y: np.ndarray, units: int) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(np.asarray(y).reshape(-1).astype(np.int64)))


class MeanSquaredError(Loss):
    """Keras's `mean_squared_error` (`"mse"`)."""

    name = "mean_squared_error"

    def fn(self, y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool) -> torch.Tensor:
        if from_logits:
            raise ValueError("`mean_squared_error` does not take logits; set `from_logits=False`.")
        return mean_squared_error(y_true, y_pred)

    def check_labels(self, y: np.ndarray, units: int, argument: str = "y") -> None:
        super().check_labels(y, units, argument)
        if not _shape_matches(y, units):
            raise ValueError(
                f"`{self.name}` expects `{argument}` of shape (samples,) or (samples, {units}) to match the "
                "model's "
                f"{units} output unit(s), got shape {y.shape}."
            )


class MeanAbsoluteError(MeanSquaredError):
    """Keras's `mean_absolute_error` (`"mae"`)."""

    name = "mean_absolute_error"

    def fn(self, y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool) -> torch.Tensor:
        if from_logits:
            raise ValueError("`mean_absolute_error` does not take logits; set `from_logits=False`.")
        return mean_absolute_error(y_true, y_pred)


_BY_NAME: dict[str, type[Loss]] = {
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
}
_CLASSES: dict[str, type[Loss]] = {
    c.__name__: c
    for c in (
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        MeanSquaredError,
        MeanAbsoluteError,
    )
}


def get(identifier: Any) -> Loss:
    """Resolve a loss: a Keras name (`"binary_crossentropy"`, `"mse"`, ...), a `Loss`, or a config dict.

    Raises:
        ValueError: for None or an unknown name.
        TypeError: for anything else.
    """
    if isinstance(identifier, Loss):
        return identifier
    if identifier is None:
        raise ValueError(
            "Received no value for argument `loss`: pass a loss to `compile`, e.g. "
            "`model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['acc'])`."
        )
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise checks.invalid("loss", f"one of {sorted(_BY_NAME)}", identifier)
        return cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        name = identifier["class_name"]
        cls = _CLASSES.get(name) or _BY_NAME.get(str(name).lower())
        if cls is None:
            raise ValueError(f"Unknown loss class {name!r} in config; expected one of {sorted(_CLASSES)}.")
        return cls(**identifier.get("config", {}))
    raise checks.invalid(
        "loss",
        "a name such as 'binary_crossentropy' or a `textrnn.losses` object",
        identifier,
        error=TypeError,
    )


def serialize(loss: Loss, original: Any = None) -> Any:
    """A JSON form read back by `get()`: the name the user wrote, or `{"class_name", "config"}`."""
    if isinstance(original, str):
        return original
    return {"class_name": type(loss).__name__, "config": loss.get_config()}
