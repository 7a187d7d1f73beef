"""`model.summary()`: Keras's layer table, and with `explain=True` each layer's parameter arithmetic.

The arithmetic is the one the Keras tutorial teaches, e.g. for 32 units on 32 input features:

    Embedding(10000, 32):   10,000 × 32 = 320,000
    SimpleRNN(32):          (32 + 32 + 1) × 32 = 2,080         (inputs + units + bias) × units
    LSTM(32):               4 × (32 + 32 + 1) × 32 = 8,320     four gates
    GRU(32), reset_after:   3 × (32 + 32 + 2) × 32 = 6,336     three gates, two biases
    Dense(1) on 32:         (32 + 1) × 1 = 33
    Bidirectional(LSTM(32)): 2 × 4 × (32 + 32 + 1) × 32 = 16,640

A layer can explain itself by defining `explain_params() -> str`; otherwise it is explained by its
class name here, and any layer whose formula does not add up to its real count falls back to its
weight shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textrnn.layers.base import Layer


def _n(value: int) -> str:
    return f"{value:,}"


def readable_size(num_bytes: float) -> str:
    """Keras's memory size format: `1.23 MB`, `0.00 B`."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if num_bytes < 1024:
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.2f} PB"


def _input_features(layer: Layer) -> int | None:
    """Input feature size of a recurrent/dense layer, from its kernel (Keras order: kernel first)."""
    kernel = getattr(layer, "kernel", None)
    if kernel is None:
        cell = getattr(layer, "cell", None)
        kernel = getattr(cell, "kernel", None)
    if kernel is not None and getattr(kernel, "ndim", 0) == 2:
        return int(kernel.shape[0])
    weights = layer.weights
    if weights and weights[0].ndim == 2:
        return int(weights[0].shape[0])
    shape = layer.build_input_shape
    if shape is not None and shape[-1] is not None:
        return int(shape[-1])
    return None


def _attr(layer: Layer, name: str, default: Any = None) -> Any:
    if hasattr(layer, name):
        return getattr(layer, name)
    cell = getattr(layer, "cell", None)
    return getattr(cell, name, default)


def _embedding(layer: Layer) -> tuple[str, int] | None:
    d, k = int(_attr(layer, "input_dim")), int(_attr(layer, "output_dim"))
    return f"{_n(d)} × {_n(k)}", d * k


def _dense(layer: Layer) -> tuple[str, int] | None:
    f, u = _input_features(layer), int(_attr(layer, "units"))
    if f is None:
        return None
    if _attr(layer, "use_bias", True):
        return f"({_n(f)} + 1) × {_n(u)}", (f + 1) * u
    return f"{_n(f)} × {_n(u)}", f * u


def _gated(gates: int) -> Callable[[Layer], tuple[str, int] | None]:
    def explain(layer: Layer) -> tuple[str, int] | None:
        f, u = _input_features(layer), int(_attr(layer, "units"))
        if f is None:
            return None
        use_bias = bool(_attr(layer, "use_bias", True))
        biases = (2 if _attr(layer, "reset_after", False) else 1) if use_bias else 0
        inner = f"{_n(f)} + {_n(u)}" + (f" + {biases}" if biases else "")
        count = gates * (f + u + biases) * u
        prefix = f"{gates} × " if gates > 1 else ""
        return f"{prefix}({inner}) × {_n(u)}", count

    return explain


_LEGEND = {
    "Embedding": "input_dim × output_dim",
    "Dense": "(inputs + bias) × units",
    "SimpleRNN": "(inputs + units + bias) × units",
    "LSTM": "4 gates × (inputs + units + bias) × units",
    "GRU": "3 gates × (inputs + units + bias) × units",
    "GRU_reset_after": "3 gates × (inputs + units + 2 biases) × units",
}

_EXPLAINERS: dict[str, Callable[[Layer], tuple[str, int] | None]] = {
    "Embedding": _embedding,
    "Dense": _dense,
    "SimpleRNN": _gated(1),
    "LSTM": _gated(4),
    "GRU": _gated(3),
}


def _legend(layer: Layer) -> str:
    name = type(layer).__name__
    if name == "GRU" and _attr(layer, "reset_after", False):
        return _LEGEND["GRU_reset_after"]
    return _LEGEND.get(name, "")


def _formula(layer: Layer) -> tuple[str, int, str] | None:
    """`(formula, count, legend)` for a layer, or None when it has no known formula."""
    own = getattr(layer, "explain_params", None)
    if callable(own):
        text = str(own())
        return text, layer.count_params(), ""
    name = type(layer).__name__
    if name == "Bidirectional":
        fwd = getattr(layer, "forward_layer", None)
        bwd = getattr(layer, "backward_layer", None)
        if isinstance(fwd, Layer) and isinstance(bwd, Layer):
            f, b = _formula(fwd), _formula(bwd)
            if f is not None and b is not None:
                if f[0] == b[0]:
                    return f"2 × {f[0]}", 2 * f[1], f"forward + backward copies of: {f[2]}".rstrip(": ")
                return f"{f[0]} + {b[0]}", f[1] + b[1], "forward + backward layers"
        return None
    explainer = _EXPLAINERS.get(name)
    if explainer is None:
        return None
    try:
        result = explainer(layer)
    except (TypeError, ValueError, AttributeError):
        return None
    if result is None:
        return None
    return result[0], result[1], _legend(layer)


