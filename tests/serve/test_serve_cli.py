"""`textrnn serve` refuses, in one line, to start on a folder it cannot serve."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from textrnn.cli import app

pytest.importorskip("fastapi")


def _refused(path):
    r = CliRunner().invoke(app, ["serve", str(path), "--port", "1"])
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, r.stderr
    return r.stderr


@pytest.fixture()
def copy(tiny_run, tmp_path):
    return shutil.copytree(tiny_run, tmp_path / "run")


def test_missing_folder(tmp_path):
    assert "does not exist" in _refused(tmp_path / "nope")


def test_damaged_weights(copy):
    weights = copy / "model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    assert "model.safetensors" in _refused(copy)


def test_missing_model(copy):
    shutil.rmtree(copy / "model")
    assert "no saved model" in _refused(copy)


def test_damaged_config(copy):
    (copy / "config.json").write_text("{not json")
    assert "config.json" in _refused(copy)


def test_unfinished_run(copy):
    history = json.loads((copy / "history.json").read_text())
    (copy / "history.json").write_text(json.dumps({**history, "status": "interrupted"}))
    assert "has not finished training" in _refused(copy)


def test_damaged_metrics(copy):
    (copy / "metrics.json").write_text("[1,")
    assert "metrics.json" in _refused(copy)


def test_help_lists_the_options():
    r = CliRunner().invoke(app, ["serve", "--help"])
    assert r.exit_code == 0 and "--workers" in r.output and "--port" in r.output
