"""IMDB sentiment classification dataset, with Keras's `imdb.load_data` conventions.

Two sources of data:

- **Keras's own files**, `imdb.npz` (the reviews as ids) and `imdb_word_index.json`, as Keras 3
  downloads them into its cache folder. `load_data` then returns Keras's arrays: Keras's file goes
  through Keras 3's `load_data` steps one for one (checked against Keras 3.15.1 on a small file of
  Keras's format, tests/fixtures/keras/extra/), so with the real file `x_train[0]` begins
  `[1, 14, 22, 16, 43, 530, 973, ...]` (218 ids, label 1) and `get_word_index()["br"]` is 7. Those
  figures are Keras's documentation's and issue 11's: this project has no copy of the real file
  and has not seen them come out of it. The file holds pickled numpy object arrays; textrnn never
  unpickles it (`textrnn.datasets.keras_npz` reads the pickle opcodes and refuses anything but
  numpy's arrays of int lists, so a tampered file runs nothing). textrnn does not check the
  file's checksum (Keras does, and downloads it again on a mismatch), and never downloads it:
  run `keras.datasets.imdb.load_data()` once, or copy the two files, to have them.
- **The raw Large Movie Review Dataset** (Maas et al., 2011), from which textrnn builds the ids
  itself, so that raw text at prediction time is encoded the same way (`encode`,
  `textrnn.preprocessing.text.Vocabulary`). Same conventions and steps, but not Keras's data:
  other words (Keras's preprocessing of its file is not published), other ranks, another order of
  reviews, so `x_train[0]` is another review with other ids, and a model trained on one source's
  ids does not fit the other's.

Which one (`source=` of `load_data`, `get_word_index` and `decode`; `data_source()` tells):

- `source="auto"` (default), first match wins:
  1. the `path=` argument: Keras's `.npz` (any zip file), or a folder holding `imdb.npz` and no
     aclImdb layout, is Keras's; a tarball or aclImdb folder is the raw reviews. As in Keras, a
     bare file name (`path="imdb.npz"`) that is not in the current folder names a file in
     Keras's cache folder;
  2. the `TEXTRNN_IMDB` environment variable, the same kinds of path;
  3. Keras's cache, `keras_datasets_dir()/imdb.npz` (`$KERAS_HOME/datasets`, else
     `~/.keras/datasets`, with Keras's fallback to `/tmp/.keras` when not writable), if present;
  4. `<cache>/datasets/aclImdb_v1.tar.gz`, downloaded from `URL` when missing and checked against
     `SHA256`. `<cache>` is `$TEXTRNN_HOME`, else `~/.cache/textrnn`.
- `source="keras"`: Keras's file from `path=` (the file or its folder), `TEXTRNN_IMDB` or Keras's
  cache; an error if there is none.
- `source="raw"`: the raw reviews from 1, 2 or 4 (a Keras `.npz` is refused).

`get_word_index` reads the `imdb_word_index.json` beside the chosen `imdb.npz` (or `path=` the
`.json` itself). `encode`, `vocabulary`, `load_texts` and `extract` need texts, so they always
use the raw reviews: to encode new text for a model trained on Keras's arrays, use Keras's
`get_word_index()` (plus `index_from`) as with Keras.

Order of the reviews before shuffling: negative reviews then positive ones (labels 0 then 1), each
sorted by the numeric id in the file name `<id>_<rating>.txt` (`0_3.txt`, `1_1.txt`, ...,
`10_2.txt`); the unlabelled reviews likewise, by id.

Caches (safe to delete) live in `<cache>/datasets/imdb/<key>/`, where `<key>` hashes the source's
path, size and modification time, the tokenizer version and the cache format: `tokens.npz` (the
frequency ranks of every token, flat int32 arrays with offsets and labels) and `texts-<subset>.npz`
(the raw texts as UTF-8); for Keras's file, `keras.npz` (its ids as flat int arrays with lengths,
and its labels), since walking its pickle opcodes takes seconds. No pickle is used.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import os
import re
import tarfile
import tempfile
import zipfile
import zlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from textrnn import checks
from textrnn.datasets import download, keras_npz
from textrnn.errors import DatasetError
from textrnn.preprocessing.text import TOKENIZER_VERSION, Vocabulary, tokenize

URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
"""Where the official tarball is downloaded from."""

SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
"""The official tarball's sha256; a download with another checksum is deleted."""

FILENAME = "aclImdb_v1.tar.gz"
SUBSETS = ("train", "test", "unsup")
SOURCES = ("auto", "keras", "raw")
"""`source=` values: Keras's own files where present, Keras's files, or the raw reviews."""
KERAS_FILENAME = "imdb.npz"
KERAS_WORD_INDEX = "imdb_word_index.json"
_KERAS_ARRAYS = ("x_train", "y_train", "x_test", "y_test")
_MAX_JSON_BYTES = 256 << 20

