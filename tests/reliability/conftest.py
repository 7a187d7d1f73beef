"""A tiny trained run, shared by the reliability tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from textrnn.cli import app
from textrnn.data.toy import toy_texts, write_toy_csv

sys.path.insert(0, str(Path(__file__).parent))  # the `crash` helper module

from crash import TINY  # noqa: E402


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("reliability_run")
    texts, labels = toy_texts(80, seed=3)
    data = write_toy_csv(root / "reviews.csv", texts, labels)
    run = root / "run"
    args = ["train", "--data", str(data), *TINY, "--epochs", "1", "--seed", "1", "--out", str(run)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    return run
