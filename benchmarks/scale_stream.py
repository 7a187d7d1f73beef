"""Peak memory against data size when texts are streamed from shards (`textrnn.data.stream`).

    PYTHONPATH=. python benchmarks/scale_stream.py [--mb 25,50,100] [--out results/...]
    PYTHONPATH=. python benchmarks/scale_stream.py --compare-mb 10   # memmap against in-memory

For each size, synthetic labelled texts (Zipf-distributed words from a 20,000-word lexicon, 8 to
80 words each) are written as JSON Lines shards of about 25 MB; then, in a fresh process, the
shards are scanned (vocabulary, num_words 10,000), encoded into a memory-mapped int32 token file
(maxlen 32), and a masked, bucketed GRU(8) trains one epoch on it (batch 1024, validation split
0.1), with every core as a thread. A sampling thread records the process's peak anonymous
memory (RssAnon: what the process itself holds) and peak resident file pages (RssFile: the
mapped token file, which the kernel may drop at any time); VmHWM is the usual peak RSS, the two
together.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import PeakMemory  # noqa: E402

HERE = Path(__file__).resolve().parent
SHARD_MB = 25


def write_shards(folder: Path, megabytes: int, seed: int = 0) -> int:
    import numpy as np

    rng = np.random.default_rng(seed)
    lexicon = np.array([f"w{i}" for i in range(20_000)])
    weights = 1.0 / np.arange(1, 20_001)
    weights /= weights.sum()
    folder.mkdir(parents=True, exist_ok=True)
    written, shard, rows = 0, 0, 0
    target = megabytes * 1_000_000
    while written < target:
        lines = []
        size = 0
        while size < SHARD_MB * 1_000_000 and written + size < target:
            n = int(rng.integers(8, 81))
            words = lexicon[rng.choice(20_000, size=n, p=weights)]
            label = "pos" if (words == "w7").any() else "neg"
            line = json.dumps({"text": " ".join(words), "label": label}) + "\n"
            lines.append(line)
            size += len(line)
        (folder / f"part-{shard:05d}.jsonl").write_text("".join(lines))
        written += size
        rows += len(lines)
        shard += 1
    return rows


def measure(folder: str, work: str, out: str) -> None:
    import torch

    from textrnn.data.stream import encode_to_disk, scan
    from textrnn.layers import GRU, Dense, Embedding
    from textrnn.models import Sequential

    torch.set_num_threads(os.cpu_count() or 1)
    memory = PeakMemory().start()
    t0 = time.perf_counter()
    found = scan(folder, num_words=10_000)
    t1 = time.perf_counter()
    data = encode_to_disk(folder, Path(work) / "enc", found.vocabulary, found.label_names, 32,
                          rows=found.rows)  # fmt: skip
    t2 = time.perf_counter()
    model = Sequential([Embedding(10_000, 16, mask_zero=True), GRU(8), Dense(1, "sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["acc"])
    history = model.fit(data.x, data.y.astype("float32"), batch_size=1024, epochs=1, verbose=0,
                        validation_split=0.1, bucket_by_length=True)  # fmt: skip
    t3 = time.perf_counter()
    memory.stop()
    row = {
        "text_mb": round(sum(p.stat().st_size for p in Path(folder).iterdir()) / 1e6, 1),
        "texts": found.rows,
        "token_file_mb": round(data.x.nbytes / 1e6, 1),
        "scan_s": round(t1 - t0, 1),
        "encode_s": round(t2 - t1, 1),
        "fit_s": round(t3 - t2, 1),
        "train_texts_per_s": round(int(found.rows * 0.9) / (t3 - t2), 1),
        "val_acc": history.history["val_acc"][0],
        **memory.fields(),
    }
    Path(out).write_text(json.dumps(row))


def compare(folder: str, work: str, out: str) -> None:
    """Seconds of one epoch on the memory-mapped tokens and on the same tokens as an in-memory
    array, alternately, twice each (fresh model each time, same seed), after an untimed warm-up
    fit; one thread."""
    import numpy as np
    import torch

    from textrnn.data.stream import encode_to_disk, scan
    from textrnn.layers import GRU, Dense, Embedding
    from textrnn.models import Sequential
    from textrnn.training.seed import set_random_seed

    torch.set_num_threads(1)
    found = scan(folder, num_words=10_000)
    data = encode_to_disk(folder, Path(work) / "enc", found.vocabulary, found.label_names, 32,
                          rows=found.rows)  # fmt: skip
    arrays = {"memmap": data.x, "in_memory": np.array(data.x)}
    y = data.y.astype("float32")
    seconds: dict[str, list[float]] = {"memmap": [], "in_memory": []}
    warm = Sequential([Embedding(10_000, 16, mask_zero=True), GRU(8), Dense(1, "sigmoid")])
    warm.compile(optimizer="adam", loss="binary_crossentropy")
    warm.fit(
        arrays["in_memory"][:4096], y[:4096], batch_size=1024, verbose=0, bucket_by_length=True
    )  # fmt: skip  (loads the kernels; not timed)
    for kind in ["memmap", "in_memory"] * 2:
        set_random_seed(0)
        model = Sequential([Embedding(10_000, 16, mask_zero=True), GRU(8), Dense(1, "sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["acc"])
        t0 = time.perf_counter()
        model.fit(arrays[kind], y, batch_size=1024, epochs=1, verbose=0, validation_split=0.1,
                  bucket_by_length=True)  # fmt: skip
        seconds[kind].append(round(time.perf_counter() - t0, 2))
    Path(out).write_text(json.dumps({"texts": found.rows, "fit_seconds": seconds}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("--worker", "--compare-worker"):
        (measure if sys.argv[1] == "--worker" else compare)(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", default="25,50,100")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "scale_stream.json")
    parser.add_argument(
        "--compare-mb",
        type=int,
        default=0,
        help="instead: one epoch on a memmap against an in-memory array, this size",
    )
    args = parser.parse_args()
    if args.compare_mb:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "shards"
            write_shards(folder, args.compare_mb)
            out = Path(tmp) / "row.json"
            env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
            subprocess.run([sys.executable, __file__, "--compare-worker", str(folder), tmp,
                            str(out)], check=True, env=env)  # fmt: skip
            row = json.loads(out.read_text())
        print(json.dumps(row))
        args.out.with_name("scale_stream_compare.json").write_text(json.dumps(row, indent=2) + "\n")
        return
    rows = []
    for mb in [int(m) for m in args.mb.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "shards"
            write_shards(folder, mb)
            out = Path(tmp) / "row.json"
            env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
            subprocess.run([sys.executable, __file__, "--worker", str(folder), tmp, str(out)],
                           check=True, env=env)  # fmt: skip
            row = json.loads(out.read_text())
            rows.append(row)
            print(json.dumps(row))
    load = Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else ""
    result = {"benchmark": "benchmarks/scale_stream.py", "cores": os.cpu_count(),
              "load_average_at_end": load, "rows": rows}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