_CACHE_FORMAT = 1
_CLASSES = {"train": (("neg", 0), ("pos", 1)), "test": (("neg", 0), ("pos", 1)), "unsup": (("unsup", -1),)}
_FOLDER = {"train": "train", "test": "test", "unsup": "train"}
_FILE_ID = re.compile(r"^(\d+)_(\d+)\.txt$")
_HOW_TO = (
    "Pass `path=` (or set TEXTRNN_IMDB to) the aclImdb_v1.tar.gz tarball or its extracted aclImdb folder, "
    "or leave both unset to download it."
)


@dataclass(frozen=True)
class _Source:
    kind: str  # "tar" or "dir"
    path: Path  # the tarball, or the aclImdb folder itself


# --------------------------------------------------------------------------------------- sources
def _resolve(path: str | os.PathLike[str] | None) -> _Source:
    if path is None:
        path = os.environ.get("TEXTRNN_IMDB") or None
    if path is None:
        tarball = download.datasets_dir() / FILENAME
        if not tarball.is_file():
            download.download(URL, tarball, SHA256, what="IMDB dataset", env_var="TEXTRNN_IMDB")
        return _Source("tar", tarball.resolve())
    p = Path(path).expanduser()
    if not p.exists():
        raise DatasetError(f"IMDB data not found at {p}. {_HOW_TO}")
    if p.is_dir():
        for root in (p, p / "aclImdb"):
            if (root / "train").is_dir() and (root / "test").is_dir():
                return _Source("dir", root.resolve())
        raise DatasetError(
            f"{p} is not an IMDB folder: expected train/ and test/ folders in it or in "
            f"{p / 'aclImdb'}. {_HOW_TO}"
        )
    if p.suffix == ".npz" or (p.is_file() and zipfile.is_zipfile(p)):
        raise DatasetError(
            f"{p} looks like Keras's imdb.npz (pickled arrays of ids, no texts). `load_data`, "
            "`get_word_index` and `decode` read it with source='keras' or 'auto' (never unpickling); "
            "`encode`, `vocabulary`, `load_texts` and `extract` need the raw reviews. " + _HOW_TO
        )
    try:
        is_tar = tarfile.is_tarfile(p)
    except (OSError, EOFError, zlib.error) as e:
        raise DatasetError(f"Could not read {p}: {e}. {_HOW_TO}") from e
    if not is_tar:
        raise DatasetError(f"{p} is neither a tar archive nor a folder. {_HOW_TO}")
    return _Source("tar", p.resolve())


def _source_key(src: _Source) -> str:
    """Identity of a source for the caches (its files' path, size and times) + tokenizer version."""
    ident: list[Any] = [_CACHE_FORMAT, TOKENIZER_VERSION, src.kind, str(src.path)]
    if src.kind == "tar":
        st = src.path.stat()
        ident += [st.st_size, st.st_mtime_ns]
    else:
        for folder in ("train/neg", "train/pos", "train/unsup", "test/neg", "test/pos"):
            d = src.path / folder
            ident.append(d.stat().st_mtime_ns if d.is_dir() else None)
    return hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:16]


def _cache_dir(src: _Source) -> Path:
    return download.datasets_dir() / "imdb" / _source_key(src)


# --------------------------------------------------------------------------------------- Keras's files
def keras_datasets_dir() -> Path:
    """The folder where Keras 3 keeps `imdb.npz`, resolved as Keras resolves it.

    `$KERAS_HOME` if set, else `~/.keras` (`/tmp/.keras` when the home folder is not writable);
    when that folder exists but is not writable, `/tmp/.keras`; then its `datasets/` sub-folder.
    Nothing is created.
    """
    if "KERAS_HOME" in os.environ:
        base = os.environ["KERAS_HOME"]
    else:
        home = os.path.expanduser("~")
        base = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    base = os.path.expanduser(base)
    # Keras creates the folder when it is imported and then falls back when it is not writable.
    if not base or (os.path.exists(base) and not os.access(base, os.W_OK)):
        base = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
    return Path(base) / "datasets"


def _keras_name(path: str | os.PathLike[str]) -> Path:
    """A path, or as in Keras a bare file name in Keras's cache folder when no such file is here."""
    p = Path(path).expanduser()
    if not p.exists() and p.name == str(path) and (keras_datasets_dir() / p.name).is_file():
        return keras_datasets_dir() / p.name
    return p


