"""Statistics of a labelled corpus: size, classes, and text lengths in tokens."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from textrnn.data.labels import label_names_of
from textrnn.preprocessing.text import tokenize

LENGTH_MARKS = (100, 200, 500, 1000)


def text_stats(texts: Sequence[str], labels: Sequence[str] | None = None) -> dict[str, Any]:
    """Counts and the length distribution (in tokens, as `tokenize` splits them).

    Args:
        texts: the texts.
        labels: their labels (strings), or None.

    Returns:
        `{"texts", "classes": {label: count} or None, "tokens": {min, mean, median, p90, p95,
        p99, max}, "within": {"100": share of texts with at most 100 tokens, ...}}`.

    Example:
        >>> text_stats(["a b", "c"], ["x", "y"])["tokens"]["max"]
        2
    """
    lengths = np.fromiter((len(tokenize(t)) for t in texts), dtype=np.int64, count=len(texts))
    tokens: dict[str, float | int] = {}
    if len(lengths):
        tokens = {
            "min": int(lengths.min()),
            "mean": float(lengths.mean()),
            "median": float(np.median(lengths)),
            "p90": float(np.percentile(lengths, 90)),
            "p95": float(np.percentile(lengths, 95)),
            "p99": float(np.percentile(lengths, 99)),
            "max": int(lengths.max()),
            "total": int(lengths.sum()),
        }
    classes = None
    if labels is not None:
        counts = Counter(labels)
        classes = {name: int(counts[name]) for name in label_names_of(list(counts))}
    return {
        "texts": int(len(lengths)),
        "classes": classes,
        "tokens": tokens,
        "within": {str(m): float((lengths <= m).mean()) if len(lengths) else 0.0 for m in LENGTH_MARKS},
    }


def format_stats(name: str, stats: dict[str, Any]) -> str:
    """A few readable lines of `text_stats` output, headed by `name`."""
    lines = [f"{name}: {stats['texts']:,} texts"]
    if stats.get("classes"):
        total = max(stats["texts"], 1)
        parts = [f"{k} {v:,} ({v / total:.1%})" for k, v in stats["classes"].items()]
        lines.append(f"  classes ({len(stats['classes'])}): {', '.join(parts)}")
    t = stats.get("tokens") or {}
    if t:
        lines.append(
            f"  tokens per text: min {t['min']}, median {t['median']:.0f}, mean {t['mean']:.1f}, "
            f"p90 {t['p90']:.0f}, p95 {t['p95']:.0f}, p99 {t['p99']:.0f}, max {t['max']}"
        )
        within = ", ".join(f"≤{m}: {share:.1%}" for m, share in stats["within"].items())
        lines.append(f"  texts within a length: {within}")
    return "\n".join(lines)
