"""textrnn against Keras (TensorFlow and JAX backends) on the tutorial's IMDB configuration.

Each run is a fresh process (its peak RSS is its own); the frameworks take turns layer by layer, on the
same padded arrays. Reported per layer: median seconds per epoch over the epochs after the first, the
faster Keras backend's median divided by textrnn's, best validation and final test accuracy, peak RSS.

    pip install -e '.[bench]'          # keras, tensorflow-cpu, jax (benchmarks only)
    TEXTRNN_IMDB=../shared/data/aclImdb_v1.tar.gz python benchmarks/vs_keras.py --epochs 10

`--recipe ema` trains the tutorial model with Keras's weight average and early stopping instead
(`docs/accuracy.md`), written once for both libraries.

Keras may live in another environment: `--keras-python /path/to/python` (that interpreter needs
keras, tensorflow and jax; textrnn is only imported by the textrnn runs).

`--busy N` runs every training twice, alone and beside N busy processes (Python spin loops that
this script starts just before the run and stops right after it; each also stops by itself after
`--busy-limit` seconds or when this script dies), and reports each slowdown. `--samples N` trains
on the first N training reviews (and tests on the first N test reviews) for quick comparisons.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, prepare_arrays, run_worker, save_json, summarise  # noqa: E402

FRAMEWORKS = ["textrnn", "textrnn-fast", "keras-jax", "keras-tensorflow"]

# A busy process: spins until its deadline, or until its parent (this script) is gone.
SPIN = """
import os, sys, time
deadline, parent = time.monotonic() + float(sys.argv[1]), os.getppid()
while time.monotonic() < deadline and os.getppid() == parent:
    for _ in range(100000):
        pass
"""


@contextlib.contextmanager
def busy_processes(count: int, limit_s: float) -> Iterator[None]:
    """`count` busy Python processes for the duration of the block (always stopped after it)."""
    procs = [subprocess.Popen([sys.executable, "-c", SPIN, str(limit_s)]) for _ in range(count)]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()


def subset(data: Path, samples: int) -> Path:
    """The arrays cut to the first `samples` training and test rows."""
    import numpy as np

    with np.load(data) as f:
        arrays = {k: f[k][:samples] for k in f.files}
    out = data.with_name(f"{data.stem}_{samples}.npz")
    np.savez(out, **arrays)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--rnn", nargs="+", default=["simple_rnn", "lstm", "gru"])
    p.add_argument("--frameworks", nargs="+", default=FRAMEWORKS, choices=FRAMEWORKS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lock", default=None, help="a lock file held (flock) during each training run")
    p.add_argument("--keras-python", default=sys.executable)
    p.add_argument(
        "--recipe",
        choices=["tutorial", "ema"],
        default="tutorial",
        help="tutorial: 10 plain epochs; ema: + RMSprop(use_ema=True, ema_momentum=0.98) averaged every "
        "epoch and EarlyStopping(patience=2, restore_best_weights=True), the same code in both libraries",
    )
    p.add_argument(
        "--busy",
        type=int,
        default=0,
        help="also run every training beside this many busy processes (started and stopped here)",
    )
    p.add_argument(
        "--busy-limit",
        type=float,
        default=3600.0,
        help="seconds after which a busy process stops by itself (a bound if this script is killed)",
    )
    p.add_argument(
        "--samples",
        type=int,
        default=None,
        help="train and test on the first N reviews of each set (quick comparisons)",
    )
    p.add_argument("--out", default="vs_keras.json")
    args = p.parse_args()
    if args.busy < 0:
        p.error(f"--busy must be 0 or more, got {args.busy}")
    conditions = [0, args.busy] if args.busy else [0]

    runs: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = prepare_arrays(Path(tmp))
        if args.samples:
            data = subset(data, args.samples)
        for rnn in args.rnn:
            for fw in args.frameworks:
                python = args.keras_python if fw.startswith("keras") else sys.executable
                for busy in conditions:
                    print(f"[{rnn}] {fw}{f' beside {busy} busy' if busy else ''} ...", flush=True)
                    with busy_processes(busy, args.busy_limit):
                        r = run_worker(
                            python,
                            fw,
                            rnn,
                            data,
                            args.epochs,
                            args.seed,
                            Path(tmp),
                            lock=args.lock,
                            recipe=args.recipe,
                        )
                    r["busy"] = busy
                    runs.append(r)
                    s = summarise(r)
                    if "error" not in s:
                        print(
                            f"    {s['median_epoch_s']:.2f} s/epoch, best val_acc {s['best_val_acc']:.4f}, "
                            f"test_acc {s['test_acc']:.4f}, peak RSS {s['peak_rss_mib']:.0f} MiB",
                            flush=True,
                        )
    summaries = []
    for r in runs:
        s = summarise(r)
        s["busy"] = r["busy"]
        summaries.append(s)
    table: list[dict] = []
    for rnn in args.rnn:
        for busy in conditions:
            rows = {
                s["framework"]: s
                for s in summaries
                if s["rnn"] == rnn and s["busy"] == busy and "error" not in s
            }
            keras = [rows[k] for k in ("keras-jax", "keras-tensorflow") if k in rows]
            best_keras = min(keras, key=lambda s: s["median_epoch_s"]) if keras else None
            for fw in ("textrnn", "textrnn-fast"):
                if fw in rows and best_keras:
                    rows[fw]["speedup_vs_faster_keras"] = (
                        best_keras["median_epoch_s"] / rows[fw]["median_epoch_s"]
                    )
                    rows[fw]["faster_keras"] = best_keras["framework"]
            if busy:
                alone = {
                    s["framework"]: s
                    for s in summaries
                    if s["rnn"] == rnn and s["busy"] == 0 and "error" not in s
                }
                for fw, row in rows.items():
                    if fw in alone:
                        row["slowdown_vs_alone"] = row["median_epoch_s"] / alone[fw]["median_epoch_s"]
            table.extend(rows.values())
    result = {
        "benchmark": "vs_keras",
        "epochs": args.epochs,
        "seed": args.seed,
        "recipe": args.recipe,
        "busy": args.busy,
        "samples": args.samples,
        "machine": machine(),
        "summary": table,
        "runs": runs,
    }
    path = save_json(result, args.out)
    print()
    print(
        "| layer | framework | busy processes | s/epoch (median) | × faster Keras | slowdown vs alone | "
        "epochs | "
        "best val acc | test acc | peak RSS MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s in table:
        sp, slow = s.get("speedup_vs_faster_keras"), s.get("slowdown_vs_alone")
        print(
            f"| {s['rnn']} | {s['framework']} | {s['busy']} | {s['median_epoch_s']:.2f} | "
            f"{'' if sp is None else f'{sp:.2f}×'} | {'' if slow is None else f'{slow:.2f}×'} | "
            f"{s['epochs_run']} | {s['best_val_acc']:.4f} | {s['test_acc']:.4f} | {s['peak_rss_mib']:.0f} |"
        )
    print(f"\nsaved {path}")


if __name__ == "__main__":
    main()
