"""IMDB sentiment classification dataset, with Keras's `imdb.load_data` conventions.

Unlike Keras, which downloads a pre-tokenised `imdb.npz`, textrnn builds the integers itself from the
raw Large Movie Review Dataset (Maas et al., 2011), so that raw text at prediction time can be
encoded the same way (`encode`, `textrnn.preprocessing.text.Vocabulary`).

Where the data comes from, first match wins:

1. the `path=` argument: the `aclImdb_v1.tar.gz` tarball (or any `.tar`/`.tar.gz` of the same
   layout), or an extracted folder that is `aclImdb/` or contains it;
2. the `TEXTRNN_IMDB` environment variable, the same kinds of path;
3. `<cache>/datasets/aclImdb_v1.tar.gz`, downloaded from `URL` when missing and checked against
   `SHA256`. `<cache>` is `$TEXTRNN_HOME`, else `~/.cache/textrnn`.

Keras's own `~/.keras/datasets/imdb.npz` is not a source: it stores pickled object arrays, which
textrnn never loads.

Order of the reviews before shuffling: negative reviews then positive ones (labels 0 then 1), each
sorted by the numeric id in the file name `<id>_<rating>.txt` (`0_3.txt`, `1_1.txt`, ...,
`10_2.txt`); the unlabelled reviews likewise, by id.

Caches (safe to delete) live in `<cache>/datasets/imdb/<key>/`, where `<key>` hashes the source's
path, size and modification time, the tokenizer version and the cache format: `tokens.npz` (the
frequency ranks of every token, flat int32 arrays with offsets and labels) and `texts-<subset>.npz`
(the raw texts as UTF-8). No pickle is used.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import re
import tarfile
import zlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from textrnn import checks
from textrnn.datasets import download
from textrnn.errors import DatasetError
from textrnn.preprocessing.text import TOKENIZER_VERSION, Vocabulary, tokenize

URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
"""Where the official tarball is downloaded from."""

SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
"""The official tarball's sha256; a download with another checksum is deleted."""

FILENAME = "aclImdb_v1.tar.gz"
SUBSETS = ("train", "test", "unsup")

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
    if p.suffix == ".npz":
        raise DatasetError(
            f"{p} looks like Keras's imdb.npz, which holds pickled arrays that textrnn does not load "
            f"(unpickling runs code). {_HOW_TO}"
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
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Loads the IMDB dataset (25,000 train and 25,000 test reviews) as Keras's `imdb.load_data`.

    Each review is a list of word indices. Words are ranked by how often they occur in the 25,000
    training reviews (tokenised with `textrnn.preprocessing.text.tokenize`; ties broken by the
    word), and a word of rank `r` is encoded as `r + index_from`. Index 0 is padding.

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
        path: the IMDB tarball or folder; None (default) uses `$TEXTRNN_IMDB`, else the cached
            or downloaded official tarball (see the module docstring).
        num_words: None (default) or a positive integer: only indices below it are kept.
        skip_top: indices below it become `oov_char`, default 0.
        maxlen: None (default) or a positive integer: keep only sequences shorter than it.
        seed: seed of the shuffle, default 113.
        start_char: index marking the start of each sequence, default 1; None for none.
        oov_char: index of out-of-vocabulary words, default 2; None to drop them.
        index_from: offset added to word ranks, default 3.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x are object arrays of lists of Python ints, y
        int64 arrays of labels (0 negative, 1 positive).

    Raises:
        DatasetError: if the data is missing, is not the IMDB dataset, or its download is
            corrupted; the message says how to fix it.
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


def get_word_index(path: str | os.PathLike[str] | None = None) -> dict[str, int]:
    """Word → frequency rank in the 25,000 training reviews ("the" is 1), as Keras's.

    Add `index_from` to a rank to get the integer `load_data` uses.

    Args:
        path: the IMDB source, as for `load_data`.

    Returns:
        The word index dict.

    Raises:
        DatasetError: if the data is missing or is not the IMDB dataset.

    Example:
        >>> get_word_index()["the"]
        1
    """
    return {w: r for r, w in enumerate(_tokens(_resolve(path)).words, start=1)}


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
) -> str:
    """Turns a sequence of `load_data` back into words ("[START]", "[OOV]"; padding skipped).

    Example:
        >>> decode([1, 6, 86, 21, 2])
        '[START] a great film [OOV]'
    """
    words = _tokens(_resolve(path)).words
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
