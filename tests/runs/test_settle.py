"""`textrnn.runs.settle`: a new run's options, seed and folder, before anything is written."""

from __future__ import annotations

import pytest

from textrnn.errors import RunFolderError
from textrnn.runs.options import TrainOptions
from textrnn.runs.settle import fresh_run_path, settle


def test_settle_draws_a_seed_and_makes_data_paths_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    options, target = settle(TrainOptions(data="reviews.csv"), "runs/x")
    assert options.seed is not None and 0 <= options.seed < 2**31
    assert options.data == str(tmp_path / "reviews.csv") and str(target) == "runs/x"
    assert not (tmp_path / "runs").exists()


def test_settle_refuses_an_existing_folder_or_file(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(RunFolderError, match="already exists.*--resume"):
        settle(TrainOptions(seed=1), tmp_path / "taken")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(RunFolderError, match="is a file, not a folder") as info:
        settle(TrainOptions(seed=1), tmp_path / "notes.txt")
    assert "--resume" not in str(info.value)


def test_fresh_run_path_skips_names_taken_or_being_built(tmp_path):
    options = TrainOptions(data="reviews.csv", seed=1)
    first = fresh_run_path(options, tmp_path)
    assert first.name.startswith("reviews-simple_rnn-")
    (tmp_path / f".{first.name}.incomplete-0123abcd").mkdir()
    second = fresh_run_path(options, tmp_path)
    assert second != first and not second.exists()  # `-2`, unless the clock moved on meanwhile
