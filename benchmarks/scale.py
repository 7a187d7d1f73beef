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

    PYTHONPATH=. python benchmarks/scale.py --stream-mb 100,500,1000,2000 [--steps 100]

`--stream-mb` instead measures `textrnn train --data FOLDER`'s streamed path at each text size:
synthetic labelled texts (Zipf-distributed words of a 20,000-word lexicon, 8 to 80 words each) are
written into a temporary folder of CSV shards of about 50 MB (deleted after each size); then in
a fresh child process `textrnn.runs.prepare.prepare` (what the CLI calls) scans the shards for
the vocabulary (num_words 10,000), encodes them memory-mapped (maxlen 32) with the 0.2 test split
and 0.1 validation rule, and the `fast` preset shrunk to a tiny model (GRU(8) over 16-d vectors,
no n-grams, batch 512, one thread, length buckets) trains a bounded amount: 2 epochs of `--steps`
steps each (the epoch plan covers all the rows), validating on 5 batches. The child samples its
own /proc/self/status every 50 ms: peak RssAnon (the process's own memory), peak RssFile (the
mapped token file's resident pages, which the kernel may drop) and VmHWM (peak RSS, both), and
reads ru_maxrss. At the smallest size the same data is also trained in memory (the shards as one
CSV file, `--stream off`), taking turns with the streamed run twice: texts/s of epoch 2.
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
from _common import PeakMemory, epoch_clock  # noqa: E402


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

    model = Sequential([Embedding(10_000, 32, mask_zero=True), LSTM(32), Dense(1, "sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["acc"])
    clock = epoch_clock()
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


SHARD_MB = 50


def write_csv_shards(folder: Path, megabytes: int, seed: int = 0) -> int:
    """Labelled synthetic texts as `part-NNNNN.csv` shards of about SHARD_MB; the row count."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lexicon = np.array([f"w{i}" for i in range(20_000)])
    weights = 1.0 / np.arange(1, 20_001)
    weights /= weights.sum()
    folder.mkdir(parents=True, exist_ok=True)
    written = rows = shard = 0
    target = megabytes * 1_000_000
    while written < target:
        with open(folder / f"part-{shard:05d}.csv", "w", encoding="utf-8") as f:
            f.write("text,label\n")
            size = 0
            while size < SHARD_MB * 1_000_000 and written + size < target:
                lengths = rng.integers(8, 81, size=16_384)
                ids = rng.choice(20_000, size=int(lengths.sum()), p=weights)
                starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
                # the label: whether a mid-frequency word occurs (learnable, not trivial)
                pos = np.add.reduceat((ids == 7).astype(np.int64), starts) > 0
                words = lexicon[ids].astype(object)
                ends = starts + lengths - 1
                words[ends] = words[ends] + np.where(pos, ",pos\n", ",neg\n").astype(object)
                block = " ".join(words.tolist()).replace("\n ", "\n")
                lines = lengths
                f.write(block)
                size += len(block)
                rows += len(lines)
        written += size
        shard += 1
    return rows


def stream_worker(data: str, mode: str, steps: int, out: str) -> None:
    """One streamed (or in-memory) preparation and bounded training, in this fresh process."""
    import torch

    from textrnn.runs.model import build_model
    from textrnn.runs.options import TrainOptions
    from textrnn.runs.prepare import prepare
    from textrnn.runs.single import fit_targets

    torch.set_num_threads(1)
    memory = PeakMemory().start()
    options = TrainOptions.from_preset(
        "fast", data=data, stream=mode, seed=0, units=8, embedding_dim=16, maxlen=32, num_words=10_000,
        ngrams=1, batch_size=512, validation_split=0.1, baseline=False, threads=1,
    )  # fmt: skip
    t0 = time.perf_counter()
    prepared = prepare(options)
    t1 = time.perf_counter()

    model = build_model(options, prepared.vocabulary.input_dim, prepared.num_classes)
    clock = epoch_clock()
    y = fit_targets(model, prepared)  # as `textrnn train`: streamed labels stay mapped, windowed plans
    history = model.fit(prepared.x_train, y, batch_size=512, epochs=2,
                        steps_per_epoch=steps, validation_split=0.1, validation_steps=5, verbose=0,
                        callbacks=[clock], bucket_by_length=True)  # fmt: skip
    memory.stop()
    row = {
        "mode": "streamed" if mode == "on" else "in_memory",
        "text_mb": round(
            sum(q.stat().st_size for q in Path(data).glob("*") if q.is_file()) / 1e6
            if Path(data).is_dir()
            else Path(data).stat().st_size / 1e6,
            1,
        ),  # fmt: skip
        "train_texts": len(prepared.y_train),
        "test_texts": len(prepared.y_test),
        "token_file_mb": round((prepared.x_train.nbytes + prepared.x_test.nbytes) / 1e6, 1),
        "prepare_s": round(t1 - t0, 1),
        "epoch_s": [round(x, 2) for x in clock.seconds],
        "texts_per_s": round(steps * 512 / clock.seconds[-1], 1),
        "val_acc": history.history["val_acc"][-1],
        **memory.fields(),
        "ru_maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    Path(out).write_text(json.dumps(row))


def _stream_child(data: Path, mode: str, steps: int, work: Path) -> dict:
    import subprocess

    out = work / "row.json"
    env = {**os.environ, "PYTHONPATH": str(HERE.parent), "TMPDIR": str(work)}
    command = [sys.executable, __file__, "--stream-worker", str(data), mode, str(steps), str(out)]
    subprocess.run(command, check=True, env=env)
    row = json.loads(out.read_text())
    print(json.dumps(row), flush=True)
    return row


def stream_sizes(sizes: list[int], steps: int, out: Path) -> None:
    import shutil

    rows, compare = [], []
    for i, mb in enumerate(sizes):
        with tempfile.TemporaryDirectory(prefix="textrnn-scale-") as tmp:
            work = Path(tmp)
            t0 = time.perf_counter()
            texts = write_csv_shards(work / "shards", mb)
            print(f"{mb} MB: {texts:,} texts written in {time.perf_counter() - t0:.0f} s", flush=True)
            if i == 0:  # the same data in memory, as one file, taking turns with the streamed run
                single = work / "all.csv"
                with open(single, "w", encoding="utf-8") as f:
                    f.write("text,label\n")
                    for shard in sorted((work / "shards").glob("*.csv")):
                        with open(shard, encoding="utf-8") as g:
                            next(g)
                            shutil.copyfileobj(g, f)
                for mode in ("on", "off") * 2:
                    compare.append(_stream_child(single, mode, steps, work))
                single.unlink()
            rows.append(_stream_child(work / "shards", "on", steps, work))
        print(
            f"df /tmp after {mb} MB: {shutil.disk_usage(tempfile.gettempdir()).free / 1e9:.1f} GB free",
            flush=True,
        )
    load = Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else ""
    result = {"benchmark": "benchmarks/scale.py --stream-mb", "cores": os.cpu_count(),
              "platform": platform.platform(), "steps_per_epoch": steps, "load_average_at_end": load,
              "streamed": rows, "streamed_vs_in_memory": compare}  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--stream-worker":
        stream_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        out, texts, epochs, threads = sys.argv[2], *map(int, sys.argv[3:6])
        train(out, texts, epochs, threads)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--stream-mb", default="", help="instead: the streamed path at these text sizes")
    parser.add_argument("--steps", type=int, default=100, help="--stream-mb: training steps per epoch")
    args = parser.parse_args()
    if args.stream_mb:
        sizes = [int(m) for m in args.stream_mb.split(",")]
        stream_sizes(sizes, args.steps, args.out or HERE / "results" / "scale_streamed_cli.json")
        return
    args.out = args.out or HERE / "results" / "scale.json"
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
