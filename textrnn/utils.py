"""Keras's `keras.utils` helpers under the same names: `pad_sequences`, `set_random_seed`,
`to_categorical`, `get_file`."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np

from textrnn.preprocessing.sequence import pad_sequences

if TYPE_CHECKING:
    from textrnn.training.seed import set_random_seed

__all__ = ["get_file", "pad_sequences", "set_random_seed", "to_categorical"]

_CHUNK = 1 << 20


def __getattr__(name: str) -> Any:
    # Imported on first use: `textrnn.training` pulls in torch-side modules that `pad_sequences`
    # users do not need.
    if name == "set_random_seed":
        from textrnn.training.seed import set_random_seed

        return set_random_seed
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_categorical(x: Any, num_classes: int | None = None) -> np.ndarray:
    """Class indices to one-hot rows (Keras's `to_categorical`).

    Args:
        x: integer class indices, any shape; a trailing axis of size 1 is dropped, as in Keras.
        num_classes: the number of classes; default `max(x) + 1`.

    Returns:
        A float64 array of shape `x.shape + (num_classes,)` (Keras's NumPy path returns float64).

    Raises:
        ValueError: for a negative index or one at or above `num_classes`.

    Example:
        >>> to_categorical([0, 2, 1])
        array([[1., 0., 0.], [0., 0., 1.], [0., 1., 0.]])
    """
    arr = np.array(x, dtype="int64")
    shape = arr.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = tuple(shape[:-1])
    flat = arr.reshape(-1)
    if not num_classes:
        num_classes = int(flat.max()) + 1 if flat.size else 0
    if flat.size and (flat.min() < 0 or flat.max() >= num_classes):
        raise ValueError(
            f"`to_categorical` got class indices in [{flat.min()}, {flat.max()}], which do not fit "
            f"num_classes={num_classes}: indices must lie in [0, num_classes - 1]."
        )
    out = np.zeros((flat.shape[0], num_classes))
    out[np.arange(flat.shape[0]), flat] = 1
    return out.reshape(shape + (num_classes,))


def _hasher(algorithm: str, file_hash: str | None) -> Any:
    if algorithm == "sha256" or (
        algorithm == "auto" and file_hash is not None and len(file_hash) == 64
    ):
        return hashlib.sha256()
    return hashlib.md5()  # Keras's legacy choice for "md5" and short hashes


def _hash_file(path: Path, algorithm: str, file_hash: str | None) -> str:
    h = _hasher(algorithm, file_hash)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return str(h.hexdigest())


def _extract(archive: Path, target: Path, archive_format: str) -> bool:
    """Extract a tar or zip archive into `target` atomically, refusing members that would land
    outside it (links, absolute paths, `..`); False if the file is neither format."""
    from textrnn.fileio import new_temp_dir, replace_dir

    formats = ["tar", "zip"] if archive_format == "auto" else [archive_format]
    tmp = new_temp_dir(target, "extract")
    try:
        root = tmp.resolve()
        for fmt in formats:
            if fmt == "tar" and tarfile.is_tarfile(archive):
                with tarfile.open(archive) as tf:
                    members = tf.getmembers()
                    for m in members:
                        if m.issym() or m.islnk() or not (m.isfile() or m.isdir()):
                            raise ValueError(
                                f"Refusing to extract {archive}: member {m.name!r} is not a "
                                "plain file."
                            )
                        _check_inside(root, m.name, archive)
                    kwargs: dict[str, Any] = (
                        {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                    )
                    tf.extractall(tmp, members=members, **kwargs)
                break
            if fmt == "zip" and zipfile.is_zipfile(archive):
                with zipfile.ZipFile(archive) as zf:
                    for name in zf.namelist():
                        _check_inside(root, name, archive)
                    zf.extractall(tmp)
                break
        else:
            return False
        replace_dir(tmp, target)
        return True
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _check_inside(root: Path, name: str, archive: Path) -> None:
    posix = PurePosixPath(name.replace("\\", "/"))
    if (
        posix.is_absolute()
        or ".." in posix.parts
        or not (root / posix).resolve().is_relative_to(root)
    ):
        raise ValueError(
            f"Refusing to extract {archive}: member {name!r} points outside the target folder."
        )


def get_file(
    fname: str | None = None,
    origin: str | None = None,
    untar: bool = False,
    md5_hash: str | None = None,
    file_hash: str | None = None,
    cache_subdir: str = "datasets",
    hash_algorithm: str = "auto",
    extract: bool = False,
    archive_format: str = "auto",
    cache_dir: str | os.PathLike[str] | None = None,
    force_download: bool = False,
) -> str:
    """Download a file into the cache unless it is already there (Keras's `get_file`).

    The cache is `cache_dir/cache_subdir`, with `cache_dir` defaulting to textrnn's cache folder
    (`$TEXTRNN_HOME`, else `~/.cache/textrnn`) where Keras uses `~/.keras`. The download goes to
    a temporary file in the same folder, renamed only once complete and, with `file_hash`, checked;
    a cached file whose hash does not match is downloaded again.

    Args:
        fname: the file's name in the cache; default the last part of `origin`'s path. A path
            with a folder is refused, as in Keras 3 (use `cache_dir`).
        origin: the URL (`https://`, `http://` or `file://`). Required.
        untar: Keras's old form of `extract=True, archive_format="tar"`.
        md5_hash: Keras's old form of `file_hash=..., hash_algorithm="md5"`.
        file_hash: the expected sha256 or md5 hex digest; None skips the check.
        cache_subdir: the folder under `cache_dir`, default `"datasets"`.
        hash_algorithm: `"auto"` (default: sha256 for a 64-digit hash, else md5), `"sha256"`,
            `"md5"`.
        extract: extract a tar or zip archive; then the path returned is the extraction folder
            (Keras 3's naming: `<fname up to its first dot>_extracted`, or `<fname>` when
            `fname` is not given or has no dot, the archive then saved as `<fname>_archive`).
        archive_format: `"auto"` (tar or zip), `"tar"` or `"zip"`.
        cache_dir: the cache root.
        force_download: download even if the file is cached.

    Returns:
        The path of the file (or of the extraction folder).

    Raises:
        ValueError: for a missing `origin`, a `fname` with a folder, a hash that does not match
            (Keras's "Incomplete or corrupted file detected"), or an unsafe archive member.
        OSError: when the download fails (Keras's "URL fetch failure on ...").

    Example:
        >>> path = get_file(origin="https://example.org/data/reviews.tar.gz", extract=True)
    """
    from textrnn import checks
    from textrnn.datasets.download import cache_home
    from textrnn.fileio import atomic_path

    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    checks.choice("hash_algorithm", hash_algorithm, ("auto", "sha256", "md5"))
    checks.choice("archive_format", archive_format, ("auto", "tar", "zip"))
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    datadir = Path(cache_dir).expanduser() if cache_dir is not None else cache_home()
    datadir = datadir / cache_subdir
    datadir.mkdir(parents=True, exist_ok=True)
    given = fname
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(
                f"Can't parse the file name from the origin provided: '{origin}'. "
                "Please specify the `fname` argument."
            )
    elif os.sep in fname or "/" in fname:
        raise ValueError(
            "Paths are no longer accepted as the `fname` argument. To specify the file's parent "
            f"directory, use the `cache_dir` argument. Received: fname={fname}"
        )
    extraction_dir: Path | None = None
    if extract or untar:
        if given and "." in fname:
            target = datadir / fname
            extraction_dir = datadir / f"{fname[: fname.find('.')]}_extracted"
        else:
            extraction_dir = datadir / fname
            target = datadir / f"{fname}_archive"
    else:
        target = datadir / fname

    download = force_download or not target.exists()
    if (
        not download
        and file_hash is not None
        and _hash_file(target, hash_algorithm, file_hash) != file_hash
    ):
        print(
            "A local file was found, but it seems to be incomplete or outdated because the "
            f"{hash_algorithm} file hash does not match the original value of {file_hash} so we "
            "will re-download the data."
        )
        download = True
    if download:
        print(f"Downloading data from {origin}")
        with atomic_path(target) as tmp:
            try:
                with urllib.request.urlopen(origin, timeout=60) as resp, open(tmp, "wb") as out:
                    while chunk := resp.read(_CHUNK):
                        out.write(chunk)
            except urllib.error.HTTPError as e:
                raise OSError(f"URL fetch failure on {origin}: {e.code} -- {e.msg}") from None
            except (urllib.error.URLError, OSError) as e:
                raise OSError(f"URL fetch failure on {origin}: {getattr(e, 'reason', e)}") from None
            if file_hash is not None and _hash_file(tmp, hash_algorithm, file_hash) != file_hash:
                raise ValueError(
                    f"Incomplete or corrupted file detected. The {hash_algorithm} file hash does "
                    f"not match the provided value of {file_hash}."
                )
    if extraction_dir is not None:
        if (download or not extraction_dir.exists()) and not _extract(
            target, extraction_dir, "tar" if untar else archive_format
        ):
            import warnings

            warnings.warn("Could not extract archive.", stacklevel=2)
        return str(extraction_dir)
    return str(target)
