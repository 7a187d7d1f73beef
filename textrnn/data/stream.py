"""Labelled texts larger than memory: streamed from shards into memory-mapped token arrays.

A dataset is one large file or a folder of shards (`*.csv`, `*.tsv`, `*.jsonl`, `*.parquet`,
in name order). It is read in two streamed passes, never holding its texts:

1. `scan` counts the words (the vocabulary, in one pass), the labels and the rows;
2. `encode_to_disk` encodes each chunk of texts with that vocabulary, pads or cuts it to
   `maxlen` as `pad_sequences` does (Keras's `pre`), and writes it into `tokens.npy`, an int32
   `(texts, maxlen)` array, and the labels into `labels.npy`.

`load_encoded` opens them memory-mapped: `fit` takes the token array as it is (int32, no copy),
so a process's own memory stays bounded by the chunk size, the vocabulary and the batches,
whatever the data's size; the operating system pages the token file in and out.

CSV / TSV and JSON Lines are read line by line with the standard library; Parquet row group by
row group with pyarrow (`pyarrow.parquet.ParquetFile.iter_batches`).
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from textrnn import checks
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
        for row in reader:
            texts.append(row[ti])
            labels.append(row[li])
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
                texts.append(str(record[text]))
                labels.append(str(record[label]))
            except (ValueError, KeyError, TypeError):
                raise DatasetError(
                    f"Line {n} of `{path}` is not a JSON object with `{text}` and `{label}`."
                ) from None
            if len(texts) == CHUNK_ROWS:
                yield texts, labels
                texts, labels = [], []
    if texts:
        yield texts, labels


def _parquet(path: Path, text: str, label: str) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    names = file.schema_arrow.names
    if text not in names or label not in names:
        raise DatasetError(f"`{path}` needs the columns `{text}` and `{label}`, got {names}.")
    for batch in file.iter_batches(batch_size=CHUNK_ROWS, columns=[text, label]):
        columns = batch.to_pydict()
        yield [str(t) for t in columns[text]], [str(y) for y in columns[label]]


def iter_chunks(
    path: str | os.PathLike[str],
    *,
    text_column: str = "text",
    label_column: str = "label",
    encoding: str = "utf-8",
) -> Iterator[Chunk]:
    """`(texts, labels)` chunks of at most `CHUNK_ROWS` rows, shard after shard."""
    for shard in shard_paths(path):
        fmt = _format(shard)
        if fmt == "parquet":
            yield from _parquet(shard, text_column, label_column)
        elif fmt == "jsonl":
            yield from _jsonl(shard, text_column, label_column, encoding)
        else:
            yield from _delimited(shard, fmt, text_column, label_column, encoding)


@dataclass(frozen=True)
class Scan:
    """What one pass over a dataset found: its vocabulary, label names (sorted) and row count."""

    vocabulary: Vocabulary
    label_names: list[str]
    rows: int


def scan(
    path: str | os.PathLike[str],
    *,
    num_words: int | None = None,
    min_freq: int = 1,
    text_column: str = "text",
    label_column: str = "label",
    encoding: str = "utf-8",
) -> Scan:
    """Count the words, labels and rows of `path` in one streamed pass.

    Args:
        num_words: the vocabulary's `num_words` (Keras's sense), default no limit.
        min_freq: keep words seen at least this often.

    Raises:
        DatasetError: for an unreadable shard, or no rows.
    """
    min_freq = checks.positive_int("min_freq", min_freq)
    words: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    rows = 0
    kw = {"text_column": text_column, "label_column": label_column, "encoding": encoding}
    for texts, chunk_labels in iter_chunks(path, **kw):
        for t in texts:
            words.update(tokenize(t))
        labels.update(chunk_labels)
        rows += len(texts)
    if rows == 0:
        raise DatasetError(f"`{path}` holds no rows.")
    ranked = sorted((w for w, c in words.items() if c >= min_freq), key=lambda w: (-words[w], w))
    return Scan(Vocabulary(ranked, num_words=num_words), sorted(labels), rows)


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
    "Scan",
    "encode_to_disk",
    "iter_chunks",
    "load_encoded",
    "scan",
    "shard_paths",
]
