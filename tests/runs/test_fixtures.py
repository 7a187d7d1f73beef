"""Run folders written by an earlier textrnn (`tests/fixtures/runs`, see its README) still load,
predict what they recorded, evaluate, compare and resume."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import textrnn
from textrnn.cli import app
from textrnn.errors import RunFolderError
from textrnn.runs import EnsembleRun, SingleRun, TrainOptions, open_run, resume, train
from textrnn.runs.compare import compare_runs
from textrnn.runs.evaluate import evaluate_run
from textrnn.runs.predictor import EnsemblePredictor, Predictor

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runs"
KINDS = [("single", SingleRun), ("ensemble", EnsembleRun)]


def toy_rows() -> list[dict[str, str]]:
    with open(FIXTURES / "toy.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def recorded(path: Path) -> tuple[list[str], np.ndarray]:
    """The texts of a run's `predictions.csv` rows and the probabilities recorded for them."""
    with open(path / "predictions.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    texts = [toy_rows()[int(r["index"])]["text"] for r in rows]
    return texts, np.array([[float(r["p_neg"]), float(r["p_pos"])] for r in rows])


def relocated(name: str, tmp_path: Path) -> Path:
    """A copy of fixture `name` whose options (its members' too) point at a copy of `toy.csv`."""
    shutil.copy(FIXTURES / "toy.csv", tmp_path / "toy.csv")
    copy = tmp_path / name
    shutil.copytree(FIXTURES / name, copy)
    for config in copy.rglob("config.json"):
        data = json.loads(config.read_text())
        if "options" in data:
            data["options"]["data"] = str(tmp_path / "toy.csv")
            config.write_text(json.dumps(data))
    return copy


@pytest.mark.parametrize(("name", "kind"), KINDS)
def test_load_and_open_run_reproduce_the_recorded_predictions(name, kind):
    path = FIXTURES / name
    run = open_run(path)
    assert isinstance(run, kind) and run.status == "complete"
    predictor = textrnn.load(path)
    assert isinstance(predictor, EnsemblePredictor if name == "ensemble" else Predictor)
    texts, probs = recorded(path)
    assert len(texts) == 12
    np.testing.assert_allclose(predictor.predict_proba(texts), probs, rtol=1e-5, atol=1e-6)
    table = run.predictions()
    np.testing.assert_allclose(table.probabilities, probs)
    assert table.label_names == ["neg", "pos"] and run.metrics["samples"] == 12


def test_the_ensembles_members_are_runs():
    run = open_run(FIXTURES / "ensemble")
    assert isinstance(run, EnsembleRun) and run.member_seeds == [5, 6]
    members = run.members()
    assert [m.name for m in members] == ["1", "2"] and all(m.status == "complete" for m in members)
    mean = np.mean([m.predictions().probabilities for m in members], axis=0)
    np.testing.assert_allclose(run.predictions().probabilities, mean, rtol=1e-6)


@pytest.mark.parametrize(("name", "kind"), KINDS)
def test_evaluate_recomputes_the_recorded_metrics(name, kind, tmp_path):
    path = relocated(name, tmp_path)
    metrics = evaluate_run(path)
    expected = json.loads((FIXTURES / name / "metrics.json").read_text())
    assert metrics["data"] == "test split" and metrics["samples"] == expected["samples"]
    assert metrics["accuracy"] == pytest.approx(expected["accuracy"])
    assert metrics["loss"] == pytest.approx(expected["loss"], rel=1e-5)


def test_cli_predict_evaluate_and_compare_read_them(tmp_path):
    texts, mean = recorded(FIXTURES / "ensemble")
    out = CliRunner().invoke(app, ["predict", str(FIXTURES / "ensemble"), "--json", *texts[:3]])
    assert out.exit_code == 0, out.stderr
    got = [json.loads(line)["probabilities"]["pos"] for line in out.stdout.splitlines()]
    np.testing.assert_allclose(got, mean[:3, 1], rtol=1e-5)
    out = CliRunner().invoke(app, ["evaluate", str(relocated("single", tmp_path)), "--json"])
    assert out.exit_code == 0, out.stderr
    expected = json.loads((FIXTURES / "single" / "metrics.json").read_text())
    assert json.loads(out.stdout)["accuracy"] == pytest.approx(expected["accuracy"])
    out = CliRunner().invoke(app, ["compare", str(FIXTURES / "single"), str(FIXTURES / "ensemble"), "--json"])
    assert out.exit_code == 0, out.stderr
    single, ensemble = json.loads(out.stdout)
    assert single["model"] == "SimpleRNN(4)" and ensemble["model"] == "2 × SimpleRNN(4)"
    for row, name in ((single, "single"), (ensemble, "ensemble")):
        assert row["test_acc"] == json.loads((FIXTURES / name / "metrics.json").read_text())["accuracy"]
    assert rows_differ(compare_runs([FIXTURES / "single", FIXTURES / "ensemble"]))


def rows_differ(rows: list[dict]) -> bool:
    return rows[0]["differs"] == "ensemble=1 seed=3" and rows[1]["differs"] == "ensemble=2 seed=5"


def test_an_interrupted_run_of_the_earlier_version_resumes(tmp_path):
    path = relocated("interrupted", tmp_path)
    assert open_run(path).status == "interrupted" and open_run(path).checkpoint_epoch() == 1
    resumed = resume(path, verbose=0)
    assert resumed.status == "complete" and resumed.history["epochs"] == [1, 2]
    options = TrainOptions.from_dict(json.loads((path / "config.json").read_text())["options"])
    straight = train(options, tmp_path / "straight", verbose=0)
    for key in ("loss", "acc", "val_loss", "val_acc"):
        np.testing.assert_allclose(resumed.history[key], straight.history[key], rtol=1e-5, err_msg=key)


@pytest.mark.parametrize("name", ["single", "ensemble"])
def test_a_newer_format_version_is_refused(name, tmp_path):
    copy = tmp_path / name
    shutil.copytree(FIXTURES / name, copy)
    config = json.loads((copy / "config.json").read_text())
    assert config["format_version"] == 1
    (copy / "config.json").write_text(json.dumps({**config, "format_version": 2}))
    for read in (open_run, textrnn.load):
        with pytest.raises(RunFolderError, match="format version 2|format_version 2"):
            read(copy)
