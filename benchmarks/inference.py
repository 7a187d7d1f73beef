"""Inference speed from raw text to probability: the tutorial's LSTM through `textrnn.load`'s Predictor.

Trains the tutorial's LSTM (Embedding(10000, 32) -> LSTM(32) -> Dense(1, sigmoid), maxlen 500) for
`--epochs` epochs on the IMDB training texts (its weights only matter for the accuracy printed beside
the speed), then times `Predictor.predict_proba` on all 25,000 raw test reviews: tokenisation,
vocabulary lookup and the model. Both the exact model (all 500 steps) and the masked one
(`mask_zero=True`) are timed.

Side by side in the same process, alternating repeats, it also times the path the Predictor took
before `FoldedLSTM` and `Vocabulary.encode_flat` ("previous": `Vocabulary.encode`, `pad_sequences`
and `model.predict` in batches of 1024, length-bucketed when masked), so that the ratio holds on a
machine shared with other jobs. Reported per path: reviews per second (median wall time of
`--repeats` passes), the process's CPU seconds (all threads; less affected by other jobs than the
wall time), the time spent turning text into ids, the load average around the measurement, and
the largest difference between the two paths' probabilities.

    TEXTRNN_IMDB=../shared/data/aclImdb_v1.tar.gz python benchmarks/inference.py
"""

from __future__ import annotations

import argparse
import os
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
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="inference.json")
    p.add_argument("--note", default="", help="saved with the results (e.g. how busy the machine was)")
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

        def previous(model=model, mask=mask) -> np.ndarray:
            x = pad_sequences(vocab.encode(test_texts), maxlen=500)
            return model.predict(x, batch_size=1024, verbose=0, bucket_by_length=mask)[:, 0]

        def current(predictor=predictor) -> np.ndarray:
            return predictor.predict_proba(test_texts)[:, 1]

        def previous_ids() -> None:
            pad_sequences(vocab.encode(test_texts), maxlen=500)

        def current_ids(predictor=predictor) -> None:
            predictor.vocabulary.encode_flat(test_texts)

        current()  # the folded table and padding states, built once per model
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in ("previous", "current")}
        ids_times: dict[str, list[float]] = {k: [] for k in ("previous", "current")}
        probs: dict[str, np.ndarray] = {}
        load_before = os.getloadavg()[0]
        for _ in range(args.repeats):
            for name, fn, ids_fn in (("previous", previous, previous_ids), ("current", current, current_ids)):
                t0 = time.perf_counter()
                ids_fn()
                ids_times[name].append(time.perf_counter() - t0)
                t0, c0 = time.perf_counter(), time.process_time()
                probs[name] = fn()
                times[name].append((time.perf_counter() - t0, time.process_time() - c0))
        load_after = os.getloadavg()[0]
        row: dict = {"mode": mode, "reviews": len(test_texts)}
        for name in ("previous", "current"):
            wall = statistics.median(t for t, _ in times[name])
            row[name] = {
                "median_seconds": wall,
                "reviews_per_second": len(test_texts) / wall,
                "median_cpu_seconds": statistics.median(c for _, c in times[name]),
                "text_to_ids_seconds": statistics.median(ids_times[name]),
                "all_seconds": [t for t, _ in times[name]],
                "test_acc": float(np.mean((probs[name] >= 0.5) == test_labels)),
            }
        row["speedup_wall"] = row["previous"]["median_seconds"] / row["current"]["median_seconds"]
        row["speedup_cpu"] = row["previous"]["median_cpu_seconds"] / row["current"]["median_cpu_seconds"]
        row["max_abs_diff"] = float(np.abs(probs["previous"] - probs["current"]).max())
        row["load_average"] = [load_before, load_after]
        row.update(train_epochs=args.epochs, train_seconds=train_s, threads=torch.get_num_threads())
        results.append(row)
        cur, prev = row["current"], row["previous"]
        print(
            f"{mode}: {cur['reviews_per_second']:.0f} reviews/s raw text -> probability "
            f"({cur['median_seconds']:.2f} s, {cur['median_cpu_seconds']:.2f} CPU-s for {len(test_texts)}; "
            f"text -> ids {cur['text_to_ids_seconds']:.2f} s); previous path "
            f"{prev['reviews_per_second']:.0f} reviews/s ({prev['median_cpu_seconds']:.2f} CPU-s): "
            f"{row['speedup_wall']:.2f}x wall, {row['speedup_cpu']:.2f}x CPU; max |diff| "
            f"{row['max_abs_diff']:.1e}; test acc {cur['test_acc']:.4f} after {args.epochs} epoch(s); "
            f"load average {load_before:.1f} -> {load_after:.1f}",
            flush=True,
        )
    path = save_json(
        {
            "benchmark": "inference",
            "model": "tutorial LSTM(32)",
            "machine": machine(),
            "seed": args.seed,
            "note": args.note,
            "results": results,
        },
        args.out,
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
