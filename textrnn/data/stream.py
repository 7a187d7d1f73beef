"""Labelled texts larger than memory: streamed from shards into memory-mapped token arrays.

A dataset is one large file or a folder of shards (`*.csv`, `*.tsv`, `*.jsonl`, `*.parquet`,
in name order). It is read in two streamed passes, never holding its texts:

1. `scan` counts the words (the vocabulary, in one pass), the labels and the rows;
2. `encode_to_disk` encodes each chunk of texts with that vocabulary, pads or cuts it to
   `maxlen` as `pad_sequences` does (Keras's `pre`), and writes it into `tokens.npy`, an int32
   `(texts, maxlen)` array, and the labels into `labels.npy`.

`load_encoded` opens them memory-mapped: `fit` takes the token array as it is (int32, no copy),
so a process's own memory stays bounded by the chunk size, the vocabulary and the batches,
whatever the data's size; the operating system pages the token file in and out. `encode_split`
(the streamed runs') writes the labels, and the test rows' positions, to mapped files too.

CSV / TSV and JSON Lines are read line by line with the standard library; Parquet row group by
row group with pyarrow (`pyarrow.parquet.ParquetFile.iter_batches`).
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from textrnn import checks
from textrnn.data.labels import normalize_label
from textrnn.errors import DatasetError
from textrnn.fileio import new_temp_dir, remove_paths, replace_dir, write_json_atomic
from textrnn.preprocessing.sequence import pad_sequences
from textrnn.preprocessing.text import Vocabulary, tokenize

SHARD_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".parquet": "parquet"}
CHUNK_ROWS = 8192
TOKENS, LABELS, META = "tokens.npy", "labels.npy", "encoded.json"

Chunk = tuple[list[str], list[str]]


def shard_paths(path: str | os.PathLike[str]) -> list[Path]:
    """The shards of `path`: the file itself, or a folder's data files in name order.

    Raises:
        DatasetError: if `path` is missing or a folder holds no data file.
    """
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise DatasetError(f"`{p}` does not exist: pass a data file or a folder of shards.")
    shards = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in SHARD_FORMATS)
    if not shards:
        raise DatasetError(f"`{p}` holds no .csv, .tsv, .jsonl or .parquet shard. Put the data files in it.")
    return shards


def _format(path: Path) -> str:
    fmt = SHARD_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DatasetError(
            f"Cannot tell the format of `{path}` from its extension; expected one of "
            f"{', '.join(SHARD_FORMATS)}."
        )
    return fmt


def _delimited(path: Path, fmt: str, text: str, label: str, encoding: str) -> Iterator[Chunk]:
    with open(path, encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter="\t" if fmt == "tsv" else ",")
        header = next(reader, None)
        if header is None or text not in header or label not in header:
            raise DatasetError(
                f"`{path}` needs the columns `{text}` and `{label}` in its header, got "
                f"{header}. Pass --text-column / --label-column."
            )
        ti, li = header.index(text), header.index(label)
        texts: list[str] = []
        labels: list[str] = []
        for n, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                texts.append(row[ti])
                labels.append(_label(row[li], path, n))
            except IndexError:
                raise DatasetError(
                    f"Line {n} of `{path}` has {len(row)} fields, fewer than its header."
                ) from None
            if len(texts) == CHUNK_ROWS:
                yield texts, labels
                texts, labels = [], []
        if texts:
            yield texts, labels


def _jsonl(path: Path, text: str, label: str, encoding: str) -> Iterator[Chunk]:
    texts: list[str] = []
    labels: list[str] = []
    with open(path, encoding=encoding) as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                value, raw = record[text], record[label]
            except (ValueError, KeyError, TypeError):
                raise DatasetError(
                    f"Line {n} of `{path}` is not a JSON object with `{text}` and `{label}`."
                ) from None
            texts.append(str(value))
            labels.append(_label(raw, path, n))
            if len(texts) == CHUNK_ROWS:
                yield texts, labels
                texts, labels = [], []
    if texts:
        yield texts, labels


def _label(value: object, path: Path, n: int) -> str:
    try:
        label = normalize_label(value)
    except DatasetError as e:
        raise DatasetError(f"Row {n} of `{path}`: {e}") from None
    if label is None:
        raise DatasetError(f"Row {n} of `{path}` has no label. Fill it in or remove the row.")
    return label


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DatasetError(
            "Reading Parquet files needs pyarrow, which is not installed. Install the `data` extra: "
            "pip install 'textrnn[data]'."
        ) from None
    return pq


def columns_of(path: Path, encoding: str = "utf-8") -> list[str]:
    """The columns of one shard: a CSV/TSV header, a Parquet schema, the keys of a JSON Lines
    shard's first record ([] for a shard with no rows)."""
    fmt = _format(path)
    try:
        if fmt == "parquet":
            return list(_pyarrow_parquet().read_schema(path).names)
        with open(path, encoding=encoding, newline="") as f:
            if fmt == "jsonl":
                for line in f:
                    if line.strip():
                        record = json.loads(line)
                        return list(record) if isinstance(record, dict) else []
                return []
            return next(csv.reader(f, delimiter="\t" if fmt == "tsv" else ","), [])
    except DatasetError:
        raise
    except (OSError, ValueError) as e:  # unreadable, undecodable, not JSON, not Parquet
        raise DatasetError(f"`{path}` cannot be read as {fmt}: {e}") from None


