"""Your own data: the recipe `textrnn.recipes.choose` picks, `--preset best`, and the baseline.

For SST-2, TREC-6 and SMS spam (`../shared/data/text/`, see its README), and IMDB when named
(`--datasets imdb`, with `TEXTRNN_IMDB` pointing to `aclImdb_v1.tar.gz`): every model is trained
on `train.csv` and scored once on `test.csv`. `recipe` (the default) is exactly `textrnn train
--data train.csv --test-data test.csv --seed SEED`: the recipe chosen from `train.csv` alone, one
RNN and the linear n-gram model weighted on its validation split. `best` is exactly `textrnn
train --preset best --data train.csv --test-data test.csv --seed SEED`: 3 RNN members sized to
the data and the linear n-gram model, weighted on the members' validation splits. `baseline` is
TF-IDF 1-2-grams + logistic regression (`textrnn.baseline`).

    PYTHONPATH=. python benchmarks/your_data.py [--datasets sst2 trec sms_spam [imdb]]
        [--runs recipe best baseline] [--threads 1]

Writes `benchmarks/results/your_data.json`, keeping the entries already in that file that were
not rerun (each entry records when it was measured).
"""

from __future__ import annotations

import argparse
import json
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
            if member.isfile() and len(parts) == 4 and parts[1] in out and parts[2] in ("neg", "pos"):
                f = tar.extractfile(member)
                if f is not None:
                    writers[parts[1]].writerow([f.read().decode("utf-8"), parts[2]])
    return out["train"], out["test"]


RUNS = ("recipe", "best", "baseline")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _member_parameters(ensemble: Path) -> int | None:
    member = json.loads((ensemble / "members" / "1" / "config.json").read_text(encoding="utf-8"))
    return (member.get("model") or {}).get("parameters")


def run_best(name: str, train_csv: Path, test_csv: Path, work: Path, seed: int) -> dict[str, Any]:
    """`textrnn train --preset best --data train.csv --test-data test.csv --seed SEED`."""
    from textrnn.runs import TrainOptions, train

    options = TrainOptions.from_preset("best", data=str(train_csv), test_data=str(test_csv), seed=seed)
    t0 = time.perf_counter()
    result = train(options, work / f"{name}-best", verbose=0, print_fn=lambda s: None)
    seconds = time.perf_counter() - t0
    m = result.metrics
    config = json.loads((work / f"{name}-best" / "config.json").read_text(encoding="utf-8"))
    linear = config["linear"]
    chosen = TrainOptions.from_dict(config["options"])
    row = {
        "accuracy": m["accuracy"],
        "macro_f1": m["macro"]["f1"],
        "seconds": seconds,
        "model": f"{chosen.ensemble} × {chosen.model_name()} + linear",
        "options": {
            k: config["options"][k]
            for k in ("num_words", "maxlen", "ngrams", "ngram_buckets", "epochs", "batch_size", "monitor")
        },
        "parameters_per_member": _member_parameters(work / f"{name}-best"),
        "linear": {k: linear.get(k) for k in ("weight", "kind", "c", "model", "features", "chosen_by")},
        "parts": m.get("parts"),
        "measured": _now(),
    }
    print(
        f"{name}: best {m['accuracy']:.4f} (macro F1 {m['macro']['f1']:.4f}, {seconds:.0f} s, "
        f"linear weight {linear['weight']:g})",
        flush=True,
    )
    return row


def run_one(
    name: str,
    train_csv: Path,
    test_csv: Path,
    work: Path,
    seed: int,
    budget: float | None,
    runs: tuple[str, ...] = RUNS,
) -> dict[str, Any]:
    from textrnn.baseline import run_baseline
    from textrnn.data import read_texts
    from textrnn.runs import TrainOptions, train

    texts, labels = read_texts(train_csv)
    test_texts, test_labels = read_texts(test_csv)
    row: dict[str, Any] = {"dataset": name, "train_texts": len(texts), "test_texts": len(test_texts)}
    if "best" in runs:
        row["best"] = run_best(name, train_csv, test_csv, work, seed)
    if "baseline" in runs:
        base, _ = run_baseline(texts, labels, test_texts, test_labels, seed=seed)
        row["baseline"] = {
            "accuracy": base["accuracy"],
            "macro_f1": base["macro"]["f1"],
            "seconds": base["seconds"],
            "c": base["c"],
            "measured": _now(),
        }
    if "recipe" not in runs:
        return row
    # the default: `textrnn train --data train.csv --test-data test.csv --seed SEED`
    options = TrainOptions.from_preset("auto", data=str(train_csv), test_data=str(test_csv), seed=seed)
    if budget is not None:
        options = options.replace(time_budget=budget)
    target = work / f"{name}-recipe"
    t0 = time.perf_counter()
    result = train(options, target, verbose=0, print_fn=lambda s: None)
    seconds = time.perf_counter() - t0
    m = result.metrics
    config = json.loads((target / "config.json").read_text(encoding="utf-8"))
    recipe = config["recipe"]
    print(f"\n== {name}: {len(texts):,} train / {len(test_texts):,} test texts", flush=True)
    print("\n".join(recipe["reasons"]), flush=True)
    linear = config.get("linear") or {}
    row["recipe"] = {
        **recipe,
        "accuracy": m["accuracy"],
        "macro_f1": m["macro"]["f1"],
        "seconds": seconds,
        "model": TrainOptions.from_dict(config["options"]).model_name() + (" + linear" if linear else ""),
        "linear": {k: linear.get(k) for k in ("weight", "kind", "c", "chosen_by", "seconds")},
        "parts": m.get("parts"),
        "measured": _now(),
    }
    print(
        f"{name}: default {m['accuracy']:.4f} (macro F1 {m['macro']['f1']:.4f}, {seconds:.0f} s, "
        f"linear weight {linear.get('weight')})",
        flush=True,
    )
    return row


def merge(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`old` rows updated by the entries of `new` (by dataset), new datasets appended."""
    rows = {r["dataset"]: dict(r) for r in old}
    for r in new:
        rows.setdefault(r["dataset"], {}).update(r)
    return list(rows.values())


def table(rows: list[dict[str, Any]]) -> str:
    """The README table: a line per dataset and model."""
    lines = [
        "| dataset | train / test texts | model | test accuracy | macro F1 | training time |",
        "|---|---|---|---|---|---|",
    ]
    names = {"recipe": "default recipe", "best": "`--preset best`", "baseline": "baseline"}
    for r in rows:
        for key, title in names.items():
            e = r.get(key)
            if e is None:
                continue
            lines.append(
                f"| {r['dataset']} | {r['train_texts']:,} / {r['test_texts']:,} | {title} "
                f"| {e['accuracy']:.4f} | {e['macro_f1']:.4f} | {e['seconds']:.0f} s |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", default=list(DATASETS), choices=[*DATASETS, "imdb"],
        help="which datasets (imdb only when named, with TEXTRNN_IMDB set)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=RUNS, help="what to train")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--time-budget", type=float, default=None, help="minutes (default: the recipe's)")
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
            rows.append(
                run_one(name, train_csv, test_csv, work, args.seed, args.time_budget, tuple(args.runs))
            )
    out = Path(args.out)
    if out.is_file():
        rows = merge(json.loads(out.read_text(encoding="utf-8")).get("rows", []), rows)
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

    out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out, result)
    print("\n" + table(rows))


if __name__ == "__main__":
    main()
