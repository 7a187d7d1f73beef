"""`--preset best`'s RNN members on dev sets: hashed 1-3-gram rows against words alone.

The dev sets are `your_data_validation.py`'s (a stratified 20% of each `train.csv`, carved with
`--carve-seed`); each variant trains one member of `--preset best` (no linear model, no
baseline) on the other 80%, for each training seed, and is scored once on the dev set. The test
files are never read. This is how best's words-only members were chosen (docs/accuracy.md).

    PYTHONPATH=. python benchmarks/your_data_members.py [--datasets trec sms_spam sst2]
        [--variants ngrams words] [--seeds 1 2 3]

Writes `benchmarks/results/your_data_members.json` (each row with its seconds and when it ran).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _common import save_json  # noqa: E402
from your_data import DATASETS, _now  # noqa: E402
from your_data_validation import carve  # noqa: E402

# each variant: the options forced on one `best` member beside the fixed ones below
VARIANTS: dict[str, dict[str, Any]] = {
    "ngrams": {"ngrams": 3},  # best's hashed 1-3-gram rows (the recipe's bigram rule aside)
    "words": {"ngrams": 1},  # words alone, what best's members now read beside the linear model
}
FIXED = {"ensemble": 1, "linear": False, "baseline": False}


def run(name: str, variant: str, fit: Path, dev: Path, work: Path, seed: int) -> dict[str, Any]:
    from textrnn.runs import TrainOptions, train

    extra = {**FIXED, **VARIANTS[variant]}
    options = TrainOptions.from_preset("best", data=str(fit), test_data=str(dev), seed=seed, **extra)
    target = work / f"{name}-{variant}-{seed}"
    t0 = time.perf_counter()
    result = train(options, target, verbose=0, print_fn=lambda s: None, explicit=set(extra))
    seconds = time.perf_counter() - t0
    history = json.loads((target / "history.json").read_text(encoding="utf-8"))
    row = {
        "dataset": name,
        "variant": variant,
        "seed": seed,
        "dev_accuracy": result.metrics["accuracy"],
        "dev_macro_f1": result.metrics["macro"]["f1"],
        "seconds": round(seconds, 1),
        "epoch_seconds": [round(s, 2) for s in history["seconds"]],
        "best_epoch": history["best_epoch"],
        "measured": _now(),
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=list(DATASETS))
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--carve-seed", type=int, default=0)
    p.add_argument("--out", default="your_data_members.json")
    args = p.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.datasets:
            fit, dev = carve(name, work, args.carve_seed)
            for variant in args.variants:
                for seed in args.seeds:
                    rows.append(run(name, variant, fit, dev, work, seed))
                    result = {"benchmark": "your_data_members", "carve_seed": args.carve_seed, "rows": rows}
                    save_json(result, args.out)  # after each run: a kill keeps what finished


if __name__ == "__main__":
    main()
