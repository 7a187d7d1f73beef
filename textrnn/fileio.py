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
import errno
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

from textrnn.errors import DiskFullError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()

FAULT_ENV = "TEXTRNN_FAULT"
_fault_hits: dict[str, int] = {}


def fault_point(when: str, name: str) -> None:
    """Crash-test hook: SIGKILL this process here if `$TEXTRNN_FAULT` names `WHEN:NAME`.

    `TEXTRNN_FAULT` holds comma-separated points such as `after:history.json` or
    `before-rename:model`; `POINT@N` kills at the N-th time the point is reached (default 1st).
    The atomic writes call it with the target's base name: `before-rename:NAME` (the temporary
    file or folder is complete), `between-renames:NAME` (an old folder moved aside, the new one
    not yet in place) and `after:NAME`. Unset, it costs one dictionary look-up.
    """
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    point = f"{when}:{name}"
    for item in spec.split(","):
        wanted, _, nth = item.strip().partition("@")
        if wanted != point:
            continue
        _fault_hits[point] = _fault_hits.get(point, 0) + 1
        if _fault_hits[point] == (int(nth) if nth.isdigit() else 1):
            os.kill(os.getpid(), signal.SIGKILL)


def _human(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def disk_full_error(target: str | os.PathLike[str], needed: int | None = None) -> DiskFullError:
    """The one-line error for a write to `target` that ran out of space (`needed`: bytes)."""
    folder = Path(target).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free: str = _human(shutil.disk_usage(folder).free)
    except OSError:
        free = "unknown"
    need = f", about {_human(needed)} needed" if needed else ""
    return DiskFullError(
        f"No space left on the disk holding {folder} while writing {Path(target).name} ({free} "
        f"free{need}). Free some space there, or write somewhere else."
    )


def is_disk_full(err: BaseException) -> bool:
    """Whether `err` says the disk (or the user's quota) is full."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(err)
    return "No space left on device" in text or "os error 28" in text or "Disk quota" in text


@contextlib.contextmanager
def reporting_disk_full(
    target: str | os.PathLike[str], needed: int | None = None
) -> Iterator[None]:
    """Turn an out-of-space error inside the block into `DiskFullError` (other errors pass)."""
    try:
        yield
    except Exception as err:
        if is_disk_full(err):
            raise disk_full_error(target, needed) from None
        raise


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str], *, suffix: str = "", needed: int | None = None
) -> Iterator[Path]:
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
        with reporting_disk_full(target, needed):
            yield tmp
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        fault_point("before-rename", target.name)
        os.replace(tmp, target)
        fault_point("after", target.name)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path, needed=len(data)) as tmp:
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
    """Parse a JSON file; nesting too deep for Python raises ValueError, not RecursionError."""
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except RecursionError:
            raise ValueError(f"{path} is nested too deeply to be read as JSON.") from None


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
            fault_point("before-rename", dst.name)
            os.replace(dst, old)
            fault_point("between-renames", dst.name)
        else:
            fault_point("before-rename", dst.name)
        try:
            os.replace(src, dst)
        except BaseException:
            if old is not None:
                os.replace(old, dst)
            raise
    fault_point("after", dst.name)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
