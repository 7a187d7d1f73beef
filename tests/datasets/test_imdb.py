import hashlib
import io
import os
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from textrnn.datasets import download, imdb
from textrnn.errors import DatasetError
from textrnn.preprocessing.text import Vocabulary, tokenize

REVIEWS = {
    "train/neg": {
        "0_2.txt": "This movie was bad. Really BAD!<br /><br />The acting was awful.",
        "1_3.txt": "Awful, awful film... I didn't like it; the plot was thin.",
        "2_1.txt": "The worst movie I've seen<br/>in years. Bad bad bad.",
        "10_4.txt": "Not good. The end.",
    },
    "train/pos": {
        "0_9.txt": "A great movie! The acting was great, the story GREAT.",
        "1_7.txt": "I liked it. Good film<br />with a good cast.",
        "2_10.txt": "Best film of the year: wonderful, moving & funny.",
        "11_8.txt": "Great.",
    },
    "test/neg": {
        "0_1.txt": "Bad movie, awful acting.",
        "1_2.txt": "Terrible!<br />A dreadful, boring film.",
        "5_3.txt": "The plot was thin and the movie was bad.",
    },
    "test/pos": {
        "0_10.txt": "Great film, great cast, wonderful!",
        "2_7.txt": "I liked the story. Superb.",
        "3_9.txt": "Good movie.",
    },
    "train/unsup": {
        "0_0.txt": "Unlabelled review one.",
        "1_0.txt": "Another<br />unlabelled review.",
    },
}
# The documented order: negatives then positives, by the numeric id of the file name.
ORDER = {
    "train": [("train/neg", n) for n in ("0_2.txt", "1_3.txt", "2_1.txt", "10_4.txt")]
    + [("train/pos", n) for n in ("0_9.txt", "1_7.txt", "2_10.txt", "11_8.txt")],
    "test": [("test/neg", n) for n in ("0_1.txt", "1_2.txt", "5_3.txt")]
    + [("test/pos", n) for n in ("0_10.txt", "2_7.txt", "3_9.txt")],
    "unsup": [("train/unsup", n) for n in ("0_0.txt", "1_0.txt")],
}


def texts_of(subset):
    return [REVIEWS[folder][name] for folder, name in ORDER[subset]]


def labels_of(subset):
    return np.array([-1 if "unsup" in f else int(f.endswith("pos")) for f, _ in ORDER[subset]])


def make_folder(root: Path) -> Path:
    for folder, files in REVIEWS.items():
        d = root / "aclImdb" / folder
        d.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (d / name).write_text(text, encoding="utf-8")
    (root / "aclImdb" / "README").write_text("tiny imdb")
    return root / "aclImdb"


def make_tarball(path: Path, extra: list[tarfile.TarInfo] = (), gz: bool = True) -> Path:
    with tarfile.open(path, "w:gz" if gz else "w") as tf:
        for folder, files in REVIEWS.items():
            for name, text in files.items():
                data = text.encode("utf-8")
                info = tarfile.TarInfo(f"aclImdb/{folder}/{name}")
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
        for info in extra:
            tf.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)
    return path


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTRNN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # no Keras imdb.npz: the raw reviews
    monkeypatch.delenv("TEXTRNN_IMDB", raising=False)
    return tmp_path / "home"


@pytest.fixture
def folder(tmp_path):
    return make_folder(tmp_path / "data")


@pytest.fixture
def tarball(tmp_path):
    return make_tarball(tmp_path / "aclImdb_v1.tar.gz")


def reference_words():
    counts = Counter(t for text in texts_of("train") for t in tokenize(text))
    return sorted(counts, key=lambda w: (-counts[w], w))


