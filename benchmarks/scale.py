"""Data-parallel throughput and memory: texts/s with 1 and 2 processes, peak memory by data size.

    PYTHONPATH=. python benchmarks/scale.py [--texts 8000] [--epochs 3] [--out results/scale.json]

Every figure is measured in fresh processes on synthetic pre-padded token ids (so no download is
needed): a masked, length-bucketed LSTM(32) over Embedding(10000, 32), batch 128, adam, the
tutorial's validation split of 0.2. `processes`: one process with all the cores as threads, one
process with one thread, and `textrnn.distributed.spawn` with 2 processes of max(1, cores // 2)
threads each, same global batch, taking turns twice; texts/s is the training texts of one epoch
over the median epoch time of epochs 2.. (the first pays for warm-up). `memory`: one process's
peak RSS (and its anonymous memory at the end) when training on 1×, 2× and 4× the texts, held in
memory as arrays. For texts streamed from shards, see `benchmarks/scale_stream.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _anon_peak_kib() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def train(out: str, texts: int, epochs: int, threads: int) -> None:
    """One job's worker (or the single process): fit and write the timings (rank 0)."""
    import numpy as np
    import torch

    import textrnn.distributed as distributed
    from textrnn.callbacks import Callback
    from textrnn.layers import LSTM, Dense, Embedding
    from textrnn.models import Sequential
    from textrnn.training.seed import set_random_seed

    if not distributed.launched():
        torch.set_num_threads(threads)
    set_random_seed(0)
    rng = np.random.default_rng(0)
    maxlen = 200
    x = rng.integers(3, 10_000, size=(texts, maxlen), dtype=np.int64)
    lengths = rng.integers(20, maxlen, size=texts)
    x[np.arange(maxlen)[None, :] < (maxlen - lengths)[:, None]] = 0  # pre-padding
    y = (rng.random(texts) < 0.5).astype(np.float32)

    class Clock(Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.t0)

    model = Sequential([Embedding(10_000, 32, mask_zero=True), LSTM(32), Dense(1, "sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["acc"])
    clock = Clock()
    with distributed.strategy(model):
        history = model.fit(x, y, batch_size=128, epochs=epochs, validation_split=0.2,
                            verbose=0, callbacks=[clock], bucket_by_length=True)  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    row = {
        "processes": distributed.world_size(),
        "threads_per_process": torch.get_num_threads(),
        "texts": texts,
        "train_texts": int(texts * 0.8),
        "epoch_seconds": clock.seconds,
        "val_loss": history.history["val_loss"],
        "peak_rss_mib_rank0": round(peak / 1024, 1),
        "rss_anon_mib_rank0_at_end": (lambda k: None if k is None else round(k / 1024, 1))(_anon_peak_kib()),
    }
    if distributed.is_main():
        Path(out).write_text(json.dumps(row))


def _fresh(texts: int, epochs: int, nproc: int, workdir: Path, threads: int = 0) -> dict:
    import subprocess

    import textrnn.distributed as distributed

    out = workdir / f"scale_{nproc}_{texts}.json"
    cores = threads or os.cpu_count() or 1
    if nproc == 1:
        subprocess.run(
            [sys.executable, __file__, "--worker", str(out), str(texts), str(epochs), str(cores)],
            check=True, env={**os.environ, "PYTHONPATH": str(HERE.parent)},
        )  # fmt: skip
    else:
        distributed.spawn(train, nproc, [str(out), texts, epochs, 0])
    row = json.loads(out.read_text())
    later = row["epoch_seconds"][1:] or row["epoch_seconds"]
    row["median_epoch_s"] = round(statistics.median(later), 3)
    row["texts_per_s"] = round(row["train_texts"] / statistics.median(later), 1)
    return row


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        out, texts, epochs, threads = sys.argv[2], *map(int, sys.argv[3:6])
        train(out, texts, epochs, threads)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "scale.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # one process with every core as a thread, one with one thread, two with one each
        jobs = [(1, 0), (1, 1), (2, 0)] * 2
        processes = [_fresh(args.texts, args.epochs, n, work, t) for n, t in jobs]
        memory = [_fresh(args.texts * k, 2, 1, work) for k in (1, 2, 4)]
    with open("/proc/loadavg") if Path("/proc/loadavg").exists() else open(os.devnull) as f:
        load = f.read().strip()
    result = {
        "benchmark": "benchmarks/scale.py",
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "load_average_at_end": load,
        "processes": processes,
        "memory": memory,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for r in processes:
        print(
            f"{r['processes']} process(es) × {r['threads_per_process']} threads: "
            f"{r['texts_per_s']:.0f} texts/s (epoch {r['median_epoch_s']} s)"
        )
    for r in memory:
        print(f"{r['texts']} texts: peak RSS {r['peak_rss_mib_rank0']} MiB")


if __name__ == "__main__":
    main()
