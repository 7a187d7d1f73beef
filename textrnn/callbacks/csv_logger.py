"""`CSVLogger`: the epoch logs as a CSV file."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from textrnn import checks
from textrnn.callbacks.callback import Callback, Logs
from textrnn.fileio import write_text_atomic


class CSVLogger(Callback):
    """Write one CSV row per epoch: `epoch` (0-based) then the log keys in sorted order, as Keras does.

    The file is rewritten atomically after every epoch (temporary file, then rename), so it is
    always complete and readable during training, and a crash never leaves half a row.

    Args:
        filename: path of the CSV file.
        separator: the field separator, default `","`.
        append: keep the rows of an existing file and add to them (the header is written only if
            the file was empty or missing), default False.

    Example:
        >>> model.fit(x, y, epochs=5, callbacks=[CSVLogger("training.log")])
    """

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename = Path(checks.path("filename", filename))
        if not isinstance(separator, str) or len(separator) != 1:
            raise checks.invalid("separator", "one character", separator)
        self.sep = separator
        self.append = bool(append)
        self.keys: list[str] | None = None
        self._prefix = ""
        self._rows: list[list[Any]] = []

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.keys = None
        self._rows = []
        self._prefix = ""
        if self.append and self.filename.exists():
            text = self.filename.read_text(encoding="utf-8")
            if text and not text.endswith("\n"):
                text += "\n"
            self._prefix = text

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        self._rows.append([epoch, *(logs.get(k, "NA") for k in self.keys)])
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=self.sep, lineterminator="\n")
        if not self._prefix:
            writer.writerow(["epoch", *self.keys])
        writer.writerows(self._rows)
        write_text_atomic(self.filename, self._prefix + buf.getvalue())
