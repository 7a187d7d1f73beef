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
import ctypes
import errno
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sys
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

try:  # advisory locks on folders (Linux, macOS, BSD); without them nothing is ever taken as stale
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

# A hidden temporary entry beside its target: `.NAME.TAG-xxxxxxxx` (a folder from `new_temp_dir`,
# or one renamed aside by `replace_dir`) or `.NAME.xxxxxxxx[SUFFIX].tmp` (from `atomic_path`).
_TEMP_DIR = re.compile(r"^\.(?P<name>.+)\.(?P<tag>[a-z]+)-[0-9a-f]{8}$")
_TEMP_FILE = re.compile(r"^\..+\.tmp$")
# A staging folder's owner file, `.NAME.tmp-xxxxxxxx.owner.tmp` beside it (see `new_staging_dir`).
_OWNER_FORMAT = "textrnn.staging-owner"
_OWNER_SUFFIX = ".owner.tmp"


def set_file_mode(path: str | os.PathLike[str]) -> None:
    """Give `path` the mode `open()` would give a new file under the user's umask (0644 under 022);
    for files written by libraries that create theirs 0600 (safetensors)."""
    os.chmod(path, _FILE_MODE)


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
def reporting_disk_full(target: str | os.PathLike[str], needed: int | None = None) -> Iterator[None]:
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


