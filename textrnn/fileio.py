"""Atomic file and folder writes, shared by saving, run folders, callbacks, plots and caches.

A reader sees the old file or the complete new one, never half a file: data goes to a temporary file
in the target's folder, is flushed to disk, and replaces the target with `os.replace`. Folders that
change as a whole (a saved model) are written beside their target and swapped in by `replace_dir`,
with Ctrl-C held back for the few instructions of the swap. Files and folders get the modes `open()`
and `mkdir()` would give under the user's umask (`mkstemp`/`mkdtemp` alone give 0600/0700).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import secrets
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


_FILE_MODE = 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it replaces `path`, on error it is removed.

    Example:
        >>> with atomic_path("figure.png", suffix=".png") as tmp:
        ...     fig.savefig(tmp)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f"{suffix}.tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write `text` to `path` atomically."""
    write_bytes_atomic(path, text.encode(encoding))


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


def new_temp_dir(target: str | os.PathLike[str], tag: str = "tmp") -> Path:
    """A fresh hidden folder beside `target` (`.NAME.TAG-xxxxxxxx`), made with the user's umask."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        folder = target.with_name(f".{target.name}.{tag}-{secrets.token_hex(4)}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue


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

    The old folder is renamed aside first, the new one renamed into place (the old one is put back if
    that fails), and the old one removed; Ctrl-C is held back between the renames. Both paths must be
    on one file system.
    """
    src, dst = Path(source), Path(target)
    with deferred_interrupt():
        old: Path | None = None
        if dst.exists():
            old = dst.with_name(f".{dst.name}.old-{secrets.token_hex(4)}")
            os.replace(dst, old)
        try:
            os.replace(src, dst)
        except BaseException:
            if old is not None:
                os.replace(old, dst)
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
