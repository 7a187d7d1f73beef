"""A tiny synthetic labelled corpus, for trying textrnn in seconds and for tests.

Every text mixes filler words shared by all classes with a few cue words of its own class, so a
small RNN learns it in a couple of epochs.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from textrnn import checks

_FILLER = (
    "the a film movie story plot actor scene this that it was is and of to in with for on at "
    "very quite really some one its then there here about after before while"
).split()
_CUES = {
    "neg": ["bad", "awful", "boring", "terrible", "dull", "worst"],
    "pos": ["good", "great", "wonderful", "excellent", "loved", "best"],
    "neutral": ["okay", "average", "fine", "mixed", "decent", "plain"],
}


def toy_texts(
    n_per_class: int = 100, classes: Sequence[str] = ("neg", "pos"), seed: int = 0
) -> tuple[list[str], list[str]]:
    """`(texts, labels)`: `n_per_class` texts per class, shuffled.

    Args:
        n_per_class: texts per class.
        classes: class names; `neg`, `pos` and `neutral` have their own cue words, other names
            get cue words made from the name (`<name>ish`, ...).
        seed: the random seed.

    Example:
        >>> texts, labels = toy_texts(2, seed=0)
        >>> len(texts), sorted(set(labels))
        (4, ['neg', 'pos'])
    """
    n_per_class = checks.positive_int("n_per_class", n_per_class)
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    labels: list[str] = []
    for label in classes:
        cues = _CUES.get(label, [f"{label}ish", f"{label}like", f"very{label}", f"{label}y"])
        for _ in range(n_per_class):
            words = list(rng.choice(_FILLER, size=int(rng.integers(4, 10))))
            words += list(rng.choice(cues, size=int(rng.integers(1, 4))))
            rng.shuffle(words)
            text = " ".join(words)
            texts.append(text[0].upper() + text[1:] + rng.choice([".", "!", "..."]))
            labels.append(label)
    order = rng.permutation(len(texts))
    return [texts[i] for i in order], [labels[i] for i in order]


def write_toy_csv(path: str | os.PathLike[str], texts: Sequence[str], labels: Sequence[str]) -> Path:
    """Write `text,label` rows to a CSV file (for trying `textrnn train --data`)."""
    p = Path(path)
    with open(p, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels, strict=True))
    return p


def write_toy_jsonl(path: str | os.PathLike[str], texts: Sequence[str], labels: Sequence[str]) -> Path:
    """Write `{"text": ..., "label": ...}` lines to a JSON Lines file."""
    p = Path(path)
    with open(p, "w", encoding="utf-8") as f:
        for t, y in zip(texts, labels, strict=True):
            f.write(json.dumps({"text": t, "label": y}) + "\n")
    return p
