"""Ensembles: several runs of one recipe with different seeds, predicting with their mean probability.

`textrnn train --ensemble K` (or `TrainOptions(ensemble=K)`) trains K members, seeds `seed`,
`seed + 1`, ..., each a complete run folder of its own, inside the ensemble's folder:

```
runs/NAME/
  config.json      format "textrnn.ensemble": the options, the members and their seeds, status
  members/1/       a run folder (config.json, history, model/, metrics.json, ...)
  members/2/ ...
  metrics.json     the test metrics of the mean of the members' probabilities
  predictions.csv  the test predictions of that mean
```

`textrnn.load(path)` of an ensemble folder gives a predictor that averages its members; Ctrl-C
keeps the finished members and `textrnn train --resume path` continues with the unfinished one.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from textrnn.errors import RunFolderError
from textrnn.evaluation import classification_metrics
from textrnn.fileio import read_json, write_json_atomic
from textrnn.runs.folder import CONFIG, METRICS, PREDICTIONS, RunFolder
from textrnn.runs.options import TrainOptions

ENSEMBLE_FORMAT = "textrnn.ensemble"
ENSEMBLE_FORMAT_VERSION = 1
MEMBERS = "members"


def is_ensemble(path: str | os.PathLike[str]) -> bool:
    """Whether `path` is an ensemble folder made by `textrnn train --ensemble K`."""
    config = Path(path) / CONFIG
    try:
        return config.is_file() and read_json(config).get("format") == ENSEMBLE_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def read_ensemble_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ensemble's `config.json`.

    Raises:
        RunFolderError: if `path` is not an ensemble folder of a format this version reads.
    """
    if not is_ensemble(path):
        raise RunFolderError(f"`{path}` is not an ensemble folder made by `textrnn train --ensemble K`.")
    config = read_json(Path(path) / CONFIG)
    if config.get("format_version") != ENSEMBLE_FORMAT_VERSION:
        raise RunFolderError(
            f"`{path}` is an ensemble of format version {config.get('format_version')}; this textrnn reads "
            f"version {ENSEMBLE_FORMAT_VERSION}. Upgrade textrnn."
        )
    return config


def member_paths(path: str | os.PathLike[str], config: dict[str, Any] | None = None) -> list[Path]:
    """The members' run folders, in order."""
    config = config or read_ensemble_config(path)
    return [Path(path) / m["path"] for m in config["members"]]


@dataclass
class EnsembleResult:
    """What an ensemble run produced.

    Attributes:
        path: the ensemble folder.
        status: `complete` or `interrupted`.
        members: each finished (or interrupted) member's `TrainResult`, in order.
        metrics: the test metrics of the mean probability, None until every member finished.
    """

    path: Path
    status: str
    members: list[Any]
    metrics: dict[str, Any] | None = None

    def summary(self) -> str:
        """A few lines for the end of `textrnn train --ensemble K`."""
        lines = []
        for i, member in enumerate(self.members, start=1):
            m = member.metrics
            test = f", test accuracy {m['accuracy']:.4f}" if m is not None else ""
            lines.append(f"Member {i}: {member.status}, best epoch {member.best_epoch}{test}.")
        if self.metrics is not None:
            from textrnn.runs.trainer import metrics_line

            lines.append(f"Ensemble of {len(self.members)} (mean probability) on the test set: {metrics_line(self.metrics)}")
        lines.append(f"Ensemble folder: {self.path}")
        if self.status == "complete":
            lines.append(f"  {METRICS}, {PREDICTIONS}, {MEMBERS}/1..{len(self.members)} (predict with `textrnn predict {self.path} \"text\"`)")
        else:
            lines.append(f"  continue with `textrnn train --resume {self.path}`")
        return "\n".join(lines)


def train_ensemble(
    options: TrainOptions,
    out: str | os.PathLike[str] | None = None,
    *,
    callbacks: Sequence[Any] = (),
    verbose: int = 1,
    print_fn: Callable[[str], Any] | None = None,
    command: Sequence[str] | None = None,
) -> EnsembleResult:
    """Train `options.ensemble` members into one ensemble folder; see the module docstring.

    Raises:
        TrainingInterrupted: Ctrl-C after the first member's first epoch (resume the ensemble).
        KeyboardInterrupt: Ctrl-C before that; nothing is left behind.
        DatasetError, RunFolderError, ValueError: bad data or options; an existing `out` is
            never touched.
    """
    from textrnn.runs import trainer

    options, target = trainer.settle(options, out)
    seed = int(options.seed or 0)
    config = {
        "format": ENSEMBLE_FORMAT,
        "format_version": ENSEMBLE_FORMAT_VERSION,
        "name": target.name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": list(command) if command is not None else None,
        "options": options.to_dict(),
        "combine": "mean of the members' class probabilities",
        "members": [{"path": f"{MEMBERS}/{i + 1}", "seed": seed + i} for i in range(options.ensemble)],
        "status": "running",
    }
    created = trainer._make_parents(target.parent)
    target.mkdir()
    write_json_atomic(target / CONFIG, config)
    try:
        return _train_members(target, config, callbacks, verbose, print_fn)
    except BaseException:
        if not (target / MEMBERS).exists():  # no member got past its first epoch: leave nothing
            trainer.remove_unpublished(target, created)
        raise


