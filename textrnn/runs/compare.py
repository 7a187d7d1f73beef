"""Side-by-side comparison of run folders (single runs and ensembles): one table, and the curves
for one figure.

An ensemble's row has its own test metrics (of the mean probability); its model is `K × NAME`
with the members' parameters added up, and its per-epoch figures (epochs, best validation
accuracy, seconds per epoch, the curves) are the mean of its members' over the epochs every
member finished. It has no best epoch of its own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from textrnn.runs.run import Run, open_run

COLUMNS = (
    ("run", "run"),
    ("model", "model"),
    ("parameters", "params"),
    ("epochs", "epochs"),
    ("best_epoch", "best epoch"),
    ("best_val_acc", "best val acc"),
    ("test_acc", "test acc"),
    ("seconds_per_epoch", "s/epoch"),
    ("status", "status"),
    ("differs", "options that differ"),
)


def _mean(values: Sequence[float]) -> float | None:
    return float(sum(values) / len(values)) if values else None


def run_row(run: Run) -> dict[str, Any]:
    """One run's comparison figures (None where the run has none, e.g. no validation data).

    Returns:
        A dict with `run`, `path`, `model`, `parameters`, `epochs` (finished), `epochs_planned`,
        `best_epoch`, `best_val_acc` (the highest validation accuracy of any epoch),
        `test_acc`, `test_loss`, `seconds_per_epoch`, `status`.
    """
    history = run.history
    options = run.options
    val_acc = [float(v) for v in history.get("val_acc", []) if v is not None]
    metrics = run.metrics
    return {
        "run": run.name,
        "path": str(run.path),
        "kind": run.kind,
        "model": run.model_name,
        "parameters": run.parameters,
        "epochs": run.epochs_done,
        "epochs_planned": options.get("epochs"),
        "best_epoch": run.best_epoch,
        "best_val_acc": max(val_acc) if val_acc else None,
        "test_acc": metrics.get("accuracy") if metrics else None,
        "test_loss": metrics.get("loss") if metrics else None,
        "seconds_per_epoch": _mean([float(s) for s in history.get("seconds", []) if s is not None]),
        "status": run.status,
    }


def _option_text(value: Any) -> str:
    return "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def differing_options(options: Sequence[dict[str, Any]]) -> list[str]:
    """For each run's training options, `name=value` of the options whose values are not the same
    in every run (in `TrainOptions` order), joined by spaces; "" for a run alike in all of them."""
    keys = list(dict.fromkeys(k for o in options for k in o))
    differ = [k for k in keys if len({_option_text(o.get(k)) for o in options}) > 1]
    return [" ".join(f"{k}={_option_text(o.get(k))}" for k in differ) for o in options]


def compare_runs(paths: Sequence[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """`run_row` of each run folder (or ensemble), in the order given, plus `differs`: the
    training options in which the runs are not all alike, as `name=value` (see
    `differing_options`).

    Raises:
        RunFolderError: for a path that is not a run folder.
        ValueError: if no path is given.
    """
    return [row for row, _ in compare_with_curves(paths, "val_acc")]


def compare_with_curves(
    paths: Sequence[str | os.PathLike[str]], metric: str
) -> list[tuple[dict[str, Any], list[float] | None]]:
    """Each run's `compare_runs` row and its per-epoch `metric` (None if it has none recorded)."""
    if not paths:
        raise ValueError(
            "Expected at least one run folder to compare, got none. Pass runs such as runs/a runs/b."
        )
    runs = [r for p in paths for r in open_run(p).compared()]  # a tune folder: its trials
    rows = [run_row(run) for run in runs]
    for row, text in zip(rows, differing_options([run.options for run in runs]), strict=True):
        row["differs"] = text or None
    curves: list[list[float] | None] = []
    for run in runs:
        values = list(run.history.get(metric) or [])
        curves.append([float(v) for v in values] if values and None not in values else None)
    baselines = baseline_rows(runs)
    return list(zip(rows, curves, strict=True)) + [(row, None) for row in baselines]


def baseline_rows(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """One row per distinct bag-of-words baseline among the runs' `metrics.json` (runs on the
    same training and test split share one), labelled `baseline (RUN)` after the first run
    that has it."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for run in runs:
        metrics = run.metrics or {}
        b = metrics.get("baseline")
        if not b:
            continue
        data = run.data_config
        key = json.dumps(
            [data.get("train"), data.get("test"), data.get("path"), b.get("train_samples"),
             b.get("samples"), b.get("accuracy"), b.get("c")],
            sort_keys=True, default=str,
        )  # fmt: skip
        if key in seen:
            continue
        seen.add(key)
        rows.append({
            "run": f"baseline ({run.name})", "path": str(run.path), "kind": "baseline",
            "model": "TF-IDF 1-2-grams + logistic regression", "parameters": None,
            "epochs": None, "epochs_planned": None, "best_epoch": None, "best_val_acc": None,
            "test_acc": b.get("accuracy"), "test_loss": b.get("loss"),
            "seconds_per_epoch": None, "status": "complete",
            "differs": f"C={b['c']:g}" if b.get("c") is not None else None,
        })  # fmt: skip
    return rows


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key in ("best_val_acc", "test_acc"):
        return f"{value:.4f}"
    if key == "seconds_per_epoch":
        return f"{value:.1f}"
    if key == "parameters":
        return f"{value:,}"
    return str(value)


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of `compare_runs` rows, one line per run, columns aligned."""
    header = [title for _, title in COLUMNS]
    body = [[_cell(key, row.get(key)) for key, _ in COLUMNS] for row in rows]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    numeric = {"parameters", "epochs", "best_epoch", "best_val_acc", "test_acc", "seconds_per_epoch"}

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if key in numeric else c.ljust(w)
            for c, w, (key, _) in zip(cells, widths, COLUMNS, strict=True)
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in body)])
