"""From `TrainOptions` to arrays: read the texts, split, build the vocabulary, encode and pad.

IMDB comes from `textrnn.datasets.imdb.load_texts` as raw reviews, so an IMDB run builds its own
`Vocabulary` from its training texts exactly as a run on the user's data does, and `predict`
later encodes raw text with the same integers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textrnn.data.labels import encode_labels, label_names_of
from textrnn.data.readers import DataSource
from textrnn.data.split import stratified_split
from textrnn.errors import DatasetError
from textrnn.preprocessing.sequence import pad_sequences
from textrnn.preprocessing.text import Vocabulary
from textrnn.runs.options import TrainOptions
from textrnn.runs.streamed import StreamedSplits, prepare_streamed, read_streamed_splits, streams

IMDB_LABELS = ["neg", "pos"]
PADDING = "pre"  # Keras's pad_sequences defaults, kept with the model
TRUNCATING = "pre"


@dataclass
class PreparedData:
    """Everything training and testing need, plus a description for `config.json`."""

    label_names: list[str]
    vocabulary: Vocabulary
    x_train: np.ndarray  # (samples, maxlen) int32, shuffled once with the seed
    y_train: np.ndarray  # (samples,) int64 class indices
    x_test: np.ndarray
    y_test: np.ndarray
    test_index: np.ndarray  # position of each test example in its source
    description: dict[str, Any] = field(default_factory=dict)
    # The raw texts and labels of the splits, in their source order (for the baseline).
    train_texts: list[str] = field(default_factory=list)
    train_labels: list[str] = field(default_factory=list)
    test_texts: list[str] = field(default_factory=list)
    test_labels: list[str] = field(default_factory=list)
    # Streamed data (`textrnn.runs.streamed`): whether the baseline can be fitted, and lines to show.
    baseline: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.label_names)


def data_source(options: TrainOptions, path: str) -> DataSource:
    return DataSource(
        path=path,
        format=options.data_format,
        text_column=options.text_column,
        label_column=options.label_column,
        encoding=options.encoding,
    )


def imdb_path() -> str | None:
    """`$TEXTRNN_IMDB` as an absolute path, or None (the loader's cache)."""
    env = os.environ.get("TEXTRNN_IMDB")
    return str(Path(env).expanduser().resolve()) if env else None


def read_splits(
    options: TrainOptions, *, imdb_source: str | None = None, test_only: bool = False
) -> tuple[list[str], list[str], list[str], list[str], np.ndarray, dict[str, Any]]:
    """`(train_texts, train_labels, test_texts, test_labels, test_index, description)`.

    Labels are strings (IMDB: "neg"/"pos"). With `test_only`, the training lists are empty
    unless the test split is carved out of the training data. Streamed data
    (`textrnn.runs.streamed`): the training lists are a seeded sample of the training rows.
    Raises DatasetError for unusable data.
    """
    if streams(options):
        return read_streamed_splits(options, test_only=test_only)
    seed = options.split_seed if options.split_seed is not None else options.seed
    if options.data is None:
        from textrnn.datasets import imdb

        path = imdb_source or imdb_path()
        train_texts: list[str] = []
        train_labels: list[str] = []
        if not test_only:
            train_texts, train_y = imdb.load_texts(path, subset="train")
            train_labels = [IMDB_LABELS[int(v)] for v in train_y]
        test_texts, test_y = imdb.load_texts(path, subset="test")
        test_labels = [IMDB_LABELS[int(v)] for v in test_y]
        test_index = np.arange(len(test_texts), dtype=np.int64)
        description: dict[str, Any] = {"kind": "imdb", "path": path, "test": "imdb test subset"}
        return train_texts, train_labels, test_texts, test_labels, test_index, description

    source = data_source(options, options.data)
    description = {"kind": "files", "train": {**source.to_dict(), "format": source.resolved_format()}}
    separate_test = options.test_data is not None or source.has_test_subset()
    texts, labels = ([], []) if (test_only and separate_test) else source.read("train")
    if options.test_data is not None:
        test_source = data_source(options, options.test_data)
        test_texts, test_labels = test_source.read("train")
        test_index = np.arange(len(test_texts), dtype=np.int64)
        description["test"] = {**test_source.to_dict(), "format": test_source.resolved_format()}
        return texts, labels, test_texts, test_labels, test_index, description
    if separate_test:
        test_texts, test_labels = source.read("test")
        test_index = np.arange(len(test_texts), dtype=np.int64)
        description["test"] = "the test/ folder of the data"
        return texts, labels, test_texts, test_labels, test_index, description
    _check_classes(labels, options.data)
    train_idx, test_idx = stratified_split(labels, options.test_split, seed=seed)
    if len(test_idx) == 0:
        raise DatasetError(
            f"`{options.data}` is too small to hold out a test split (every class has a single example). "
            "Add examples, or pass a test file with --test-data."
        )
    description["test"] = f"stratified {options.test_split:g} of the data, seed {seed}"
    return (
        [texts[i] for i in train_idx],
        [labels[i] for i in train_idx],
        [texts[i] for i in test_idx],
        [labels[i] for i in test_idx],
        test_idx.astype(np.int64),
        description,
    )


def _check_classes(labels: Sequence[str], where: str) -> list[str]:
    names = label_names_of(labels)
    if len(names) < 2:
        raise DatasetError(
            f"The training data in `{where}` has a single class ({names[0]!r}): a classifier needs at least "
            "two. "
            "Add examples of another class, or check --label-column."
        )
    return names


def encode_texts(vocabulary: Vocabulary, texts: Sequence[str], maxlen: int) -> np.ndarray:
    """Raw texts → `(samples, maxlen)` int32, with the tokenisation and padding of training."""
    return pad_sequences(
        vocabulary.encode(list(texts)), maxlen=maxlen, padding=PADDING, truncating=TRUNCATING
    )


def build_vocabulary(options: TrainOptions, texts: Sequence[str]) -> Vocabulary:
    """The run's vocabulary: words of the training texts, ranked, limited Keras's way by `num_words`."""
    index_from = 3
    # Indices >= num_words become OOV, so the top `num_words - index_from - 1` words are all it can use.
    return Vocabulary.build(
        list(texts),
        max_words=options.num_words - index_from - 1,
        min_freq=options.min_freq,
        num_words=options.num_words,
        index_from=index_from,
    )


def prepare(
    options: TrainOptions,
    *,
    vocabulary: Vocabulary | None = None,
    label_names: list[str] | None = None,
    imdb_source: str | None = None,
) -> PreparedData:
    """Read, split, build (or reuse, when resuming) the vocabulary and label names, encode, pad.

    Args:
        options: the run's options; `seed` must be set (it fixes the split and the shuffle).
        vocabulary: the vocabulary to use instead of building one (a resumed run's).
        label_names: the class names to use instead of the training labels' (a resumed run's).
        imdb_source: the IMDB path to read instead of `$TEXTRNN_IMDB` (a resumed run's).

    Raises:
        DatasetError: for missing, unreadable, empty or single-class data, or test labels that the
            training data does not have.
    """
    if options.seed is None:
        raise ValueError("`prepare` needs `options.seed` set: the split and the shuffle depend on it.")
    if streams(options):
        return _prepared_from(prepare_streamed(options, vocabulary=vocabulary, label_names=label_names))
    train_texts, train_labels, test_texts, test_labels, test_index, description = read_splits(
        options, imdb_source=imdb_source
    )
    where = options.data or "IMDB"
    names = label_names or _check_classes(train_labels, where)
    y_train = encode_labels(train_labels, names, source=f"the training data ({where})")
    y_test = encode_labels(test_labels, names, source=f"the test data ({options.test_data or where})")
    vocab = vocabulary or build_vocabulary(options, train_texts)
    # Keras's validation_split takes the *last* part of the data, so shuffle once first: sources
    # sorted by class (IMDB, class folders) would otherwise validate on a single class.
    order = np.random.default_rng(options.seed).permutation(len(train_texts))
    x_train = encode_texts(vocab, [train_texts[i] for i in order], options.maxlen)
    x_test = encode_texts(vocab, test_texts, options.maxlen)
    description.update(
        {
            "train_samples": len(train_texts),
            "test_samples": len(test_texts),
            "label_counts": {n: int((y_train == i).sum()) for i, n in enumerate(names)},
            "vocabulary_words": len(vocab),
        }
    )
    return PreparedData(
        label_names=list(names),
        vocabulary=vocab,
        x_train=x_train,
        y_train=y_train[order],
        x_test=x_test,
        y_test=y_test,
        test_index=test_index,
        description=description,
        train_texts=list(train_texts),
        train_labels=list(train_labels),
        test_texts=list(test_texts),
        test_labels=list(test_labels),
    )


def _prepared_from(s: StreamedSplits) -> PreparedData:
    """The `PreparedData` of a streamed run (`textrnn.runs.streamed.StreamedSplits`)."""
    texts = s.texts or ([], [], [], [])
    return PreparedData(
        label_names=s.label_names,
        vocabulary=s.vocabulary,
        x_train=s.x_train,
        y_train=s.y_train,
        x_test=s.x_test,
        y_test=s.y_test,
        test_index=s.test_index,
        description=s.description,
        train_texts=texts[0],
        train_labels=texts[1],
        test_texts=texts[2],
        test_labels=texts[3],
        baseline=s.texts is not None,
        notes=s.notes,
    )
