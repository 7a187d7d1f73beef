"""Checking user data once, before training: shapes, token ranges, labels, the validation split.

Every check raises a ValueError/TypeError naming the argument, what was expected, what was received
and the fix, so a mistake surfaces before the first batch rather than as a shape error deep in a
layer. The checked data comes back as CPU tensors, ready to move to the device once.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from textrnn import checks
from textrnn.layers.base import Layer, Shape
from textrnn.layers.embedding import Embedding
from textrnn.layers.text_vectorization import TextVectorization, is_text
from textrnn.training.losses import Loss
from textrnn.training.multi_io import Data, LazyRows, cut, rows


def as_array(value: Any, argument: str) -> np.ndarray | torch.Tensor:
    """A NumPy array or a detached CPU tensor, with a clear error for ragged sequences."""
    if value is None:
        raise ValueError(f"Received no value for argument `{argument}`.")
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    try:
        arr = np.asarray(value)
    except ValueError:  # NumPy refuses ragged nested lists
        arr = np.empty(0, dtype=object)
    if arr.dtype == object:
        raise ValueError(
            f"`{argument}` holds sequences of different lengths (or non-numeric values). Pad them to one "
            "length "
            f"first: `{argument} = pad_sequences({argument}, maxlen=500)` with "
            "`from textrnn.preprocessing.sequence import pad_sequences`."
        )
    return arr


def _token_ids(arr: np.ndarray | torch.Tensor, embedding: Embedding, argument: str) -> torch.Tensor:
    if arr.ndim != 2:
        raise ValueError(
            f"`{argument}` must be a 2-D array of token ids, shape (samples, steps), for a model starting "
            "with "
            f"Embedding `{embedding.name}`, got shape {tuple(arr.shape)}. Pad the sequences to one length "
            "with "
            f"`pad_sequences({argument}, maxlen=...)` from `textrnn.preprocessing.sequence`."
        )
    if isinstance(arr, np.ndarray) and arr.dtype.kind == "u":
        arr = arr.astype(np.int64)
    t = arr if isinstance(arr, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(arr))
    if t.dtype == torch.bool:
        t = t.to(torch.int32)
    if t.is_complex():
        raise TypeError(f"`{argument}` must hold integer token ids, got dtype {t.dtype}.")
    if t.is_floating_point() and (not bool(torch.isfinite(t).all()) or not bool((t == t.round()).all())):
        raise ValueError(
            f"`{argument}` must hold integer token ids, but it holds fractional or non-finite values. "
            "Convert the texts to token ids (e.g. with `imdb.load_data` or a tokenizer) first."
        )
    lo, hi = int(t.min()), int(t.max())
    if lo < 0:
        raise ValueError(
            f"`{argument}` holds the negative token index {lo}; token ids must be non-negative (0 is "
            "padding)."
        )
    if hi >= embedding.input_dim:
        d = embedding.input_dim
        raise ValueError(
            f"`{argument}` holds token index {hi}, but Embedding `{embedding.name}` has input_dim={d} "
            f"(indices 0 to {d - 1}). Load the data with `num_words={d}` (e.g. "
            f"`imdb.load_data(num_words={d})`) "
            f"or raise `input_dim` to at least {hi + 1}."
        )
    # int32 ids halve the memory and bandwidth of int64; the Embedding gathers with either.
    return t.to(torch.int32).contiguous()


def check_inputs(
    x: Any, first_layer: Layer, input_shape: Shape | None = None, argument: str = "x"
) -> torch.Tensor:
    """`x` checked for a model starting with `first_layer`, as a CPU tensor.

    Token ids (int32) for an Embedding model, float32 features otherwise (checked against
    `input_shape` when the model is built).
    """
    if isinstance(first_layer, TextVectorization):
        return _text_ids(x, first_layer, argument)
    arr = as_array(x, argument)
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(
            f"`{argument}` is empty: expected at least one sample, got shape {tuple(arr.shape)}."
        )
    if isinstance(arr, np.ndarray) and arr.dtype.kind in "USO":
        raise TypeError(
            f"`{argument}` holds strings, but the model expects numbers. Turn texts into padded token id "
            "sequences first (a tokenizer / vocabulary, then `pad_sequences`)."
        )
    if isinstance(first_layer, Embedding):
        return _token_ids(arr, first_layer, argument)
    if arr.ndim < 2:
        raise ValueError(
            f"`{argument}` must have shape (samples, features, ...), got shape {tuple(arr.shape)}. "
            f"Reshape a single feature column with `{argument}.reshape(-1, 1)`."
        )
    t = arr if isinstance(arr, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(arr))
    t = t.to(torch.float32).contiguous()
    if input_shape is not None:
        expected, got = tuple(input_shape[1:]), tuple(t.shape[1:])
        if len(expected) != len(got) or any(
            e is not None and e != g for e, g in zip(expected, got, strict=True)
        ):
            raise ValueError(
                f"`{argument}` has shape {tuple(t.shape)}, but the model was built for input shape "
                f"{tuple(input_shape)}."
            )
    return t


def _text_ids(x: Any, layer: TextVectorization, argument: str) -> torch.Tensor:
    """Strings for a model starting with `TextVectorization`, as its token ids (converted once;
    the layer finishes the encoding per batch)."""
    if isinstance(x, (str, bytes)):
        raise TypeError(f"`{argument}` is a single string; pass a list or array of strings (one per sample).")
    if not is_text(x):
        got = type(x).__name__
        if isinstance(x, (np.ndarray, torch.Tensor)):
            got += f" of dtype {x.dtype}"
        raise TypeError(
            f"`{argument}` must hold strings (a list or NumPy array of str) for a model starting "
            f"with TextVectorization `{layer.name}`, got {got}."
        )
    return layer.token_ids(x, argument)


def check_sample_weight(sample_weight: Any, n: int, argument: str = "sample_weight") -> torch.Tensor:
    """Per-sample weights, `(n,)` or `(n, 1)`, as a float32 `(n,)` tensor."""
    arr = as_array(sample_weight, argument)
    w = torch.as_tensor(np.asarray(arr), dtype=torch.float32).reshape(arr.shape)
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(
            f"`{argument}` must hold one weight per sample, shape ({n},), got shape {tuple(arr.shape)}."
        )
    if not bool(torch.isfinite(w).all()):
        raise ValueError(f"`{argument}` holds non-finite values.")
    return w.contiguous()


def class_weight_to_sample_weight(y: Any, class_weight: Any) -> Any:
    """Keras's conversion: each sample's class (the label rounded to an integer, or the arg-max
    of a one-hot row) → `class_weight[class]`, 1.0 for classes not in the dict. Lazy targets
    (`LazyRows`) give lazy weights, converted batch by batch."""
    if not isinstance(class_weight, dict):
        raise checks.invalid(
            "class_weight",
            "a dict mapping class indices to weights, e.g. {0: 1.0, 1: 3.0}",
            class_weight,
            error=TypeError,
        )
    if isinstance(y, LazyRows):
        targets = y

        def weights(batch: torch.Tensor) -> torch.Tensor:
            return class_weight_to_sample_weight(targets.convert(batch), class_weight)  # type: ignore[no-any-return]

        return LazyRows(y.raw, weights, y.device)
    labels = np.asarray(y.cpu().numpy() if isinstance(y, torch.Tensor) else y)
    if labels.ndim > 1:
        labels = np.argmax(labels, axis=-1) if labels.shape[-1] != 1 else labels[..., 0]
    classes = np.round(labels).astype(np.int64).reshape(-1)
    table = {int(k): float(v) for k, v in class_weight.items()}
    return torch.tensor([table.get(int(c), 1.0) for c in classes], dtype=torch.float32)


def check_targets(
    y: Any, n: int, loss: Loss, units: int, argument: str = "y", x_argument: str = "x"
) -> torch.Tensor | LazyRows:
    """`y` checked against the loss and the model's `units` outputs, in the loss's layout;
    memory-mapped labels (`np.memmap`) stay mapped, as `LazyRows` converted batch by batch."""
    if y is None:
        raise ValueError(f"Received no labels: pass `{argument}` (one label per sample of `{x_argument}`).")
    if isinstance(y, np.memmap) and y.ndim >= 1 and y.shape[0] == n:
        return _mapped_targets(y, loss, units, argument)
    arr = as_array(y, argument)
    y_np = arr.numpy() if isinstance(arr, torch.Tensor) else arr
    if y_np.ndim == 0 or y_np.shape[0] != n:
        got = y_np.shape[0] if y_np.ndim else "a scalar"
        raise ValueError(
            f"`{x_argument}` and `{argument}` must hold the same number of samples, got "
            f"len({x_argument})={n} "
            f"and len({argument})={got}."
        )
    loss.check_labels(y_np, units, argument)
    return loss.prepare_labels(y_np, units)


#: rows per slice when checking memory-mapped labels
CHECK_ROWS = 65_536


def _mapped_targets(y: np.memmap, loss: Loss, units: int, argument: str) -> LazyRows:
    """Memory-mapped labels checked slice by slice and kept mapped: each batch is put in the loss's
    layout (`prepare_labels`, the same values as converting them all) when it is selected."""
    for s in range(0, int(y.shape[0]), CHECK_ROWS):
        loss.check_labels(np.asarray(y[s : s + CHECK_ROWS]), units, argument)
    raw = torch.from_numpy(y if y.flags.writeable else np.array(y))  # a view of the file when writable

    def convert(batch: torch.Tensor) -> torch.Tensor:
        return loss.prepare_labels(batch.numpy(), units)

    return LazyRows(raw, convert)


def check_validation_split(validation_split: Any) -> float:
    if (
        isinstance(validation_split, bool)
        or not isinstance(validation_split, (int, float))
        or not 0.0 <= float(validation_split) < 1.0
    ):
        raise checks.invalid(
            "validation_split",
            "a float in [0, 1)",
            validation_split,
            "For example `validation_split=0.2` holds out the last 20% of the data.",
        )
    return float(validation_split)


def split_validation(x: Data, y: Data, validation_split: float) -> tuple[Data, Data, Data, Data]:
    """Keras's split: the LAST `validation_split` of the rows (rounded so training gets the floor);
    several inputs or outputs (tuples of tensors) are split alike."""
    n = rows(x)
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"Training data contains {n} samples, which is not sufficient to split it into a validation "
            f"and training set as specified by `validation_split={validation_split}`. Provide more data, "
            "or a different value for `validation_split`."
        )
    return cut(x, None, split_at), cut(y, None, split_at), cut(x, split_at, None), cut(y, split_at, None)
