"""Atomic file writes for run folders: a temporary file in the same folder, then `os.replace`.

A reader never sees a half-written file: it sees the old version or the new one. Folders that
must change as a whole (a saved model) are written beside their target and swapped in with
`replace_dir`, with Ctrl-C held back for the few instructions of the swap.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give; mkstemp alone gives 0600


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and `os.replace`."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 `text` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    """Write `obj` as indented JSON atomically (NaN and infinities are refused, as JSON has none)."""
    write_text_atomic(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")


def write_csv_atomic(path: str | os.PathLike[str], header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Write a CSV file (header, then rows) atomically."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text_atomic(path, buf.getvalue())


def save_figure_atomic(path: str | os.PathLike[str], figure: Any, **kwargs: Any) -> None:
    """Save a matplotlib figure atomically (the format follows `path`'s extension)."""
    target = Path(path)
    buf = io.BytesIO()
    figure.savefig(buf, format=target.suffix.lstrip(".") or "png", **kwargs)
    write_bytes_atomic(target, buf.getvalue())


def read_json(path: str | os.PathLike[str]) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) inside the block and raise KeyboardInterrupt right after it.

    Outside the main thread, where Python cannot install signal handlers, the block runs as is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[Any] = []
    previous: Callable[..., Any] | int | None = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        received.append((signum, frame))

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def replace_dir(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Move the finished folder `source` to `target`, replacing any folder already there.

    The old folder is renamed aside first, the new one renamed into place, and the old one removed;
    Ctrl-C is held back between the two renames. Both paths must be on one file system.
    """
    src, dst = Path(source), Path(target)
    with deferred_interrupt():
        old: Path | None = None
        if dst.exists():
            old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
            if old.exists():
                shutil.rmtree(old)
            os.replace(dst, old)
        os.replace(src, dst)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
