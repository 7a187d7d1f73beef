"""The Embedding folded into the recurrent layer's input projection, against the two layers apart.

    python benchmarks/embedding_fold.py [--layers simple_rnn,lstm,gru --rounds 5 --batches 20
                                         --ids uniform|imdb-like --out embedding_fold.json]

The Keras tutorial's models (Embedding(10000, 32) -> RNN(32) -> Dense(1, sigmoid), rmsprop,
batches of 128, 500 steps of random ids), trained with `fit` in one process, taking turns: in
each round one `fit` of `--batches` batches with the fold (what `Sequential` does by itself) and
one with it off (a no-op forward hook on the Embedding keeps the layers apart, as it does for
explanations). A third contender, "gathered", folds but writes the table's rows
for every step into an xw buffer first (`embedded_projection`, then `lstm`), as the fold did
before the recurrence read the table directly (`embedded_rnn`); a fourth, "whole table", folds
with the table of every id even where a batch names fewer rows (`--ids imdb-like` makes batches
that name a few thousand, as real reviews do). "exact" runs every step; "fast"
masks the padding of reviews of IMDB-like lengths (mask_zero=True, bucket_by_length=True).
Figures: median milliseconds per batch over the rounds (each `fit`'s first batch left out), the
ratio of the medians, and the largest difference of the trained weights (float rounding only).
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
from _common import IDS, save_rows, tutorial_arrays, tutorial_model  # noqa: E402

from textrnn.callbacks import Callback  # noqa: E402
from textrnn.kernels import _functions  # noqa: E402
from textrnn.layers import rnn_kernels  # noqa: E402

BATCH = 128


class _BatchTimes(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []
        self._start = 0.0

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.times.append(time.perf_counter() - self._start)


def _fit(kind: str, fast: bool, variant: str, x: np.ndarray, y: np.ndarray) -> tuple[list[float], list]:
    model = tutorial_model(kind, fast)
    if variant == "apart":
        model.layers[0].register_forward_hook(lambda *args: None)
    times = _BatchTimes()
    reads_table, used_rows = rnn_kernels._reads_table, _functions._used_rows
    if variant == "gathered":
        rnn_kernels._reads_table = lambda *args: False  # type: ignore[assignment]
    if variant == "whole table":
        _functions._used_rows = lambda ids, rows: (None, ids)  # type: ignore[assignment]
    try:
        model.fit(
            x,
            y,
            epochs=1,
            batch_size=BATCH,
            verbose=0,
            shuffle=False,
            bucket_by_length=fast,
            callbacks=[times],
        )
    finally:
        rnn_kernels._reads_table, _functions._used_rows = reads_table, used_rows
    return times.times[1:], model.get_weights()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", default="simple_rnn,lstm,gru")
    p.add_argument("--modes", default="exact,fast")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--ids", default="uniform", choices=IDS)
    p.add_argument("--out", default="embedding_fold.json")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for kind in args.layers.split(","):
        for mode in args.modes.split(","):
            x, y = tutorial_arrays(mode == "fast", BATCH * args.batches, args.ids)
            variants = ("folded", "whole table", "gathered", "apart")
            times: dict[str, list[float]] = {name: [] for name in variants}
            diff = 0.0
            for _ in range(args.rounds):
                got = {}
                for name in variants:
                    batch_times, weights = _fit(kind, mode == "fast", name, x, y)
                    times[name].append(statistics.median(batch_times))
                    got[name] = weights
                diff = max(
                    diff,
                    *(float(np.abs(a - b).max()) for a, b in zip(got["folded"], got["apart"], strict=True)),
                )
            folded, apart = statistics.median(times["folded"]), statistics.median(times["apart"])
            row = {
                "layer": kind, "mode": mode, "folded_ms": folded * 1e3, "apart_ms": apart * 1e3,
                "speedup": apart / folded, "max_weight_diff": diff, "rounds": times,
            }  # fmt: skip
            gathered, whole = statistics.median(times["gathered"]), statistics.median(times["whole table"])
            row.update(
                ids=args.ids, gathered_ms=gathered * 1e3, speedup_vs_gathered=gathered / folded,
                whole_table_ms=whole * 1e3, speedup_vs_whole_table=whole / folded,
            )  # fmt: skip
            gathered_note = (
                f"  whole table {whole * 1e3:7.2f} (x{whole / folded:.3f})"
                f"  gathered {gathered * 1e3:7.2f} (x{gathered / folded:.3f})"
            )
            rows.append(row)
            print(
                f"{kind:10s} {mode:5s}  folded {folded * 1e3:7.2f} ms/batch  apart {apart * 1e3:7.2f}  "
                f"x{apart / folded:.3f}{gathered_note}  max weight diff {diff:.1e}",
                flush=True,
            )
    path = save_rows("embedding_fold", rows, args.out)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
