"""The run folder: the one module that knows its files, and reads and writes them.

A single run (`textrnn train`):

```
runs/NAME/
  config.json      format "textrnn.run": everything needed to reproduce the run (options with
                   the seed drawn, data, model config, textrnn/PyTorch versions, format_version)
  history.json     per-epoch figures, plus status: running | interrupted | complete
  history.csv      epoch,loss,acc,val_loss,val_acc,seconds (one row per finished epoch)
  summary.txt      the model's summary(explain=True)
  model/           the best epoch's model (`textrnn.models` folder: config, safetensors weights)
                   whose metadata holds the vocabulary, label names and padding (`model_metadata`)
  checkpoint/      the last finished epoch, for `textrnn train --resume` (removed when complete),
                   with the history rows it belongs to (`textrnn.runs.checkpoint`)
  curves.png       the tutorial's accuracy and loss figures side by side
  metrics.json     test-split metrics (accuracy, loss, per-class and macro P/R/F1, confusion
                   matrix, ROC AUC for two classes)
  predictions.csv  the test split's predictions: index,label,predicted,p_<class>...
```

An ensemble (`textrnn train --ensemble K`): `config.json` of format "textrnn.ensemble" (the
options, the members and their seeds, status), `members/1/`, `members/2/`, ... (single runs),
and the `metrics.json` and `predictions.csv` of the mean of the members' probabilities.

`open_run(path)` is the one place that decides which kind a folder is; both kinds are a `Run`.
Until its first epoch has finished, a single run is built in a hidden folder beside its target
(`.NAME.incomplete-*`), and the process training a run holds a lock on its folder
(`textrnn.fileio.FolderLock`), so what a killed process left behind (hidden temporary files and
folders) is told apart from what a live one is writing, and is cleaned by the next run there.

Each finished epoch is committed by the checkpoint, which carries the history up to it; the
model and `history.json` are written after it. A kill at any moment therefore leaves a history
and a model that agree (the previous epoch's), and a checkpoint that `--resume` continues from
without skipping or repeating an epoch.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from textrnn.errors import ModelFileError, RunFolderError
from textrnn.fileio import (
    FolderLock,
    deferred_interrupt,
    new_temp_dir,
    read_json,
    remove_paths,
    replace_dir,
    replaced_dir,
    restore_replaced_dir,
    set_file_mode,
    temp_entries,
    write_csv_atomic,
    write_json_atomic,
    write_text_atomic,
)
from textrnn.preprocessing.text import Vocabulary
from textrnn.runs import checkpoint
from textrnn.runs.options import TrainOptions

RUN_FORMAT = "textrnn.run"
RUN_FORMAT_VERSION = 1
ENSEMBLE_FORMAT = "textrnn.ensemble"
ENSEMBLE_FORMAT_VERSION = 1
TUNE_FORMAT = "textrnn.tune"
TUNE_FORMAT_VERSION = 1
HISTORY_FORMAT_VERSION = 1
MODEL_KIND = "textrnn.text_classifier"

CONFIG = "config.json"
HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"
SUMMARY = "summary.txt"
MODEL = "model"
CHECKPOINT = "checkpoint"
CURVES = "curves.png"
METRICS = "metrics.json"
PREDICTIONS = "predictions.csv"
BASELINE_PREDICTIONS = "baseline_predictions.csv"  # the bag-of-words baseline's, on the test split
MEMBERS = "members"
TRIALS = "trials"  # a tune folder's trial runs, trials/1, trials/2, ...
TRIALS_CSV = "trials.csv"
TRIALS_JSON = "trials.json"
LINEAR = "linear"  # an ensemble's linear n-gram model (`textrnn.linear`), with `--linear`
WEIGHTS = "model.safetensors"  # inside model/, as `textrnn.models` names it

HISTORY_KEYS = ("loss", "acc", "val_loss", "val_acc", "seconds")
# Kept per epoch only in the runs that compute it: `val_macro_f1` where it is the monitor.
OPTIONAL_HISTORY_KEYS = ("val_macro_f1",)
_INCOMPLETE = "incomplete"
_INCOMPLETE_DIR = re.compile(r"^\..+\.incomplete-[0-9a-f]{8}$")


# ---------------------------------------------------------------------------------- contents
def model_metadata(
    vocabulary: Vocabulary,
    label_names: Sequence[str],
    maxlen: int,
    padding: str,
    truncating: str,
    threshold: float | None = None,
) -> dict[str, Any]:
    """The metadata a run saves with its model: what `Predictor` needs to read raw text, and
    the decision threshold on the second class's probability (two classes, `--threshold`)."""
    meta: dict[str, Any] = {
        "kind": MODEL_KIND,
        "label_names": [str(n) for n in label_names],
        "preprocessing": {"maxlen": int(maxlen), "padding": padding, "truncating": truncating},
        "vocabulary": vocabulary.to_dict(),
    }
    if threshold is not None:
        meta["threshold"] = float(threshold)
    return meta


@dataclass(frozen=True)
class TextModel:
    """What a run's model metadata says about reading raw text (see `model_metadata`)."""

    vocabulary: Vocabulary
    label_names: list[str]
    maxlen: int
    padding: str
    truncating: str
    threshold: float | None = None  # None: argmax (0.5 for two classes)