def keras_reference(
    num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2, index_from=3
):
    """Keras's imdb.load_data steps, transcribed on plain lists (unseen test words -> oov_char)."""
    rank = {w: i for i, w in enumerate(reference_words(), start=1)}

    def raw(subset):
        out = []
        for text in texts_of(subset):
            seq = []
            for t in tokenize(text):
                if t in rank:
                    seq.append(rank[t] + index_from)
                elif oov_char is not None:
                    seq.append(oov_char)
            out.append(seq)
        return out

    x_train, y_train = raw("train"), labels_of("train")
    x_test, y_test = raw("test"), labels_of("test")
    rng = np.random.RandomState(seed)
    idx = np.arange(len(x_train))
    rng.shuffle(idx)
    x_train, y_train = [x_train[i] for i in idx], y_train[idx]
    idx = np.arange(len(x_test))
    rng.shuffle(idx)
    x_test, y_test = [x_test[i] for i in idx], y_test[idx]
    if start_char is not None:
        x_train = [[start_char, *x] for x in x_train]
        x_test = [[start_char, *x] for x in x_test]
    if maxlen:
        keep = [i for i, x in enumerate(x_train) if len(x) < maxlen]
        x_train, y_train = [x_train[i] for i in keep], y_train[keep]
        keep = [i for i, x in enumerate(x_test) if len(x) < maxlen]
        x_test, y_test = [x_test[i] for i in keep], y_test[keep]
    xs = x_train + x_test
    if not num_words:
        num_words = max(max(x) for x in xs if x)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    n = len(x_train)
    return (xs[:n], y_train), (xs[n:], y_test)


def assert_same(got, want):
    (gx_tr, gy_tr), (gx_te, gy_te) = got
    (wx_tr, wy_tr), (wx_te, wy_te) = want
    assert gx_tr.dtype == object and gx_te.dtype == object
    assert [list(x) for x in gx_tr] == [list(x) for x in wx_tr]
    assert [list(x) for x in gx_te] == [list(x) for x in wx_te]
    assert all(type(i) is int for x in gx_tr for i in x)
    np.testing.assert_array_equal(gy_tr, wy_tr)
    np.testing.assert_array_equal(gy_te, wy_te)
    assert gy_tr.dtype.kind == "i"


# ----------------------------------------------------------------------------- load_data
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"num_words": 10},
        {"num_words": 10, "skip_top": 5},
        {"skip_top": 2},  # the start char (1) falls below skip_top and becomes oov_char
        {"num_words": 8, "oov_char": None},
        {"oov_char": None},
        {"start_char": None, "index_from": 0, "oov_char": 40},
        {"index_from": 5, "start_char": 3, "oov_char": 4},
        {"maxlen": 6},
        {"maxlen": 9, "num_words": 12, "skip_top": 4, "oov_char": None},
        {"seed": 7},
        {"seed": 0, "start_char": None},
    ],
)
def test_load_data_matches_keras_steps(folder, kwargs):
    assert_same(imdb.load_data(folder, **kwargs), keras_reference(**kwargs))


def test_load_data_conventions_on_one_review(folder):
    (x_train, y_train), _ = imdb.load_data(folder, seed=3)
    words = reference_words()
    order = np.arange(8)
    np.random.RandomState(3).shuffle(order)
    for i, j in enumerate(order):
        tokens = tokenize(texts_of("train")[j])
        assert x_train[i][0] == 1  # start_char
        expected = [words.index(t) + 1 + 3 for t in tokens]
        top = len(words) + 3  # num_words=None -> the largest index, which itself becomes oov
        assert x_train[i][1:] == [w if w < top else 2 for w in expected]
        assert y_train[i] == labels_of("train")[j]
    assert min(min(x) for x in x_train) == 1


def test_seed_order(folder):
    a = imdb.load_data(folder, seed=113)
    b = imdb.load_data(folder, seed=113)
    c = imdb.load_data(folder, seed=114)
    assert [list(x) for x in a[0][0]] == [list(x) for x in b[0][0]]
    assert [list(x) for x in a[0][0]] != [list(x) for x in c[0][0]]
    # One RandomState: train indices first, then test.
    rng = np.random.RandomState(113)
    train_idx, test_idx = np.arange(8), np.arange(6)
    rng.shuffle(train_idx)
    rng.shuffle(test_idx)
    np.testing.assert_array_equal(a[0][1], labels_of("train")[train_idx])
    np.testing.assert_array_equal(a[1][1], labels_of("test")[test_idx])
    encoded = imdb.encode([texts_of("test")[i] for i in test_idx], path=folder)
    assert [list(x) for x in a[1][0]] == encoded


