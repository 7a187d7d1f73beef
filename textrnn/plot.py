"""Training curves as in the Keras tutorial: accuracy and loss, training dots against validation lines.

`plot_history` draws the tutorial's two figures side by side (`'bo'` dots for training, a `'b'`
line for validation, titled "Training and validation accuracy" / "Training and validation loss");
`plot_comparison` overlays one metric of several runs. With a `path` the figure is written
atomically as PNG through matplotlib's Agg canvas (no display needed); without one it is shown
with pyplot.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from textrnn import checks
from textrnn.fileio import atomic_path

_ACC_ALIASES = ("acc", "accuracy")


def _history_dict(history: Any, argument: str = "history") -> Mapping[str, Sequence[float]]:
    data = getattr(history, "history", history)
    if not isinstance(data, Mapping):
        expected = "a History (what `fit` returns) or its `.history` dict"
        raise checks.invalid(argument, expected, history, error=TypeError, got=type(history).__name__)
    return data


def _resolve_key(data: Mapping[str, Sequence[float]], key: str, argument: str) -> str:
    """`key` itself, or its acc/accuracy twin when only that is present."""
    if key in data:
        return key
    prefix = "val_" if key.startswith("val_") else ""
    bare = key[len(prefix) :]
    if bare in _ACC_ALIASES:
        for alias in _ACC_ALIASES:
            if prefix + alias in data:
                return prefix + alias
    keys = ", ".join(data) or "none"
    example = f"`{argument}='{next(iter(data), 'loss')}'`"
    fix = f"{key!r} is not in the history; pass one of its keys, e.g. {example}."
    raise checks.invalid(argument, f"a key of the history ({keys})", key, fix)


def _title_word(metric: str) -> str:
    return "accuracy" if metric in _ACC_ALIASES else metric.replace("_", " ")


def _new_figure(show: bool, figsize: tuple[float, float]) -> Figure:
    if show:
        import matplotlib.pyplot as plt

        return plt.figure(figsize=figsize)
    return Figure(figsize=figsize)


def _finish(fig: Figure, path: str | os.PathLike[str] | None) -> None:
    if path is None:
        import matplotlib.pyplot as plt

        plt.show()
        return
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)


def _draw(
    ax: Any,
    data: Mapping[str, Sequence[float]],
    train_key: str | None,
    val_key: str | None,
    word: str,
) -> None:
    if train_key is not None:
        values = list(data[train_key])
        ax.plot(range(1, len(values) + 1), values, "bo", label=f"Training {word}")
    if val_key is not None:
        values = list(data[val_key])
        # A line of one point is invisible: mark the points until there are two.
        style = "b" if len(values) > 1 else "bx"
        ax.plot(range(1, len(values) + 1), values, style, label=f"Validation {word}")
    if train_key and val_key:
        ax.set_title(f"Training and validation {word}")
    else:
        ax.set_title(f"{'Training' if train_key else 'Validation'} {word}")
    ax.set_xlabel("Epochs")
    ax.set_ylabel(word.capitalize())
    ax.legend()


def plot_history(history: Any, path: str | os.PathLike[str] | None = None, metric: str = "acc") -> Figure:
    """The Keras tutorial's two plots: `metric` and loss per epoch, training vs validation.

    Args:
        history: the `History` returned by `fit`, or its `.history` dict.
        path: save the figure to this PNG file (atomically); show it when None.
        metric: the metric for the left plot, default `"acc"` (`"accuracy"` histories work too).

    Returns:
        The matplotlib Figure (two axes: metric, loss).

    Raises:
        TypeError: if `history` is not a History or dict.
        ValueError: if the history is empty or lacks `metric`/`loss`.

    Example:
        >>> history = model.fit(x, y, epochs=10, validation_split=0.2)
        >>> plot_history(history, "curves.png")
    """
    data = _history_dict(history)
    if not data or not any(len(v) for v in data.values()):
        raise ValueError("The history is empty: train for at least one epoch before plotting it.")
    metric_key = _resolve_key(data, metric.removeprefix("val_"), "metric")
    loss_key = _resolve_key(data, "loss", "metric")
    val_metric = f"val_{metric_key}" if f"val_{metric_key}" in data else None
    val_loss = "val_loss" if "val_loss" in data else None
    fig = _new_figure(path is None, (12.0, 4.5))
    ax_metric, ax_loss = fig.subplots(1, 2)
    _draw(ax_metric, data, metric_key, val_metric, _title_word(metric_key))
    _draw(ax_loss, data, loss_key, val_loss, "loss")
    fig.tight_layout()
    _finish(fig, path)
    return fig


def plot_comparison(
    histories: Mapping[str, Any],
    path: str | os.PathLike[str] | None = None,
    metric: str = "val_acc",
) -> Figure:
    """One metric of several runs on one axes (e.g. validation accuracy of SimpleRNN vs LSTM).

    Args:
        histories: run name → History or history dict.
        path: save the figure to this PNG file (atomically); show it when None.
        metric: the key to plot, default `"val_acc"` (`"val_accuracy"` histories work too).

    Returns:
        The matplotlib Figure.

    Example:
        >>> plot_comparison({"SimpleRNN": h1, "LSTM": h2}, "compare.png")
    """
    if not isinstance(histories, Mapping) or not histories:
        raise checks.invalid("histories", "a non-empty dict of run name → History", histories)
    fig = _new_figure(path is None, (7.0, 4.5))
    ax = fig.subplots()
    word = ""
    for name, history in histories.items():
        data = _history_dict(history, f"histories[{name!r}]")
        key = _resolve_key(data, metric, "metric")
        values = list(data[key])
        ax.plot(range(1, len(values) + 1), values, marker="o", label=str(name))
        prefix = "Validation " if key.startswith("val_") else "Training "
        word = prefix + _title_word(key.removeprefix("val_"))
    ax.set_title(f"{word} by run")
    ax.set_xlabel("Epochs")
    ax.set_ylabel(word)
    ax.legend()
    fig.tight_layout()
    _finish(fig, path)
    return fig
