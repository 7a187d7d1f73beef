"""A small tarball that expands to gigabytes costs nothing (issue 14 item 6).

The archives are built by hand: a tar header, then the member's data as repeated gzip members
of one compressed megabyte of zeros (a gzip file may be a concatenation), so a 1 GiB member
fits in about 1 MB on disk and takes no time to make.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import tracemalloc

import pytest

from textrnn.datasets import download, imdb
from textrnn.errors import DatasetError

MiB = 1024**2


def bomb(path, members, *, mib=1024):
    """A .tar.gz of `members` (names), each `mib` MiB of zeros, plus the tar end blocks."""
    zeros = gzip.compress(b"\0" * MiB, compresslevel=9)
    with open(path, "wb") as f:
        for name in members:
            info = tarfile.TarInfo(name)
            info.size = mib * MiB
            f.write(gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT)))
            for _ in range(mib):
                f.write(zeros)
        f.write(gzip.compress(b"\0" * 1024))
    return path


def small_tar(path, files):
    with tarfile.open(path, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_one_gib_review_is_refused_without_reading_it(tmp_path):
    archive = bomb(tmp_path / "aclImdb_v1.tar.gz", ["aclImdb/train/pos/0_9.txt"])
    assert archive.stat().st_size < 2 * MiB
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match=r"0_9.txt' is 1073741824 bytes, over the"):
            imdb.load_texts(archive, subset="train")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * MiB, peak


def test_extracting_a_bomb_is_refused_before_writing(tmp_path):
    archive = bomb(tmp_path / "a.tar.gz", ["aclImdb/imdb.vocab"], mib=download.MAX_MEMBER_BYTES // MiB + 1)
    with pytest.raises(DatasetError, match="over the 67108864 bytes allowed"):
        download.safe_extract(archive, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar.gz"]  # nothing half-extracted


def test_total_size_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "MAX_TOTAL_BYTES", 3 * MiB)
    archive = bomb(tmp_path / "a.tar.gz", [f"aclImdb/x{i}" for i in range(4)], mib=1)
    with pytest.raises(DatasetError, match="add up to more than"):
        download.safe_extract(archive, tmp_path / "out")


def test_member_count_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "MAX_MEMBERS", 10)
    archive = small_tar(tmp_path / "a.tar.gz", {f"aclImdb/train/pos/{i}_7.txt": b"good" for i in range(11)})
    with pytest.raises(DatasetError, match="more than 10 members"):
        imdb.load_texts(archive, subset="train")


def test_a_big_review_file_in_a_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "MAX_TEXT_BYTES", 100)
    root = tmp_path / "aclImdb"
    for split in ("train", "test"):
        for cls in ("pos", "neg"):
            (root / split / cls).mkdir(parents=True)
            (root / split / cls / "0_7.txt").write_text("fine review")
    (root / "train" / "pos" / "1_8.txt").write_bytes(b"x" * 101)
    with pytest.raises(DatasetError, match="larger than 100 bytes"):
        imdb.load_texts(root, subset="train")


def test_normal_archives_still_read(tmp_path):
    files = {
        f"aclImdb/train/{c}/{i}_{7 if c == 'pos' else 2}.txt": f"{c} review {i}".encode()
        for c in ("pos", "neg")
        for i in range(3)
    }
    texts, labels = imdb.load_texts(small_tar(tmp_path / "a.tar.gz", files), subset="train")
    assert sorted(texts) == sorted(b.decode() for b in files.values()) and sorted(labels) == [
        0,
        0,
        0,
        1,
        1,
        1,
    ]
