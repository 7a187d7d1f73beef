"""examples/keras_io_bidirectional_lstm.py runs as written on a small generated IMDB folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "keras_io_bidirectional_lstm.py"
GOOD = ["great", "wonderful", "superb", "moving", "best"]
BAD = ["awful", "boring", "worst", "dull", "terrible"]
FILLER = [f"word{i}" for i in range(60)]


def make_imdb(root: Path, per_class: int = 60) -> Path:
    """An aclImdb folder of generated reviews: positives use GOOD words, negatives BAD ones."""
    rng = np.random.default_rng(0)
    for subset in ("train", "test"):
        for label, words in (("pos", GOOD), ("neg", BAD)):
            folder = root / "aclImdb" / subset / label
            folder.mkdir(parents=True)
            for i in range(per_class):
                n = int(rng.integers(8, 30))
                tokens = list(rng.choice(FILLER, size=n)) + list(rng.choice(words, size=3))
                rng.shuffle(tokens)
                rating = 8 if label == "pos" else 2
                (folder / f"{i}_{rating}.txt").write_text(" ".join(tokens) + ".", encoding="utf-8")
    return root / "aclImdb"


def test_example_runs_on_generated_reviews(tmp_path):
    env = {
        **os.environ,
        "TEXTRNN_IMDB": str(make_imdb(tmp_path / "data")),
        "TEXTRNN_HOME": str(tmp_path / "home"),
        "TEXTRNN_EXAMPLE_MAXLEN": "20",
        "TEXTRNN_EXAMPLE_EPOCHS": "1",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "120 Training sequences" in out and "120 Validation sequences" in out
    assert "input_layer (InputLayer)" in out and "Total params: 2,757,761" in out
    assert "val_accuracy" in out
