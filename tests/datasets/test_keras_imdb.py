"""`imdb.load_data` on Keras's own `imdb.npz`: Keras 3's results, recorded by running Keras's
`keras.datasets.imdb.load_data` on tests/fixtures/keras/extra/imdb_small.npz
(tests/fixtures/make_keras_fixtures.py, `imdb_cases`), and the reader refusing anything but numpy's
object arrays of int lists (nothing in a file is run)."""

import io
import json
import os
import pickle
import pickletools
import re
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from textrnn.datasets import imdb, keras_npz
from textrnn.errors import DatasetError

EXTRA = Path(__file__).resolve().parents[1] / "fixtures" / "keras" / "extra"
RECORDED = json.loads((EXTRA / "imdb_load_data.json").read_text())
NAMES = ("x_train", "y_train", "x_test", "y_test")


@pytest.fixture(autouse=True)
def homes(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTRNN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("TEXTRNN_IMDB", raising=False)


@pytest.fixture
def npz(tmp_path):
    path = tmp_path / "given" / "imdb.npz"
    path.parent.mkdir()
    shutil.copy(EXTRA / "imdb_small.npz", path)
    shutil.copy(EXTRA / "imdb_small_word_index.json", path.parent / imdb.KERAS_WORD_INDEX)
    return path


def arrays_of(path):
    """The fixture's arrays, read by the code under test (as plain lists)."""
    return {k: v.tolist() for k, v in keras_npz.load(path, NAMES).items()}


def assert_as_recorded(result, case):
    (x_train, y_train), (x_test, y_test) = result
    for part, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        assert x.tolist() == case[f"x_{part}"]
        assert list(x.shape) == case[f"x_{part}_shape"] and str(x.dtype) == case[f"x_{part}_dtype"]
        assert y.tolist() == case[f"y_{part}"] and str(y.dtype) == case[f"y_{part}_dtype"]
        assert all(type(v) is int for row in x.tolist() for v in row)


@pytest.mark.parametrize("name", sorted(RECORDED["cases"]))
def test_load_data_is_keras_3s(npz, name):
    case = RECORDED["cases"][name]
    for _ in range(2):  # read from the file, then from textrnn's cache of it
        if "error" in case:
            with pytest.raises(ValueError, match=re.escape(case["error"])):
                imdb.load_data(npz, **case["kwargs"])
        else:
            assert_as_recorded(imdb.load_data(npz, **case["kwargs"]), case)
            assert_as_recorded(imdb.load_data(npz, source="keras", **case["kwargs"]), case)


def test_recorded_cases_cover_the_arguments():
    cases = RECORDED["cases"]
    used = {k for c in cases.values() for k in c["kwargs"]}
    assert used == {"num_words", "skip_top", "maxlen", "seed", "start_char", "oov_char", "index_from"}
    assert cases["equal_lengths_2d"]["x_train_shape"] == [2, 1]  # Keras's np.array quirk, kept
    assert RECORDED["word_index"]["br"] == 7


def test_keras_cache_folder_is_the_default(tmp_path, npz):
    datasets = tmp_path / "keras" / "datasets"
    datasets.mkdir(parents=True)
    assert imdb.keras_datasets_dir() == datasets
    for f in npz.parent.iterdir():
        shutil.copy(f, datasets / f.name)
    assert imdb.data_source() == ("keras", (datasets / "imdb.npz").resolve())
    assert_as_recorded(imdb.load_data(), RECORDED["cases"]["default"])
    # Keras's own arguments: file names in its cache folder.
    assert_as_recorded(imdb.load_data(path="imdb.npz"), RECORDED["cases"]["default"])
    assert imdb.get_word_index(path="imdb_word_index.json") == RECORDED["word_index"]
    index = imdb.get_word_index()
    assert index == RECORDED["word_index"] and index["br"] == 7
    x0 = imdb.load_data()[0][0][0]
    inverted = {r + 3: w for w, r in index.items()}
    want = ["[START]" if i == 1 else "[OOV]" if i == 2 else inverted[i] for i in x0]
    assert imdb.decode(x0) == " ".join(want)
    # The word index must go with the file.
    (datasets / imdb.KERAS_WORD_INDEX).unlink()
    with pytest.raises(DatasetError, match="imdb_word_index.json is missing.*get_word_index"):
        imdb.get_word_index()


def test_keras_datasets_dir_as_keras_resolves_it(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    (tmp_path / "me").mkdir()
    assert imdb.keras_datasets_dir() == tmp_path / "me" / ".keras" / "datasets"
    monkeypatch.setenv("KERAS_HOME", "~/elsewhere")
    (tmp_path / "me" / "elsewhere").mkdir()
    assert imdb.keras_datasets_dir() == tmp_path / "me" / "elsewhere" / "datasets"
    real_access = os.access
    locked = str(tmp_path / "me" / "elsewhere")
    monkeypatch.setattr(os, "access", lambda p, mode: p != locked and real_access(p, mode))
    assert imdb.keras_datasets_dir() == Path("/tmp/.keras/datasets")  # not writable: Keras's fallback


def test_path_and_source_choice(npz, tmp_path, monkeypatch):
    assert imdb.data_source(npz) == ("keras", npz.resolve())
    assert imdb.data_source(npz.parent, source="keras") == ("keras", npz.resolve())  # the folder
    assert imdb.data_source(npz.parent) == ("keras", npz.resolve())  # it holds no aclImdb layout
    assert imdb.get_word_index(npz.parent / imdb.KERAS_WORD_INDEX)["br"] == 7  # the json itself
    monkeypatch.setenv("TEXTRNN_IMDB", str(npz))
    assert_as_recorded(imdb.load_data(), RECORDED["cases"]["default"])
    with pytest.raises(DatasetError, match="Keras's imdb.npz.*source='keras'"):
        imdb.load_data(source="raw")
    with pytest.raises(DatasetError, match="encode.*need the raw reviews"):
        imdb.encode(["a text"])
    monkeypatch.delenv("TEXTRNN_IMDB")
    with pytest.raises(DatasetError, match=r"imdb.npz not found in .*keras.*KERAS_HOME"):
        imdb.load_data(source="keras")
    with pytest.raises(DatasetError, match="imdb.npz not found at"):
        imdb.load_data(tmp_path / "nowhere.npz", source="keras")
    with pytest.raises(ValueError, match="source"):
        imdb.load_data(npz, source="tf")


# ----------------------------------------------------------------------------- file layouts
def npy_bytes(pickled: bytes, n: int) -> bytes:
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, {"descr": "|O", "fortran_order": False, "shape": (n,)})
    return f.getvalue() + pickled


def write_npz(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            if isinstance(data, np.ndarray):
                buf = io.BytesIO()
                np.save(buf, data, allow_pickle=False)
                data = buf.getvalue()
            z.writestr(f"{name}.npy", data)
    return path


def with_x_train(path, tmp_path, x_train_npy: bytes):
    """The fixture with its `x_train` member replaced by these bytes."""
    good = arrays_of(EXTRA / "imdb_small.npz")
    members = {k: np.array(good[k], dtype=np.int64) for k in ("y_train", "y_test")}
    with zipfile.ZipFile(EXTRA / "imdb_small.npz") as z:
        members["x_test"] = z.read("x_test.npy")
    members["x_train"] = x_train_npy
    return write_npz(tmp_path / path, members)


def object_array(lists):
    a = np.empty(len(lists), dtype=object)
    a[:] = lists
    return a


def to_python2_strings(stream: bytes) -> bytes:
    """A protocol 3 pickle with every str and bytes as SHORT_BINSTRING, as Python 2 wrote them."""
    out = bytearray()
    ops = list(pickletools.genops(stream))
    for i, (op, arg, pos) in enumerate(ops):
        end = ops[i + 1][2] if i + 1 < len(ops) else len(stream)
        if op.name in ("BINUNICODE", "SHORT_BINBYTES"):
            data = arg.encode("latin-1") if isinstance(arg, str) else arg
            out += b"U" + struct.pack("<B", len(data)) + data
        else:
            out += stream[pos:end]
    return bytes(out)


def test_numpy_1_and_python_2_pickles(tmp_path):
    """numpy 1 named `numpy.core.multiarray` (protocol 3, GLOBAL); Python 2 wrote str opcodes."""
    good = arrays_of(EXTRA / "imdb_small.npz")
    x = object_array(good["x_train"])
    stream = pickle.dumps(x, protocol=3)
    old = b"cnumpy._core.multiarray\n_reconstruct\n"
    assert old in stream
    numpy1 = stream.replace(old, b"cnumpy.core.multiarray\n_reconstruct\n")
    python2 = to_python2_strings(numpy1)
    assert b"U\x01b" in python2 and b"U\x02O8" in python2
    for name, data in (("numpy1.npz", numpy1), ("python2.npz", python2), ("protocol5.npz", None)):
        if data is None:
            data = pickle.dumps(x, protocol=5)
        path = with_x_train(name, tmp_path, npy_bytes(data, len(x)))
        assert arrays_of(path) == good, name
        assert_as_recorded(imdb.load_data(path, num_words=20), RECORDED["cases"]["num_words"])


def test_compressed_npz_and_shared_lists(tmp_path):
    good = arrays_of(EXTRA / "imdb_small.npz")
    path = tmp_path / "compressed.npz"
    np.savez_compressed(path, **{k: object_array(v) if k[0] == "x" else np.array(v) for k, v in good.items()})
    assert arrays_of(path) == good
    row = [5, 6, 7]
    wide = [2**40, -(2**63), 2**63 - 1, -5, 70000, 300, 0]  # LONG1, BININT, BININT2, BININT1
    stream = pickle.dumps(object_array([row, row, wide]))
    assert {op.name for op, _, _ in pickletools.genops(stream)} >= {"LONG1", "BININT", "BININT2", "BININT1"}
    shared = with_x_train("shared.npz", tmp_path, npy_bytes(stream, 3))
    x = keras_npz.load(shared, ("x_train",))["x_train"]
    assert x.tolist() == [row, row, wide] and x[0] is not x[1] and x.shape == (3,)
    same_lengths = with_x_train(
        "same.npz", tmp_path, npy_bytes(pickle.dumps(object_array([row, [1, 2, 3]])), 2)
    )
    assert keras_npz.load(same_lengths, ("x_train",))["x_train"].shape == (2,)  # never 2-D


# ----------------------------------------------------------------------------- refused files
class RunsCommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class Evaluates:
    def __reduce__(self):
        return (eval, ("1 + 1",))


def test_a_pickle_that_runs_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    for protocol in (2, 3, 4, 5):
        # The whole stream is the gadget.
        stream = pickle.dumps(RunsCommand(marker), protocol=protocol)
        path = with_x_train(f"alone{protocol}.npz", tmp_path, npy_bytes(stream, 1))
        with pytest.raises(DatasetError, match=r"Refusing `x_train` in .*alone.\.npz.*(posix|os)\.system"):
            imdb.load_data(path)
        if protocol > 2:  # (protocol 2 pickles bytes with `_codecs.encode`, refused first)
            stream = pickle.dumps(object_array([[1, 2], RunsCommand(marker)]), protocol=protocol)
            path = with_x_train(f"inside{protocol}.npz", tmp_path, npy_bytes(stream, 2))
            with pytest.raises(DatasetError, match=r"(posix|os)\.system.*Nothing in it was run"):
                imdb.load_data(path)
    assert not marker.exists()
    path = with_x_train("eval.npz", tmp_path, npy_bytes(pickle.dumps([Evaluates()], protocol=4), 1))
    with pytest.raises(DatasetError, match=r"builtins\.eval"):
        imdb.load_data(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda: object_array([[1, 2], {"a": 1}]), "opcode EMPTY_DICT"),
        (lambda: object_array([[1, 2.5]]), "opcode BINFLOAT"),
        (lambda: object_array([[1, "word"]]), "element 0 holding a str"),
        (lambda: object_array([(1, 2)]), "element 0, a tuple"),
        (lambda: object_array([[1, 2**70]]), "outside int64"),
        (lambda: object_array([[True]]), "element 0 holding a bool"),
        (lambda: np.arange(3, dtype=np.int64), "dtype 'i8'"),  # pickled, not an object array
        (lambda: [[1, 2]], "a list where a numpy array"),
        (lambda: np.array([np.int64(3)], dtype=object), r"numpy\._core\.multiarray\.scalar|numpy\.core"),
    ],
)
def test_other_pickles_are_refused(tmp_path, content, message):
    stream = pickle.dumps(content(), protocol=4)
    path = with_x_train("other.npz", tmp_path, npy_bytes(stream, 1))
    with pytest.raises(DatasetError, match=message):
        imdb.load_data(path)


