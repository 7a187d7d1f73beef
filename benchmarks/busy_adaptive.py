"""The adaptive thread count (textrnn.training.threads_policy) on and off, alone and beside busy
processes, in turns in one run.

Each measurement is a fresh process (as in `busy_ab.py`) that builds the tutorial model
(Embedding(10000, 32) -> RNN(32) -> Dense(1), rmsprop), trains it for `--epochs` `fit` calls on
`--samples` random reviews of 500 steps (the controller is kept on the model between calls, as in
one `fit` of several epochs), and reports the median seconds per batch over the epochs with the
thread count the controller ended at. `TEXTRNN_ADAPTIVE_THREADS` is 0 (off) or 1 (on). The four
settings take turns for `--rounds` rounds; medians of the rounds are reported with every value.

    python benchmarks/busy_adaptive.py --rnn simple_rnn lstm --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save_json  # noqa: E402
from busy_ab import TUTORIAL_MODEL, run_child  # noqa: E402
from vs_keras import busy_processes  # noqa: E402

CHILD = (
    TUTORIAL_MODEL
    + """
times = []
for _ in range(epochs):
    t0 = time.perf_counter()
    m.fit(x, y, epochs=1, batch_size=128, verbose=0)
    times.append((time.perf_counter() - t0) / (n / 128))
c = getattr(m, "_thread_controller", None)
print(json.dumps({"times": times, "threads": None if c is None else c.current,
                  "decisions": None if c is None else c.decisions}))
"""
)


def measure(rnn: str, samples: int, epochs: int, adaptive: bool) -> dict:
    line = run_child(
        CHILD, Path(__file__).resolve().parents[1], [rnn, str(samples), str(epochs)], timeout=900,
        TEXTRNN_ADAPTIVE_THREADS="1" if adaptive else "0",
    )  # fmt: skip
    got = json.loads(line)
    # the first epoch holds the controller's first probe; the later ones its steady state
    got["s_per_batch"] = statistics.median(got["times"][1:] or got["times"])
    return got


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else ""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rnn", nargs="+", default=["simple_rnn", "lstm"], choices=["simple_rnn", "lstm", "gru"])
    p.add_argument("--samples", type=int, default=2560, help="reviews per epoch (20 batches of 128)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--busy", type=int, default=1)
    p.add_argument("--busy-limit", type=float, default=1800.0)
    p.add_argument("--out", default="busy_adaptive.json")
    args = p.parse_args()
    settings = [(a, b) for b in (0, args.busy) for a in (False, True)]
    runs: dict[str, dict[str, list[dict]]] = {r: {f"{a}-{b}": [] for a, b in settings} for r in args.rnn}
    loads = [load()]
    for r in range(args.rounds):
        for rnn in args.rnn:
            for adaptive, busy in settings:
                with busy_processes(busy, args.busy_limit):
                    runs[rnn][f"{adaptive}-{busy}"].append(measure(rnn, args.samples, args.epochs, adaptive))
        loads.append(load())
        print(f"round {r + 1} of {args.rounds} done (load {loads[-1]})", flush=True)
    rows = []
    for rnn in args.rnn:
        med = {k: statistics.median(m["s_per_batch"] for m in v) for k, v in runs[rnn].items()}
        off0, on0 = med["False-0"], med["True-0"]
        offb, onb = med[f"False-{args.busy}"], med[f"True-{args.busy}"]
        rows.append(
            {
                "rnn": rnn,
                "off_alone_s_per_batch": off0,
                "on_alone_s_per_batch": on0,
                "off_busy_s_per_batch": offb,
                "on_busy_s_per_batch": onb,
                "idle_cost": on0 / off0,
                "slowdown_off": offb / off0,
                "slowdown_on": onb / off0,
                "runs": runs[rnn],
            }
        )
        print(
            f"{rnn}: alone off {off0 * 1e3:.1f} / on {on0 * 1e3:.1f} ms/batch (on/off {on0 / off0:.3f}); "
            f"beside {args.busy} busy off {offb * 1e3:.1f} / on {onb * 1e3:.1f} ms/batch; slowdown vs "
            f"alone-off: off {offb / off0:.2f}x, on {onb / off0:.2f}x; threads chosen busy: "
            f"{[m['threads'] for m in runs[rnn][f'True-{args.busy}']]}, alone: "
            f"{[m['threads'] for m in runs[rnn]['True-0']]}"
        )
    path = save_json(
        {
            "benchmark": "busy_adaptive",
            "samples": args.samples,
            "epochs": args.epochs,
            "busy": args.busy,
            "loadavg": loads,
            "cpus": os.cpu_count(),
            "results": rows,
        },
        args.out,
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
