"""Pretrained vector files (GloVe, word2vec text and binary, fastText), written by the tests."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from textrnn.errors import DatasetError
from textrnn.preprocessing.text import Vocabulary
from textrnn.preprocessing.vector_files import read_word_vectors

VECTORS = {
    "the": [0.1, 0.2, 0.3],
    "cat": [1.0, -1.0, 0.5],
    "sat": [0.0, 2.0, -2.0],
    "zebra": [9.0, 9.0, 9.0],  # not in the vocabulary
}


def vocab() -> Vocabulary:
    # ranks: the 1, cat 2, sat 3, dog 4 → indices 4..7; input_dim 8
    return Vocabulary(["the", "cat", "sat", "dog"])


def text_file(path: Path, header: bool, rows: dict[str, list[float]] = VECTORS) -> Path:
    lines = [f"{len(rows)} 3"] if header else []
    lines += [w + " " + " ".join(repr(x) for x in v) for w, v in rows.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def binary_file(path: Path, rows: dict[str, list[float]] = VECTORS, newline: bool = True) -> Path:
    out = bytearray(f"{len(rows)} 3\n".encode())
    for w, v in rows.items():
        out += w.encode() + b" " + struct.pack("<3f", *v) + (b"\n" if newline else b"")
    path.write_bytes(bytes(out))
    return path


def check_aligned(result, v: Vocabulary) -> None:
    assert result.matrix.shape == (v.input_dim, 3) == (8, 3)
    assert result.matrix.dtype == np.float32
    for word, vector in VECTORS.items():
        if word in v:
            np.testing.assert_allclose(result.matrix[v.word_index[word] + 3], vector, rtol=1e-6)
    np.testing.assert_array_equal(result.found, [False] * 4 + [True, True, True, False])
    np.testing.assert_array_equal(result.matrix[0], 0.0)  # padding
    assert result.words_in_vocabulary == 4 and result.words_found == 3 and result.rows_read == 4
    assert result.coverage == pytest.approx(0.75)
    assert "3 of 4 vocabulary words (75%) found among 4 3-d vectors" == result.describe()


@pytest.mark.parametrize("header", [False, True])  # GloVe has none; word2vec text / fastText .vec have one
def test_text_files_with_and_without_header(tmp_path, header):
    v = vocab()
    check_aligned(read_word_vectors(text_file(tmp_path / "v.txt", header), v), v)


@pytest.mark.parametrize("newline", [True, False])
def test_word2vec_binary(tmp_path, newline):
    v = vocab()
    check_aligned(read_word_vectors(binary_file(tmp_path / "v.bin", newline=newline), v), v)
    # the format can be named for any extension
    check_aligned(read_word_vectors(binary_file(tmp_path / "v.w2v", newline=newline), v, format="binary"), v)


def test_gzipped_text(tmp_path):
    plain = text_file(tmp_path / "v.vec", header=True)
    gz = tmp_path / "v.vec.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    v = vocab()
    check_aligned(read_word_vectors(gz, v), v)


def test_missing_rows_are_random_with_the_found_scale_and_seeded(tmp_path):
    path = text_file(tmp_path / "v.txt", header=False)
    a = read_word_vectors(path, vocab(), seed=1)
    b = read_word_vectors(path, vocab(), seed=1)
    np.testing.assert_array_equal(a.matrix, b.matrix)
    dog = a.matrix[7]
    assert np.all(dog != 0)
    assert not np.array_equal(read_word_vectors(path, vocab(), seed=2).matrix[7], dog)


def test_num_words_window_and_case_folding(tmp_path):
    rows = {
        "The": [5.0, 5.0, 5.0],
        "the": [1.0, 1.0, 1.0],
        "CAT": [2.0, 2.0, 2.0],
        "Cat": [3.0, 3.0, 3.0],
        "sat": [4.0, 4.0, 4.0],
    }
    v = Vocabulary(["the", "cat", "sat", "dog"], num_words=6)  # keeps indices < 6: the, cat
    result = read_word_vectors(text_file(tmp_path / "v.txt", False, rows), v)
    assert result.matrix.shape == (6, 3)
    np.testing.assert_array_equal(result.matrix[4], 1.0)  # the exact match wins over "The"
    np.testing.assert_array_equal(result.matrix[5], 2.0)  # the first casing of "cat"
    assert result.words_in_vocabulary == 2 and result.words_found == 2


def test_words_with_spaces_in_text_files(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("the 1 2 3\nnew york 4 5 6\n", encoding="utf-8")
    result = read_word_vectors(path, Vocabulary(["the", "new york"]))
    np.testing.assert_array_equal(result.matrix[5], [4, 5, 6])


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        ("the 1 2 3\ncat 1 2\n", r"line 2: expected a word and 3 numbers, got 2 number\(s\)"),
        ("2 3\nthe 1 2 3 4\n", r"line 2: expected a word and 3 numbers, got 4"),
        ("the 1 2 3\ncat 1 x 3\n", r"line 2: 'x' is not a number \(word 'cat'\)"),
        ("the\n", r"line 1: expected a word followed by its numbers"),
        ("", "holds no word vectors"),
        ("\n\n", "holds no word vectors"),
    ],
)
def test_malformed_text_files(tmp_path, content, pattern):
    path = tmp_path / "v.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError, match=pattern):
        read_word_vectors(path, vocab())


def test_malformed_binary_files(tmp_path):
    good = binary_file(tmp_path / "g.bin").read_bytes()
    (tmp_path / "cut.bin").write_bytes(good[:-7])
    with pytest.raises(DatasetError, match=r"vector 4 of 4 has 1 of its 3 numbers"):
        read_word_vectors(tmp_path / "cut.bin", vocab())
    (tmp_path / "short.bin").write_bytes(good.replace(b"4 3\n", b"5 3\n", 1))
    with pytest.raises(DatasetError, match=r"ends in vector 5 of the 5 .*expected dimension 3"):
        read_word_vectors(tmp_path / "short.bin", vocab())
    (tmp_path / "text.bin").write_text("the 1 2 3\n")
    with pytest.raises(
        DatasetError, match=r"line 1: expected a word2vec binary header `COUNT DIM`.*format='text'"
    ):
        read_word_vectors(tmp_path / "text.bin", vocab())


def test_bad_path_format_and_encoding(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_word_vectors(tmp_path / "nope.txt", vocab())
    with pytest.raises(ValueError, match="`format`"):
        read_word_vectors(tmp_path / "nope.txt", vocab(), format="glove")
    path = tmp_path / "v.txt"
    path.write_bytes(b"the 1 2 3\ncaf\xe9 1 2 3\n")
    with pytest.raises(DatasetError, match="line 2: bytes that are not valid utf-8"):
        read_word_vectors(path, vocab())
    assert read_word_vectors(path, vocab(), encoding="latin-1").words_found == 1