def test_damaged_and_foreign_files(tmp_path):
    x = object_array([[1, 2, 3], [4]])
    stream = pickle.dumps(x, protocol=4)
    truncated = with_x_train("truncated.npz", tmp_path, npy_bytes(stream[: len(stream) // 2], 2))
    with pytest.raises(DatasetError, match="malformed"):
        imdb.load_data(truncated)
    wrong_shape = with_x_train("shape.npz", tmp_path, npy_bytes(stream, 5))
    with pytest.raises(DatasetError, match="header says shape"):
        imdb.load_data(wrong_shape)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.arange(3))
    with pytest.raises(
        DatasetError, match=r"not Keras's dataset file: it has no `x_train` array \(it has x\)"
    ):
        imdb.load_data(foreign)
    good = arrays_of(EXTRA / "imdb_small.npz")
    members = {k: np.array(v) for k, v in good.items() if k[0] == "y"}
    members |= {"x_train": np.zeros((40, 3), dtype=np.int64), "x_test": np.zeros((30, 3), dtype=np.int64)}
    ints = write_npz(tmp_path / "ints.npz", members)
    with pytest.raises(DatasetError, match=r"`x_train` is a int64 array of shape \(40, 3\), not an array of"):
        imdb.load_data(ints)
    labels = tmp_path / "labels.npz"
    with zipfile.ZipFile(EXTRA / "imdb_small.npz") as z, zipfile.ZipFile(labels, "w") as out:
        for n in z.namelist():
            out.writestr(n, z.read(n) if n != "y_train.npy" else npy_float(40))
    with pytest.raises(DatasetError, match=r"`y_train` is a float64 array of shape \(40,\), not one integer"):
        imdb.load_data(labels)
    not_zip = tmp_path / "plain.npz"
    not_zip.write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="Could not read .*plain.npz as an .npz archive|Keras's imdb.npz"):
        imdb.load_data(not_zip, source="keras")


def npy_float(n):
    buf = io.BytesIO()
    np.save(buf, np.zeros(n))
    return buf.getvalue()


def test_bad_word_index(npz):
    index = npz.parent / imdb.KERAS_WORD_INDEX
    index.write_text('{"the": 1, "and": "two"}')
    with pytest.raises(DatasetError, match="'and' maps to 'two', not an integer"):
        imdb.get_word_index(npz)
    index.write_text("[1, 2]")
    with pytest.raises(DatasetError, match="a JSON list, not an object"):
        imdb.get_word_index(npz)
    index.write_text('{"the": 1, "and": 3}')
    with pytest.raises(DatasetError, match="ranks do not run 1, 2"):
        imdb.decode([1, 4], path=npz)


def test_memo_bombs_and_deep_nesting_are_refused_cheaply(tmp_path):
    row = list(range(1000))
    stream = pickle.dumps(object_array([row] * 1000), protocol=4)  # one list, 999 memo references
    assert len(stream) < 20_000
    path = with_x_train("bomb.npz", tmp_path, npy_bytes(stream, 1000))
    with pytest.raises(DatasetError, match="more ints in its lists than its .* bytes could hold"):
        imdb.load_data(path)
    # 100,000 nested lists as _reconstruct's argument: described, never repr'd.
    n = 100_000
    deep = b"\x80\x04cnumpy._core.multiarray\n_reconstruct\n" + b"]" * n + b"a" * (n - 1) + b"\x85R."
    path = with_x_train("deep.npz", tmp_path, npy_bytes(deep, 1))
    with pytest.raises(DatasetError, match=r"_reconstruct with arguments \(a list of 1 items\)"):
        imdb.load_data(path)


def test_refusals_describe_what_they_found_briefly(tmp_path):
    wrong = b"\x80\x03cnumpy._core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01x\x87R."
    path = with_x_train("wrong.npz", tmp_path, npy_bytes(wrong, 1))
    with pytest.raises(
        DatasetError, match=re.escape("_reconstruct with arguments (numpy.ndarray, (0,), b'x')")
    ):
        imdb.load_data(path)
    long_name = b"\x80\x03c" + b"m" * 100_000 + b"\nsystem\n."
    path = with_x_train("long.npz", tmp_path, npy_bytes(long_name, 1))
    with pytest.raises(DatasetError, match="the global `mmm") as refused:
        imdb.load_data(path)
    assert len(str(refused.value)) < 1000


# ----------------------------------------------------------------------------- the fast decoder
MIXED = [[1, 300, 70_000, -5, 255, 256, 65_535, 65_536], [7] * 5, [2**40, 3], [9], []]


def read_x(tmp_path, stream: bytes, n: int):
    path = write_npz(tmp_path / "x.npz", {"x_train": npy_bytes(stream, n)})
    return keras_npz.load(path, ("x_train",))["x_train"].tolist()


class OnlyNumpysArrays(pickle.Unpickler):
    """The oracle: Python's unpickler, allowed only the globals numpy writes for an object array."""

    def find_class(self, module, name):
        if (module, name) in {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "_reconstruct"),
        }:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name}")


