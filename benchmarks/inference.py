"""Inference speed from raw text to probability: the tutorial's LSTM through `textrnn.load`'s Predictor.

Trains the tutorial's LSTM (Embedding(10000, 32) -> LSTM(32) -> Dense(1, sigmoid), maxlen 500) for
`--epochs` epochs on the IMDB training texts (its weights only matter for the accuracy printed beside
the speed), then times `Predictor.predict_proba` on all 25,000 raw test reviews: tokenisation,
vocabulary lookup, padding and the model, in the Predictor's batches. Reported: reviews per second
(median of `--repeats` passes), the share of time spent before the model, and test accuracy. Both
the exact model (all 500 steps) and the masked one (`mask_zero=True`, length-bucketed batches) are
timed.

    TEXTRNN_IMDB=../shared/data/aclImdb_v1.tar.gz python benchmarks/inference.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, save_json  # noqa: E402

from textrnn.datasets import imdb  # noqa: E402
from textrnn.layers import LSTM, Dense, Embedding  # noqa: E402
from textrnn.models import Sequential  # noqa: E402
from textrnn.preprocessing.sequence import pad_sequences  # noqa: E402
from textrnn.preprocessing.text import Vocabulary  # noqa: E402
from textrnn.runs.predictor import Predictor  # noqa: E402
from textrnn.utils import set_random_seed  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="inference.json")
    args = p.parse_args()

    set_random_seed(args.seed)
    train_texts, train_labels = imdb.load_texts(subset="train")
    test_texts, test_labels = imdb.load_texts(subset="test")
    vocab = Vocabulary.build(train_texts, num_words=10000)
    x_train = pad_sequences(vocab.encode(train_texts), maxlen=500)
    results = []
    for mode, mask in (("exact", False), ("masked", True)):
        model = Sequential([Embedding(10000, 32, mask_zero=mask), LSTM(32), Dense(1, activation="sigmoid")])
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
        t0 = time.perf_counter()
        model.fit(
            x_train,
            train_labels.astype("float32"),
            epochs=args.epochs,
            batch_size=128,
            verbose=0,
            bucket_by_length=mask,
        )
        train_s = time.perf_counter() - t0
        predictor = Predictor(model, vocab, ["neg", "pos"], maxlen=500)

        pre, total = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            predictor.encode(test_texts)
            pre.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            probs = predictor.predict_proba(test_texts)
            total.append(time.perf_counter() - t0)
        acc = float(np.mean(probs.argmax(axis=1) == test_labels))
        row = {
            "mode": mode,
            "reviews": len(test_texts),
            "median_seconds": statistics.median(total),
            "reviews_per_second": len(test_texts) / statistics.median(total),
            "text_to_ids_seconds": statistics.median(pre),
            "all_seconds": total,
            "test_acc": acc,
            "train_epochs": args.epochs,
            "train_seconds": train_s,
            "threads": torch.get_num_threads(),
        }
        results.append(row)
        print(
            f"{mode}: {row['reviews_per_second']:.0f} reviews/s raw text -> probability "
            f"({row['median_seconds']:.2f} s for {len(test_texts)}, of which text -> ids "
            f"{row['text_to_ids_seconds']:.2f} s); test acc {acc:.4f} after {args.epochs} epoch(s)",
            flush=True,
        )
    path = save_json(
        {
            "benchmark": "inference",
            "model": "tutorial LSTM(32)",
            "machine": machine(),
            "seed": args.seed,
            "results": results,
        },
        args.out,
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
