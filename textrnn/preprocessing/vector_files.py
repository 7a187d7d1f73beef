"""Pretrained word vectors from a file, aligned to a `Vocabulary`: GloVe, word2vec, fastText.

Formats:
- text (GloVe `.txt`, word2vec text, fastText `.vec`): one word and its numbers per line,
  separated by spaces, with or without a first line `COUNT DIM` (fastText and word2vec write
  one, GloVe does not). A `.gz` file is read through gzip.
- binary (word2vec `.bin`): a line `COUNT DIM`, then per word its bytes, a space and DIM
  little-endian float32 numbers (a newline after each vector is optional).

The file is streamed: only rows of words in the vocabulary are kept, so a multi-gigabyte file
costs the memory of the vocabulary's matrix. A word is matched as written first; otherwise its
lower-cased form fills a word that no exact match filled (textrnn's tokens are lower-case,
word2vec's are cased; the first, most frequent, casing wins).

Example:
    >>> vectors = read_word_vectors("glove.6B.100d.txt", vocabulary)
    >>> vectors.matrix.shape, f"{vectors.coverage:.0%}"
    ((10000, 100), '93%')
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import numpy as np

from textrnn import checks
from textrnn.errors import DatasetError
from textrnn.preprocessing.text import Vocabulary

VECTOR_FORMATS = ("text", "binary")


@dataclass
class WordVectors:
    """A vocabulary's rows of a vector file.

    Attributes:
        matrix: `(vocabulary.input_dim, dim)` float32, row `i` the vector of the word encoded as
            index `i`; row 0 (padding) is zeros, rows of words not in the file (and the reserved
            indices) are drawn from a normal with the found vectors' standard deviation.
        found: `(input_dim,)` bool, True for rows taken from the file.
        dim: the vectors' dimension.
        words_in_vocabulary: how many vocabulary words have an index below `input_dim`.
        words_found: how many of them the file holds.
        rows_read: vectors read from the file.
    """

    matrix: np.ndarray
    found: np.ndarray
    dim: int
    words_in_vocabulary: int
    words_found: int
    rows_read: int

    @property
    def coverage(self) -> float:
        """The share of the vocabulary's words found in the file."""
        return self.words_found / self.words_in_vocabulary if self.words_in_vocabulary else 0.0

    def describe(self) -> str:
        """One line for the run's output."""
        return (
            f"{self.words_found:,} of {self.words_in_vocabulary:,} vocabulary words "
            f"({self.coverage:.0%}) found among {self.rows_read:,} {self.dim}-d vectors"
        )


def detect_vector_format(path: str | os.PathLike[str]) -> str:
    """`"binary"` for a `.bin` file, else `"text"`."""
    return "binary" if Path(path).suffix.lower() == ".bin" else "text"


def _open(path: Path) -> IO[bytes]:
    if path.suffix.lower() == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


def _header(fields: list[str]) -> tuple[int, int] | None:
    if len(fields) == 2 and all(f.isdigit() for f in fields):
        return int(fields[0]), int(fields[1])
    return None


def _text_rows(path: Path, encoding: str) -> Iterator[tuple[int, str, list[str], int]]:
    """(line number, word, number fields, dim) of each vector line; dim from header or first row."""
    dim: int | None = None
    with _open(path) as raw:
        for n, line_bytes in enumerate(raw, start=1):
            try:
                line = line_bytes.decode(encoding).rstrip("\r\n").rstrip(" ")
            except UnicodeDecodeError:
                raise DatasetError(
                    f"`{path}` line {n}: bytes that are not valid {encoding}. Pass the file's "
                    "encoding, or read a word2vec binary file with format='binary'."
                ) from None
            if not line.strip():
                continue
            if dim is None:
                header = _header(line.split())
                if header is not None and n == 1:
                    dim = header[1]
                    if dim < 1:
                        raise DatasetError(
                            f"`{path}` line 1: header gives dimension {dim}; expected a positive one."
                        )
                    continue
                dim = len(line.split(" ")) - 1
                if dim < 1:
                    raise DatasetError(
                        f"`{path}` line {n}: expected a word followed by its numbers, got {line[:40]!r}."
                    )
            parts = line.rsplit(" ", dim)  # a word may itself contain spaces (GloVe 840B)
            word_parts = parts[0].split(" ")
            extra = (
                len(parts) == dim + 1 and len(word_parts) > 1 and all(_is_float(x) for x in word_parts[1:])
            )
            if len(parts) != dim + 1 or not parts[0] or extra:
                got = len(line.split(" ")) - 1
                raise DatasetError(
                    f"`{path}` line {n}: expected a word and {dim} numbers, got {got} number(s). "
                    "Every vector in the file must have the same dimension."
                )
            yield n, parts[0], parts[1:], dim