def _keras_file(path: str | os.PathLike[str] | None, source: str) -> Path | None:
    """Keras's `imdb.npz` to read, or None for the raw reviews (the documented rule)."""
    checks.choice("source", source, SOURCES)
    if source == "raw":
        return None
    given = path if path is not None else (os.environ.get("TEXTRNN_IMDB") or None)
    if given is not None:
        p = _keras_name(given)
        if source == "keras":
            p = p / KERAS_FILENAME if p.is_dir() else p
            if not p.is_file():
                raise DatasetError(
                    f"Keras's {KERAS_FILENAME} not found at {p}. Pass `path=` the file (or the folder "
                    "holding it), or source='raw' for the raw reviews."
                )
            return p
        if p.is_dir():
            raw = any((r / "train").is_dir() and (r / "test").is_dir() for r in (p, p / "aclImdb"))
            return p / KERAS_FILENAME if not raw and (p / KERAS_FILENAME).is_file() else None
        return p if p.is_file() and zipfile.is_zipfile(p) else None
    found = keras_datasets_dir() / KERAS_FILENAME
    if found.is_file():
        return found
    if source == "keras":
        raise DatasetError(
            f"Keras's {KERAS_FILENAME} not found in {found.parent} (Keras's cache: $KERAS_HOME/datasets "
            "or ~/.keras/datasets). Download it once with Keras's `keras.datasets.imdb.load_data()`, "
            "pass `path=` the file, or use source='raw' for the raw reviews."
        )
    return None


def data_source(path: str | os.PathLike[str] | None = None, source: str = "auto") -> tuple[str, Path]:
    """Which data `load_data(path, source=source)` reads, without reading or downloading it.

    Returns:
        `("keras", <imdb.npz>)`, or `("raw", <tarball or aclImdb folder>)` (for the default
        download: where the tarball is or will be).

    Raises:
        DatasetError: if the source is missing or not a dataset.
        ValueError: for an unknown `source`.

    Example:
        >>> data_source()
        ('raw', PosixPath('/home/me/.cache/textrnn/datasets/aclImdb_v1.tar.gz'))
    """
    npz = _keras_file(path, source)
    if npz is not None:
        return "keras", npz.resolve()
    given = path if path is not None else (os.environ.get("TEXTRNN_IMDB") or None)
    if given is None:
        return "raw", (download.datasets_dir() / FILENAME).resolve()
    return "raw", _resolve(given).path


def _keras_word_index_file(path: str | os.PathLike[str] | None, source: str) -> Path | None:
    if path is not None and source != "raw" and Path(path).suffix == ".json":
        return _keras_name(path)
    npz = _keras_file(path, source)
    return None if npz is None else npz.parent / KERAS_WORD_INDEX


def _read_keras_word_index(p: Path) -> dict[str, int]:
    fix = "Delete it and download Keras's own again (`keras.datasets.imdb.get_word_index()`)."
    if not p.is_file():
        raise DatasetError(
            f"Keras's word index {p} is missing (it goes with {KERAS_FILENAME} in the same folder). "
            "Download it once with `keras.datasets.imdb.get_word_index()`, or pass `path=` the "
            f"{KERAS_WORD_INDEX} file."
        )
    with open(p, "rb") as fh:
        raw = download.read_bounded(fh, _MAX_JSON_BYTES, str(p))
    try:
        index = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise DatasetError(f"{p} is not a JSON word index: {e}. {fix}") from e
    if not isinstance(index, dict):
        raise DatasetError(f"{p} is not a word index: a JSON {type(index).__name__}, not an object. {fix}")
    for word, rank in index.items():
        if type(rank) is not int:
            raise DatasetError(f"{p} is not a word index: {word!r} maps to {rank!r}, not an integer. {fix}")
    return index


def _keras_arrays(npz: Path) -> dict[str, np.ndarray]:
    """Keras's four arrays, from textrnn's flat int cache of that file or read and cached once."""
    st = npz.stat()
    ident = [_CACHE_FORMAT, "keras", str(npz.resolve()), st.st_size, st.st_mtime_ns]
    cache = download.datasets_dir() / "imdb" / hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:16]
    cached = download.load_npz(cache / "keras.npz")
    names = {f"{s}_{k}" for s in ("train", "test") for k in ("flat", "lengths", "labels")}
    if cached is not None and names <= set(cached):
        out = {}
        for split in ("train", "test"):
            out[f"x_{split}"] = _to_lists(cached[f"{split}_flat"], cached[f"{split}_lengths"])
            out[f"y_{split}"] = cached[f"{split}_labels"]
        return out
    arrays = _read_keras_arrays(npz)
    flat: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        x = arrays[f"x_{split}"]
        ids = np.fromiter(itertools.chain.from_iterable(x), dtype=np.int64)
        small = len(ids) == 0 or (ids.min() >= -(1 << 31) and ids.max() < (1 << 31))
        flat[f"{split}_flat"] = ids.astype(np.int32) if small else ids
        flat[f"{split}_lengths"] = np.fromiter(map(len, x), dtype=np.int64, count=len(x))
        flat[f"{split}_labels"] = arrays[f"y_{split}"]
    download.save_npz(cache / "keras.npz", flat)
    return arrays


