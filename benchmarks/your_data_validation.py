"""Choosing the recipe's rules on validation data: dev splits carved from each training file.

For SST-2, TREC-6 and SMS spam, a stratified 20% of `train.csv` (seeded) is held out as a dev
set; each variant trains on the other 80% (the recipe chosen from it alone, its own validation
split inside it) and is scored once on the dev set. The test files are never read.

    PYTHONPATH=. python benchmarks/your_data_validation.py [--datasets trec sms_spam sst2]
        [--variants auto auto_linear best]

Variants (`VARIANTS`): `auto` the default recipe as it stands, `auto_rnn` its RNN alone,
`auto_linear` one RNN and the linear model, `auto_linear_3` three seeds and the linear model,
`auto_bi_linear` a bidirectional RNN and the linear model, `best` `--preset best`. Every run's
baseline (the TF-IDF model fitted on the same 80%) is scored on the same dev set. Writes
`benchmarks/results/your_data_validation.json`, keeping the entries of variants not rerun.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from your_data import DATA, DATASETS, _now  # noqa: E402

# each variant: the preset and the options forced on it (explicit, so the recipe keeps them)
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "auto": ("auto", {}),
    "auto_rnn": ("auto", {"linear": False, "ensemble": 1}),
    "auto_linear": ("auto", {"linear": True, "ensemble": 1}),
    "auto_linear_3": ("auto", {"linear": True, "ensemble": 3}),
    "auto_bi_linear": ("auto", {"linear": True, "ensemble": 1, "bidirectional": True}),
    "best": ("best", {}),
}
DEV_FRACTION = 0.2


def carve(name: str, folder: Path, seed: int) -> tuple[Path, Path]:
    """`train.csv` split into `fit.csv` (80%) and `dev.csv` (20%, stratified by label)."""
    from textrnn.data import read_texts
    from textrnn.data.split import stratified_split

    texts, labels = read_texts(DATA / name / "train.csv")
    fit_rows, dev_rows = stratified_split(labels, DEV_FRACTION, seed)
    out = {"fit": folder / f"{name}-fit.csv", "dev": folder / f"{name}-dev.csv"}
    for key, rows in (("fit", fit_rows), ("dev", dev_rows)):
        with open(out[key], "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            w.writerows([texts[int(i)], labels[int(i)]] for i in rows)
    return out["fit"], out["dev"]


def run_variant(variant: str, fit: Path, dev: Path, work: Path, seed: int) -> dict[str, Any]:
    from textrnn.runs import TrainOptions, train

    preset, extra = VARIANTS[variant]
    options = TrainOptions.from_preset(preset, data=str(fit), test_data=str(dev), seed=seed, **extra)
    target = work / f"{fit.stem}-{variant}"
    t0 = time.perf_counter()
    result = train(options, target, verbose=0, print_fn=lambda s: None, explicit=set(extra))
    seconds = time.perf_counter() - t0
    m = result.metrics
    config = json.loads((target / "config.json").read_text(encoding="utf-8"))
    member = target if (target / "history.json").is_file() else target / "members" / "1"
    member_metrics = json.loads((member / "metrics.json").read_text(encoding="utf-8"))
    base = member_metrics.get("baseline", {})
    row = {
        "accuracy": m["accuracy"],
        "macro_f1": m["macro"]["f1"],
        "seconds": round(seconds, 1),
        "parts": m.get("parts"),
        "linear_weight": (config.get("linear") or {}).get("weight"),
        "baseline": {"accuracy": base.get("accuracy"), "macro_f1": (base.get("macro") or {}).get("f1")},
        "measured": _now(),
    }
    print(f"{fit.stem} {variant}: {json.dumps(row)}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--variants", nargs="+", default=["auto"], choices=list(VARIANTS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(HERE / "results" / "your_data_validation.json"))
    args = parser.parse_args()
    out = Path(args.out)
    old = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {"rows": {}}
    rows: dict[str, dict[str, Any]] = old.get("rows", {})
    from textrnn.fileio import write_json_atomic

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.datasets:
            fit, dev = carve(name, work, args.seed)
            for variant in args.variants:
                rows.setdefault(name, {})[variant] = run_variant(variant, fit, dev, work, args.seed)
                write_json_atomic(out, _result(rows, args.seed))  # after each run: a kill keeps it


def _result(rows: dict[str, dict[str, Any]], seed: int) -> dict[str, Any]:
    return {
        "benchmark": "your_data_validation",
        "dev_fraction": DEV_FRACTION,
        "seed": seed,
        "note": "dev sets carved from train.csv; test files never read; machine shared with other jobs",
        "rows": rows,
    }


if __name__ == "__main__":
    main()
