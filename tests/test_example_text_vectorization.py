"""examples/text_vectorization_raw_strings.py, run on a few hundred generated reviews."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "text_vectorization_raw_strings.py"

GOOD = ["great", "wonderful", "superb", "moving", "brilliant"]
BAD = ["awful", "boring", "dreadful", "dull", "waste"]
FILLER = ["the", "film", "story", "acting", "plot", "was", "and", "a", "of", "it"]


def write_reviews(root: Path, rng: np.random.Generator) -> None:
    for split, n in (("train", 200), ("test", 60)):
        for label, words in (("pos", GOOD), ("neg", BAD)):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(n // 2):
                tokens = list(rng.choice(FILLER, size=12)) + list(rng.choice(words, size=3))
                rng.shuffle(tokens)
                text = " ".join(tokens).capitalize() + ".<br />" + " ".join(rng.choice(FILLER, 5))
                (folder / f"{i}_{rng.integers(1, 10)}.txt").write_text(text, encoding="utf-8")
        (root / split / "unsup").mkdir()  # as IMDB's train/: left out by class_names
        (root / split / "unsup" / "0_0.txt").write_text("unlabelled", encoding="utf-8")


def test_the_example_learns_from_raw_strings(tmp_path):
    write_reviews(tmp_path, np.random.default_rng(0))
    spec = importlib.util.spec_from_file_location("text_vectorization_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    import textrnn

    textrnn.utils.set_random_seed(0)
    result = example.main(
        tmp_path, epochs=10, max_features=200, embedding_dim=16, sequence_length=40, batch_size=16, verbose=0
    )
    assert sorted(result["history"]) == ["accuracy", "auc", "loss", "val_accuracy", "val_auc", "val_loss"]
    assert len(result["history"]["loss"]) == 10
    assert result["test"]["accuracy"] > 0.9 and result["test"]["auc"] > 0.95
    assert result["predictions"][0, 0] > 0.5 > result["predictions"][1, 0]
    vocab = result["model"].layers[0].get_vocabulary()
    assert vocab[:2] == ["", "[UNK]"] and "br" not in vocab  # <br /> went with standardization
