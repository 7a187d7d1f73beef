"""Does the Trainer split cost speed? `fit` timed on two copies of textrnn, alternately.

    python benchmarks/trainer_overhead.py --old /work/main [--repeats 3]

Two workloads; for each, one worker process per copy of textrnn times a fresh model's `fit` on
request (imports and kernel loading are not timed; a small warm-up `fit` runs first):

- `tutorial`: the Keras tutorial's SimpleRNN, `Embedding(10000, 32) -> SimpleRNN(32) ->
  Dense(1, sigmoid)`, rmsprop, batch 128, `validation_split=0.2`, on random token ids, 2,560
  rows x 500 steps, 2 epochs (16 training steps and 4 validation batches per epoch).
- `tiny`: `Embedding(100, 4) -> GlobalAveragePooling1D -> Dense(1, sigmoid)` on 2,560 rows x 8
  steps, batch 8, 2 epochs (256 steps per epoch): the steps cost almost nothing, so what is timed
  is the per-batch Python of the loop and the steps.

Each process computes on one thread (`torch.set_num_threads(1)`), so that on a busy shared
machine OpenMP threads do not spin against other processes. The copies' fits run in turn (old,
new, new, old, ...), so a busy machine slows both alike; the report gives each one's median
wall-clock and CPU seconds and the ratios new / old (below 1 is faster; on a busy machine the
process's CPU time is the steadier of the two), and the number of Python function calls one
`fit` makes in each copy (cProfile's count, which no load disturbs). Results are printed and
saved to `benchmarks/results/trainer_overhead.json`.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NEW = HERE.parent
WORKLOADS = ("tutorial", "tiny")


def serve(workload: str) -> None:
    """Time one `fit` per line read from stdin, with whichever textrnn is first on the path."""
    import numpy as np
    import torch

    import textrnn
    from textrnn.layers import Dense, Embedding, GlobalAveragePooling1D, SimpleRNN
    from textrnn.models import Sequential
    from textrnn.utils import set_random_seed

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    if workload == "tutorial":
        vocab, rows, steps, batch = 10000, 2560, 500, 128

        def layers() -> list:
            return [Embedding(vocab, 32), SimpleRNN(32), Dense(1, activation="sigmoid")]

    else:
        vocab, rows, steps, batch = 100, 2560, 8, 8

        def layers() -> list:
            return [Embedding(vocab, 4), GlobalAveragePooling1D(), Dense(1, activation="sigmoid")]

    x = rng.integers(1, vocab, size=(rows, steps)).astype(np.int32)
    y = rng.integers(0, 2, size=rows).astype(np.float32)

    def fit(n: int, epochs: int) -> dict:
        set_random_seed(0)
        model = Sequential(layers())
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
        wall, cpu = time.perf_counter(), time.process_time()
        model.fit(x[:n], y[:n], epochs=epochs, batch_size=batch, validation_split=0.2, verbose=0)
        return {"seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}

    def python_calls() -> int:
        profile = cProfile.Profile()
        profile.runcall(fit, rows, 2)
        return int(pstats.Stats(profile).total_calls)  # type: ignore[attr-defined]

    fit(2 * batch, 1)  # warm-up: native kernels, allocator
    print(json.dumps({"ready": True, "textrnn": str(Path(textrnn.__file__).parent)}), flush=True)
    for line in sys.stdin:
        if line.strip() == "calls":
            print(json.dumps({"python_calls": python_calls()}), flush=True)
        else:
            print(json.dumps(fit(rows, 2)), flush=True)


class Worker:
    """A process that serves `fit` timings of one workload with one copy of textrnn."""

    def __init__(self, code: Path, workload: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(code))
        cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", workload]
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        hello = self._read()
        if Path(hello["textrnn"]).resolve() != (code / "textrnn").resolve():
            got = hello["textrnn"]
            raise SystemExit(f"expected textrnn from {code}, the worker imported {got}")

    def _read(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"a benchmark worker stopped (exit code {self.proc.wait()})")
        return dict(json.loads(line))

    def time_fit(self) -> dict:
        """`{"seconds": wall-clock, "cpu_seconds": the process's CPU time}` of one `fit`."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        return self._read()

    def python_calls(self) -> int:
        """Python function calls made by one `fit` (cProfile's count: the same on every run)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("calls\n")
        self.proc.stdin.flush()
        return int(self._read()["python_calls"])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, default=Path("/work/main"), help="the old code's root")
    parser.add_argument("--repeats", type=int, default=3, help="timings per copy and workload")
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "trainer_overhead.json")
    parser.add_argument("--serve", choices=WORKLOADS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    copies = {"old": args.old.resolve(), "new": NEW}
    samples: dict[str, dict[str, list[dict]]] = {w: {"old": [], "new": []} for w in args.workloads}
    calls: dict[str, dict[str, int]] = {}
    for workload in args.workloads:
        workers = {which: Worker(code, workload) for which, code in copies.items()}
        try:
            calls[workload] = {which: w.python_calls() for which, w in workers.items()}
            for r in range(args.repeats):
                for which in ("old", "new") if r % 2 == 0 else ("new", "old"):
                    t = workers[which].time_fit()
                    samples[workload][which].append(t)
                    print(
                        f"{workload:8s} round {r + 1} {which}: {t['seconds']:.3f} s "
                        f"(CPU {t['cpu_seconds']:.3f} s)",
                        flush=True,
                    )
        finally:
            for worker in workers.values():
                worker.close()

    summary = {}
    for workload, by_copy in samples.items():
        row = {}
        for key in ("seconds", "cpu_seconds"):
            old = statistics.median(t[key] for t in by_copy["old"])
            new = statistics.median(t[key] for t in by_copy["new"])
            row.update({f"old_median_{key}": old, f"new_median_{key}": new})
            row[f"ratio_{key}"] = new / old
            print(f"{workload:8s} {key:12s} old {old:.3f}  new {new:.3f}  new/old {new / old:.3f}")
        row["old_python_calls"] = calls[workload]["old"]
        row["new_python_calls"] = calls[workload]["new"]
        print(
            f"{workload:8s} Python calls per fit: old {row['old_python_calls']:,}  "
            f"new {row['new_python_calls']:,}"
        )
        summary[workload] = row
    report = {
        "benchmark": "trainer_overhead",
        "old": str(copies["old"]),
        "new": str(copies["new"]),
        "repeats": args.repeats,
        "summary": summary,
        "samples": samples,
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, args.out)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