def read_text_model(meta: dict[str, Any], model_dir: Path) -> TextModel:
    """Parse the metadata saved with a run's model.

    Raises:
        ModelFileError: if it is not a text classifier's from `textrnn train`, or is damaged.
    """
    if meta.get("kind") != MODEL_KIND or "vocabulary" not in meta or "label_names" not in meta:
        raise ModelFileError(
            f"`{model_dir}` is a textrnn model but not a text classifier from `textrnn train`: it "
            "has no vocabulary and label names. Load it with `textrnn.models.load_model` and feed "
            "it integer sequences."
        )
    try:
        prep = meta["preprocessing"]
        return TextModel(
            Vocabulary.from_dict(meta["vocabulary"]),
            [str(n) for n in meta["label_names"]],
            int(prep["maxlen"]),
            str(prep.get("padding", "pre")),
            str(prep.get("truncating", "pre")),
            _threshold(meta.get("threshold"), model_dir, len(meta["label_names"])),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"The metadata of `{model_dir}` is damaged: {e}") from None


def _threshold(value: Any, model_dir: Path, classes: int) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ModelFileError(f"The metadata of `{model_dir}` is damaged: threshold {value!r}.")
    if classes != 2:
        raise ModelFileError(f"The metadata of `{model_dir}` is damaged: a threshold for {classes} classes.")
    return float(value)


def history_keys(history: dict[str, Any]) -> tuple[str, ...]:
    """The per-epoch columns of `history`: `HISTORY_KEYS` and those of `OPTIONAL_HISTORY_KEYS` it
    holds."""
    return (*HISTORY_KEYS, *(k for k in OPTIONAL_HISTORY_KEYS if k in history))


def new_history(options: TrainOptions) -> dict[str, Any]:
    """The history of a run before its first epoch (with `val_macro_f1` per epoch where it is the
    monitor)."""
    optional: dict[str, list[float | None]] = {}
    if options.monitor == "val_macro_f1":
        optional["val_macro_f1"] = []
    return {
        "format_version": HISTORY_FORMAT_VERSION,
        "status": "running",
        "stop_reason": None,
        "epochs_planned": options.epochs,
        "monitor": options.monitor,
        "best_epoch": None,
        "best_value": None,
        "epochs": [],
        **{k: [] for k in HISTORY_KEYS},
        **optional,
    }


@dataclass(frozen=True)
class Predictions:
    """A run's recorded test predictions (`predictions.csv`)."""

    index: list[str]
    labels: list[str]
    label_names: list[str]
    probabilities: np.ndarray  # (samples, classes)


def _write_predictions(
    folder: Path,
    index: Sequence[Any],
    labels: Sequence[str],
    probs: np.ndarray,
    names: Sequence[str],
    file: str = PREDICTIONS,
    threshold: float | None = None,
) -> None:
    def predicted(row: np.ndarray) -> str:
        if threshold is not None and len(row) == 2:
            return names[int(row[1] >= threshold)]
        return names[int(row.argmax())]

    write_csv_atomic(
        folder / file,
        ["index", "label", "predicted", *(f"p_{n}" for n in names)],
        [
            [i, label, predicted(row), *(repr(float(v)) for v in row)]
            for i, label, row in zip(index, labels, probs, strict=True)
        ],
    )


def _read_predictions(path: Path) -> Predictions:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader)
            rows = list(reader)
        names = [h[2:] for h in header[3:]]
        probs = np.array([[float(v) for v in r[3:]] for r in rows], dtype=np.float64).reshape(
            len(rows), len(names)
        )
    except (OSError, StopIteration, ValueError) as e:
        raise RunFolderError(f"Cannot read `{path}`: {e or 'it is empty'}.") from None
    return Predictions([r[0] for r in rows], [r[1] for r in rows], names, probs)


def _write_history(folder: Path, history: dict[str, Any]) -> None:
    write_json_atomic(folder / HISTORY_JSON, history)
    keys = history_keys(history)
    rows = [
        [e, *("" if history[k][i] is None else repr(round(history[k][i], 6)) for k in keys)]
        for i, e in enumerate(history["epochs"])
    ]
    write_csv_atomic(folder / HISTORY_CSV, ["epoch", *keys], rows)


def _read_json(path: Path) -> Any:
    try:
        return read_json(path)
    except (OSError, ValueError) as e:
        raise RunFolderError(f"Cannot read `{path}`: {e}.") from None


