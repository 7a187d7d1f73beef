"""`textrnn.fileio`'s folder helpers: temporary entries, a swap cut short, locks, parents."""

from __future__ import annotations

import os

import pytest

from textrnn.fileio import (
    FolderLock,
    make_parents,
    remove_empty_dirs,
    replaced_dir,
    restore_replaced_dir,
    set_file_mode,
    temp_entries,
)


def test_temp_entries_finds_what_atomic_writes_leave(tmp_path):
    for name in (".model.old-0123abcd", ".model.tmp-89abcdef", ".run.incomplete-deadbeef"):
        (tmp_path / name).mkdir()
    for name in (".history.json.k2j4_x9a.tmp", "model", "keep.txt", ".hidden", ".model.old-XYZ"):
        (tmp_path / name).mkdir() if name == "model" else (tmp_path / name).write_text("x")
    assert [p.name for p in temp_entries(tmp_path)] == [
        ".history.json.k2j4_x9a.tmp", ".model.old-0123abcd", ".model.tmp-89abcdef",
        ".run.incomplete-deadbeef",
    ]  # fmt: skip
    assert [p.name for p in temp_entries(tmp_path, name="model")] == [
        ".model.old-0123abcd",
        ".model.tmp-89abcdef",
    ]
    assert temp_entries(tmp_path / "missing") == []


def test_restore_replaced_dir_puts_back_the_folder_a_kill_left_aside(tmp_path):
    target = tmp_path / "model"
    assert replaced_dir(target) is None and not restore_replaced_dir(target)
    old = tmp_path / ".model.old-0123abcd"
    old.mkdir()
    (old / "f").write_text("previous")
    assert replaced_dir(target) == old  # a reader finds it without moving anything
    assert old.exists() and not target.exists()
    assert restore_replaced_dir(target)
    assert (target / "f").read_text() == "previous" and not old.exists()
    assert replaced_dir(target) == target and not restore_replaced_dir(target)


def test_folder_lock_excludes_a_second_holder_until_released(tmp_path):
    first = FolderLock.try_acquire(tmp_path)
    assert first is not None and first.real
    assert FolderLock.try_acquire(tmp_path) is None
    first.release()
    with FolderLock.try_acquire(tmp_path) as again:
        assert again is not None


def test_make_parents_and_remove_empty_dirs(tmp_path):
    made = make_parents(tmp_path / "a" / "b" / "c")
    assert made == [tmp_path / "a" / "b" / "c", tmp_path / "a" / "b", tmp_path / "a"]
    (tmp_path / "a" / "keep").write_text("x")
    remove_empty_dirs(made)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["keep"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_set_file_mode_follows_the_umask(tmp_path):
    path = tmp_path / "w"
    path.write_text("x")
    os.chmod(path, 0o600)
    mask = os.umask(0)
    os.umask(mask)
    set_file_mode(path)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