def explain_layer(layer: Layer) -> str:
    """One line of arithmetic for `layer`'s parameter count, e.g. `(32 + 32 + 1) × 32 = 2,080`."""
    total = layer.count_params()
    found = _formula(layer)
    if found is not None and found[1] == total:
        formula, count, legend = found
        return f"{formula} = {_n(count)}" + (f"   [{legend}]" if legend else "")
    weights = layer.weights
    if not weights:
        return "no weights = 0"
    parts = [f"{'×'.join(str(d) for d in w.shape) or '1'}" for w in weights]
    return " + ".join(parts) + f" = {_n(total)}   [weight shapes]"


def _shape_text(shape: Any) -> str:
    if isinstance(shape, tuple):
        return (
            "("
            + ", ".join("None" if d is None else str(d) for d in shape)
            + ("," if len(shape) == 1 else "")
            + ")"
        )
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return str(shape)


def _wrap(text: str, width: int) -> list[str]:
    """Rich's folding, as Keras's table shows it: words fill lines greedily; a word longer than
    the column is cut with an ellipsis."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        if len(word) > width:
            word = word[: width - 1] + "…"
        if current and len(current) + 1 + len(word) <= width:
            current += " " + word
        else:
            if current:
                lines.append(current)
            current = word
    lines.append(current)
    return lines


def _table(rows: list[tuple[str, ...]], headers: tuple[str, ...], widths: list[int], wrap: bool) -> list[str]:
    aligns = ["<", "<", ">", "<"]

    def line(left: str, mid: str, right: str, fill: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def row(cells: tuple[str, ...], edge: str) -> list[str]:
        parts = [_wrap(c, w) if wrap else [c] for c, w in zip(cells, widths, strict=True)]
        height = max(len(p) for p in parts)
        out = []
        for i in range(height):
            texts = [p[i] if i < len(p) else "" for p in parts]
            inner = f" {edge} ".join(f"{t:{a}{w}}" for t, a, w in zip(texts, aligns, widths, strict=False))
            out.append(f"{edge} {inner} {edge}")
        return out

    out = [line("┏", "┳", "┓", "━"), *row(headers, "┃"), line("┡", "╇", "┩", "━")]
    for i, r in enumerate(rows):
        if i:
            out.append(line("├", "┼", "┤", "─"))
        out.extend(row(r, "│"))
    out.append(line("└", "┴", "┘", "─"))
    return out


def _rows(model: Any) -> list[tuple[str, ...]]:
    """`(name (type), output shape, params)` per layer; `?` and `0 (unbuilt)` before building."""
    built = model.built
    shapes = model.layer_output_shapes if built else [None] * len(model.layers)
    rows: list[tuple[str, ...]] = []
    for layer, shape in zip(model.layers, shapes, strict=True):
        label = f"{layer.name} ({type(layer).__name__})"
        if not built:
            count = _n(layer.count_params()) if layer.built else "0 (unbuilt)"
            rows.append((label, "?", count))
        else:
            rows.append((label, _shape_text(shape), _n(layer.count_params())))
    return rows


def summary_text(model: Any, explain: bool = False) -> str:
    """Keras 3's summary table as plain text (box-drawing characters, no colours).

    A `Sequential` (and a functional model that is a plain chain) prints Keras's three columns;
    another functional model adds "Connected to" and folds long cells as Keras's table does.
    An unbuilt model shows `?` and `0 (unbuilt)` per layer, as Keras 3.
    """
    rows = _rows(model)
    connected = getattr(model, "connections", None)
    chain = getattr(model, "is_sequential_like", None)
    if callable(connected) and callable(chain) and not chain():
        headers: tuple[str, ...] = ("Layer (type)", "Output Shape", "Param #", "Connected to")
        rows = [(*r, c) for r, c in zip(rows, connected(), strict=True)]
        table = _table(rows, headers, [19, 17, 10, 17], wrap=True)
    else:
        headers = ("Layer (type)", "Output Shape", "Param #")
        widths = [
            max(31, *(len(r[0]) for r in rows), len(headers[0])),
            max(22, *(len(r[1]) for r in rows), len(headers[1])),
            max(13, *(len(r[2]) for r in rows), len(headers[2])),
        ]
        table = _table(rows, headers, widths, wrap=False)
    out = [f'Model: "{model.name}"', *table]
    weights = model.weights
    trainable = sum(w.numel() for w in weights if w.requires_grad)
    total = sum(w.numel() for w in weights)
    frozen = total - trainable
    out.append(f" Total params: {_n(total)} ({readable_size(total * 4)})")
    out.append(f" Trainable params: {_n(trainable)} ({readable_size(trainable * 4)})")
    out.append(f" Non-trainable params: {_n(frozen)} ({readable_size(frozen * 4)})")
    if explain and model.built:
        out.append("")
        out.append("Parameter arithmetic:")
        label_width = max(len(r[0]) for r in rows) if rows else 0
        for layer, r in zip(model.layers, rows, strict=True):
            out.append(f"  {r[0] + ':':<{label_width + 1}} {explain_layer(layer)}")
        out.append(f"  {'Total:':<{label_width + 1}} " + " + ".join(r[2] for r in rows) + f" = {_n(total)}")
    return "\n".join(out)