def test_maxlen_keeps_strictly_shorter(folder):
    (x_all, _), (t_all, _) = imdb.load_data(folder)
    lengths = sorted({len(x) for x in x_all})
    cut = lengths[len(lengths) // 2]
    (x, y), (t, _) = imdb.load_data(folder, maxlen=cut)
    assert len(x) == sum(len(s) < cut for s in x_all) and len(x) == len(y)
    assert all(len(s) < cut for s in x) and all(len(s) < cut for s in t)
    assert len(t) == sum(len(s) < cut for s in t_all)
    (x2, _), _ = imdb.load_data(folder, maxlen=cut + 1)
    assert len(x2) == len(x) + sum(len(s) == cut for s in x_all)
    with pytest.raises(ValueError, match="maxlen=1.*Increase maxlen"):
        imdb.load_data(folder, maxlen=1)


def test_unseen_test_words(folder):
    words = set(reference_words())
    assert {"terrible", "dreadful", "boring", "superb"}.isdisjoint(words)
    texts = ["Terrible, superb film!"]
    film = reference_words().index("film") + 1 + 3
    assert imdb.encode(texts, path=folder) == [[1, 2, 2, film]]
    assert imdb.encode(texts, oov_char=None, path=folder) == [[1, film]]


def test_labels_and_shapes(folder):
    (x_train, y_train), (x_test, y_test) = imdb.load_data(folder)
    assert x_train.shape == (8,) and x_test.shape == (6,)
    assert sorted(y_train.tolist()) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert sorted(y_test.tolist()) == [0, 0, 0, 1, 1, 1]


def test_argument_errors(folder):
    with pytest.raises(ValueError, match="`num_words`.*0"):
        imdb.load_data(folder, num_words=0)
    with pytest.raises(ValueError, match="`maxlen`"):
        imdb.load_data(folder, maxlen=-5)
    with pytest.raises(ValueError, match="`skip_top`"):
        imdb.load_data(folder, skip_top=-1)
    with pytest.raises(ValueError, match="`subset`.*'dev'"):
        imdb.load_texts(folder, subset="dev")


# ----------------------------------------------------------------------------- word index, encode, decode
def test_get_word_index(folder):
    word_index = imdb.get_word_index(folder)
    assert word_index == Vocabulary.build(texts_of("train")).word_index
    assert word_index["the"] == 1  # 7 times, the most frequent
    assert sorted(word_index.values()) == list(range(1, len(word_index) + 1))
    assert "br" not in word_index and "BAD" not in word_index and "bad" in word_index


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"num_words": 10, "skip_top": 4},
        {"oov_char": None, "num_words": 9},
        {"index_from": 2, "start_char": None},
    ],
)
def test_encode_equals_load_data(folder, kwargs):
    (x_train, _), (x_test, _) = imdb.load_data(folder, seed=5, **kwargs)
    rng = np.random.RandomState(5)
    train_idx, test_idx = np.arange(8), np.arange(6)
    rng.shuffle(train_idx)
    rng.shuffle(test_idx)
    assert imdb.encode([texts_of("train")[i] for i in train_idx], path=folder, **kwargs) == [
        list(x) for x in x_train
    ]
    assert imdb.encode([texts_of("test")[i] for i in test_idx], path=folder, **kwargs) == [
        list(x) for x in x_test
    ]


def test_decode_round_trip(folder):
    text = "The acting was GREAT!<br />A good film."
    (seq,) = imdb.encode([text], path=folder)
    assert imdb.decode(seq, path=folder) == "[START] the acting was great a good film"
    assert imdb.decode([0, 0, *seq], path=folder) == "[START] the acting was great a good film"
    assert imdb.decode([1, 2], path=folder) == "[START] [OOV]"
    vocab = imdb.vocabulary(folder, num_words=10)
    assert vocab.num_words == 10 and vocab.encode([text]) == imdb.encode([text], num_words=10, path=folder)


# ----------------------------------------------------------------------------- texts, sources
def test_load_texts_order_and_labels(folder):
    for subset in ("train", "test", "unsup"):
        texts, labels = imdb.load_texts(folder, subset=subset)
        assert texts == texts_of(subset)
        np.testing.assert_array_equal(labels, labels_of(subset))


