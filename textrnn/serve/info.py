"""What the server tells about its model: `GET /model`, and the page's curves and metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textrnn.errors import RunFolderError
from textrnn.fileio import read_json
from textrnn.runs.folder import CONFIG, HISTORY_JSON, METRICS, RUN_FORMAT
from textrnn.runs.predictor import Predictor

ENSEMBLE_FORMAT = "textrnn.ensemble"


def load_for_serving(path: str | Path) -> Predictor:
    """`textrnn.load(path)`, refusing a run that has not finished training.

    Raises:
        RunFolderError / ModelFileError: with one line saying what is wrong with the folder.
    """
    from textrnn.runs.predictor import load

    p = Path(path)
    predictor = load(p)
    config = _read(p / CONFIG)
    if isinstance(config, dict) and config.get("format") == RUN_FORMAT:
        history = _read(p / HISTORY_JSON)
        status = history.get("status") if isinstance(history, dict) else None
        if status != "complete":
            raise RunFolderError(
                f"`{p}` has not finished training (status {status!r}): finish it with "
                f"`textrnn train --resume {p}` before serving it."
            )
    return predictor


def model_info(predictor: Predictor) -> dict[str, Any]:
    """Name, kind, labels, parameter count, run config, test metrics and training history."""
    members = getattr(predictor, "members", None)
    path = predictor.path
    if members is not None:
        parameters = sum(int(m.model.count_params()) for m in members)
        first = members[0].path
        history = _read(first / HISTORY_JSON) if first is not None else None
    else:
        parameters = int(predictor.model.count_params())
        history = _read(path / HISTORY_JSON) if path is not None else None
    config = _read(path / CONFIG) if path is not None else None
    if isinstance(config, dict) and config.get("format") not in (RUN_FORMAT, ENSEMBLE_FORMAT):
        config = None  # a bare model folder: its config.json is the model's, not a run's
    return {
        "name": path.name if path is not None else None,
        "kind": "ensemble" if members is not None else "single",
        "members": len(members) if members is not None else 1,
        "labels": list(predictor.label_names),
        "parameters": parameters,
        "config": config,
        "metrics": _read(path / METRICS) if path is not None else None,
        "history": _history(history) if isinstance(history, dict) else None,
    }


def _history(h: dict[str, Any]) -> dict[str, Any]:
    keys = ("loss", "acc", "val_loss", "val_acc")
    return {
        "status": h.get("status"),
        "best_epoch": h.get("best_epoch"),
        **{k: h.get(k, []) for k in keys},
    }


def _read(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return read_json(path)
    except (OSError, ValueError) as e:
        raise RunFolderError(f"Cannot read `{path}`: {e}. The run folder is damaged.") from None
