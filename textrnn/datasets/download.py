"""Dataset files: the cache folder, verified downloads, safe tar reading and extraction."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from textrnn.errors import DatasetError
from textrnn.fileio import atomic_path

_CHUNK = 1 << 20

# Bounds on what an archive may hold, far above the IMDB dataset's (100,000 files, 14 KB the
# longest review, about 0.5 GB in all): a small crafted tarball can expand to any size, so sizes
# are checked from the member headers before anything is read or extracted.
MAX_MEMBER_BYTES = 64 * 1024**2
MAX_TEXT_BYTES = 4 * 1024**2  # one review read into memory
MAX_TOTAL_BYTES = 4 * 1024**3
MAX_MEMBERS = 1_000_000


class SizeBudget:
    """Counts the members and bytes taken from one archive; `DatasetError` past the bounds."""

    def __init__(self, archive: Path, *, member_limit: int | None = None) -> None:
        self.archive = archive
        self.member_limit = MAX_MEMBER_BYTES if member_limit is None else member_limit
        self.members = 0
        self.total = 0

    def take(self, name: str, size: int) -> None:
        fix = "The archive is not the official dataset: delete it and download the official one."
        self.members += 1
        self.total += max(size, 0)
        if self.members > MAX_MEMBERS:
            raise DatasetError(f"Refusing {self.archive}: it holds more than {MAX_MEMBERS} members. {fix}")
        if size > self.member_limit:
            raise DatasetError(
                f"Refusing {self.archive}: member {name!r} is {size} bytes, over the "
                f"{self.member_limit} bytes allowed. {fix}"
            )
        if self.total > MAX_TOTAL_BYTES:
            raise DatasetError(
                f"Refusing {self.archive}: its members add up to more than {MAX_TOTAL_BYTES} bytes. {fix}"
            )


def read_bounded(f: Any, limit: int, what: str) -> bytes:
    """Read a file object to its end, refusing (`DatasetError`) more than `limit` bytes."""
    chunks: list[bytes] = []
    total = 0
    while chunk := f.read(min(_CHUNK, limit + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise DatasetError(
                f"Refusing {what}: it is larger than {limit} bytes, so not a text of the dataset."
            )
    return b"".join(chunks)


def cache_home() -> Path:
    """textrnn's cache folder: `$TEXTRNN_HOME` if set, else `~/.cache/textrnn`."""
    env = os.environ.get("TEXTRNN_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "textrnn"


def datasets_dir() -> Path:
    """Where downloaded and processed datasets live: `<cache_home>/datasets`."""
    return cache_home() / "datasets"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def download(url: str, dest: Path, sha256: str, *, what: str = "dataset", env_var: str | None = None) -> Path:
    """Download `url` to `dest` through a temporary file in the same folder, renamed only once its
    sha256 matches; on any failure the temporary file is removed and `DatasetError` raised."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=60) as resp:
                    size = resp.headers.get("Content-Length")
                    with tqdm(
                        total=int(size) if size else None,
                        unit="B",
                        unit_scale=True,
                        unit_divisor=1024,
                        desc=f"Downloading {dest.name}",
                    ) as bar:
                        while chunk := resp.read(_CHUNK):
                            out.write(chunk)
                            h.update(chunk)
                            bar.update(len(chunk))
            except (urllib.error.URLError, OSError, ValueError) as e:
                raise DatasetError(
                    f"Could not download the {what} from {url}: {e}. Check the network connection, or "
                    f"download it yourself and pass its path (`path=`"
                    + (f" or the environment variable {env_var}" if env_var else "")
                    + ")."
                ) from e
        got = h.hexdigest()
        if got != sha256:
            raise DatasetError(
                f"The {what} downloaded from {url} is corrupted: sha256 {got}, expected {sha256}. "
                "The partial file was deleted; run the command again to re-download it."
            )
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def check_member(member: tarfile.TarInfo, archive: Path) -> str:
    """The member's normalised relative name; `DatasetError` for links, special files, absolute
    names and names that climb out with `..`."""
    name = member.name
    fix = "The archive is not the official dataset: delete it and download the official one."
    if member.issym() or member.islnk():
        raise DatasetError(f"Refusing {archive}: member {name!r} is a link. {fix}")
    if not (member.isfile() or member.isdir()):
        raise DatasetError(f"Refusing {archive}: member {name!r} is not a regular file or folder. {fix}")
    posix = name.replace("\\", "/")
    if posix.startswith("/") or PureWindowsPath(name).drive or PurePosixPath(posix).is_absolute():
        raise DatasetError(f"Refusing {archive}: member {name!r} has an absolute path. {fix}")
    parts = [p for p in PurePosixPath(posix).parts if p not in ("", ".")]
    if ".." in parts:
        raise DatasetError(f"Refusing {archive}: member {name!r} points outside the archive's folder. {fix}")
    return "/".join(parts)


def safe_extract(archive: Path, target: Path) -> Path:
    """Extract a tar archive into the folder `target` (created), atomically.

    Every member is checked first (`check_member`, then its resolved path must stay inside the
    folder); the archive goes to a temporary folder beside `target` that is renamed at the end, so an
    interrupted extraction leaves nothing half-made.
    """
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part"))
    try:
        root = tmp.resolve()
        with tarfile.open(archive, "r:*") as tf:
            budget = SizeBudget(archive)
            members = []
            for m in tf:  # one header at a time: sizes and count checked before any data
                budget.take(m.name, m.size)
                members.append(m)
            for m in members:
                rel = check_member(m, archive)
                if not (root / rel).resolve().is_relative_to(root):
                    raise DatasetError(
                        f"Refusing {archive}: member {m.name!r} resolves outside the target folder."
                    )
            kwargs: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tf.extractall(tmp, members=members, **kwargs)
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.exists():  # a concurrent extraction that finished first is fine
                raise
    except (tarfile.TarError, EOFError, OSError) as e:
        raise DatasetError(f"Could not extract {archive}: {e}. Delete it and download it again.") from e
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """`np.savez` written atomically (temporary file in the same folder, then rename)."""
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]


def load_npz(path: Path) -> dict[str, np.ndarray] | None:
    """All arrays of a cache file (never unpickling), or None if it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
