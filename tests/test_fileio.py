"""`textrnn.fileio`'s folder helpers: temporary entries, a swap cut short, locks, parents, and the
staging folders of killed processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from textrnn.fileio import (
    FolderLock,
    make_parents,
    new_staging_dir,
    process_alive,
    remove_empty_dirs,
    remove_staging_dir,
    replace_dir,
    replaced_dir,
    restore_replaced_dir,
    set_file_mode,
    stale_staging_dirs,
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


def test_replace_dir_removes_the_folders_earlier_kills_left_aside(tmp_path):
    target = tmp_path / "model"
    old = tmp_path / ".model.old-0123abcd"
    old.mkdir()
    (old / "f").write_text("previous")
    other = tmp_path / ".other.old-0123abcd"  # another target's: kept
    other.mkdir()
    for content in ("first", "second"):
        new = tmp_path / f"new-{content}"
        new.mkdir()
        (new / "f").write_text(content)
        replace_dir(new, target)
        assert (target / "f").read_text() == content and not new.exists()
        assert not old.exists() and other.exists()
        assert temp_entries(tmp_path, name="model") == []


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


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # reaped: no process has this id now (the test runs long before ids wrap)


def _staging_of_a_dead_process(target: Path, tag: str = "0123abcd") -> Path:
    """A staging folder of `target` as a killed process leaves it: its owner file (this machine's
    host, boot and namespace, as `new_staging_dir` writes them) names a process that has ended."""
    template = new_staging_dir(target.with_name("template"))
    owner = template.with_name(template.name + ".owner.tmp")
    record = json.loads(owner.read_text())
    remove_staging_dir(template)
    assert record["pid"] == os.getpid() and record["format"] == "textrnn.staging-owner"
    folder = target.with_name(f".{target.name}.tmp-{tag}")
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"partial")
    folder.with_name(folder.name + ".owner.tmp").write_text(json.dumps({**record, "pid": _dead_pid()}))
    return folder


def test_staging_dirs_of_ended_processes_go_at_the_next_staging(tmp_path):
    target = tmp_path / "m"
    live = new_staging_dir(target)  # this process's: alive, so it stays
    stale = _staging_of_a_dead_process(target)
    lone_owner = _staging_of_a_dead_process(target, "4567cdef")
    shutil.rmtree(lone_owner)  # a kill after the folder went, before its owner file did
    assert sorted(p.name for p in stale_staging_dirs(target)) == sorted(
        [stale.name, stale.name + ".owner.tmp", lone_owner.name + ".owner.tmp"]
    )
    assert stale.exists()  # listing reads only
    fresh = new_staging_dir(target)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([live.name, live.name + ".owner.tmp", fresh.name, fresh.name + ".owner.tmp"])
    remove_staging_dir(live)
    remove_staging_dir(fresh)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "change",
    [
        "no owner file",
        "another host",
        "another boot",
        "another pid namespace",
        "a live process",
        "not JSON",
        "another format",
        "owner file is a link",
        "folder is a link",
        "another target",
    ],
)
def test_nothing_that_is_not_provably_a_dead_process_staging_is_removed(tmp_path, change):
    target = tmp_path / "m"
    folder = _staging_of_a_dead_process(target)
    owner = folder.with_name(folder.name + ".owner.tmp")
    record = json.loads(owner.read_text())
    if change == "no owner file":
        owner.unlink()
    elif change in ("another host", "another boot", "another pid namespace"):
        key = {"another host": "host", "another boot": "boot", "another pid namespace": "pid_namespace"}[
            change
        ]
        owner.write_text(json.dumps({**record, key: "elsewhere"}))
    elif change == "a live process":
        owner.write_text(json.dumps({**record, "pid": os.getppid(), "started": None}))
    elif change == "not JSON":
        owner.write_text('{"format": "textrnn.staging-owner", "pid": ')
    elif change == "another format":
        owner.write_text(json.dumps({**record, "format": "something.else"}))
    elif change == "owner file is a link":
        real = tmp_path / "elsewhere.json"
        owner.rename(real)
        owner.symlink_to(real)
    elif change == "folder is a link":
        real = tmp_path / "kept"
        folder.rename(real)
        folder.symlink_to(real, target_is_directory=True)
    else:
        target = tmp_path / "other"
    entries = sorted(tmp_path.iterdir())
    assert stale_staging_dirs(target) == []
    remove_staging_dir(new_staging_dir(target))
    assert sorted(tmp_path.iterdir()) == entries


def test_a_reused_process_id_is_told_apart_by_its_start_time(tmp_path):
    folder = _staging_of_a_dead_process(tmp_path / "m")
    owner = folder.with_name(folder.name + ".owner.tmp")
    record = json.loads(owner.read_text())
    if record["started"] is None:
        pytest.skip("no process start times here (/proc)")
    owner.write_text(json.dumps({**record, "pid": os.getpid(), "started": "1"}))  # this id, earlier
    assert stale_staging_dirs(tmp_path / "m") == [folder, owner]
    assert process_alive(os.getpid()) and process_alive(os.getpid(), record["started"])
    assert not process_alive(_dead_pid())
