"""`textrnn train --data` on data larger than memory: when to stream, and the streamed splits.

A run streams (`TrainOptions.stream`, `--stream on`) when asked, or by default when `--data` or
`--test-data` is a folder holding data shards (`*.csv`, `*.tsv`, `*.jsonl`, `*.parquet`; not
class folders) or a file over `STREAM_FILE_BYTES`. Streamed, the data is read twice with
`textrnn.data.stream` and its texts are never held:

1. `scan`: the vocabulary of the training rows (one pass), their labels and the row counts;
2. `encode_split`: the tokens of the training and test rows into int32 files under the system's
   temporary folder (`$TMPDIR`), opened memory-mapped and unlinked at once, so the disk space
   comes back when the run ends, however it ends.

The splits are rules of a row's position, so that both passes (and a resumed run) agree without
holding them: without `--test-data`, `--test-split` of the rows, evenly spaced, are the test
split; of the training rows, `--validation-split`, evenly spaced, validate (written last, where
`fit(validation_split=...)` takes them). The in-memory path splits at random (stratified,
seeded) instead; on data sorted by class both give each class its share.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textrnn.data import stream
from textrnn.data.readers import detect_format
from textrnn.errors import DatasetError
from textrnn.preprocessing.text import Vocabulary
from textrnn.runs.options import TrainOptions

STREAM_FILE_BYTES = 1 << 30  # a --data file over 1 GiB streams by default
BASELINE_TEXTS = 50_000  # streamed data up to this many training (and test) texts keeps its baseline
AUTO_SAMPLE = 20_000  # `--preset auto` chooses from a seeded sample of this many training texts
INDEX_FROM = 3  # as `runs.prepare.build_vocabulary`: 0 padding, 1 start, 2 out-of-vocabulary


def is_shard_folder(path: str | None) -> bool:
    """Whether `path` is a folder with data files directly in it (shards, not class folders)."""
    if path is None or not Path(path).is_dir():
        return False
    return any(q.is_file() and q.suffix.lower() in stream.SHARD_FORMATS for q in Path(path).iterdir())


def streams(options: TrainOptions) -> bool:
    """Whether a run on `options` streams its data (see the module's docstring).

    Raises:
        DatasetError: `--stream off` with a folder of shards, which only streaming reads.
    """
    if options.data is None:
        return False
    shards = [p for p in (options.data, options.test_data) if is_shard_folder(p)]
    if options.stream == "off":
        if shards:
            raise DatasetError(
                f"`{shards[0]}` is a folder of shards, which is only read streamed. "
                "Drop --stream off, or pass one data file."
            )
        return False
    if options.stream == "on" or shards:
        return True
    if options.data_format == "folder" or Path(options.data).is_dir():
        return False  # class folders
    big = [p for p in (options.data, options.test_data) if p and Path(p).is_file()]
    return any(Path(p).stat().st_size > STREAM_FILE_BYTES for p in big)


def check_streamed(options: TrainOptions) -> None:
    """Refuse what a streamed run cannot do: an ensemble or the linear model (both hold the texts).

    Raises:
        ValueError: `--ensemble` above 1 or `--linear` on streamed data.
    """
    if (options.ensemble > 1 or options.linear) and streams(options):
        raise ValueError(
            f"--ensemble and --linear hold the training texts in memory, and `{options.data}` is "
            "streamed. Pass --ensemble 1 --no-linear (or a preset without them: fast), or --stream off "
            "for a single file that fits in memory."
        )


def _read(options: TrainOptions) -> dict[str, Any]:
    return {
        "text_column": options.text_column,
        "label_column": options.label_column,
        "encoding": options.encoding,
    }


def _check_streamable(path: str, options: TrainOptions) -> None:
    if options.data_format == "folder" or (Path(path).is_dir() and not is_shard_folder(path)):
        raise DatasetError(
            f"`{path}` is a folder of class folders, which is not streamed: drop --stream on, or "
            "put the data in .csv, .tsv, .jsonl or .parquet shards."
        )
    if Path(path).is_file():
        detect_format(path)  # a clear error for an unknown extension


@dataclass
class StreamedSplits:
    """A streamed run's arrays (`x` memory-mapped), with what `PreparedData` describes."""

    label_names: list[str]
    vocabulary: Vocabulary
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_index: np.ndarray
    description: dict[str, Any]
    texts: tuple[list[str], list[str], list[str], list[str]] | None  # for the baseline, when small
    notes: list[str] = field(default_factory=list)


def prepare_streamed(
    options: TrainOptions,
    *,
    vocabulary: Vocabulary | None = None,
    label_names: Sequence[str] | None = None,
) -> StreamedSplits:
    """Scan and encode a streamed run's data (its vocabulary and labels reused when given).

    Raises:
        DatasetError: for unreadable, empty or single-class data, bad shards (named), or test
            labels the training rows lack.
    """
    assert options.data is not None
    for path in (options.data, options.test_data):
        if path is not None:
            _check_streamable(path, options)
    read = _read(options)
    share = None if options.test_data is not None else options.test_split
    found = stream.scan(
        options.data,
        num_words=options.num_words,
        max_words=options.num_words - INDEX_FROM - 1,
        min_freq=options.min_freq,
        test_share=share,
        count_words=vocabulary is None,
        **read,
    )
    names = list(label_names) if label_names is not None else _classes(found, options.data)
    vocab = vocabulary or found.vocabulary
    test_found = None
    if options.test_data is not None:
        test_found = stream.scan(options.test_data, test_share=1.0, count_words=False, **read)
    elif found.test_rows == 0:
        raise DatasetError(
            f"`{options.data}` has {found.rows} row(s), too few to hold out a {options.test_split:g} "
            "test split. Add rows, or pass a test set with --test-data."
        )
    small = found.train_rows <= BASELINE_TEXTS and (test_found or found).test_rows <= BASELINE_TEXTS
    keep = options.baseline and small
    folder = Path(tempfile.mkdtemp(prefix="textrnn-stream-"))
    try:
        split = stream.encode_split(
            options.data, folder / "data", vocab, names, options.maxlen, found, test_share=share,
            validation_split=options.validation_split, keep_texts=keep, **read,
        )  # fmt: skip
        texts = split.kept
        test, test_index = split.test, split.test_index
        if test_found is not None:
            assert options.test_data is not None
            other = stream.encode_split(
                options.test_data, folder / "test", vocab, names, options.maxlen, test_found,
                test_share=1.0, validation_split=0.0, keep_texts=keep, **read,
            )  # fmt: skip
            test, test_index = other.test, other.test_index
            if texts is not None and other.kept is not None:
                texts = (texts[0], texts[1], other.kept[2], other.kept[3])
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the arrays stay mapped: the space is freed at exit
    assert test is not None
    train = split.train
    notes = []
    if options.baseline and not keep:
        notes.append(
            f"Baseline skipped: streamed data of {found.train_rows:,} training texts is over the "
            f"{BASELINE_TEXTS:,} it is fitted on in memory (--no-baseline hides this line)."
        )
    n_val = stream.validation_count(len(train.y), options.validation_split)
    description: dict[str, Any] = {
        "kind": "stream",
        "train": {**_source(options.data, options), "rows": found.rows},
        "test": (
            {**_source(options.test_data, options), "rows": len(test.y)}
            if options.test_data is not None
            else f"{options.test_split:g} of the rows, evenly spaced (row i when "
            f"floor((i + 1) * {options.test_split:g}) > floor(i * {options.test_split:g}))"
        ),
        "validation": f"{n_val:,} training rows, evenly spaced",
        "train_samples": len(train.y),
        "test_samples": len(test.y),
        "label_counts": dict(zip(names, np.bincount(train.y, minlength=len(names)).tolist(), strict=True)),
        "vocabulary_words": len(vocab),
    }
    return StreamedSplits(
        names, vocab, train.x, train.y, test.x, test.y, test_index, description, texts, notes
    )


def _source(path: str, options: TrainOptions) -> dict[str, Any]:
    shards = stream.shard_paths(path)
    return {"path": path, "format": "stream", "shards": len(shards), **_read(options)}


def _classes(found: stream.Scan, where: str) -> list[str]:
    from textrnn.data.labels import label_names_of

    names = label_names_of(found.label_names)
    if len(names) < 2:
        raise DatasetError(
            f"The training data in `{where}` has a single class ({names[0]!r}): a classifier needs at "
            "least two. Add examples of another class, or check --label-column."
        )
    return names


def read_streamed_splits(
    options: TrainOptions, *, test_only: bool = False
) -> tuple[list[str], list[str], list[str], list[str], np.ndarray, dict[str, Any]]:
    """`runs.prepare.read_splits` for streamed data: the test split's texts in full (for
    `textrnn evaluate`), and as training texts a seeded sample of at most `AUTO_SAMPLE`
    (for `--preset auto`); none with `test_only`."""
    assert options.data is not None
    read = _read(options)
    share = None if options.test_data is not None else options.test_split
    rng = np.random.default_rng(options.seed)
    sample: list[tuple[str, str]] = []
    test_texts: list[str] = []
    test_labels: list[str] = []
    index: list[int] = []
    at = trained = 0
    skip = test_only and options.test_data is not None  # nothing of --data is needed
    for texts, labels in () if skip else stream.iter_chunks(options.data, **read):
        held = stream.test_rows(at, len(texts), share)
        for i, is_test in enumerate(held.tolist()):
            if is_test:
                test_texts.append(texts[i])
                test_labels.append(labels[i])
                index.append(at + i)
            elif not test_only:  # reservoir sampling (Algorithm R)
                if len(sample) < AUTO_SAMPLE:
                    sample.append((texts[i], labels[i]))
                else:
                    j = int(rng.integers(0, trained + 1))
                    if j < AUTO_SAMPLE:
                        sample[j] = (texts[i], labels[i])
                trained += 1
        at += len(texts)
    if options.test_data is not None:
        test_texts, test_labels = [], []
        for texts, labels in stream.iter_chunks(options.test_data, **read):
            test_texts.extend(texts)
            test_labels.extend(labels)
        index = list(range(len(test_texts)))
    description = {"kind": "stream", "train": _source(options.data, options)}
    return (
        [t for t, _ in sample],
        [y for _, y in sample],
        test_texts,
        test_labels,
        np.asarray(index, dtype=np.int64),
        description,
    )


def read_all(path: str, options: TrainOptions) -> tuple[list[str], list[str]]:
    """Every text and label of a file or folder of shards, in memory (`textrnn evaluate --data`)."""
    texts: list[str] = []
    labels: list[str] = []
    for chunk_texts, chunk_labels in stream.iter_chunks(path, **_read(options)):
        texts.extend(chunk_texts)
        labels.extend(chunk_labels)
    return texts, labels


__all__ = [
    "AUTO_SAMPLE",
    "BASELINE_TEXTS",
    "STREAM_FILE_BYTES",
    "StreamedSplits",
    "check_streamed",
    "is_shard_folder",
    "prepare_streamed",
    "read_all",
    "read_streamed_splits",
    "streams",
]
