"""Two source trees of textrnn side by side, alone and beside busy processes, in one run.

Each measurement is a fresh process (OpenMP reads its settings once) that imports textrnn first,
as a user's script would, builds the tutorial model (Embedding(10000, 32) -> RNN(32) -> Dense(1)),
and times `fit` on `--samples` random reviews of 500 steps: median seconds per batch of
`--epochs` epochs. The trees take turns, alone and beside `--busy` Python spin processes, for
`--rounds` rounds; medians of the rounds are reported with every value.

    git archive <old-commit> | tar -x -C /tmp/old
    python benchmarks/busy_ab.py --old /tmp/old --new . --rnn lstm --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save_json  # noqa: E402
from vs_keras import busy_processes  # noqa: E402

# The tutorial model on random reviews of 500 steps, compiled: the start of every child script
# (argv: rnn kind, reviews, epochs). `busy_adaptive.py` times it its own way.
TUTORIAL_MODEL = """
import json, sys, time, statistics
from textrnn import layers
from textrnn.models import Sequential
from textrnn.utils import set_random_seed
import numpy as np
kind, n, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.integers(1, 10000, size=(n, 500))
y = rng.integers(0, 2, size=n).astype("float32")
rnn = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[kind]
m = Sequential([layers.Embedding(10000, 32), rnn(32), layers.Dense(1, activation="sigmoid")])
m.compile(optimizer="rmsprop", loss="binary_crossentropy")
"""

CHILD = (
    TUTORIAL_MODEL
    + """
m.fit(x[:256], y[:256], epochs=1, batch_size=128, verbose=0)
times = []
for _ in range(epochs):
    t0 = time.perf_counter()
    m.fit(x, y, epochs=1, batch_size=128, verbose=0)
    times.append((time.perf_counter() - t0) / (n / 128))
print(statistics.median(times))
"""
)

# Settings a tree may choose for itself; a parent's choice must not leak into the other tree.
OPENMP = ("GOMP_SPINCOUNT", "KMP_BLOCKTIME", "OMP_WAIT_POLICY")


def run_child(code: str, tree: Path, args: list[str], timeout: float, **env_extra: str) -> str:
    """The last line `code` prints, run in a fresh Python importing textrnn from `tree` (OpenMP
    settings of this process left out, `env_extra` added)."""
    env = {k: v for k, v in os.environ.items() if k not in OPENMP}
    env["PYTHONPATH"] = str(tree)
    env.update(env_extra)
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True,
        timeout=timeout,
    )  # fmt: skip
    return out.stdout.strip().splitlines()[-1]


def measure(tree: Path, rnn: str, samples: int, epochs: int) -> float:
    return float(run_child(CHILD, tree, [rnn, str(samples), str(epochs)], timeout=1800))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--old", type=Path, required=True, help="source tree of the old textrnn")
    p.add_argument("--new", type=Path, required=True, help="source tree of the new textrnn")
    p.add_argument("--rnn", default="lstm", choices=["simple_rnn", "lstm", "gru"])
    p.add_argument("--samples", type=int, default=512)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--busy", type=int, default=1)
    p.add_argument("--busy-limit", type=float, default=1800.0)
    p.add_argument("--out", default="busy_ab.json")
    args = p.parse_args()
    trees = {"old": args.old.resolve(), "new": args.new.resolve()}
    times: dict[tuple[str, int], list[float]] = {(t, b): [] for t in trees for b in (0, args.busy)}
    for r in range(args.rounds):
        for name, tree in trees.items():
            for busy in (0, args.busy):
                with busy_processes(busy, args.busy_limit):
                    times[(name, busy)].append(measure(tree, args.rnn, args.samples, args.epochs))
        print(f"round {r + 1} of {args.rounds} done", flush=True)
    rows = []
    for name in trees:
        alone, busy = (statistics.median(times[(name, b)]) for b in (0, args.busy))
        rows.append(
            {
                "tree": name,
                "path": str(trees[name]),
                "alone_s_per_batch": alone,
                "busy_s_per_batch": busy,
                "slowdown": busy / alone,
                "alone_all": times[(name, 0)],
                "busy_all": times[(name, args.busy)],
            }
        )
        print(
            f"{args.rnn} {name}: alone {alone * 1e3:.0f} ms/batch, beside {args.busy} busy "
            f"{busy * 1e3:.0f} ms/batch, slowdown {busy / alone:.2f}x"
        )
    path = save_json(
        {
            "benchmark": "busy_ab",
            "rnn": args.rnn,
            "samples": args.samples,
            "busy": args.busy,
            "results": rows,
        },
        args.out,
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