def test_sources_agree(tmp_path, folder, tarball, monkeypatch):
    want = keras_reference(num_words=10)
    assert_same(imdb.load_data(tarball, num_words=10), want)
    assert_same(imdb.load_data(folder.parent, num_words=10), want)  # a folder holding aclImdb/
    assert_same(imdb.load_data(str(folder), num_words=10), want)  # aclImdb/ itself, as a string
    plain_tar = make_tarball(tmp_path / "plain.tar", gz=False)
    assert_same(imdb.load_data(plain_tar, num_words=10), want)
    monkeypatch.setenv("TEXTRNN_IMDB", str(tarball))
    assert_same(imdb.load_data(num_words=10), want)
    assert imdb.load_texts(subset="unsup")[0] == texts_of("unsup")
    # $TEXTRNN_IMDB wins over Keras's cached imdb.npz; without it, Keras's file is read.
    keras_datasets = tmp_path / "keras" / "datasets"
    keras_datasets.mkdir(parents=True)
    np.savez(keras_datasets / "imdb.npz", x=np.arange(3))  # never read while the tarball is chosen
    assert imdb.data_source() == ("raw", tarball.resolve())
    assert_same(imdb.load_data(num_words=10), want)
    assert_same(imdb.load_data(num_words=10, source="raw"), want)
    monkeypatch.delenv("TEXTRNN_IMDB")
    assert imdb.data_source() == ("keras", (keras_datasets / "imdb.npz").resolve())
    with pytest.raises(DatasetError, match="imdb.npz is not Keras's dataset file"):
        imdb.load_data()
    assert_same(imdb.load_data(tarball, num_words=10), want)  # a path wins over Keras's cache


