"""Your own data: the recipe `textrnn.recipes.choose` picks, and the bag-of-words baseline.

For SST-2, TREC-6 and SMS spam (`../shared/data/text/`, see its README), and IMDB when
`TEXTRNN_IMDB` points to `aclImdb_v1.tar.gz`: the recipe is chosen from `train.csv` alone, the RNN
and the baseline are trained on `train.csv` and each scored once on `test.csv`. The recipe's
options are passed explicitly on top of the `fast` preset (what `textrnn train --data` will do
by itself once it is wired in).

    PYTHONPATH=. python benchmarks/your_data.py [--datasets sst2 trec sms_spam] [--threads 1]

Writes `benchmarks/results/your_data.json`.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
# ../shared/data/text beside the checkout (or beside its worktree folder); TEXTRNN_TEXT_DATA wins
_SHARED = [p / "shared" / "data" / "text" for p in (HERE.parent.parent, HERE.parent.parent.parent)]
_FOUND = next((p for p in _SHARED if p.is_dir()), _SHARED[0])
DATA = Path(os.environ.get("TEXTRNN_TEXT_DATA", _FOUND))
DATASETS = ("sst2", "trec", "sms_spam")


def _imdb_csvs(folder: Path) -> tuple[Path, Path] | None:
    """IMDB's train and test reviews as CSV files, from the tarball named by TEXTRNN_IMDB."""
    tarball = os.environ.get("TEXTRNN_IMDB")
    if not tarball or not Path(tarball).is_file():
        return None
    import csv
    import tarfile

    out = {"train": folder / "imdb_train.csv", "test": folder / "imdb_test.csv"}
    writers = {k: csv.writer(open(p, "w", newline="", encoding="utf-8")) for k, p in out.items()}
    for w in writers.values():
        w.writerow(["text", "label"])
    with tarfile.open(tarball) as tar:
        for member in tar:
            parts = member.name.split("/")
            if (
                member.isfile()
                and len(parts) == 4
                and parts[1] in out
                and parts[2] in ("neg", "pos")
            ):
                f = tar.extractfile(member)
                if f is not None:
                    writers[parts[1]].writerow([f.read().decode("utf-8"), parts[2]])
    return out["train"], out["test"]


def run_one(
    name: str, train_csv: Path, test_csv: Path, work: Path, seed: int, budget: float | None
) -> dict[str, Any]:
    from textrnn.baseline import run_baseline
    from textrnn.data import read_texts
    from textrnn.recipes import BASE_PRESET, choose
    from textrnn.runs import TrainOptions, train

    texts, labels = read_texts(train_csv)
    test_texts, test_labels = read_texts(test_csv)
    t0 = time.perf_counter()
    recipe = choose(texts, labels, time_budget_minutes=budget)
    choose_seconds = time.perf_counter() - t0
    print(
        f"\n== {name}: {len(texts):,} train / {len(test_texts):,} test texts\n{recipe.describe()}",
        flush=True,
    )
    options = TrainOptions.from_preset(
        BASE_PRESET, data=str(train_csv), test_data=str(test_csv), seed=seed, **recipe.options
    )
    t0 = time.perf_counter()
    result = train(options, work / f"{name}-recipe", verbose=0, print_fn=lambda s: None)
    rnn_seconds = time.perf_counter() - t0
    m = result.metrics
    base, _ = run_baseline(texts, labels, test_texts, test_labels, seed=seed)
    row = {
        "dataset": name,
        "train_texts": len(texts),
        "test_texts": len(test_texts),
        "recipe": {
            **recipe.to_dict(),
            "accuracy": m["accuracy"],
            "macro_f1": m["macro"]["f1"],
            "seconds": rnn_seconds,
            "choose_seconds": choose_seconds,
            "model": options.model_name(),
        },
        "baseline": {
            "accuracy": base["accuracy"],
            "macro_f1": base["macro"]["f1"],
            "seconds": base["seconds"],
            "c": base["c"],
        },
    }
    print(
        f"{name}: recipe {m['accuracy']:.4f} (macro F1 {m['macro']['f1']:.4f}, "
        f"{rnn_seconds:.0f} s), baseline {base['accuracy']:.4f} "
        f"(macro F1 {base['macro']['f1']:.4f}, {base['seconds']:.0f} s)",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=[*DATASETS, "imdb"], help="which datasets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads (default: torch's)"
    )
    parser.add_argument(
        "--time-budget", type=float, default=None, help="minutes (default: the recipe's)"
    )
    parser.add_argument("--out", default=str(HERE / "results" / "your_data.json"))
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.datasets:
            if name == "imdb":
                csvs = _imdb_csvs(work)
                if csvs is None:
                    print("imdb: skipped (set TEXTRNN_IMDB to aclImdb_v1.tar.gz)")
                    continue
                train_csv, test_csv = csvs
            else:
                train_csv, test_csv = DATA / name / "train.csv", DATA / name / "test.csv"
            rows.append(run_one(name, train_csv, test_csv, work, args.seed, args.time_budget))
    result = {
        "benchmark": "your_data",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "note": "shared with other jobs while measured; times are wall-clock as measured",
        },
        "seed": args.seed,
        "rows": rows,
    }
    from textrnn.fileio import write_json_atomic

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(Path(args.out), result)
    print(
        "\n| dataset | recipe acc | recipe macro F1 | recipe time "
        "| baseline acc | baseline macro F1 | baseline time |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        a, b = r["recipe"], r["baseline"]
        print(
            f"| {r['dataset']} | {a['accuracy']:.4f} | {a['macro_f1']:.4f} "
            f"| {a['seconds']:.0f} s | "
            f"{b['accuracy']:.4f} | {b['macro_f1']:.4f} | {b['seconds']:.0f} s |"
        )


if __name__ == "__main__":
    main()
