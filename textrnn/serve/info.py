"""What the server tells about its model: `GET /model`, and the page's curves and metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textrnn.errors import RunFolderError
from textrnn.runs.predictor import Predictor, load
from textrnn.runs.run import Run, is_run, open_run


def load_for_serving(path: str | Path) -> Predictor:
    """`textrnn.load(path)`, refusing a run that has not finished training.

    Raises:
        RunFolderError / ModelFileError: with one line saying what is wrong with the folder.
    """
    p = Path(path)
    predictor = load(p)
    run = _run_of(p)
    if run is not None and run.status != "complete":
        raise RunFolderError(
            f"`{p}` has not finished training (status {run.status!r}): finish it with "
            f"`textrnn train --resume {p}` before serving it."
        )
    return predictor


def _run_of(path: Path | None) -> Run | None:
    """The run in `path`, or None for a bare saved model (its config.json is the model's)."""
    if path is None or not is_run(path):
        return None
    try:
        return open_run(path)
    except (OSError, ValueError) as e:
        raise RunFolderError(f"Cannot read `{path}`: {e}. The run folder is damaged.") from None


def model_info(predictor: Predictor) -> dict[str, Any]:
    """Name, kind, labels, parameter count, run config, test metrics and training history."""
    members = getattr(predictor, "members", None)
    path = predictor.path
    if members is not None:
        parameters = sum(int(m.model.count_params()) for m in members)
    else:
        parameters = int(predictor.model.count_params())
    run = _run_of(path)
    try:
        history = run.history if run is not None else None
        metrics = run.metrics if run is not None else None
    except (OSError, ValueError) as e:
        raise RunFolderError(f"Cannot read `{path}`: {e}. The run folder is damaged.") from None
    return {
        "name": path.name if path is not None else None,
        "kind": "ensemble" if members is not None else "single",
        "members": len(members) if members is not None else 1,
        "labels": list(predictor.label_names),
        "parameters": parameters,
        "config": run.config if run is not None else None,
        "metrics": metrics,
        "history": _history(history) if isinstance(history, dict) else None,
    }


def _history(h: dict[str, Any]) -> dict[str, Any]:
    keys = ("loss", "acc", "val_loss", "val_acc")
    return {
        "status": h.get("status"),
        "best_epoch": h.get("best_epoch"),
        **{k: h.get(k, []) for k in keys},
    }