def _parquet(path: Path, text: str, label: str) -> Iterator[Chunk]:
    file = _pyarrow_parquet().ParquetFile(path)
    names = file.schema_arrow.names
    if text not in names or label not in names:
        raise DatasetError(f"`{path}` needs the columns `{text}` and `{label}`, got {names}.")
    n = 0
    for batch in file.iter_batches(batch_size=CHUNK_ROWS, columns=[text, label]):
        columns = batch.to_pydict()
        start = n + 1
        n += len(columns[text])
        yield (
            [str(t) for t in columns[text]],
            [_label(y, path, start + i) for i, y in enumerate(columns[label])],
        )


def iter_chunks(
    path: str | os.PathLike[str],
    *,
    text_column: str = "text",
    label_column: str = "label",
    encoding: str = "utf-8",
) -> Iterator[Chunk]:
    """`(texts, labels)` chunks of at most `CHUNK_ROWS` rows, shard after shard.

    Raises:
        DatasetError: naming the shard, for one without the text or label column, one whose
            columns differ from the first shard's, or one that cannot be read.
    """
    first: tuple[Path, set[str]] | None = None
    for shard in shard_paths(path):
        fmt = _format(shard)
        names = columns_of(shard, encoding)
        if names:
            for column, what in ((text_column, "text"), (label_column, "label")):
                if column not in names:
                    raise DatasetError(
                        f"`{shard}` has no column `{column}` (columns: {', '.join(names)}). "
                        f"Name the {what} column with --{what}-column."
                    )
            if first is None:
                first = (shard, set(names))
            elif set(names) != first[1]:
                raise DatasetError(
                    f"`{shard}` has the columns {sorted(names)}, `{first[0].name}` has "
                    f"{sorted(first[1])}: every shard needs the same columns. Fix or move it."
                )
        if fmt == "parquet":
            yield from _parquet(shard, text_column, label_column)
        elif fmt == "jsonl":
            yield from _jsonl(shard, text_column, label_column, encoding)
        else:
            yield from _delimited(shard, fmt, text_column, label_column, encoding)


def test_rows(start: int, count: int, share: float | None) -> np.ndarray:
    """Which of the rows `start .. start + count - 1` (positions in the whole dataset) are test
    rows: `share` of them, evenly spaced (row i when `floor((i + 1) * share) > floor(i * share)`);
    none when `share` is None. A rule of the position alone, so both passes agree without
    holding the split, and a dataset sorted by class gives each class its share."""
    if share is None:
        return np.zeros(count, dtype=bool)
    i = np.arange(start, start + count, dtype=np.float64)
    return np.floor((i + 1) * share) > np.floor(i * share)