def _read_keras_arrays(npz: Path) -> dict[str, np.ndarray]:
    arrays = keras_npz.load(npz, _KERAS_ARRAYS)
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != object or x.ndim != 1:
            raise DatasetError(
                f"{npz} is not Keras's {KERAS_FILENAME}: `x_{split}` is a {x.dtype} array of shape "
                f"{x.shape}, not an array of int lists."
            )
        if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
            raise DatasetError(
                f"{npz} is not Keras's {KERAS_FILENAME}: `y_{split}` is a {y.dtype} array of shape "
                f"{y.shape}, not one integer label per review of `x_{split}` ({len(x)})."
            )
    return arrays


def _keras_load_data(
    npz: Path,
    num_words: int | None,
    skip_top: int,
    maxlen: int | None,
    seed: int,
    start_char: int | None,
    oov_char: int | None,
    index_from: int,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Keras 3's `imdb.load_data` steps, one for one, on the arrays of Keras's file."""
    f = _keras_arrays(npz)
    x_train, labels_train = f["x_train"], f["y_train"]
    x_test, labels_test = f["x_test"], f["y_test"]

    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]

    if start_char is not None:
        train = [[start_char] + [w + index_from for w in x] for x in x_train]
        test = [[start_char] + [w + index_from for w in x] for x in x_test]
    else:
        train = [[w + index_from for w in x] for x in x_train]
        test = [[w + index_from for w in x] for x in x_test]

    y_train: Any = labels_train
    y_test: Any = labels_test
    if maxlen:
        # Keras keeps only the sequences strictly shorter than maxlen (start char included).
        y_train = [y for x, y in zip(train, labels_train, strict=True) if len(x) < maxlen]
        train = [x for x in train if len(x) < maxlen]
        y_test = [y for x, y in zip(test, labels_test, strict=True) if len(x) < maxlen]
        test = [x for x in test if len(x) < maxlen]
        if not train or not test:
            raise ValueError(
                f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. "
                "Increase maxlen."
            )
    xs = train + test
    labels = np.concatenate([y_train, y_test])
    if not num_words:
        # Keras's `max(max(x) for x in xs)`, which fails on an empty sequence: those are skipped.
        num_words = max((max(x) for x in xs if x), default=0)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    idx = len(train)
    # As Keras: np.array(..., dtype="object"), which is 2-D when every sequence has one length.
    x_train_out, x_test_out = np.array(xs[:idx], dtype="object"), np.array(xs[idx:], dtype="object")
    return (x_train_out, labels[:idx]), (x_test_out, labels[idx:])


# --------------------------------------------------------------------------------------- reading
def _file_key(name: str) -> tuple[int, int, str]:
    m = _FILE_ID.match(name)
    return (0, int(m.group(1)), name) if m else (1, 0, name)


def _where(parts: Sequence[str]) -> tuple[str, int] | None:
    """(subset, label) of a member path `.../<split>/<class>/<file>.txt`, or None."""
    if len(parts) < 3 or not parts[-1].endswith(".txt"):
        return None
    split, cls = parts[-3], parts[-2]
    if split == "train" and cls == "unsup":
        return "unsup", -1
    if split in ("train", "test") and cls in ("neg", "pos"):
        return split, int(cls == "pos")
    return None


def _read_texts(src: _Source, subsets: Sequence[str]) -> dict[str, tuple[list[str], np.ndarray]]:
    """Raw texts and labels of each requested subset, in the documented order."""
    found: dict[str, list[tuple[int, tuple[int, int, str], str]]] = {s: [] for s in subsets}
    if src.kind == "tar":
        try:
            with tarfile.open(src.path, "r|*") as tf:
                budget = download.SizeBudget(src.path)
                for member in tf:
                    # Streaming: keep no TarInfo of the members already read.
                    tf.members.clear()  # type: ignore[attr-defined]
                    budget.take(member.name, member.size)
                    name = download.check_member(member, src.path)
                    parts = name.split("/")
                    where = _where(parts) if member.isfile() else None
                    if where is None or where[0] not in found:
                        continue
                    if member.size > download.MAX_TEXT_BYTES:
                        raise DatasetError(
                            f"Refusing {src.path}: review {name!r} is {member.size} bytes, over "
                            f"the {download.MAX_TEXT_BYTES} allowed. Delete it and download the "
                            "official one."
                        )
                    f = tf.extractfile(member)
                    if f is None:
                        continue
                    what = f"{name} in {src.path}"
                    data = download.read_bounded(f, download.MAX_TEXT_BYTES, what)
                    found[where[0]].append((where[1], _file_key(parts[-1]), _decode(data, src.path, name)))
        except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
            raise DatasetError(
                f"Could not read {src.path}: {e}. The file is damaged or incomplete: delete it and download "
                f"it again."
            ) from e
    else:
        for subset in subsets:
            for cls, label in _CLASSES[subset]:
                folder = src.path / _FOLDER[subset] / cls
                if not folder.is_dir():
                    raise DatasetError(
                        f"{src.path} is not a complete IMDB folder: {folder} is missing. {_HOW_TO}"
                    )
                for entry in os.scandir(folder):
                    if entry.name.endswith(".txt") and entry.is_file():
                        with open(entry.path, "rb") as fh:
                            raw = download.read_bounded(fh, download.MAX_TEXT_BYTES, entry.path)
                            text = _decode(raw, src.path, entry.path)
                        found[subset].append((label, _file_key(entry.name), text))
    out: dict[str, tuple[list[str], np.ndarray]] = {}
    for subset, items in found.items():
        if not items:
            where_ = "train/unsup" if subset == "unsup" else f"{subset}/pos, {subset}/neg"
            raise DatasetError(
                f"No {subset} reviews ({where_}/*.txt) in {src.path}: not the IMDB dataset. {_HOW_TO}"
            )
        items.sort(key=lambda it: (it[0], it[1]))
        out[subset] = ([it[2] for it in items], np.array([it[0] for it in items], dtype=np.int64))
    return out


def _decode(data: bytes, source: Path, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DatasetError(
            f"{name} in {source} is not UTF-8 text ({e}). Delete it and download it again."
        ) from e


def _texts(src: _Source, subsets: Sequence[str]) -> dict[str, tuple[list[str], np.ndarray]]:
    """Texts of the subsets, from the text cache where present, the rest read once and cached."""
    cache = _cache_dir(src)
    out: dict[str, tuple[list[str], np.ndarray]] = {}
    for subset in subsets:
        arrays = download.load_npz(cache / f"texts-{subset}.npz")
        if arrays is not None and {"blob", "offsets", "labels"} <= set(arrays):
            whole = arrays["blob"].tobytes().decode("utf-8")
            off = arrays["offsets"].tolist()
            texts = [whole[a:b] for a, b in zip(off[:-1], off[1:], strict=True)]
            out[subset] = (texts, arrays["labels"].astype(np.int64))
    missing = [s for s in subsets if s not in out]
    if missing:
        read = _read_texts(src, missing)
        for subset in missing:
            texts, labels = read[subset]
            lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
            download.save_npz(
                cache / f"texts-{subset}.npz",
                {
                    "blob": np.frombuffer("".join(texts).encode("utf-8"), dtype=np.uint8),
                    "offsets": np.concatenate(([0], np.cumsum(lengths))),  # character offsets
                    "labels": labels.astype(np.int8),
                },
            )
            out[subset] = (texts, labels)
    return out


# --------------------------------------------------------------------------------------- tokens
@dataclass
class _Tokens:
    words: list[str]  # rank order, rank 1 first
    ranks: dict[str, np.ndarray]  # subset -> flat int32 ranks, 0 for a word unseen in training
    offsets: dict[str, np.ndarray]  # subset -> (n + 1,) int64
    labels: dict[str, np.ndarray]


def _tokens(src: _Source) -> _Tokens:
    """Frequency ranks of every token of train and test, from `tokens.npz` or built and cached."""
    path = _cache_dir(src) / "tokens.npz"
    arrays = download.load_npz(path)
    names = {"words", *(f"{s}_{k}" for s in ("train", "test") for k in ("ranks", "offsets", "labels"))}
    if arrays is not None and names <= set(arrays):
        blob = arrays["words"].tobytes().decode("utf-8")
        return _Tokens(
            words=blob.split("\n") if blob else [],
            ranks={s: arrays[f"{s}_ranks"] for s in ("train", "test")},
            offsets={s: arrays[f"{s}_offsets"].astype(np.int64) for s in ("train", "test")},
            labels={s: arrays[f"{s}_labels"].astype(np.int64) for s in ("train", "test")},
        )
    tokens = _build_tokens(_texts(src, ("train", "test")))
    download.save_npz(
        path,
        {
            # Tokens never hold "\n" (tokenize splits on it), so it can separate them.
            "words": np.frombuffer("\n".join(tokens.words).encode("utf-8"), dtype=np.uint8),
            **{f"{s}_ranks": tokens.ranks[s] for s in ("train", "test")},
            **{f"{s}_offsets": tokens.offsets[s] for s in ("train", "test")},
            **{f"{s}_labels": tokens.labels[s].astype(np.int8) for s in ("train", "test")},
        },
    )
    return tokens


def _build_tokens(texts: dict[str, tuple[list[str], np.ndarray]]) -> _Tokens:
    ids: dict[str, int] = {}  # word -> provisional id in order of first appearance
    setdefault = ids.setdefault
    train_ids = array("i")
    train_off = [0]
    for text in texts["train"][0]:
        train_ids.extend([setdefault(w, len(ids)) for w in tokenize(text)])
        train_off.append(len(train_ids))
    provisional = list(ids)
    counts = np.bincount(np.frombuffer(train_ids, dtype=np.int32), minlength=len(provisional)).tolist()
    # Rank by count, ties by the word itself: the same order as `Vocabulary.build`.
    order = sorted(range(len(provisional)), key=lambda i: (-counts[i], provisional[i]))
    rank_of = np.zeros(len(provisional) + 1, dtype=np.int32)  # last slot: unseen words -> rank 0
    rank_of[np.array(order, dtype=np.int64)] = np.arange(1, len(order) + 1, dtype=np.int32)
    get = ids.get
    test_ids = array("i")
    test_off = [0]
    for text in texts["test"][0]:
        test_ids.extend([get(w, -1) for w in tokenize(text)])
        test_off.append(len(test_ids))
    return _Tokens(
        words=[provisional[i] for i in order],
        ranks={
            "train": rank_of[np.frombuffer(train_ids, dtype=np.int32)],
            "test": rank_of[np.frombuffer(test_ids, dtype=np.int32)],  # -1 hits the last slot
        },
        offsets={"train": np.array(train_off, dtype=np.int64), "test": np.array(test_off, dtype=np.int64)},
        labels={"train": texts["train"][1], "test": texts["test"][1]},
    )


# --------------------------------------------------------------------------------------- arrays
def _gather(flat: np.ndarray, lengths: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sequences `order` of a flat array (given per-sequence lengths), end to end."""
    starts = np.cumsum(lengths) - lengths
    lens = lengths[order]
    pos = np.repeat(starts[order] - (np.cumsum(lens) - lens), lens) + np.arange(int(lens.sum()))
    return flat[pos], lens


def _drop(flat: np.ndarray, lengths: np.ndarray, drop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove the items where `drop` is True, keeping per-sequence lengths right."""
    seq = np.repeat(np.arange(len(lengths)), lengths)
    return flat[~drop], lengths - np.bincount(seq[drop], minlength=len(lengths))


def _to_lists(flat: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Object array of Python int lists, as Keras returns."""
    chunks = np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []
    # 25,000 new lists would trigger the cyclic GC over and over; they hold only ints.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return np.fromiter((c.tolist() for c in chunks), dtype=object, count=len(lengths))
    finally:
        if was_enabled:
            gc.enable()


# --------------------------------------------------------------------------------------- public API
def load_data(
    path: str | os.PathLike[str] | None = None,
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
    *,
    source: str = "auto",
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Loads the IMDB dataset (25,000 train and 25,000 test reviews) as Keras's `imdb.load_data`.

    Which data (`source`, see the module docstring for the whole rule): with the default "auto",
    Keras's own `imdb.npz` when `path=` (or `$TEXTRNN_IMDB`) is that file, or when no path is given
    and Keras's cache folder (`keras_datasets_dir()`) holds it; the raw reviews otherwise.
    "keras" insists on Keras's file, "raw" on the raw reviews. `data_source()` says which is used.

    From Keras's `imdb.npz` the result is Keras 3's own: its arrays (read without unpickling, see
    `textrnn.datasets.keras_npz`) go through Keras's steps one for one, so `x_train[0]` begins
    `[1, 14, 22, 16, 43, 530, 973, ...]`. The x arrays are built as Keras builds them,
    `np.array(lists, dtype="object")`: 2-D when every kept sequence has the same length.

    From the raw reviews, each review is a list of word indices. Words are ranked by how often
    they occur in the 25,000 training reviews (tokenised with `textrnn.preprocessing.text.tokenize`;
    ties broken by the word), and a word of rank `r` is encoded as `r + index_from`. Index 0 is padding.

    The steps, in Keras's order: each split is shuffled with one `np.random.RandomState(seed)`
    (train indices first, then test); `start_char` is prepended and `index_from` added; `maxlen`
    filtering; then every index outside `skip_top <= index < num_words` (the start char included)
    becomes `oov_char`, or is dropped when `oov_char` is None.

    Two Keras behaviours are kept on purpose: `maxlen` keeps only sequences strictly *shorter*
    than `maxlen` (the start char counted), although Keras's docstring speaks of truncation; and
    with `num_words=None`, `num_words` becomes the largest index present, so that one rarest word
    becomes `oov_char`. One difference: test words never seen in training become `oov_char` (Keras's
    pre-built data simply leaves them out); with `oov_char=None` they are left out too.

    Args:
        path: Keras's `imdb.npz`, or the IMDB tarball or folder; None (default) uses
            `$TEXTRNN_IMDB`, else Keras's cached `imdb.npz`, else the cached or downloaded official
            tarball (see the module docstring).
        num_words: None (default) or a positive integer: only indices below it are kept.
        skip_top: indices below it become `oov_char`, default 0.
        maxlen: None (default) or a positive integer: keep only sequences shorter than it.
        seed: seed of the shuffle, default 113.
        start_char: index marking the start of each sequence, default 1; None for none.
        oov_char: index of out-of-vocabulary words, default 2; None to drop them.
        index_from: offset added to word ranks, default 3.
        source: "auto" (default), "keras" or "raw": see above.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x are object arrays of lists of Python ints, y
        integer arrays of labels (0 negative, 1 positive): int64 from the raw reviews, the file's
        dtype from Keras's file.

    Raises:
        DatasetError: if the data is missing, is not the IMDB dataset, its download is corrupted,
            or Keras's file holds anything but numpy's arrays of int lists (nothing in it is run);
            the message says how to fix it.
        ValueError: for a bad argument, or if `maxlen` keeps no sequence of a split.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data(num_words=10000)
        >>> x_train.shape, y_train.shape, x_train[0][:1]
        ((25000,), (25000,), [1])
    """
    num_words = checks.optional_positive_int("num_words", num_words)
    skip_top = checks.non_negative_int("skip_top", skip_top)
    maxlen = checks.optional_positive_int("maxlen", maxlen)
    start_char = checks.optional_non_negative_int("start_char", start_char)
    oov_char = checks.optional_non_negative_int("oov_char", oov_char)
    index_from = checks.non_negative_int("index_from", index_from)
    npz = _keras_file(path, source)
    if npz is not None:
        return _keras_load_data(npz, num_words, skip_top, maxlen, seed, start_char, oov_char, index_from)
    tokens = _tokens(_resolve(path))

    rng = np.random.RandomState(seed)
    splits: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for subset in ("train", "test"):
        lengths = np.diff(tokens.offsets[subset])
        order = np.arange(len(lengths))
        rng.shuffle(order)
        ranks, lens = _gather(tokens.ranks[subset], lengths, order)
        flat = ranks.astype(np.int64) + index_from
        unseen = ranks == 0
        if oov_char is None:
            flat, lens = _drop(flat, lens, unseen)
        else:
            flat[unseen] = oov_char
        if start_char is not None:
            # Room for one start char in front of every sequence.
            heads = np.cumsum(lens + 1) - (lens + 1)
            with_start = np.empty(len(flat) + len(lens), dtype=np.int64)
            body = np.ones(len(with_start), dtype=bool)
            body[heads] = False
            with_start[heads] = start_char
            with_start[body] = flat
            flat, lens = with_start, lens + 1
        labels = tokens.labels[subset][order]
        if maxlen:
            keep = np.flatnonzero(lens < maxlen)
            flat, lens = _gather(flat, lens, keep)
            labels = labels[keep]
        splits.append((flat, lens, labels))
    if maxlen and (len(splits[0][1]) == 0 or len(splits[1][1]) == 0):
        raise ValueError(
            f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. "
            "Increase maxlen."
        )

    if not num_words:
        num_words = max((int(f.max()) for f, _, _ in splits if len(f)), default=0)
    out = []
    for flat, lens, labels in splits:
        outside = (flat < skip_top) | (flat >= num_words)
        if oov_char is None:
            flat, lens = _drop(flat, lens, outside)
        else:
            flat = np.where(outside, oov_char, flat)
        out.append((_to_lists(flat, lens), labels))
    return out[0], out[1]


def get_word_index(path: str | os.PathLike[str] | None = None, *, source: str = "auto") -> dict[str, int]:
    """Word → frequency rank ("the" is 1), from the same source as `load_data(path, source=source)`.

    From Keras's files it is Keras's `imdb_word_index.json` as it is (the one beside the
    `imdb.npz` that `load_data` reads; `path=` may also name the `.json` itself), where "br" is 7.
    From the raw reviews it is the rank in the 25,000 training reviews. Either way, add
    `index_from` to a rank to get the integer `load_data` uses, as with Keras.

    Args:
        path: the IMDB source, as for `load_data`, or Keras's `imdb_word_index.json`.
        source: "auto" (default), "keras" or "raw", as for `load_data`.

    Returns:
        The word index dict.

    Raises:
        DatasetError: if the data is missing or is not the IMDB dataset.

    Example:
        >>> get_word_index()["the"]
        1
    """
    json_file = _keras_word_index_file(path, source)
    if json_file is not None:
        return _read_keras_word_index(json_file)
    return {w: r for r, w in enumerate(_tokens(_resolve(path)).words, start=1)}


def _keras_words(json_file: Path) -> list[str]:
    """Keras's words in rank order (ranks must run 1, 2, ..., n)."""
    index = _read_keras_word_index(json_file)
    words = sorted(index, key=index.__getitem__)
    if [index[w] for w in words] != list(range(1, len(words) + 1)):
        raise DatasetError(
            f"{json_file} is not Keras's word index: its ranks do not run 1, 2, ..., {len(words)}. "
            "Delete it and download Keras's own again."
        )
    return words


def vocabulary(
    path: str | os.PathLike[str] | None = None,
    *,
    num_words: int | None = None,
    skip_top: int = 0,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
) -> Vocabulary:
    """The IMDB `Vocabulary` with these conventions: the one to save with a model trained on
    `load_data(...)` with the same arguments.

    With `num_words=None` it applies Keras's rule as `load_data` does without `maxlen`: `num_words`
    becomes the largest index (`len(words) + index_from`), so the rarest word encodes as `oov_char`.

    Raises:
        DatasetError: if the data is missing or is not the IMDB dataset.
        ValueError: for a bad convention.
    """
    words = _tokens(_resolve(path)).words
    if not num_words:
        num_words = max(len(words) + index_from if words else 0, start_char or 0, 1)
    return Vocabulary(
        words,
        num_words=num_words,
        skip_top=skip_top,
        start_char=start_char,
        oov_char=oov_char,
        index_from=index_from,
    )


def encode(
    texts: Iterable[str],
    num_words: int | None = None,
    skip_top: int = 0,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
    path: str | os.PathLike[str] | None = None,
) -> list[list[int]]:
    """Encodes raw texts exactly as `load_data` encodes reviews with the same arguments.

    Args:
        texts: list of raw texts (`<br />` tags and punctuation are fine).
        num_words, skip_top, start_char, oov_char, index_from: as for `load_data`.
        path: the IMDB source, as for `load_data`.

    Returns:
        One list of ints per text.

    Raises:
        DatasetError: if the data is missing or is not the IMDB dataset.
        TypeError: if `texts` is a single string.

    Example:
        >>> encode(["A great film!"], num_words=10000)
        [[1, 6, 86, 21]]
    """
    vocab = vocabulary(
        path,
        num_words=num_words,
        skip_top=skip_top,
        start_char=start_char,
        oov_char=oov_char,
        index_from=index_from,
    )
    return vocab.encode(texts)


def decode(
    sequence: Iterable[int],
    index_from: int = 3,
    path: str | os.PathLike[str] | None = None,
    *,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    source: str = "auto",
) -> str:
    """Turns a sequence of `load_data` back into words ("[START]", "[OOV]"; padding skipped),
    with the word index of the same source (`source` and `path` as for `load_data`).

    Example:
        >>> decode([1, 6, 86, 21, 2])
        '[START] a great film [OOV]'
    """
    json_file = _keras_word_index_file(path, source)
    words = _keras_words(json_file) if json_file is not None else _tokens(_resolve(path)).words
    return Vocabulary(words, start_char=start_char, oov_char=oov_char, index_from=index_from).decode(sequence)


def load_texts(
    path: str | os.PathLike[str] | None = None, subset: str = "train"
) -> tuple[list[str], np.ndarray]:
    """The raw reviews of one subset, in `load_data`'s order before shuffling.

    Args:
        path: the IMDB source, as for `load_data`.
        subset: "train" (default), "test" (25,000 each) or "unsup" (50,000 unlabelled reviews).

    Returns:
        `(texts, labels)`: a list of strings and an int64 array (0 negative, 1 positive, -1 for
        "unsup").

    Raises:
        ValueError: for an unknown `subset`.
        DatasetError: if the data is missing or is not the IMDB dataset.

    Example:
        >>> texts, labels = load_texts(subset="test")
        >>> len(texts), labels[:3]
        (25000, array([0, 0, 0]))
    """
    checks.choice("subset", subset, SUBSETS)
    return _texts(_resolve(path), (subset,))[subset]


def extract(path: str | os.PathLike[str] | None = None) -> Path:
    """The extracted `aclImdb` folder (class folders `train/pos`, `train/neg`, ...), extracting the
    tarball safely into the cache if needed: links and members leaving the folder are refused.

    Raises:
        DatasetError: if the data is missing, not the IMDB dataset, or the archive is unsafe.
    """
    src = _resolve(path)
    if src.kind == "dir":
        return src.path
    target = download.safe_extract(src.path, _cache_dir(src) / "extracted")
    inner = target / "aclImdb"
    return inner if inner.is_dir() else target