def single_run_config(
    *,
    name: str,
    command: Sequence[str] | None,
    reproduce: str,
    options: TrainOptions,
    data: dict[str, Any],
    model: dict[str, Any],
    device: str,
    versions: dict[str, str],
    recipe: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A single run's `config.json`: `data` says where the texts came from and how they were
    encoded, `model` names the model (`name`, `parameters`, `config`, `compile`), `recipe` what
    `--preset auto` chose and why (absent for other presets)."""
    extra = {"recipe": recipe} if recipe is not None else {}
    return {
        "format": RUN_FORMAT,
        "format_version": RUN_FORMAT_VERSION,
        "name": name,
        "created": _now(),
        **versions,
        "command": list(command) if command is not None else None,
        "reproduce": reproduce,
        "options": options.to_dict(),
        "data": data,
        "model": model,
        "device": device,
        **extra,
    }


def ensemble_config(
    *,
    name: str,
    command: Sequence[str] | None,
    options: TrainOptions,
    recipe: dict[str, Any] | None = None,
    reproduce: str | None = None,
) -> dict[str, Any]:
    """An ensemble's `config.json`: `options.ensemble` members, seeds `seed`, `seed + 1`, ...;
    `recipe` what the data chose and why (`--preset auto` and `best`; absent otherwise), and
    `reproduce` the command line that trains it again, as a single run's."""
    seed = int(options.seed or 0)
    extra: dict[str, Any] = {"recipe": recipe} if recipe is not None else {}
    if reproduce is not None:
        extra["reproduce"] = reproduce
    return {
        "format": ENSEMBLE_FORMAT,
        "format_version": ENSEMBLE_FORMAT_VERSION,
        "name": name,
        "created": _now(),
        "command": list(command) if command is not None else None,
        "options": options.to_dict(),
        "combine": "mean of the members' class probabilities"
        + (", then (1 - w) of it plus w of the linear model's (w chosen on validation)"
           if options.linear else ""),
        "members": [
            {"path": f"{MEMBERS}/{i + 1}", "seed": seed + i} for i in range(options.ensemble)
        ],
        **({"linear": {"path": LINEAR, "weight": None}} if options.linear else {}),
        **extra,
        "status": "running",
    }  # fmt: skip


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def name_taken(path: Path) -> bool:
    """Whether a run at `path` exists or is being built (its hidden `.NAME.incomplete-*` folder)."""
    return path.exists() or any(
        _INCOMPLETE_DIR.match(p.name) for p in temp_entries(path.parent, name=path.name)
    )


# ---------------------------------------------------------------------------------- the kinds
_R = TypeVar("_R", bound="Run")


class Run:
    """A run folder of either kind: a single run (`SingleRun`) or an ensemble (`EnsembleRun`).

    Get one with `open_run(path)`. Every reader (`textrnn evaluate`, `predict`, `compare`,
    `--resume`, `textrnn.load`) goes through this interface.

    Attributes:
        path: the folder.
        config: its parsed `config.json`.
        kind: `"run"` or `"ensemble"`.
    """

    kind = ""

    def __init__(self, path: Path, config: dict[str, Any]) -> None:
        self.path = path
        self.config = config
        self._lock: FolderLock | None = None  # held while this process writes the folder

    @classmethod
    def create(cls: type[_R], target: Path, config: dict[str, Any]) -> _R:
        """Make the folder `target` (which must not exist) in place, write its config and hold
        its lock (a single run overrides this: it is built in a hidden folder first)."""
        target.mkdir()
        lock = FolderLock.try_acquire(target)
        write_json_atomic(target / CONFIG, config)
        run = cls(target, config)
        run._lock = lock
        return run

    def close(self) -> None:
        """Release the folder's lock, if this process holds it."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def options(self) -> dict[str, Any]:
        """The training options as recorded (a dict; `train_options()` for `TrainOptions`)."""
        options = self.config.get("options")
        return options if isinstance(options, dict) else {}

    def train_options(self) -> TrainOptions:
        return TrainOptions.from_dict(self.options)

    @property
    def status(self) -> str:
        """`complete`, `interrupted`, or `running` (also what a crashed run is left as)."""
        raise NotImplementedError

    @property
    def history(self) -> dict[str, Any]:
        """Per-epoch figures (for an ensemble, the mean of its members' over the epochs all had)."""
        raise NotImplementedError

    @property
    def metrics(self) -> dict[str, Any] | None:
        """The parsed `metrics.json`, or None before the run has been tested."""
        return _read_json(self.path / METRICS) if (self.path / METRICS).is_file() else None

    @property
    def epochs_done(self) -> int:
        return len(self.history.get("epochs", []))

    @property
    def best_epoch(self) -> int | None:
        value = self.history.get("best_epoch")
        return int(value) if value is not None else None

    @property
    def model_name(self) -> str | None:
        raise NotImplementedError

    @property
    def parameters(self) -> int | None:
        raise NotImplementedError

    @property
    def data_config(self) -> dict[str, Any]:
        """Where the training data came from (`config.json`'s `"data"` of a single run)."""
        raise NotImplementedError

    def model_dirs(self) -> list[Path]:
        """The saved model folders that predict for this run (one, or one per member).

        Raises:
            RunFolderError: if the run has no model yet (or an ensemble is not complete).
        """
        raise NotImplementedError

    def predictions(self) -> Predictions:
        """The recorded test predictions (`predictions.csv`).

        Raises:
            RunFolderError: if the run has none (it has not finished).
        """
        path = self.path / PREDICTIONS
        if not path.is_file():
            raise RunFolderError(f"`{self.path}` has no {PREDICTIONS}: it has not finished training.")
        return _read_predictions(path)

    def baseline_predictions(self) -> Predictions | None:
        """The baseline's test predictions (`baseline_predictions.csv`), None without them
        (`--no-baseline`, an ensemble, or a run from before the baseline)."""
        path = self.path / BASELINE_PREDICTIONS
        return _read_predictions(path) if path.is_file() else None

    def compared(self) -> list[Run]:
        """The runs `textrnn compare` shows a row for: this one (a tune folder: each trial)."""
        return [self]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, status={self.status!r})"


class SingleRun(Run):
    """A single run folder (`textrnn train`), read lazily; `RunFolder` is its older name.

    Args:
        path: the folder, as made by `textrnn train` / `textrnn.runs.train`.

    Raises:
        RunFolderError: if `path` is not a folder, has no `config.json`, or its config is not a
            textrnn run of a format this version reads.

    Example:
        >>> run = SingleRun("runs/imdb-simple_rnn")
        >>> run.status, run.best_epoch
        ('complete', 4)
    """

    kind = "run"

    def __init__(self, path: str | os.PathLike[str], config: dict[str, Any] | None = None) -> None:
        p = Path(path)
        if config is None:
            config = _read_config(p)
            if config.get("format") == ENSEMBLE_FORMAT:
                raise RunFolderError(
                    f"`{p}` is an ensemble (`--ensemble`), not a single run: pass one of its "
                    f"members (`{p / MEMBERS / '1'}`, ...) here, or the ensemble to "
                    "`textrnn predict`, `evaluate` and `compare`."
                )
        _check_format(p, config, RUN_FORMAT, RUN_FORMAT_VERSION)
        super().__init__(p, config)
        self._target = p
        self.published = True

    # ------------------------------------------------------------------ reading
    @property
    def checkpoint_dir(self) -> Path:
        return self.path / CHECKPOINT

    @property
    def model_dir(self) -> Path:
        """`model/`, or where a kill between the renames of a model swap left the previous one."""
        return replaced_dir(self.path / MODEL) or self.path / MODEL

    @cached_property
    def history(self) -> dict[str, Any]:
        """The parsed `history.json` (an empty, running history if it is missing)."""
        if not (self.path / HISTORY_JSON).is_file():
            return {"status": "running", "epochs": [], **{k: [] for k in HISTORY_KEYS}}
        data = _read_json(self.path / HISTORY_JSON)
        if not isinstance(data, dict):
            raise RunFolderError(f"`{self.path / HISTORY_JSON}` is not a textrnn history.")
        return data

    @property
    def status(self) -> str:
        return str(self.history.get("status", "running"))

    @property
    def model_name(self) -> str | None:
        return self.config.get("model", {}).get("name")

    @property
    def parameters(self) -> int | None:
        return self.config.get("model", {}).get("parameters")

    @property
    def data_config(self) -> dict[str, Any]:
        data = self.config.get("data")
        return data if isinstance(data, dict) else {}

    def require_model(self) -> Path:
        """The `model/` folder, or RunFolderError if the run has none yet."""
        model_dir = self.model_dir
        if not (model_dir / "config.json").is_file():
            raise RunFolderError(
                f"`{self.path}` has no saved model yet (no {MODEL}/ folder): "
                "its first epoch never finished. "
                "Train it again with `textrnn train`."
            )
        return model_dir

    def model_dirs(self) -> list[Path]:
        return [self.require_model()]

    def text_model(self) -> TextModel:
        """The vocabulary, label names and padding saved with the run's model."""
        from textrnn.models import read_metadata

        model_dir = self.require_model()
        return read_text_model(read_metadata(model_dir), model_dir)

    def checkpoint_epoch(self) -> int | None:
        """The finished epochs the resume checkpoint holds, or None if there is none."""
        return checkpoint.checkpoint_epoch(self.checkpoint_dir)

    def checkpoint_history(self, done: int) -> dict[str, Any]:
        """The history as of the checkpoint's `done` epochs: the one stored in the checkpoint, or
        (a checkpoint of an older textrnn) `history.json` cut to `done` epochs."""
        stored = checkpoint.checkpoint_history(self.checkpoint_dir)
        if stored is not None and list(stored.get("epochs", [])) == list(range(1, done + 1)):
            return dict(stored)
        history = dict(self.history)
        for key in ("epochs", *history_keys(history)):
            history[key] = list(history.get(key, []))[:done]
        if history.get("best_epoch") is not None and history["best_epoch"] > done:
            history["best_epoch"], history["best_value"] = None, None
        return history

    def load_checkpoint(self, model: Any) -> int:
        """Restore `model`, its optimizer and the random generators from the checkpoint."""
        return checkpoint.load_checkpoint(self.checkpoint_dir, model, model.optimizer)

    # ------------------------------------------------------------------ writing
    @classmethod
    def create(cls, target: Path, config: dict[str, Any]) -> SingleRun:
        """A new run for `target`, built in a hidden folder beside it until `publish()`; this
        process holds its lock. Stale hidden folders of killed runs beside it are removed first."""
        clean_stale_incomplete(target.parent)
        folder = new_temp_dir(target, _INCOMPLETE)
        lock = FolderLock.try_acquire(folder)
        try:
            write_json_atomic(folder / CONFIG, config)
            run = cls(folder, config)
        except BaseException:
            remove_paths([folder])
            if lock is not None:
                lock.release()
            raise
        run._lock, run.published, run._target = lock, False, target
        return run

    def open_for_writing(self) -> None:
        """Take this run's lock and tidy what a killed process left: put back a model a kill
        took out mid-swap, delete hidden temporary files and folders.

        Raises:
            RunFolderError: if another process is training this run.
        """
        lock = FolderLock.try_acquire(self.path)
        if lock is None:
            raise RunFolderError(f"`{self.path}` is being trained by another process. Wait for it to finish.")
        self._lock = lock
        restore_replaced_dir(self.path / MODEL)
        remove_paths(temp_entries(self.path))
        checkpoint.clean_checkpoint(self.checkpoint_dir)

    def publish(self) -> None:
        """Rename the hidden folder into place (after the first finished epoch).

        Raises:
            RunFolderError: if the target appeared meanwhile (this run is then discarded).
        """
        target = self._target
        try:
            if target.exists():
                raise FileExistsError
            os.rename(self.path, target)
        except OSError:
            raise RunFolderError(
                f"`{target}` was created by something else while this run trained its first "
                "epoch, so this run was discarded. Train again with another --out."
            ) from None
        self.path = target
        self.published = True

    def discard(self) -> None:
        """Delete the hidden folder of a run that was never published."""
        if not self.published:
            remove_paths([self.path])
            self.close()

    def write_config(self, config: dict[str, Any]) -> None:
        write_json_atomic(self.path / CONFIG, config)
        self.config = config

    def stamp_resumed(self) -> None:
        """Record in `config.json` when the run was resumed."""
        self.write_config({**self.config, "resumed": [*self.config.get("resumed", []), _now()]})

    def write_summary(self, text: str) -> None:
        write_text_atomic(self.path / SUMMARY, text)

    def commit_epoch(
        self, model: Any, history: dict[str, Any], improved: bool, metadata: dict[str, Any]
    ) -> None:
        """Record a finished epoch: the checkpoint (with `history`, the commit point), the model
        if it `improved`, then `history.json`/`.csv`, and publish the run after its first epoch;
        Ctrl-C is held back meanwhile."""
        with deferred_interrupt():
            epoch = len(history["epochs"])
            checkpoint.save_checkpoint(self.checkpoint_dir, epoch, model, model.optimizer, history=history)
            if improved:
                self.save_model(model, metadata)
            _write_history(self.path, history)
            self.__dict__.pop("history", None)
            if not self.published:
                self.publish()

    def save_model(self, model: Any, metadata: dict[str, Any]) -> None:
        """Swap a new `model/` in (its weights file with the mode of every other file)."""
        staging = new_temp_dir(self.path / MODEL, "new")
        try:
            model.save(staging / MODEL, metadata=metadata)
            set_file_mode(staging / MODEL / WEIGHTS)
            replace_dir(staging / MODEL, self.path / MODEL)
        finally:
            remove_paths([staging])

    def write_history(self, history: dict[str, Any]) -> None:
        _write_history(self.path, history)
        self.__dict__.pop("history", None)

    def write_results(
        self,
        metrics: dict[str, Any],
        index: Sequence[Any],
        labels: Sequence[str],
        probs: np.ndarray,
        names: Sequence[str],
        threshold: float | None = None,
    ) -> None:
        """`metrics.json` and `predictions.csv` of the test split (its `predicted` column at
        the model's decision `threshold`, when it has one)."""
        write_json_atomic(self.path / METRICS, metrics)
        _write_predictions(self.path, index, labels, probs, names, threshold=threshold)

    def write_baseline_predictions(
        self, index: Sequence[Any], labels: Sequence[str], probs: np.ndarray, names: Sequence[str]
    ) -> None:
        """`baseline_predictions.csv`: the baseline's test probabilities, laid out as
        `predictions.csv` (for an ensemble of the RNN with the linear model)."""
        _write_predictions(self.path, index, labels, probs, names, BASELINE_PREDICTIONS)

    def write_curves(self, history: dict[str, Any]) -> None:
        from textrnn.plot import plot_history

        data = {
            k: history[k]
            for k in ("acc", "loss", "val_acc", "val_loss")
            if history[k] and None not in history[k]
        }
        if data.get("loss"):
            plot_history(data, self.path / CURVES, metric="acc")

    def finish(self, history: dict[str, Any]) -> None:
        """Write the complete history and drop the resume checkpoint."""
        with deferred_interrupt():
            self.write_history(history)
            remove_paths([self.checkpoint_dir])


RunFolder = SingleRun  # the name of earlier versions


class EnsembleRun(Run):
    """An ensemble folder (`textrnn train --ensemble K`): member runs under `members/`.

    Raises:
        RunFolderError: if `path` is not an ensemble of a format this version reads.
    """

    kind = "ensemble"

    def __init__(self, path: str | os.PathLike[str], config: dict[str, Any] | None = None) -> None:
        p = Path(path)
        if config is None:
            config = _read_config(p)
        if config.get("format") != ENSEMBLE_FORMAT:
            raise RunFolderError(f"`{p}` is not an ensemble folder made by `textrnn train --ensemble K`.")
        if config.get("format_version") != ENSEMBLE_FORMAT_VERSION:
            raise RunFolderError(
                f"`{p}` is an ensemble of format version {config.get('format_version')}; "
                "this textrnn reads "
                f"version {ENSEMBLE_FORMAT_VERSION}. Upgrade textrnn."
            )
        members = config.get("members")
        if not isinstance(members, list) or not all(isinstance(m, dict) and "path" in m for m in members):
            raise RunFolderError(f'`{p / CONFIG}` has no valid "members" list.')
        for m in members:  # a member lives inside the ensemble's folder, never elsewhere on disk
            member = Path(str(m["path"]))
            if member.is_absolute() or ".." in member.parts or not member.parts:
                raise RunFolderError(
                    f"`{p / CONFIG}` names the member {str(m['path'])!r}, which is not a folder "
                    f"inside the ensemble: an ensemble keeps its members under {MEMBERS}/."
                )
        super().__init__(p, config)

    @property
    def member_paths(self) -> list[Path]:
        """The members' run folders, in order (a member not started yet has none)."""
        return [self.path / str(m["path"]) for m in self.config["members"]]

    @property
    def member_seeds(self) -> list[int]:
        return [int(m["seed"]) for m in self.config["members"]]

    def members(self) -> list[SingleRun]:
        """The member runs that exist so far, in order."""
        return [SingleRun(p) for p in self.member_paths if p.exists()]

    @property
    def status(self) -> str:
        return str(self.config.get("status", "running"))

    @cached_property
    def history(self) -> dict[str, Any]:
        """The mean of the members' per-epoch figures, over the epochs every member finished."""
        histories = [m.history for m in self.members()]
        n = min((len(h.get("epochs", [])) for h in histories), default=0)
        out: dict[str, Any] = {
            "status": self.status,
            "best_epoch": None,
            "epochs": list(range(1, n + 1)),
        }
        keys = HISTORY_KEYS + tuple(
            k for k in OPTIONAL_HISTORY_KEYS if histories and all(k in h for h in histories)
        )
        for key in keys:
            columns = [list(h.get(key) or [])[:n] for h in histories]
            ok = n > 0 and all(len(c) == n and None not in c for c in columns)
            out[key] = [float(np.mean([c[i] for c in columns])) for i in range(n)] if ok else [None] * n
        return out

    @property
    def model_name(self) -> str | None:
        members = self.members()
        name = members[0].model_name if members else None
        linear = " + linear n-grams" if self.config.get("linear") else ""
        return f"{len(self.member_paths)} × {name}{linear}" if name else None

    @property
    def parameters(self) -> int | None:
        """The members' parameters added up; None until every member has a folder."""
        counts = [m.parameters for m in self.members()]
        if len(counts) != len(self.member_paths) or None in counts:
            return None
        return sum(c for c in counts if c is not None)

    @property
    def data_config(self) -> dict[str, Any]:
        members = self.members()
        return members[0].data_config if members else {}

    def model_dirs(self) -> list[Path]:
        if self.status != "complete":
            raise RunFolderError(
                f"The ensemble `{self.path}` has not finished training all its members. "
                f"Continue it with `textrnn train --resume {self.path}`."
            )
        return [SingleRun(p).require_model() for p in self.member_paths]

    @property
    def linear_weight(self) -> float | None:
        """The linear model's weight in the ensemble's probability, None without one."""
        linear = self.config.get("linear")
        if not isinstance(linear, dict) or linear.get("weight") is None:
            return None
        return float(linear["weight"])

    def linear_dir(self) -> Path | None:
        """The linear model's folder, or None for an ensemble without one.

        Raises:
            RunFolderError: if the config names a weighted linear model whose folder is missing.
        """
        if self.linear_weight is None:
            return None
        path = self.path / str(self.config["linear"].get("path", LINEAR))
        if not path.is_dir():
            raise RunFolderError(f"`{self.path}` has lost its linear model `{path.name}/`.")
        return path

    def save_linear(self, model: Any) -> None:
        """Swap a new `linear/` in (a `textrnn.linear.LinearTextModel`)."""
        staging = new_temp_dir(self.path / LINEAR, "new")
        try:
            model.save(staging / LINEAR)
            replace_dir(staging / LINEAR, self.path / LINEAR)
        finally:
            remove_paths([staging])

    # ------------------------------------------------------------------ writing
    def open_for_writing(self) -> None:
        """Take the ensemble's lock and delete hidden temporary files a kill left.

        Raises:
            RunFolderError: if another process is training this ensemble.
        """
        lock = FolderLock.try_acquire(self.path)
        if lock is None:
            raise RunFolderError(f"`{self.path}` is being trained by another process. Wait for it to finish.")
        self._lock = lock
        remove_paths(temp_entries(self.path))

    def baseline_predictions(self) -> Predictions | None:
        """The baseline's test predictions of the first member (the members share the test
        split and the training texts the baseline is fitted on), None without them."""
        paths = self.member_paths
        return SingleRun(paths[0]).baseline_predictions() if paths and paths[0].is_dir() else None

    @property
    def started(self) -> bool:
        """Whether any member got past its first epoch (its folder exists)."""
        return (self.path / MEMBERS).exists()

    def finish(
        self, linear: dict[str, Any] | None = None, linear_probs: np.ndarray | None = None
    ) -> dict[str, Any] | None:
        """Average the members' test predictions into `metrics.json` and `predictions.csv`, and
        mark the ensemble complete; the metrics, or None if the members' test rows differ.

        Args:
            linear: the linear model's entry of the config (`"weight"` and how it was chosen),
                for an ensemble with one (saved by `save_linear`).
            linear_probs: the linear model's test probabilities, rows as the members'.
        """
        from textrnn.evaluation import classification_metrics

        tables = [SingleRun(p).predictions() for p in self.member_paths]
        first = tables[0]
        names = first.label_names
        metrics = None
        same = all(
            t.index == first.index and t.labels == first.labels and t.label_names == names for t in tables
        )
        parts: dict[str, Any] = {}
        if same and first.index:
            probs = np.mean([t.probabilities for t in tables], axis=0)
            y = np.array([names.index(label) for label in first.labels], dtype=np.int64)
            if linear is not None and linear_probs is not None:
                w = float(linear["weight"])
                for part, p in (("rnn", probs), ("linear", linear_probs)):
                    m = classification_metrics(y, p, names)
                    parts[part] = {"accuracy": m["accuracy"], "macro_f1": m["macro"]["f1"]}
                probs = (1.0 - w) * probs + w * linear_probs
            # the baseline of the first member, fitted on the training texts all members share
            baseline = (SingleRun(self.member_paths[0]).metrics or {}).get("baseline")
            metrics = {
                "split": "test",
                "members": len(tables),
                **classification_metrics(y, probs, names),
                **({"parts": parts} if parts else {}),
                **({"baseline": baseline} if baseline else {}),
            }
            write_json_atomic(self.path / METRICS, metrics)
            _write_predictions(self.path, first.index, first.labels, probs, names)
        if linear is not None:
            self.config = {**self.config, "linear": {**self.config.get("linear", {}), **linear}}
        self.config = {**self.config, "status": "complete", "label_names": names}
        write_json_atomic(self.path / CONFIG, self.config)
        self.__dict__.pop("history", None)
        return metrics


def tune_config(
    *,
    name: str,
    command: Sequence[str] | None,
    options: TrainOptions,
    space: dict[str, Any],
    minutes: float,
    trials: int,
) -> dict[str, Any]:
    """A tune folder's `config.json`: the fixed `options`, the search `space`, the bounds."""
    return {
        "format": TUNE_FORMAT,
        "format_version": TUNE_FORMAT_VERSION,
        "name": name,
        "created": _now(),
        "command": list(command) if command is not None else None,
        "options": options.to_dict(),
        "space": space,
        "minutes": minutes,
        "max_trials": trials,
        "objective": "the lowest validation loss of any epoch (minimised)",
        "status": "running",
        "best": None,
    }


class TuneRun(Run):
    """A tune folder (`textrnn tune`): one single run per trial under `trials/`.

    It predicts, evaluates and serves as its best trial (`config.json`'s `"best"`).

    Raises:
        RunFolderError: if `path` is not a tune folder of a format this version reads.
    """

    kind = "tune"

    def __init__(self, path: str | os.PathLike[str], config: dict[str, Any] | None = None) -> None:
        p = Path(path)
        if config is None:
            config = _read_config(p)
        _check_format(p, config, TUNE_FORMAT, TUNE_FORMAT_VERSION)
        super().__init__(p, config)

    def trial_path(self, number: int) -> Path:
        return self.path / TRIALS / str(number)

    def trials(self) -> list[SingleRun]:
        """The trials' run folders that exist, in trial order."""
        folder = self.path / TRIALS
        numbers = (
            sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit() and (p / CONFIG).is_file())
            if folder.is_dir()
            else []
        )
        return [SingleRun(self.trial_path(n)) for n in numbers]

    def best_trial(self) -> SingleRun | None:
        best = self.config.get("best")
        if not isinstance(best, dict) or "trial" not in best:
            return None
        return SingleRun(self.trial_path(int(best["trial"])))

    def _best(self) -> SingleRun:
        best = self.best_trial()
        if best is None:
            raise RunFolderError(
                f"The tune folder `{self.path}` has no best trial yet: no trial has finished."
            )
        return best

    @property
    def options(self) -> dict[str, Any]:
        """The best trial's options (the fixed ones before a trial has finished)."""
        best = self.best_trial()
        return best.options if best is not None else super().options

    @property
    def status(self) -> str:
        return str(self.config.get("status", "running"))

    @property
    def history(self) -> dict[str, Any]:
        best = self.best_trial()
        return best.history if best is not None else {"status": self.status, "epochs": []}

    @property
    def metrics(self) -> dict[str, Any] | None:
        best = self.best_trial()
        return best.metrics if best is not None else None

    @property
    def model_name(self) -> str | None:
        best = self.best_trial()
        return best.model_name if best is not None else None

    @property
    def parameters(self) -> int | None:
        best = self.best_trial()
        return best.parameters if best is not None else None

    @property
    def data_config(self) -> dict[str, Any]:
        best = self.best_trial()
        return best.data_config if best is not None else {}

    def model_dirs(self) -> list[Path]:
        return self._best().model_dirs()

    def predictions(self) -> Predictions:
        return self._best().predictions()

    def compared(self) -> list[Run]:
        return list(self.trials())

    def trial_rows(self) -> list[dict[str, Any]]:
        """The parsed `trials.json` (a row per trial), empty before the first trial ends."""
        path = self.path / TRIALS_JSON
        rows = _read_json(path) if path.is_file() else []
        return rows if isinstance(rows, list) else []

    # ------------------------------------------------------------------ writing
    def write_trials(self, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
        """`trials.json` (the rows) and `trials.csv` (their `columns`)."""
        write_json_atomic(self.path / TRIALS_JSON, list(rows))
        write_csv_atomic(
            self.path / TRIALS_CSV,
            list(columns),
            [["" if r.get(c) is None else r.get(c) for c in columns] for r in rows],
        )

    def update(self, **changes: Any) -> None:
        """Rewrite `config.json` with `changes` (status, best)."""
        self.config = {**self.config, **changes}
        write_json_atomic(self.path / CONFIG, self.config)


# ---------------------------------------------------------------------------------- opening
def _read_config(path: Path) -> dict[str, Any]:
    if not path.is_dir():
        what = "does not exist" if not path.exists() else "is not a folder"
        raise RunFolderError(
            f"Run folder `{path}` {what}. Pass a folder made by `textrnn train` (e.g. runs/NAME)."
        )
    if not (path / CONFIG).is_file():
        raise RunFolderError(
            f"`{path}` is not a textrnn run: it has no {CONFIG}. "
            "Pass a folder made by `textrnn train` (e.g. runs/NAME)."
        )
    config = _read_json(path / CONFIG)
    if not isinstance(config, dict):
        raise RunFolderError(f'`{path / CONFIG}` is not a textrnn run config (no "format": "{RUN_FORMAT}").')
    return config


def _check_format(path: Path, config: dict[str, Any], fmt: str, newest: int) -> None:
    if config.get("format") != fmt:
        raise RunFolderError(f'`{path / CONFIG}` is not a textrnn run config (no "format": "{fmt}").')
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version > newest or version < 1:
        raise RunFolderError(
            f"`{path}` has run format_version {version!r}; this textrnn reads up to {newest}. "
            "Upgrade textrnn."
        )


def open_run(path: str | os.PathLike[str]) -> SingleRun | EnsembleRun | TuneRun:
    """The run in folder `path`, of the kind its `config.json` says: the one place that decides.

    Returns:
        A `SingleRun` (format `textrnn.run`), an `EnsembleRun` (format `textrnn.ensemble`) or a
        `TuneRun` (format `textrnn.tune`).

    Raises:
        RunFolderError: if `path` is not a run folder of a format this version reads.

    Example:
        >>> open_run("runs/best").kind
        'ensemble'
    """
    p = Path(path)
    config = _read_config(p)
    if config.get("format") == ENSEMBLE_FORMAT:
        return EnsembleRun(p, config)
    if config.get("format") == TUNE_FORMAT:
        return TuneRun(p, config)
    return SingleRun(p, config)


def is_run(path: str | os.PathLike[str]) -> bool:
    """Whether `path` holds a run folder of either kind (rather than, say, a saved model)."""
    config = Path(path) / CONFIG
    try:
        return config.is_file() and read_json(config).get("format") in (
            RUN_FORMAT,
            ENSEMBLE_FORMAT,
            TUNE_FORMAT,
        )
    except (OSError, ValueError, AttributeError):
        return False


def clean_stale_incomplete(folder: Path) -> None:
    """Delete the hidden `.NAME.incomplete-*` folders in `folder` that no live process holds
    (left by runs killed before their first epoch finished)."""
    for entry in temp_entries(folder):
        if not (_INCOMPLETE_DIR.match(entry.name) and entry.is_dir()):
            continue
        lock = FolderLock.try_acquire(entry)
        if lock is not None and lock.real:
            remove_paths([entry])
        if lock is not None:
            lock.release()


__all__ = [
    "BASELINE_PREDICTIONS",
    "CHECKPOINT",
    "CONFIG",
    "CURVES",
    "ENSEMBLE_FORMAT",
    "HISTORY_CSV",
    "HISTORY_JSON",
    "HISTORY_KEYS",
    "OPTIONAL_HISTORY_KEYS",
    "LINEAR",
    "MEMBERS",
    "METRICS",
    "MODEL",
    "PREDICTIONS",
    "RUN_FORMAT",
    "SUMMARY",
    "TRIALS",
    "TUNE_FORMAT",
    "EnsembleRun",
    "Predictions",
    "Run",
    "RunFolder",
    "SingleRun",
    "TextModel",
    "TuneRun",
    "ensemble_config",
    "history_keys",
    "is_run",
    "model_metadata",
    "name_taken",
    "new_history",
    "open_run",
    "read_text_model",
    "single_run_config",
    "tune_config",
]