def validation_count(train_rows: int, share: float) -> int:
    """How many of `train_rows` validate (`validation_rows` over them all), as Keras's
    `validation_split` takes: `train_rows - floor(train_rows * (1 - share))`."""
    if share <= 0 or train_rows == 0:
        return 0
    return train_rows - int(math.floor(train_rows * (1.0 - share)))


def validation_rows(start: int, count: int, train_rows: int, share: float) -> np.ndarray:
    """Which of the training rows `start .. start + count - 1` validate: the
    `train_rows - floor(train_rows * (1 - share))` of them (as many as Keras's `validation_split`
    takes), evenly spaced."""
    if share <= 0 or train_rows == 0:
        return np.zeros(count, dtype=bool)
    n_val = validation_count(train_rows, share)
    j = np.arange(start, start + count, dtype=np.int64)
    return (j + 1) * n_val // train_rows > j * n_val // train_rows


@dataclass(frozen=True)
class Scan:
    """What one pass over a dataset found: its vocabulary (of the training rows), the training
    rows' label names (sorted), the row count, and how many rows the test rule took."""

    vocabulary: Vocabulary
    label_names: list[str]
    rows: int
    test_rows: int = 0
    test_label_names: tuple[str, ...] = ()

    @property
    def train_rows(self) -> int:
        return self.rows - self.test_rows


def scan(
    path: str | os.PathLike[str],
    *,
    num_words: int | None = None,
    max_words: int | None = None,
    min_freq: int = 1,
    test_share: float | None = None,
    count_words: bool = True,
    text_column: str = "text",
    label_column: str = "label",
    encoding: str = "utf-8",
) -> Scan:
    """Count the words, labels and rows of `path` in one streamed pass.

    Args:
        num_words: the vocabulary's `num_words` (Keras's sense), default no limit.
        max_words: keep only the `max_words` most frequent words, default all.
        min_freq: keep words seen at least this often.
        test_share: hold out this share of the rows for testing (`test_rows`): their words
            are not counted. None: every row trains.
        count_words: False counts only rows and labels (a resumed run has its vocabulary).

    Raises:
        DatasetError: for an unreadable shard, or no rows.
    """
    min_freq = checks.positive_int("min_freq", min_freq)
    words: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    test_labels: set[str] = set()
    rows = tested = 0
    kw = {"text_column": text_column, "label_column": label_column, "encoding": encoding}
    for texts, chunk_labels in iter_chunks(path, **kw):
        held = test_rows(rows, len(texts), test_share)
        for t, y, is_test in zip(texts, chunk_labels, held.tolist(), strict=True):
            if is_test:
                test_labels.add(y)
                continue
            if count_words:
                words.update(tokenize(t))
            labels[y] += 1
        rows += len(texts)
        tested += int(held.sum())
    if rows == 0:
        raise DatasetError(f"`{path}` holds no rows. Add data to it.")
    ranked = sorted((w for w, c in words.items() if c >= min_freq), key=lambda w: (-words[w], w))
    if max_words is not None:
        ranked = ranked[:max_words]
    return Scan(
        Vocabulary(ranked, num_words=num_words), sorted(labels), rows, tested, tuple(sorted(test_labels))
    )


@dataclass(frozen=True)
class EncodedData:
    """A dataset encoded on disk: `x` int32 `(texts, maxlen)` token ids (memory-mapped, copy on
    write: the file is never changed), `y` int64 label indices into `label_names`."""

    x: np.ndarray
    y: np.ndarray
    label_names: list[str]
    folder: Path