def write_csv_atomic(
    path: str | os.PathLike[str], header: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
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


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"; containers have their own
    except OSError:
        return None


def _process_start(pid: int) -> str | None:
    """When process `pid` started, in clock ticks since boot (Linux), to tell it from a later process
    given the same id; None where that cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return fields[19] if len(fields) > 19 else None  # field 22 of proc(5)


def process_alive(pid: int, started: str | None = None) -> bool:
    """Whether a process `pid` of this machine runs (and, if `started` is given and can be compared,
    is the one that started then, not a later process given the same id)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    except OSError:
        return False
    now = _process_start(pid) if started is not None else None
    return now is None or now == started


def _owner_file(folder: Path) -> Path:
    return folder.with_name(folder.name + _OWNER_SUFFIX)


def new_staging_dir(target: str | os.PathLike[str]) -> Path:
    """`new_temp_dir(target)` marked as this process's, after removing the stale ones of `target`.

    The mark is an owner file beside the folder, `.NAME.tmp-xxxxxxxx.owner.tmp` (format, process
    id, host, boot id, process id namespace, process start time). It stays put while `replace_dir`
    swaps the folder's contents and goes when `replace_dir` or `remove_staging_dir` is done with the
    folder, so a staging folder (or the previous version a swap put under its name) with an owner
    file whose process has ended is one a kill left (`stale_staging_dirs`).
    """
    remove_stale_staging_dirs(target)
    folder = new_temp_dir(target)
    owner = {
        "format": _OWNER_FORMAT,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "boot": _boot_id(),
        "pid_namespace": _pid_namespace(),
        "started": _process_start(os.getpid()),
    }
    try:
        write_json_atomic(_owner_file(folder), owner)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def remove_staging_dir(folder: str | os.PathLike[str]) -> None:
    """Delete a folder from `new_staging_dir`, then its owner file (a kill between the two leaves
    only the owner file, which the next `new_staging_dir` for the target removes)."""
    path = Path(folder)
    shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(OSError):
        _owner_file(path).unlink()


def _ours(path: Path) -> bool:
    """Whether this user owns `path` (always, where the system has no user ids)."""
    return not hasattr(os, "getuid") or path.lstat().st_uid == os.getuid()


def _owner_gone(owner_file: Path) -> bool:
    """True only if `owner_file` is a well-formed owner file of this machine, boot and process id
    namespace whose process has ended."""
    try:
        if owner_file.is_symlink() or not owner_file.is_file() or not _ours(owner_file):
            return False
        if owner_file.stat().st_size > 4096:
            return False
        record = json.loads(owner_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict) or record.get("format") != _OWNER_FORMAT:
        return False
    pid, started, boot = record.get("pid"), record.get("started"), record.get("boot")
    if record.get("host") != socket.gethostname() or type(pid) is not int or pid <= 0:
        return False  # another machine's (a shared file system): its processes cannot be seen
    if boot != _boot_id() or record.get("pid_namespace") != _pid_namespace():
        return False  # another boot, another container, or a machine of the same name: not provable
    return not process_alive(pid, started if isinstance(started, str) else None)


def stale_staging_dirs(target: str | os.PathLike[str]) -> list[Path]:
    """The staging folders of `target` (and lone owner files) that killed processes left: named
    `.NAME.tmp-xxxxxxxx`, with an owner file whose process has provably ended. Reads only.

    A folder without an owner file (one from an older textrnn, or anything else) is never listed.
    """
    dst = Path(target)
    pattern = re.compile(rf"^\.{re.escape(dst.name)}\.tmp-[0-9a-f]{{8}}{re.escape(_OWNER_SUFFIX)}$")
    found = []
    for owner in temp_entries(dst.parent, name=dst.name):
        if not pattern.match(owner.name) or not _owner_gone(owner):
            continue
        folder = owner.with_name(owner.name.removesuffix(_OWNER_SUFFIX))
        if folder.is_symlink() or (folder.exists() and not (folder.is_dir() and _ours(folder))):
            continue
        found += [folder, owner] if folder.exists() else [owner]
    return found


def remove_stale_staging_dirs(target: str | os.PathLike[str]) -> list[Path]:
    """Delete what `stale_staging_dirs(target)` lists (each folder before its owner file); returns it."""
    stale = stale_staging_dirs(target)
    remove_paths(stale)
    return stale


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


def _exchange(a: Path, b: Path) -> bool:
    """Swap the entries at `a` and `b` in one atomic step (Linux `renameat2(RENAME_EXCHANGE)`).

    Returns False where the system or file system cannot (the caller then renames twice)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def replace_dir(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Move the finished folder `source` to `target`, replacing any folder already there.

    Where the system can, the two folders are swapped in one atomic step, so `target` always
    holds a complete folder, then the old one (now at `source`) is removed. Elsewhere the old
    folder is renamed aside first, the new one renamed into place (the old one is put back if
    that fails), and the old one removed; a kill between those renames leaves the old folder as
    `.NAME.old-*`, which `replaced_dir` finds and `restore_replaced_dir` puts back. Ctrl-C is held
    back meanwhile. Both paths must be on one file system.

    Once the new folder is in place, the `.NAME.old-*` folders that earlier kills left (there
    before this call began) are removed too: `target` holds a newer complete folder than they do.
    """
    src, dst = Path(source), Path(target)
    leftovers = _renamed_aside(dst)
    with deferred_interrupt():
        old: Path | None = None
        fault_point("before-rename", dst.name)
        if dst.exists() and _exchange(src, dst):
            old = src  # the previous folder, now under the temporary name
            fault_point("between-renames", dst.name)
        else:
            if dst.exists():
                old = dst.with_name(f".{dst.name}.old-{secrets.token_hex(4)}")
                os.replace(dst, old)
                fault_point("between-renames", dst.name)
            try:
                os.replace(src, dst)
            except BaseException:
                if old is not None:
                    os.replace(old, dst)
                raise
    fault_point("after", dst.name)
    for path in ([old] if old is not None else []) + leftovers:
        shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(OSError):  # the mark of a folder from `new_staging_dir`, if it is one
        _owner_file(src).unlink()


def restore_replaced_dir(target: str | os.PathLike[str]) -> bool:
    """Put back the folder `replace_dir` renamed aside, if a kill struck between its two renames.

    Returns:
        True if `target` was missing and its `.NAME.old-*` folder was renamed back into place.
    """
    dst = Path(target)
    old = replaced_dir(dst)
    if old is None or old == dst:
        return False
    os.replace(old, dst)
    return True


def replaced_dir(target: str | os.PathLike[str]) -> Path | None:
    """`target` if it exists, else the folder `replace_dir` renamed aside (`.NAME.old-*`), newest
    first, where a kill between its two renames left it; None if there is neither. Reads only."""
    dst = Path(target)
    if dst.exists():
        return dst
    olds = _renamed_aside(dst)
    return max(olds, key=lambda p: p.stat().st_mtime) if olds else None


def _renamed_aside(target: Path) -> list[Path]:
    """The `.NAME.old-*` folders `replace_dir` renamed `target` to."""
    return [
        p
        for p in temp_entries(target.parent, name=target.name)
        if p.name.startswith(f".{target.name}.old-") and p.is_dir() and not p.is_symlink()
    ]


def temp_entries(folder: str | os.PathLike[str], *, name: str | None = None) -> list[Path]:
    """The hidden temporary files and folders this module leaves in `folder` when a process is
    killed while writing (`.NAME.TAG-xxxxxxxx` folders, `.NAME.xxxxxxxx.tmp` files), optionally only
    those of the entry `name`."""
    base = Path(folder)
    if not base.is_dir():
        return []
    found = []
    for p in base.iterdir():
        m = _TEMP_DIR.match(p.name)
        if m is not None and (name is None or m["name"] == name):
            found.append(p)
        elif _TEMP_FILE.match(p.name) and (name is None or p.name.startswith(f".{name}.")):
            found.append(p)
    return sorted(found)


def remove_paths(paths: Sequence[Path]) -> None:
    """Delete files and folders, ignoring those already gone."""
    for p in paths:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                p.unlink()


def make_parents(parent: str | os.PathLike[str]) -> list[Path]:
    """Create the folder `parent` and its missing ancestors; return those created, deepest first."""
    missing: list[Path] = []
    p = Path(parent)
    while not p.exists():
        missing.append(p)
        p = p.parent
    Path(parent).mkdir(parents=True, exist_ok=True)
    return missing


def remove_empty_dirs(folders: Sequence[Path]) -> None:
    """Remove the folders (say, those `make_parents` made) that are empty, in the order given."""
    for parent in folders:
        with contextlib.suppress(OSError):
            parent.rmdir()


class FolderLock:
    """An exclusive advisory lock (`flock`) on a folder, held by an open descriptor of the folder.

    It follows the folder through renames and ends with the process, however it ends (a SIGKILL
    included), so a folder nobody holds is one no live process is writing.

    Example:
        >>> lock = FolderLock.try_acquire(path)
        >>> if lock is None: ...  # another process holds it
        >>> lock.release()
    """

    def __init__(self, fd: int | None) -> None:
        self._fd = fd

    @classmethod
    def try_acquire(cls, folder: str | os.PathLike[str]) -> FolderLock | None:
        """The lock on `folder`, or None if another process holds it."""
        if fcntl is None:  # pragma: no cover - no advisory locks: a lock that guards nothing
            return cls(None)
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process holds it
            os.close(fd)
            return None
        except OSError:  # a file system without locks (some network mounts): guards nothing
            os.close(fd)
            return cls(None)
        return cls(fd)

    @property
    def real(self) -> bool:
        """Whether this lock excludes other processes (False where the platform has no `flock`)."""
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