def resume_ensemble(
    path: str | os.PathLike[str],
    *,
    callbacks: Sequence[Any] = (),
    verbose: int = 1,
    print_fn: Callable[[str], Any] | None = None,
) -> EnsembleResult:
    """Continue an interrupted ensemble: resume its unfinished member, train the missing ones.

    Raises:
        RunFolderError: if `path` is not an ensemble, or is already complete.
    """
    config = read_ensemble_config(path)
    if config.get("status") == "complete":
        raise RunFolderError(f"`{path}` is already a complete ensemble: nothing to resume. Start a new one with `textrnn train`.")
    return _train_members(Path(path), config, callbacks, verbose, print_fn)


def _train_members(
    target: Path, config: dict[str, Any], callbacks: Sequence[Any], verbose: int, print_fn: Callable[[str], Any] | None
) -> EnsembleResult:
    from textrnn.runs import trainer

    say = trainer._say(verbose, print_fn)
    options = TrainOptions.from_dict(config["options"])
    results: list[Any] = []
    members = config["members"]
    for i, member in enumerate(members, start=1):
        path = target / member["path"]
        say(f"Ensemble member {i} of {len(members)} (seed {member['seed']}):")
        try:
            if not path.exists():
                # a seed of its own (weights, shuffling, validation), the ensemble's test split
                member_options = options.replace(seed=int(member["seed"]), ensemble=1, split_seed=options.seed)
                result = trainer.train(member_options, path, callbacks=callbacks, verbose=verbose, print_fn=print_fn)
            elif RunFolder(path).status == "complete":
                result = trainer.result_of(path)
                say(f"  already complete: {path}")
            else:
                result = trainer.resume(path, callbacks=callbacks, verbose=verbose, print_fn=print_fn)
        except trainer.TrainingInterrupted as e:
            raise trainer.TrainingInterrupted(EnsembleResult(target, "interrupted", [*results, e.result])) from None
        except KeyboardInterrupt:
            if not results:
                raise
            raise trainer.TrainingInterrupted(EnsembleResult(target, "interrupted", results)) from None
        results.append(result)
    metrics = _finish(target, config, [target / m["path"] for m in members])
    done = EnsembleResult(target, "complete", results, metrics)
    say(done.summary())
    return done


def _finish(target: Path, config: dict[str, Any], paths: list[Path]) -> dict[str, Any] | None:
    """Average the members' test predictions into `metrics.json` and `predictions.csv`; mark complete."""
    from textrnn.runs.trainer import write_predictions

    tables = [_read_predictions(p / PREDICTIONS) for p in paths]
    names = tables[0][2]
    metrics = None
    same_rows = all(t[0] == tables[0][0] and t[1] == tables[0][1] and t[2] == names for t in tables)
    if same_rows and tables[0][0]:
        index, labels, _, _ = tables[0]
        probs = np.mean([t[3] for t in tables], axis=0)
        y = np.array([names.index(label) for label in labels], dtype=np.int64)
        metrics = {"split": "test", "members": len(paths), **classification_metrics(y, probs, names)}
        write_json_atomic(target / METRICS, metrics)
        write_predictions(target, index, labels, probs, names)
    config = {**config, "status": "complete", "label_names": names}
    write_json_atomic(target / CONFIG, config)
    return metrics


def _read_predictions(path: Path) -> tuple[list[str], list[str], list[str], np.ndarray]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    names = [h[2:] for h in header[3:]]
    probs = np.array([[float(v) for v in r[3:]] for r in rows], dtype=np.float64).reshape(len(rows), len(names))
    return [r[0] for r in rows], [r[1] for r in rows], names, probs


__all__ = ["ENSEMBLE_FORMAT", "EnsembleResult", "is_ensemble", "member_paths", "resume_ensemble", "train_ensemble"]