def encode_to_disk(
    path: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    vocabulary: Vocabulary,
    label_names: Sequence[str],
    maxlen: int,
    *,
    rows: int,
    text_column: str = "text",
    label_column: str = "label",
    encoding: str = "utf-8",
) -> EncodedData:
    """Encode `path` chunk by chunk into `folder` (`tokens.npy`, `labels.npy`), atomically.

    Args:
        rows: the row count `scan` found (the arrays are sized before writing).
        maxlen: tokens kept per text (the last `maxlen`, padded at the start, as Keras's
            `pad_sequences` defaults).

    Returns:
        `load_encoded(folder)`.

    Raises:
        DatasetError: if a label is not in `label_names` or the rows changed since `scan`.
    """
    maxlen = checks.positive_int("maxlen", maxlen)
    index = {name: i for i, name in enumerate(label_names)}
    target = Path(folder)
    staging = new_temp_dir(target, "encoding")
    try:
        tokens = np.lib.format.open_memmap(staging / TOKENS, mode="w+", dtype=np.int32, shape=(rows, maxlen))
        labels = np.empty(rows, dtype=np.int64)
        at = 0
        kw = {"text_column": text_column, "label_column": label_column, "encoding": encoding}
        for texts, chunk_labels in iter_chunks(path, **kw):
            end = at + len(texts)
            if end > rows:
                raise DatasetError(f"`{path}` changed while it was read: more than {rows} rows.")
            tokens[at:end] = pad_sequences(vocabulary.encode(texts), maxlen=maxlen, dtype="int32")
            try:
                labels[at:end] = [index[y] for y in chunk_labels]
            except KeyError as e:
                raise DatasetError(f"`{path}` holds the unknown label {e.args[0]!r}.") from None
            at = end
        if at != rows:
            raise DatasetError(f"`{path}` changed while it was read: {at} rows, not {rows}.")
        tokens.flush()
        del tokens
        np.save(staging / LABELS, labels)
        write_json_atomic(staging / META, {"rows": rows, "maxlen": maxlen, "label_names": list(label_names)})
        replace_dir(staging, target)
    finally:
        remove_paths([staging])
    return load_encoded(target)


@dataclass(frozen=True)
class EncodedSplit:
    """`encode_split`'s result: the training rows (validation rows last), the test rows, and
    each test row's position in the dataset; the texts of both when asked to keep them."""

    train: EncodedData
    test: EncodedData | None
    test_index: np.ndarray
    kept: tuple[list[str], list[str], list[str], list[str]] | None