def _binary_rows(path: Path) -> Iterator[tuple[int, str, np.ndarray, int]]:
    """(vector number, word, vector, dim) of each entry of a word2vec binary file."""
    with _open(path) as f:
        first = f.readline()
        header = _header(first.decode("ascii", errors="replace").split())
        if header is None:
            raise DatasetError(
                f"`{path}` line 1: expected a word2vec binary header `COUNT DIM`, "
                f"got {first[:40]!r}. "
                "Is it a text vector file? Pass format='text'."
            )
        count, dim = header
        if dim < 1:
            raise DatasetError(f"`{path}` line 1: header gives dimension {dim}; expected a positive one.")
        size = 4 * dim
        for i in range(1, count + 1):
            word = bytearray()
            while True:
                ch = f.read(1)
                if not ch:
                    raise DatasetError(
                        f"`{path}`: the file ends in vector {i} of the {count:,} "
                        "its header announces "
                        f"(expected dimension {dim}). The file is truncated."
                    )
                if ch == b" ":
                    break
                if ch != b"\n" or word:  # the newline after the previous vector is optional
                    word += ch
            data = f.read(size)
            if len(data) != size:
                raise DatasetError(
                    f"`{path}`: vector {i} of {count:,} has {len(data) // 4} of its {dim} "
                    "numbers; the file is "
                    "truncated or its header's dimension is wrong."
                )
            yield i, word.decode("utf-8", errors="replace"), np.frombuffer(data, dtype="<f4"), dim


def read_word_vectors(
    path: str | os.PathLike[str],
    vocabulary: Vocabulary,
    *,
    format: str | None = None,
    encoding: str = "utf-8",
    seed: int = 0,
) -> WordVectors:
    """The rows of `vocabulary`'s words in a GloVe, word2vec or fastText vector file.

    Args:
        path: the vector file (`.txt`, `.vec`, `.bin`, optionally `.gz` for text files).
        vocabulary: the words to keep; row `i` of the result is the word encoded as index `i`.
        format: `"text"` or `"binary"`; None (default): `"binary"` for `.bin`, else `"text"`.
        encoding: text files' encoding, default `"utf-8"`.
        seed: seeds the random rows of words the file lacks.

    Returns:
        A `WordVectors` with the matrix and the coverage figures.

    Raises:
        DatasetError: the file is missing, holds no vectors, or a line is malformed (the error
            names the line and the expected dimension).
        ValueError: for a bad `format`.
    """
    p = Path(path)
    fmt = checks.choice("format", format if format is not None else detect_vector_format(p), VECTOR_FORMATS)
    if not p.is_file():
        raise DatasetError(f"Word vector file `{p}` does not exist. Check the path.")
    input_dim = vocabulary.input_dim
    index: dict[str, int] = {}
    for word, rank in vocabulary.word_index.items():
        i = rank + vocabulary.index_from
        if vocabulary.skip_top <= i < input_dim:
            index[word] = i
    matrix: np.ndarray | None = None
    exact = np.zeros(input_dim, dtype=bool)
    found = np.zeros(input_dim, dtype=bool)
    rows = 0
    dim = 0
    source: Iterator[Any] = _text_rows(p, encoding) if fmt == "text" else _binary_rows(p)
    for where, word, numbers, dim in source:
        rows += 1
        if matrix is None:
            matrix = np.zeros((input_dim, dim), dtype=np.float32)
        hit = index.get(word)
        is_exact = hit is not None
        if hit is None:
            hit = index.get(word.lower())
            if hit is None or found[hit]:
                continue
        elif exact[hit]:
            continue  # a word listed twice: the first row wins
        i = hit
        if fmt == "text":
            try:
                vector = np.array(numbers, dtype=np.float32)
            except ValueError:
                bad = next(x for x in numbers if not _is_float(x))
                raise DatasetError(f"`{p}` line {where}: {bad!r} is not a number (word {word!r}).") from None
        else:
            vector = numbers
        matrix[i] = vector
        found[i] = True
        exact[i] = is_exact
    if matrix is None:
        raise DatasetError(
            f"`{p}` holds no word vectors. Expected lines `WORD X1 X2 ...` (or a word2vec binary file)."
        )
    std = float(matrix[found].std()) if found.any() else 0.1
    rng = np.random.default_rng(seed)
    missing = ~found
    missing[0] = False
    matrix[missing] = rng.normal(0.0, std or 0.1, size=(int(missing.sum()), dim)).astype(np.float32)
    matrix[0] = 0.0  # padding
    return WordVectors(matrix, found, dim, len(index), int(found.sum()), rows)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
