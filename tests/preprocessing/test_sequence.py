import itertools

import numpy as np
import pytest

from textrnn import utils
from textrnn.preprocessing.sequence import pad_sequences


def reference(sequences, maxlen, padding, truncating, value, dtype="int32"):
    """Keras's rules, one row at a time, in plain Python."""
    if maxlen is None:
        maxlen = max(len(s) for s in sequences)
    rows = []
    for s in sequences:
        s = list(s)
        if len(s) > maxlen:
            s = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        pad = [value] * (maxlen - len(s))
        rows.append(pad + s if padding == "pre" else s + pad)
    return np.array(rows, dtype=dtype).reshape(len(sequences), maxlen)


SEQS = [[1], [2, 3], [4, 5, 6], [], [7, 8, 9, 10, 11]]


@pytest.mark.parametrize("padding, truncating", list(itertools.product(["pre", "post"], ["pre", "post"])))
@pytest.mark.parametrize("maxlen", [None, 1, 3, 5, 8])
def test_every_padding_truncating_combination(padding, truncating, maxlen):
    got = pad_sequences(SEQS, maxlen=maxlen, padding=padding, truncating=truncating)
    want = reference(SEQS, maxlen, padding, truncating, 0)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, want)


def test_keras_docstring_examples():
    seqs = [[1], [2, 3], [4, 5, 6]]
    np.testing.assert_array_equal(pad_sequences(seqs), [[0, 0, 1], [0, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, value=-1), [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, padding="post"), [[1, 0, 0], [2, 3, 0], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=2), [[0, 1], [2, 3], [5, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=2, truncating="post"), [[0, 1], [2, 3], [4, 5]])


def test_random_sequences_match_reference():
    rng = np.random.default_rng(0)
    seqs = [rng.integers(1, 1000, rng.integers(0, 40)).tolist() for _ in range(300)]
    for padding, truncating in itertools.product(["pre", "post"], repeat=2):
        got = pad_sequences(seqs, maxlen=20, padding=padding, truncating=truncating, value=-7)
        np.testing.assert_array_equal(got, reference(seqs, 20, padding, truncating, -7))


def test_dtype_and_value():
    got = pad_sequences([[1.5, 2.5], [3.25]], dtype="float32", value=-1.0)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.array([[1.5, 2.5], [-1.0, 3.25]], dtype=np.float32))
    as_int64 = pad_sequences([[1, 2], [3]], dtype="int64", value=9)
    assert as_int64.dtype == np.int64
    np.testing.assert_array_equal(as_int64, [[1, 2], [9, 3]])
    # Floats into an int dtype are cast as NumPy casts them (Keras's behaviour).
    np.testing.assert_array_equal(pad_sequences([[1.7, 2.2]]), [[1, 2]])


def test_numpy_and_object_array_inputs():
    x = np.empty(3, dtype=object)
    x[0], x[1], x[2] = [1, 2, 3], [4], []
    np.testing.assert_array_equal(pad_sequences(x, maxlen=2), [[2, 3], [0, 4], [0, 0]])
    np.testing.assert_array_equal(pad_sequences(np.array([[1, 2, 3], [4, 5, 6]]), maxlen=2), [[2, 3], [5, 6]])
    np.testing.assert_array_equal(pad_sequences([np.array([1, 2]), np.array([3])]), [[1, 2], [0, 3]])


def test_string_sequences_with_object_dtype():
    got = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert got.tolist() == [["a", "b"], ["<pad>", "c"]]


def test_vector_items_keep_their_shape():
    seqs = [[[1, 2], [3, 4]], [[5, 6]]]
    got = pad_sequences(seqs, padding="post")
    assert got.shape == (2, 2, 2)
    np.testing.assert_array_equal(got[1], [[5, 6], [0, 0]])


def test_empty_inputs():
    assert pad_sequences([]).shape == (0, 0)
    assert pad_sequences([], maxlen=4).shape == (0, 4)
    np.testing.assert_array_equal(pad_sequences([[], []]), np.zeros((2, 0)))
    np.testing.assert_array_equal(pad_sequences([[], []], maxlen=3, value=5), [[5, 5, 5], [5, 5, 5]])


@pytest.mark.parametrize("arg", ["padding", "truncating"])
def test_bad_side_names_the_argument(arg):
    with pytest.raises(ValueError, match=f"`{arg}`.*'pre' or 'post'.*'middle'"):
        pad_sequences([[1]], **{arg: "middle"})


@pytest.mark.parametrize("maxlen", [0, -1, 2.5, True])
def test_bad_maxlen(maxlen):
    with pytest.raises(ValueError, match="`maxlen`"):
        pad_sequences([[1]], maxlen=maxlen)


def test_other_errors():
    with pytest.raises(ValueError, match="non-iterable at position 1"):
        pad_sequences([[1], 5])
    with pytest.raises(ValueError, match="list of sequences"):
        pad_sequences(iter([[1]]))
    with pytest.raises(ValueError, match="dtype=object"):
        pad_sequences([[1]], value="x")
    with pytest.raises(ValueError, match="position 1 is different"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]])


def test_utils_reexports():
    assert utils.pad_sequences is pad_sequences
    assert callable(utils.set_random_seed)