def encode_split(
    path: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    vocabulary: Vocabulary,
    label_names: Sequence[str],
    maxlen: int,
    found: Scan,
    *,
    test_share: float | None,
    validation_split: float,
    keep_texts: bool = False,
    text_column: str = "text",
    label_column: str = "label",
    encoding: str = "utf-8",
) -> EncodedSplit:
    """Encode `path` in one pass into `folder/train` and (with `test_share`) `folder/test`.

    The rows `scan(..., test_share=test_share)` held out go to the test arrays in their order;
    the others train, the `validation_rows` among them written after the rest, so that
    `fit(validation_split=validation_split)` (which validates on the last rows) validates on
    exactly them. Tokens are padded and cut as `encode_to_disk` does.

    Args:
        found: the `scan` of `path` with the same `test_share` (its row counts size the arrays).
        keep_texts: also return the texts and labels `(train texts, train labels, test texts,
            test labels)`, in the arrays' order (for a bounded baseline; the caller bounds it).

    Raises:
        DatasetError: for a label not in `label_names`, or rows changed since `scan`.
    """
    maxlen = checks.positive_int("maxlen", maxlen)
    index = {name: i for i, name in enumerate(label_names)}
    n_train, n_test = found.train_rows, found.test_rows
    n_val = validation_count(n_train, validation_split)
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    # every per-row array is a file, so memory holds none of size `rows` (the labels included)
    x_tr = _row_file(target / "train.tokens.npy", np.int32, n_train, maxlen)
    x_te = _row_file(target / "test.tokens.npy", np.int32, n_test, maxlen)
    y_tr = _row_file(target / "train.labels.npy", np.int64, n_train)
    y_te = _row_file(target / "test.labels.npy", np.int64, n_test)
    test_index = _row_file(target / "test.index.npy", np.int64, n_test)
    # train texts, labels, test texts, labels, then the validation rows' (put after the train ones)
    kept: tuple[list[str], ...] = ([], [], [], [], [], [])
    at = trained = head = tested = 0
    tail = n_train - n_val
    kw = {"text_column": text_column, "label_column": label_column, "encoding": encoding}
    for texts, chunk_labels in iter_chunks(path, **kw):
        m = len(texts)
        held = test_rows(at, m, test_share)
        n_held = int(held.sum())
        if trained + m - n_held > n_train or tested + n_held > n_test:
            raise DatasetError(f"`{path}` changed while it was read: more rows than its scan found.")
        tokens = pad_sequences(vocabulary.encode(texts), maxlen=maxlen, dtype="int32")
        try:
            y = np.array([index[v] for v in chunk_labels], dtype=np.int64)
        except KeyError as e:
            raise DatasetError(
                f"`{path}` holds the label {e.args[0]!r}, which the training data lacks (classes: "
                f"{', '.join(label_names)}). Add training examples of it, or remove its rows."
            ) from None
        te = np.flatnonzero(held)
        test_index[tested : tested + len(te)] = at + te
        x_te[tested : tested + len(te)] = tokens[te]
        y_te[tested : tested + len(te)] = y[te]
        tested += len(te)
        tr = np.flatnonzero(~held)
        val = validation_rows(trained, len(tr), n_train, validation_split)
        for rows, start in ((tr[~val], head), (tr[val], tail)):
            x_tr[start : start + len(rows)] = tokens[rows]
            y_tr[start : start + len(rows)] = y[rows]
        head += int((~val).sum())
        tail += int(val.sum())
        trained += len(tr)
        if keep_texts:
            for rows, texts_to, labels_to in ((tr[~val], 0, 1), (tr[val], 4, 5), (te, 2, 3)):
                kept[texts_to].extend(texts[i] for i in rows)
                kept[labels_to].extend(chunk_labels[i] for i in rows)
        at += m
    if trained != n_train or tested != n_test:
        raise DatasetError(f"`{path}` changed while it was read: {at} rows, not {found.rows}.")
    train = EncodedData(_mapped(x_tr), _mapped(y_tr), list(label_names), target)
    test = None
    if test_share is not None:
        test = EncodedData(_mapped(x_te), _mapped(y_te), list(label_names), target)
    texts_of = (kept[0] + kept[4], kept[1] + kept[5], kept[2], kept[3]) if keep_texts else None
    return EncodedSplit(train, test, _mapped(test_index), texts_of)


def _row_file(path: Path, dtype: Any, rows: int, *width: int) -> np.ndarray:
    if rows == 0:  # an empty file cannot be mapped
        return np.zeros((0, *width), dtype=dtype)
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(rows, *width))


def _mapped(array: np.ndarray) -> np.ndarray:
    """A written row file opened again copy-on-write (as `load_encoded` opens it)."""
    if not isinstance(array, np.memmap):
        return array
    array.flush()
    path = str(array.filename)
    del array
    return np.load(path, mmap_mode="c")


def load_encoded(folder: str | os.PathLike[str]) -> EncodedData:
    """Open what `encode_to_disk` wrote: the tokens memory-mapped (copy on write), the labels."""
    p = Path(folder)
    try:
        meta = json.loads((p / META).read_text(encoding="utf-8"))
        x = np.load(p / TOKENS, mmap_mode="c")
        y = np.load(p / LABELS)
    except (OSError, ValueError) as e:
        raise DatasetError(f"`{p}` is not an encoded dataset ({e}). Encode it again.") from None
    return EncodedData(x, y, list(meta["label_names"]), p)


__all__ = [
    "EncodedData",
    "EncodedSplit",
    "Scan",
    "columns_of",
    "encode_split",
    "encode_to_disk",
    "iter_chunks",
    "load_encoded",
    "scan",
    "shard_paths",
    "test_rows",
    "validation_count",
    "validation_rows",
]
