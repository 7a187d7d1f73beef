"""`textrnn.utils` as `keras.utils`: `to_categorical` and `get_file` (with a local HTTP server on
127.0.0.1 and file:// URLs; nothing leaves the machine)."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from textrnn.utils import get_file, to_categorical

PAYLOAD = b"positive\tGreat film!\nnegative\tDull.\n" * 100


def test_to_categorical_is_keras():
    np.testing.assert_array_equal(to_categorical([0, 2, 1]), np.eye(3)[[0, 2, 1]])
    out = to_categorical(np.array([[1], [0]]), num_classes=4)  # a trailing axis of 1 is dropped
    assert out.shape == (2, 4) and out.dtype == np.float64
    assert to_categorical(np.zeros((2, 3), "int32"), 2).shape == (2, 3, 2)
    with pytest.raises(ValueError, match="num_classes=2"):
        to_categorical([0, 2], num_classes=2)


@pytest.fixture
def server(tmp_path):
    """Serves `tmp_path / "www"` on 127.0.0.1; counts the requests."""
    root = tmp_path / "www"
    root.mkdir()
    hits: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            hits.append(self.path)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTRNN_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_download_cache_and_hashes(server, home, capsys):
    root, url, hits = server
    (root / "reviews.tsv").write_bytes(PAYLOAD)
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    path = get_file(origin=f"{url}/reviews.tsv", file_hash=sha)
    assert Path(path) == home / "datasets" / "reviews.tsv" and Path(path).read_bytes() == PAYLOAD
    assert get_file(origin=f"{url}/reviews.tsv", file_hash=sha) == path  # cached: no second request
    assert len(hits) == 1
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    assert get_file("reviews.tsv", f"{url}/reviews.tsv", md5_hash=md5) == path and len(hits) == 1
    Path(path).write_bytes(b"truncated")  # a damaged cache file is downloaded again
    assert Path(get_file(origin=f"{url}/reviews.tsv", file_hash=sha)).read_bytes() == PAYLOAD
    assert len(hits) == 2 and "re-download" in capsys.readouterr().out
    get_file(origin=f"{url}/reviews.tsv", force_download=True)
    assert len(hits) == 3
    other = get_file("copy.tsv", f"{url}/reviews.tsv", cache_dir=home / "elsewhere", cache_subdir="sub")
    assert Path(other) == home / "elsewhere" / "sub" / "copy.tsv"


def test_bad_hash_leaves_nothing(server, home):
    root, url, _ = server
    (root / "reviews.tsv").write_bytes(PAYLOAD)
    with pytest.raises(ValueError, match="Incomplete or corrupted file detected"):
        get_file(origin=f"{url}/reviews.tsv", file_hash="0" * 64)
    assert os.listdir(home / "datasets") == []


def test_failures_and_argument_errors(server, tmp_path):
    _, url, _ = server
    with pytest.raises(OSError, match="URL fetch failure on .*404"):
        get_file(origin=f"{url}/missing.tsv")
    with pytest.raises(ValueError, match='specify the "origin"'):
        get_file("x.tsv")
    with pytest.raises(ValueError, match="Paths are no longer accepted"):
        get_file("sub/x.tsv", origin=f"{url}/x.tsv")
    with pytest.raises(ValueError, match="argument `hash_algorithm`"):
        get_file(origin=f"{url}/x.tsv", hash_algorithm="sha1")
    with pytest.raises(ValueError, match="Can't parse the file name"):
        get_file(origin=url + "/")


def _tar_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_extract_tar_and_zip_from_file_urls(tmp_path, home):
    archive = tmp_path / "corpus.tar.gz"
    archive.write_bytes(_tar_bytes({"corpus/pos/1.txt": b"good", "corpus/neg/1.txt": b"bad"}))
    folder = Path(get_file("corpus.tar.gz", archive.as_uri(), extract=True))
    assert folder == home / "datasets" / "corpus_extracted"  # Keras 3's name
    assert (folder / "corpus" / "pos" / "1.txt").read_bytes() == b"good"
    assert (home / "datasets" / "corpus.tar.gz").exists()
    unnamed = Path(get_file(origin=archive.as_uri(), untar=True))
    assert unnamed == home / "datasets" / "corpus.tar.gz" and unnamed.is_dir()
    assert (home / "datasets" / "corpus.tar.gz_archive").is_file()
    zpath = tmp_path / "vectors.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("vectors.txt", "the 0.1 0.2\n")
    folder = Path(get_file("vectors.zip", zpath.as_uri(), extract=True, archive_format="zip"))
    assert (folder / "vectors.txt").read_text() == "the 0.1 0.2\n"


def test_unsafe_archives_are_refused(tmp_path, home):
    archive = tmp_path / "evil.tar.gz"
    archive.write_bytes(_tar_bytes({"../outside.txt": b"x"}))
    with pytest.raises(ValueError, match="points outside the target folder"):
        get_file("evil.tar.gz", archive.as_uri(), extract=True)
    assert not (home / "outside.txt").exists() and not (home / "datasets" / "evil_extracted").exists()
    plain = tmp_path / "plain.txt.gz"
    plain.write_bytes(b"not an archive")
    with pytest.warns(UserWarning, match="Could not extract archive"):
        get_file("plain.txt.gz", plain.as_uri(), extract=True)