def test_long_runs_of_every_int_opcode(tmp_path):
    # Runs longer than one APPENDS batch (1,000 items), across protocol 4's frames (64 KiB).
    rng = np.random.default_rng(3)
    lists = [
        rng.choice([0, 255, 256, 65_535, 65_536, -1, 2**31 - 1, -(2**31)], n).tolist() for n in (3000, 1)
    ]
    lists.append(rng.integers(0, 256, 70_000).tolist())
    for protocol in (3, 4, 5):
        stream = pickle.dumps(object_array(lists), protocol=protocol)
        assert read_x(tmp_path, stream, len(lists)) == lists


def test_every_truncation_is_refused(tmp_path):
    for protocol in (3, 4):
        stream = pickle.dumps(object_array(MIXED), protocol=protocol)
        assert read_x(tmp_path, stream, len(MIXED)) == MIXED
        for cut in range(len(stream)):
            with pytest.raises(DatasetError, match="Refusing `x_train`"):
                read_x(tmp_path, stream[:cut], len(MIXED))


def test_mutated_lists_are_refused_or_read_as_unpickling_does(tmp_path):
    """Each byte of the lists' part of a stream replaced by opcode bytes and by near values:
    whatever the reader accepts, a restricted unpickler reads the same. (Before the lists, the
    dtype's state is checked only for its shape, as before: numpy may refuse more there.)"""
    read = 0
    for protocol in (3, 4):
        stream = pickle.dumps(object_array(MIXED), protocol=protocol)
        lists = next(p for op, _, p in pickletools.genops(stream) if op.name == "EMPTY_LIST")
        for i in range(lists, len(stream)):
            for value in {*b"KMJ(ea]q\x94", stream[i] ^ 1, stream[i] ^ 0x80}:
                mutated = stream[:i] + bytes([value]) + stream[i + 1 :]
                try:
                    got = read_x(tmp_path, mutated, len(MIXED))
                except DatasetError:
                    continue
                read += 1
                want = OnlyNumpysArrays(io.BytesIO(mutated)).load()
                assert got == want.tolist(), (protocol, i, value)
    assert read > 100  # changed int values and lengths, at least
