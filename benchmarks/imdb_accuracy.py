"""Test accuracy on IMDB (all 25,000 test reviews) of textrnn's recipes and of a bag-of-words baseline.

Trains, each through the same library call a user makes (`textrnn.presets.train`, which is what
`textrnn train --preset NAME` runs) and each timed from raw text to test predictions:

- `simple_rnn`, `lstm`, `gru`: the Keras tutorial (`--preset tutorial --rnn X`) with early stopping
  (patience 2 on val_loss, best epoch kept) instead of a fixed 10 epochs;
- `simple_rnn_masked`, `lstm_masked`, `gru_masked`: the same tutorial models (same layers, parameters,
  optimizer, vocabulary and `maxlen`) trained the textrnn way, with the padding masked and batches
  bucketed by length (`--mask-zero --bucket-by-length`), with the same early stopping;
- `simple_rnn_ema`, `lstm_ema`, `gru_ema`: the same tutorial models and early stopping, trained
  with a moving average of the weights (`--ema 0.98`: RMSprop's `use_ema`, the average put into
  the model at the end of every epoch, so the epochs that early stopping compares are averages);
- `fast` and `best`: the presets of the same names (`docs/accuracy.md`; `best` trains three
  models and predicts with their mean probability); `best_single`: one `best` model
  (`--preset best --ensemble 1`);
- `best_ensemble` (with `--ensemble`): the mean of the test probabilities of every `best_single` seed in
  the results (each run's probabilities are kept in `results/imdb_accuracy_probs/`), its
  training time the sum of theirs: what more training time buys without a GPU;
- `tfidf`: TF-IDF of word 1- and 2-grams + logistic regression (scikit-learn, the `bench` extra),
  its C chosen on the last 20% of the training set, then refit on all of it.

Nothing is chosen on the test set: the RNNs pick their epoch on the last part of the training set
(their `validation_split`). Results merge into `benchmarks/results/imdb_accuracy.json` by (model,
seed), so a long comparison can be split into several invocations; a Markdown table of everything
in the file is printed at the end.

    TEXTRNN_IMDB=/path/to/aclImdb_v1.tar.gz python benchmarks/imdb_accuracy.py --models tfidf simple_rnn
    TEXTRNN_IMDB=... python benchmarks/imdb_accuracy.py --models best --seeds 1 2
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine, save_json  # noqa: E402

import textrnn  # noqa: E402
from textrnn import presets  # noqa: E402
from textrnn.runs.ensemble import EnsembleResult  # noqa: E402

TUTORIAL = ("simple_rnn", "lstm", "gru")
MASKED = tuple(f"{m}_masked" for m in TUTORIAL)
AVERAGED = tuple(f"{m}_ema" for m in TUTORIAL)
TUTORIAL_EMA = 0.98
MODELS = ("tfidf", *TUTORIAL, *MASKED, *AVERAGED, "fast", "best_single", "best")
ROWS = (*MODELS, "best_ensemble")
PROBS = RESULTS / "imdb_accuracy_probs"
NAME = "imdb_accuracy.json"
TUTORIAL_PATIENCE = 2
LABELS = {
    "tfidf": "TF-IDF 1-2-grams + logistic regression",
    "simple_rnn": "tutorial SimpleRNN + early stopping",
    "lstm": "tutorial LSTM + early stopping",
    "gru": "tutorial GRU + early stopping",
    "simple_rnn_masked": "tutorial SimpleRNN, padding masked + early stopping",
    "lstm_masked": "tutorial LSTM, padding masked + early stopping",
    "gru_masked": "tutorial GRU, padding masked + early stopping",
    "simple_rnn_ema": "tutorial SimpleRNN, weight average (`--ema 0.98`) + early stopping",
    "lstm_ema": "tutorial LSTM, weight average (`--ema 0.98`) + early stopping",
    "gru_ema": "tutorial GRU, weight average (`--ema 0.98`) + early stopping",
    "fast": "`--preset fast`",
    "best_single": "`--preset best --ensemble 1 --no-linear` (one model)",
    "best": "`--preset best` (three models and the linear n-gram model, weighted on validation)",
    "best_ensemble": "mean of the saved `best_single` seeds' probabilities",
}


def run_rnn(model: str, seed: int, workdir: Path, verbose: int) -> dict[str, Any]:
    if model in TUTORIAL:
        preset, overrides = "tutorial", {"rnn": model, "early_stopping": TUTORIAL_PATIENCE}
    elif model in MASKED:
        rnn = model.removesuffix("_masked")
        preset = "tutorial"
        overrides = {
            "rnn": rnn,
            "early_stopping": TUTORIAL_PATIENCE,
            "mask_zero": True,
            "bucket_by_length": True,
        }
    elif model in AVERAGED:
        preset = "tutorial"
        overrides = {
            "rnn": model.removesuffix("_ema"),
            "early_stopping": TUTORIAL_PATIENCE,
            "ema": TUTORIAL_EMA,
        }
    elif model == "best_single":
        preset, overrides = "best", {"ensemble": 1, "linear": False}
    else:
        preset, overrides = model, {}
    t0 = time.perf_counter()
    result = presets.train(preset, out=workdir / f"{model}-{seed}", seed=seed, verbose=verbose, **overrides)
    seconds = time.perf_counter() - t0
    _keep_probabilities(result.path / "predictions.csv", f"{model}-{seed}")
    opts = presets.options(preset, seed=seed, **overrides)
    if isinstance(result, EnsembleResult):
        members = result.members
        linear = json.loads((result.path / "config.json").read_text(encoding="utf-8")).get("linear") or {}
        return {
            "model": model,
            "seed": seed,
            "preset": preset,
            "options": opts.to_dict(),
            "description": f"mean probability of {len(members)} x {opts.model_name()}",
            "test_accuracy": (result.metrics or {}).get("accuracy"),
            "test_loss": (result.metrics or {}).get("loss"),
            "test_samples": (result.metrics or {}).get("samples"),
            "train_seconds": seconds,
            "epochs_run": "+".join(str(r.epochs_done) for r in members),
            "best_epoch": "+".join(str(r.best_epoch) for r in members),
            "members": [
                {
                    "seed": seed + i,
                    "test_accuracy": (r.metrics or {}).get("accuracy"),
                    "epoch_seconds": r.history["seconds"],
                    "val_acc": r.history["val_acc"],
                    "val_loss": r.history["val_loss"],
                }
                for i, r in enumerate(members)
            ],
            # what the linear member chose on validation (its tables, and where the weight came from)
            "linear": {k: v for k, v in linear.items() if k != "path"} or None,
        }
    h, m = result.history, result.metrics or {}
    return {
        "model": model,
        "seed": seed,
        "preset": preset,
        "options": opts.to_dict(),
        "description": opts.model_name(),
        "test_accuracy": m.get("accuracy"),
        "test_loss": m.get("loss"),
        "test_samples": m.get("samples"),
        "train_seconds": seconds,
        "epoch_seconds": h["seconds"],
        "epochs_run": result.epochs_done,
        "best_epoch": result.best_epoch,
        "val_acc": h["val_acc"],
        "val_loss": h["val_loss"],
    }


def _keep_probabilities(predictions: Path, name: str) -> None:
    """The run's test probabilities of `pos` (and the labels, in the same order) as .npy files."""
    import numpy as np

    with open(predictions, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    PROBS.mkdir(parents=True, exist_ok=True)
    np.save(PROBS / f"{name}.npy", np.array([float(r["p_pos"]) for r in rows], dtype=np.float32))
    np.save(PROBS / "labels.npy", np.array([r["label"] == "pos" for r in rows], dtype=np.int8))


def run_ensemble(saved: list[dict[str, Any]]) -> dict[str, Any]:
    import numpy as np

    runs = sorted(
        (
            e
            for e in saved
            if e["model"] == "best_single" and (PROBS / f"best_single-{e['seed']}.npy").exists()
        ),
        key=lambda e: e["seed"],
    )
    if len(runs) < 2:
        raise SystemExit(
            "--ensemble needs the results of at least two `best_single` seeds: run --models best_single "
            "--seeds 1 2 first."
        )
    probs = np.mean([np.load(PROBS / f"best_single-{e['seed']}.npy") for e in runs], axis=0)
    labels = np.load(PROBS / "labels.npy")
    return {
        "model": "best_ensemble",
        "seed": 0,
        "seeds": [e["seed"] for e in runs],
        "description": (
            f"mean probability of {len(runs)} `best --ensemble 1` models "
            f"(seeds {', '.join(str(e['seed']) for e in runs)})"
        ),
        "test_accuracy": float(((probs > 0.5) == labels.astype(bool)).mean()),
        "test_samples": int(len(labels)),
        "train_seconds": float(sum(e["train_seconds"] for e in runs)),
    }


def run_tfidf(seed: int) -> dict[str, Any]:
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError as err:
        raise SystemExit(
            "The tfidf baseline needs scikit-learn: pip install 'textrnn[bench]' (or scikit-learn)."
        ) from err
    import numpy as np

    from textrnn.datasets import imdb

    t0 = time.perf_counter()
    train_texts, y_train = imdb.load_texts(subset="train")
    test_texts, y_test = imdb.load_texts(subset="test")
    order = np.random.default_rng(seed).permutation(len(train_texts))
    texts = [train_texts[i] for i in order]
    y = np.asarray(y_train)[order]
    cut = int(0.8 * len(texts))

    def fit(c: float, fit_texts: list[str], fit_y: np.ndarray) -> Any:
        vec = TfidfVectorizer(
            ngram_range=(1, 2), min_df=2, max_df=0.9, sublinear_tf=True, strip_accents="unicode"
        )
        features = vec.fit_transform(fit_texts)
        clf = LogisticRegression(C=c, max_iter=1000, solver="liblinear").fit(features, fit_y)
        return vec, clf

    val_acc = {}
    for c in (1.0, 3.0, 10.0, 30.0):
        vec, clf = fit(c, texts[:cut], y[:cut])
        val_acc[c] = float((clf.predict(vec.transform(texts[cut:])) == y[cut:]).mean())
    best_c = max(val_acc, key=lambda c: val_acc[c])
    t1 = time.perf_counter()
    vec, clf = fit(best_c, texts, y)
    acc = float((clf.predict(vec.transform(test_texts)) == np.asarray(y_test)).mean())
    t2 = time.perf_counter()
    return {
        "model": "tfidf",
        "seed": seed,
        "description": (
            f"TfidfVectorizer(1-2 grams, min_df 2, sublinear tf) + LogisticRegression(C={best_c:g})"
        ),
        "test_accuracy": acc,
        "test_samples": len(test_texts),
        "train_seconds": t2 - t1,  # the final fit and test prediction; the C search is separate
        "search_seconds": t1 - t0,
        "val_acc_by_C": {str(k): v for k, v in val_acc.items()},
    }


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def table(entries: list[dict[str, Any]]) -> str:
    rows = [
        "| model | seeds | test accuracy (each seed) | mean ± spread | training time (each) | epochs (best) "
        "|",
        "|---|---|---|---|---|---|",
    ]
    for model in ROWS:
        runs = sorted(
            (e for e in entries if e["model"] == model and e.get("test_accuracy") is not None),
            key=lambda e: e["seed"],
        )
        if not runs:
            continue
        accs = [e["test_accuracy"] for e in runs]
        spread = (
            f"{statistics.mean(accs):.4f} ± {(max(accs) - min(accs)) / 2:.4f}"
            if len(accs) > 1
            else f"{accs[0]:.4f}"
        )
        epochs = (
            ", ".join(f"{e['epochs_run']} ({e['best_epoch']})" for e in runs)
            if "epochs_run" in runs[0]
            else "–"
        )
        seeds = (
            ", ".join(str(e["seed"]) for e in runs)
            if model != "best_ensemble"
            else " + ".join(map(str, runs[0]["seeds"]))
        )
        rows.append(
            f"| {LABELS[model]} | {seeds} | {', '.join(f'{a:.4f}' for a in accs)} | "
            f"{spread} | {', '.join(_minutes(e['train_seconds']) for e in runs)} | {epochs} |"
        )
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--models", nargs="+", choices=MODELS, default=None, help="default: all (none with --ensemble)"
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[1])
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2: the reference machine)")
    p.add_argument("--verbose", type=int, default=2)
    p.add_argument(
        "--ensemble", action="store_true", help="add the best_ensemble row from the saved `best` seeds"
    )
    p.add_argument("--table-only", action="store_true", help="print the table of the saved results and exit")
    p.add_argument("--keep", type=Path, default=None, help="keep the run folders here (default: none)")
    args = p.parse_args()

    path = RESULTS / NAME
    saved: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"results": []}
    if not args.table_only:
        torch.set_num_threads(args.threads)
        with tempfile.TemporaryDirectory() as scratch:
            tmp = scratch if args.keep is None else str(args.keep)
            for model in args.models or ([] if args.ensemble else MODELS):
                for seed in args.seeds:
                    print(f"== {model}, seed {seed}", flush=True)
                    entry = (
                        run_tfidf(seed) if model == "tfidf" else run_rnn(model, seed, Path(tmp), args.verbose)
                    )
                    entry.update(
                        machine=machine(),
                        threads=args.threads,
                        textrnn_version=textrnn.__version__,
                        torch_version=torch.__version__,
                        finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
                    )
                    print(
                        f"   test accuracy {entry['test_accuracy']:.4f} in "
                        f"{_minutes(entry['train_seconds'])}",
                        flush=True,
                    )
                    saved["results"] = [
                        e for e in saved["results"] if (e["model"], e["seed"]) != (model, seed)
                    ]
                    saved["results"].append(entry)
                    save_json(saved, NAME)  # after every run, so an interrupted sweep keeps what finished
        if args.ensemble:
            entry = run_ensemble(saved["results"])
            print(
                f"== ensemble of best seeds {entry['seeds']}: test accuracy {entry['test_accuracy']:.4f}",
                flush=True,
            )
            saved["results"] = [e for e in saved["results"] if e["model"] != "best_ensemble"] + [entry]
            save_json(saved, NAME)
    print(table(saved["results"]))


if __name__ == "__main__":
    main()
