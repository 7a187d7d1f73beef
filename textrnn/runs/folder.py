"""The run folder: its layout, and reading it back.

```
runs/NAME/
  config.json      everything needed to reproduce the run (options with the seed drawn, data,
                   model config, textrnn/PyTorch versions, format_version)
  history.json     per-epoch figures, plus status: running | interrupted | complete
  history.csv      epoch,loss,acc,val_loss,val_acc,seconds (one row per finished epoch)
  summary.txt      the model's summary(explain=True)
  model/           the best epoch's model: config, safetensors weights, vocabulary, label names
  checkpoint/      the last finished epoch, for `textrnn train --resume` (removed when complete)
  curves.png       the tutorial's accuracy and loss figures side by side
  metrics.json     test-split metrics (accuracy, loss, per-class and macro P/R/F1, confusion
                   matrix, ROC AUC for two classes)
  predictions.csv  the test split's predictions: index,label,predicted,p_<class>...
```

Until its first epoch has finished, a run is built in a hidden folder beside its target
(`.NAME.incomplete-*`), so a failed or interrupted start leaves no run folder behind.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

from textrnn.errors import RunFolderError
from textrnn.fileio import read_json

RUN_FORMAT = "textrnn.run"
RUN_FORMAT_VERSION = 1

CONFIG = "config.json"
HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"
SUMMARY = "summary.txt"
MODEL = "model"
CHECKPOINT = "checkpoint"
CURVES = "curves.png"
METRICS = "metrics.json"
PREDICTIONS = "predictions.csv"

HISTORY_KEYS = ("loss", "acc", "val_loss", "val_acc", "seconds")


class RunFolder:
    """A textrnn run folder, read lazily.

    Args:
        path: the folder, as made by `textrnn train` / `textrnn.runs.train`.

    Raises:
        RunFolderError: if `path` is not a folder, has no `config.json`, or its config is not a
            textrnn run of a format this version reads.

    Example:
        >>> run = RunFolder("runs/imdb-simple_rnn")
        >>> run.status, run.best_epoch
        ('complete', 4)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            what = "does not exist" if not self.path.exists() else "is not a folder"
            raise RunFolderError(f"Run folder `{self.path}` {what}. Pass a folder made by `textrnn train` (e.g. runs/NAME).")
        if not (self.path / CONFIG).is_file():
            raise RunFolderError(
                f"`{self.path}` is not a textrnn run: it has no {CONFIG}. Pass a folder made by `textrnn train` "
                "(e.g. runs/NAME)."
            )
        config = self._read(CONFIG)
        if isinstance(config, dict) and config.get("format") == "textrnn.ensemble":
            raise RunFolderError(
                f"`{self.path}` is an ensemble (`--ensemble`), not a single run: pass one of its members "
                f"(`{self.path / 'members' / '1'}`, ...) here; `textrnn predict` and `textrnn evaluate` take the ensemble itself."
            )
        if not isinstance(config, dict) or config.get("format") != RUN_FORMAT:
            raise RunFolderError(f"`{self.path / CONFIG}` is not a textrnn run config (no \"format\": \"{RUN_FORMAT}\").")
        version = config.get("format_version")
        if not isinstance(version, int) or version > RUN_FORMAT_VERSION:
            raise RunFolderError(
                f"`{self.path}` has run format_version {version!r}; this textrnn reads up to {RUN_FORMAT_VERSION}. "
                "Upgrade textrnn."
            )
        self.config: dict[str, Any] = config

    def _read(self, name: str) -> Any:
        try:
            return read_json(self.path / name)
        except (OSError, ValueError) as e:
            raise RunFolderError(f"Cannot read `{self.path / name}`: {e}.") from None

    # ------------------------------------------------------------------ paths
    @property
    def name(self) -> str:
        return self.path.name

    @property
    def model_dir(self) -> Path:
        return self.path / MODEL

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / CHECKPOINT

    # ------------------------------------------------------------------ contents
    @cached_property
    def history(self) -> dict[str, Any]:
        """The parsed `history.json` (an empty, running history if it is missing)."""
        if not (self.path / HISTORY_JSON).is_file():
            return {"status": "running", "epochs": [], **{k: [] for k in HISTORY_KEYS}}
        data = self._read(HISTORY_JSON)
        if not isinstance(data, dict):
            raise RunFolderError(f"`{self.path / HISTORY_JSON}` is not a textrnn history.")
        return data

    @property
    def metrics(self) -> dict[str, Any] | None:
        """The parsed `metrics.json`, or None before the run has been tested."""
        return self._read(METRICS) if (self.path / METRICS).is_file() else None

    @property
    def status(self) -> str:
        """`complete`, `interrupted`, or `running` (also what a crashed run is left as)."""
        return str(self.history.get("status", "running"))

    @property
    def epochs_done(self) -> int:
        return len(self.history.get("epochs", []))

    @property
    def best_epoch(self) -> int | None:
        value = self.history.get("best_epoch")
        return int(value) if value is not None else None

    def require_model(self) -> Path:
        """The `model/` folder, or RunFolderError if the run has none yet."""
        if not (self.model_dir / "config.json").is_file():
            raise RunFolderError(
                f"`{self.path}` has no saved model yet (no {MODEL}/ folder): its first epoch never finished. "
                "Train it again with `textrnn train`."
            )
        return self.model_dir

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r}, status={self.status!r})"
