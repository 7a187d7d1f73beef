"""Keras's `keras.utils` helpers under the same names: `pad_sequences`, `set_random_seed`,
`to_categorical`, `get_file`, `text_dataset_from_directory`."""

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

__all__ = [
    "TextDataset",
    "get_file",
    "pad_sequences",
    "set_random_seed",
    "text_dataset_from_directory",
    "to_categorical",
]

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
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(file_hash) == 64):
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
                                f"Refusing to extract {archive}: member {m.name!r} is not a plain file."
                            )
                        _check_inside(root, m.name, archive)
                    kwargs: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
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
    if posix.is_absolute() or ".." in posix.parts or not (root / posix).resolve().is_relative_to(root):
        raise ValueError(f"Refusing to extract {archive}: member {name!r} points outside the target folder.")


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
    if not download and file_hash is not None and _hash_file(target, hash_algorithm, file_hash) != file_hash:
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


# ----------------------------------------------------------------------------- text datasets
class TextDataset:
    """Batches of `(texts, labels)` read from text files, as `text_dataset_from_directory`
    returns them: iterate it (or pass it to `fit` / `evaluate` / `predict` / `adapt`).

    Each batch is `(texts, labels)`: a NumPy array of str and the labels (int32 `(batch,)`,
    float32 `(batch, 1)` for `"binary"`, float32 one-hot for `"categorical"`), or the texts
    alone when there are no labels. With `shuffle`, every pass draws a new order from `seed`.

    Attributes:
        class_names: the class names, in label order (None without labels).
        file_paths: the files, in the order of the first pass.
    """

    def __init__(
        self,
        file_paths: list[str],
        labels: np.ndarray | None,
        class_names: list[str] | None,
        label_mode: str | None,
        batch_size: int | None,
        max_length: int | None,
        shuffle: bool,
        seed: int | None,
        transforms: tuple[Any, ...] = (),
    ) -> None:
        self.file_paths = list(file_paths)
        self.class_names = class_names
        self._labels = labels
        self._label_mode = label_mode
        self._batch_size = batch_size
        self._max_length = max_length
        self._shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._transforms = transforms
        self._first = True

    def __len__(self) -> int:
        """Batches per pass (samples when `batch_size=None`)."""
        n = len(self.file_paths)
        return n if self._batch_size is None else -(-n // self._batch_size)

    def _read(self, path: str) -> str:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        return text if self._max_length is None else text[: self._max_length]

    def _targets(self, idx: np.ndarray) -> np.ndarray | None:
        if self._labels is None:
            return None
        labels = self._labels[idx]
        if self._label_mode == "binary":
            return labels.astype(np.float32).reshape(-1, 1)
        if self._label_mode == "categorical":
            assert self.class_names is not None
            return np.eye(len(self.class_names), dtype=np.float32)[labels]
        return labels.astype(np.int32)

    def __iter__(self) -> Any:
        n = len(self.file_paths)
        order = np.arange(n)
        if self._shuffle and not self._first:
            order = self._rng.permutation(n)
        self._first = False
        size = self._batch_size or 1
        for start in range(0, n, size):
            idx = order[start : start + size]
            texts = np.array([self._read(self.file_paths[i]) for i in idx], dtype=str)
            labels = self._targets(idx)
            batch: Any = texts if labels is None else (texts, labels)
            if self._batch_size is None:
                batch = texts[0] if labels is None else (texts[0], labels[0])
            for fn in self._transforms:
                batch = fn(*batch) if isinstance(batch, tuple) else fn(batch)
            yield batch

    def map(self, fn: Any) -> TextDataset:
        """A dataset whose batches are `fn(texts, labels)` (or `fn(texts)`), as `tf.data`'s
        `map`: e.g. `dataset.map(lambda x, y: x)` for `adapt`."""
        twin = TextDataset(
            self.file_paths,
            self._labels,
            self.class_names,
            self._label_mode,
            self._batch_size,
            self._max_length,
            self._shuffle,
            None,
            (*self._transforms, fn),
        )
        twin._rng = self._rng
        return twin

    def take(self, count: int) -> list[Any]:
        """The first `count` batches of a pass, as a list."""
        out = []
        for i, batch in enumerate(self):
            if i >= count:
                break
            out.append(batch)
        return out


def text_dataset_from_directory(
    directory: str | os.PathLike[str],
    labels: Any = "inferred",
    label_mode: str | None = "int",
    class_names: list[str] | None = None,
    batch_size: int | None = 32,
    max_length: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    follow_links: bool = False,
    verbose: bool = True,
) -> Any:
    """Batches of `(texts, labels)` from `.txt` files in class subfolders (Keras's function).

    `directory/class_a/*.txt`, `directory/class_b/*.txt`: classes are the subfolders in
    alphanumeric order (or `class_names`). Files are listed as Keras lists them (sorted per
    class folder, recursively) and, with `shuffle`, shuffled with NumPy's `RandomState(seed)`
    as Keras does, so `validation_split` with the same `seed` picks the same files as Keras.
    Later passes reshuffle from `seed` (Keras reshuffles with `tf.data`'s buffer instead).

    Args:
        directory: the folder of class subfolders.
        labels: `"inferred"` (from the subfolders), None (texts only), or a list of integer
            labels, one per file in the sorted order of the files.
        label_mode: `"int"`, `"categorical"` (one-hot), `"binary"` (0/1 float, 2 classes), None.
        class_names: with `labels="inferred"`, the subfolders to use, in label order.
        batch_size: texts per batch, default 32; None yields one `(text, label)` at a time.
        max_length: keep at most this many characters of each text (Keras counts bytes; the
            same on ASCII text).
        shuffle: shuffle the files (default True); False keeps them sorted.
        seed: the shuffle's seed (required with `validation_split` and shuffling).
        validation_split: fraction of the files held out, the last ones after shuffling.
        subset: `"training"`, `"validation"` or `"both"` (a tuple of two datasets), with
            `validation_split`.
        follow_links: follow symbolic links to subfolders.
        verbose: print how many files and classes were found.

    Returns:
        A `TextDataset` (with `class_names`), or two with `subset="both"`.

    Example:
        >>> train = text_dataset_from_directory("aclImdb/train", batch_size=32,
        ...                                     validation_split=0.2, subset="training", seed=1)
        >>> train.class_names
        ['neg', 'pos']
    """
    from textrnn import checks

    root = Path(directory)
    if not root.is_dir():
        raise ValueError(f"Could not find directory {str(directory)!r}.")
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple)):
        raise ValueError(
            "`labels` argument should be a list/tuple of integer labels, of the same size as "
            "the number of text files in the target directory. If you wish to infer the labels "
            'from the subdirectory names in the target directory, pass `labels="inferred"`. If '
            "you wish to get a dataset that only contains text samples (no labels), pass "
            "`labels=None`."
        )
    if class_names is not None and labels != "inferred":
        raise ValueError(
            'You can only pass `class_names` if `labels="inferred"`. '
            f"Received: labels={labels}, and class_names={class_names}"
        )
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(
            '`label_mode` argument must be one of "int", "categorical", "binary", or None. '
            f"Received: label_mode={label_mode}"
        )
    if batch_size is not None:
        checks.positive_int("batch_size", batch_size)
    checks.optional_positive_int("max_length", max_length)
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if validation_split is not None:
        checks.number_in("validation_split", validation_split, 0.0, 1.0, low_open=True, high_open=True)
        if subset not in ("training", "validation", "both"):
            raise ValueError(
                '`subset` must be either "training", "validation" or "both", when '
                f"`validation_split` is set. Received: subset={subset}"
            )
        if shuffle and seed is None:
            raise ValueError(
                "If using `validation_split` and shuffling the data, you must provide a `seed` "
                "argument, to make sure that there is no overlap between the training and "
                "validation subset."
            )
    elif subset is not None:
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")

    subdirs = sorted(p.name for p in root.iterdir() if p.is_dir())
    if class_names is not None:
        if sorted(class_names) != sorted(subdirs) and set(class_names) - set(subdirs):
            raise ValueError(
                "The `class_names` passed did not match the names of the subdirectories of the "
                f"target directory. Expected: {subdirs} (or a subset of it), but received: "
                f"class_names={class_names}"
            )
        names = list(class_names)
    else:
        names = subdirs
    files: list[str] = []
    found: list[int] = []
    if labels == "inferred":
        for index, name in enumerate(names):
            for path in _text_files(root / name, follow_links):
                files.append(str(path))
                found.append(index)
    else:
        files = [str(p) for p in _text_files(root, follow_links)]
        names = subdirs
    label_array: np.ndarray | None = None
    if labels == "inferred":
        label_array = np.array(found, dtype=np.int32)
    elif labels is not None:
        if len(labels) != len(files):
            raise ValueError(
                "Expected the lengths of `labels` to match the number of files in the target "
                f"directory. len(labels) is {len(labels)} while we found {len(files)} files in "
                f"directory {directory}."
            )
        label_array = np.asarray(labels, dtype=np.int32)
        names = [str(v) for v in sorted(set(labels))]
    if verbose:
        if label_array is None:
            print(f"Found {len(files)} files.")
        else:
            print(f"Found {len(files)} files belonging to {len(names)} classes.")
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(
            'When passing `label_mode="binary"`, there must be exactly 2 class_names. '
            f"Received: class_names={names}"
        )
    if shuffle:
        if seed is None:
            seed = int(np.random.randint(1_000_000))
        np.random.RandomState(seed).shuffle(files)
        if label_array is not None:
            np.random.RandomState(seed).shuffle(label_array)
    out_names = names if label_array is not None else None

    def dataset(paths: list[str], labs: np.ndarray | None, what: str) -> TextDataset:
        if not paths:
            raise ValueError(f"No {what}text files found in directory {directory}. Allowed format: .txt")
        return TextDataset(paths, labs, out_names, label_mode, batch_size, max_length, shuffle, seed)

    if validation_split is None:
        return dataset(files, label_array, "")
    num_val = int(validation_split * len(files))
    train_files, val_files = files[: len(files) - num_val], files[len(files) - num_val :]
    train_labels = val_labels = None
    if label_array is not None:
        train_labels = label_array[: len(files) - num_val]
        val_labels = label_array[len(files) - num_val :]
    if subset in ("training", "both") and verbose:
        print(f"Using {len(train_files)} files for training.")
    if subset in ("validation", "both") and verbose:
        print(f"Using {len(val_files)} files for validation.")
    if subset == "training":
        return dataset(train_files, train_labels, "training ")
    if subset == "validation":
        return dataset(val_files, val_labels, "validation ")
    return (dataset(train_files, train_labels, "training "), dataset(val_files, val_labels, "validation "))


def _text_files(folder: Path, follow_links: bool) -> list[Path]:
    """`.txt` files under `folder`, in Keras's order: folders by path, files sorted in each."""
    walk = sorted(os.walk(folder, followlinks=follow_links), key=lambda entry: entry[0])
    return [
        Path(root) / name
        for root, _, names in walk
        for name in sorted(names)
        if name.lower().endswith(".txt")
    ]