def test_second_load_reads_the_cache(folder, home, monkeypatch):
    first = imdb.load_data(folder, num_words=10)
    assert list((home / "datasets" / "imdb").glob("*/tokens.npz"))

    def no_reading(*args, **kwargs):
        raise AssertionError("the raw reviews were read again")

    monkeypatch.setattr(imdb, "_read_texts", no_reading)
    assert_same(imdb.load_data(folder, num_words=10), first)
    assert imdb.load_texts(folder, "test")[0] == texts_of("test")  # cached by the first load too
    assert imdb.get_word_index(folder)["the"] == 1
    # A changed source is a new cache key: the reviews must be read again.
    new = folder / "train" / "pos" / "12_9.txt"
    new.write_text("A new review.")
    st = new.parent.stat()
    os.utime(new.parent, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(AssertionError, match="read again"):
        imdb.load_data(folder)


def test_corrupt_cache_file_is_rebuilt(folder, home):
    first = imdb.load_data(folder)
    (cache,) = (home / "datasets" / "imdb").glob("*/tokens.npz")
    cache.write_bytes(b"not a zip")
    assert_same(imdb.load_data(folder), first)


def test_cache_files_hold_no_pickle(folder, home):
    imdb.load_data(folder)
    imdb.load_texts(folder, "unsup")
    files = list((home / "datasets" / "imdb").glob("*/*.npz"))
    assert len(files) == 4  # tokens + texts of train, test, unsup
    for f in files:
        with np.load(f, allow_pickle=False) as data:
            assert all(data[k].dtype != object for k in data.files)


def test_extract(tarball, home):
    root = imdb.extract(tarball)
    assert root.name == "aclImdb" and home in root.parents
    assert (root / "train" / "neg" / "10_4.txt").read_text() == REVIEWS["train/neg"]["10_4.txt"]
    assert not [p for p in root.parent.parent.iterdir() if p.name.endswith(".part")]
    assert imdb.extract(tarball) == root  # already there
    assert imdb.load_texts(root, "train")[0] == texts_of("train")


# ----------------------------------------------------------------------------- unsafe archives
def _member(name, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = 3 if kind == tarfile.REGTYPE else 0
    return info


@pytest.mark.parametrize(
    "member, message",
    [
        (_member("../evil.txt"), "outside"),
        (_member("aclImdb/train/../../evil.txt"), "outside"),
        (_member("/tmp/textrnn-evil.txt"), "absolute"),
        (_member("aclImdb/train/pos/99_9.txt", tarfile.SYMTYPE, "/etc/passwd"), "link"),
        (_member("aclImdb/hard", tarfile.LNKTYPE, "aclImdb/README"), "link"),
        (_member("aclImdb/fifo", tarfile.FIFOTYPE), "not a regular file"),
    ],
)
def test_unsafe_tar_members_are_refused(tmp_path, member, message):
    bad = make_tarball(tmp_path / "bad.tar.gz", extra=[member])
    with pytest.raises(DatasetError, match=message):
        imdb.load_data(bad)
    with pytest.raises(DatasetError, match=message):
        imdb.extract(bad)
    assert not (tmp_path / "evil.txt").exists()
    assert not Path("/tmp/textrnn-evil.txt").exists()
    leftovers = [p for p in (tmp_path / "home").rglob("*") if p.is_file() or "extracted" in p.name]
    assert leftovers == []


# ----------------------------------------------------------------------------- download
def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_verifies_and_caches(tarball, home, monkeypatch):
    monkeypatch.setattr(imdb, "URL", tarball.as_uri())
    monkeypatch.setattr(imdb, "SHA256", _sha256(tarball))
    assert_same(imdb.load_data(num_words=10), keras_reference(num_words=10))
    cached = home / "datasets" / "aclImdb_v1.tar.gz"
    assert cached.read_bytes() == tarball.read_bytes()
    assert [p.name for p in cached.parent.iterdir() if p.is_file()] == ["aclImdb_v1.tar.gz"]
    monkeypatch.setattr(imdb, "URL", "file:///nonexistent/never-downloaded-again.tar.gz")
    assert imdb.get_word_index()["the"] == 1


def test_corrupted_download_is_deleted(tarball, home, monkeypatch):
    monkeypatch.setattr(imdb, "URL", tarball.as_uri())
    monkeypatch.setattr(imdb, "SHA256", "0" * 64)
    with pytest.raises(DatasetError, match="corrupted.*expected 0{64}.*download it"):
        imdb.load_data()
    assert not (home / "datasets").exists() or list((home / "datasets").iterdir()) == []


def test_failed_download(home, monkeypatch, tmp_path):
    monkeypatch.setattr(imdb, "URL", (tmp_path / "missing.tar.gz").as_uri())
    with pytest.raises(DatasetError, match="Could not download.*pass its path"):
        imdb.load_data()
    assert list((home / "datasets").iterdir()) == []


def test_default_checksum_is_the_official_one():
    assert imdb.SHA256 == "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
    assert imdb.URL == "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"


def test_cache_home_default(monkeypatch):
    monkeypatch.delenv("TEXTRNN_HOME")
    assert download.cache_home() == Path.home() / ".cache" / "textrnn"


# ----------------------------------------------------------------------------- source errors
def test_source_errors(tmp_path, tarball):
    with pytest.raises(DatasetError, match="not found.*TEXTRNN_IMDB"):
        imdb.load_data(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="not an IMDB folder.*train/ and test/"):
        imdb.load_data(tmp_path / "empty")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(DatasetError, match="neither a tar archive nor a folder"):
        imdb.load_data(text)
    npz = tmp_path / "imdb.npz"
    np.savez(npz, x=np.arange(3))
    with pytest.raises(DatasetError, match="not Keras's dataset file: it has no `x_train`"):
        imdb.load_data(npz)
    with pytest.raises(DatasetError, match="pickled.*source='keras'"):
        imdb.load_data(npz, source="raw")
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(tarball.read_bytes()[: len(tarball.read_bytes()) // 2])
    with pytest.raises(DatasetError, match="damaged or incomplete|Could not read"):
        imdb.load_data(truncated)
    other = tmp_path / "other.tar.gz"
    with tarfile.open(other, "w:gz") as tf:
        info = tarfile.TarInfo("photos/cat.txt")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(DatasetError, match="No train reviews"):
        imdb.load_data(other)


def test_incomplete_folder(tmp_path):
    root = tmp_path / "aclImdb"
    (root / "train" / "pos").mkdir(parents=True)
    (root / "test").mkdir()
    with pytest.raises(DatasetError, match="neg is missing"):
        imdb.load_data(root)
