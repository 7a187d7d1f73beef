"""`textrnn tune`: Optuna trials as run folders, pruning on validation loss, the best kept."""

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

import textrnn
from textrnn.cli import app
from textrnn.data.toy import toy_texts, write_toy_csv
from textrnn.errors import RunFolderError
from textrnn.runs.compare import compare_runs
from textrnn.runs.evaluate import evaluate_run
from textrnn.runs.options import TrainOptions
from textrnn.runs.run import TuneRun, open_run
from textrnn.runs.trainer import resume
from textrnn.runs.tune import SPACE, _Report, search_space, tune

TINY = {
    "units": 4,
    "embedding_dim": 4,
    "maxlen": 16,
    "num_words": 120,
    "batch_size": 16,
    "epochs": 1,
    "ngrams": 1,
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    texts, labels = toy_texts(60, seed=3)
    return write_toy_csv(tmp_path_factory.mktemp("d") / "reviews.csv", texts, labels), texts


def test_tune_runs_trials_keeps_the_best_and_reads_as_it(tmp_path, data):
    path, texts = data
    fixed = ["data", *TINY]
    options = TrainOptions.from_preset("fast", data=str(path), seed=5, **TINY)
    result = tune(options, tmp_path / "t", minutes=5, trials=3, given=fixed, verbose=0)
    assert len(result.rows) == 3 and result.best_path is not None
    searched = set(search_space(fixed))
    assert searched == {"rnn", "bidirectional", "spatial_dropout", "dropout", "learning_rate"}
    for row in result.rows:
        trial = tmp_path / "t" / row["path"]
        config = json.loads((trial / "config.json").read_text())
        assert config["format"] == "textrnn.run" and config["options"]["seed"] == 5
        assert config["options"]["units"] == 4  # fixed options are not searched
        for name in searched:
            assert config["options"][name] == row[name]
        history = json.loads((trial / "history.json").read_text())
        assert row["val_loss"] == pytest.approx(min(history["val_loss"]))
    complete = [r for r in result.rows if r["state"] == "complete"]
    assert result.best_val_loss == pytest.approx(min(r["val_loss"] for r in complete))

    run = open_run(tmp_path / "t")
    assert isinstance(run, TuneRun) and run.status == "complete"
    assert run.config["best"]["trial"] == result.best_trial
    with open(tmp_path / "t" / "trials.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [int(r["trial"]) for r in table] == [1, 2, 3] and "learning_rate" in table[0]
    assert json.loads((tmp_path / "t" / "trials.json").read_text()) == result.rows

    # predict, evaluate and compare go through open_run: the best trial; a row per trial
    best = textrnn.load(result.best_path)
    np.testing.assert_allclose(
        textrnn.load(tmp_path / "t").predict_proba(texts[:5]), best.predict_proba(texts[:5])
    )
    assert evaluate_run(tmp_path / "t")["accuracy"] == pytest.approx(
        evaluate_run(result.best_path)["accuracy"]
    )
    rows = compare_runs([tmp_path / "t"])
    trials = [r for r in rows if r["kind"] != "baseline"]  # the trials share one baseline row
    assert [r["run"] for r in trials] == ["1", "2", "3"] and all(r["kind"] == "run" for r in trials)
    assert [r["run"] for r in rows if r["kind"] == "baseline"] == ["baseline (1)"]
    with pytest.raises(RunFolderError, match="tune folder"):
        resume(tmp_path / "t")


class _Trial:
    def __init__(self, prune):
        self.prune, self.reported = prune, []

    def report(self, value, step):
        self.reported.append((step, value))

    def should_prune(self):
        return self.prune


class _Model:
    stop_training = False


def test_the_report_callback_prunes_and_stops_at_the_deadline():
    report = _Report(_Trial(prune=True), deadline=float("inf"))
    report.set_model(_Model())
    report.on_epoch_end(0, {"val_loss": 0.7})
    assert report.trial.reported == [(0, 0.7)] and report.pruned and report.model.stop_training
    late = _Report(_Trial(prune=False), deadline=0.0)
    late.set_model(_Model())
    late.on_epoch_end(0, {"val_loss": 0.5})
    assert late.cut and not late.pruned and late.model.stop_training


def test_cli_tune_prints_the_table_and_refuses_bad_bounds(tmp_path, data):
    path, _ = data
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    out = tmp_path / "cli"
    r = CliRunner().invoke(
        app,
        [
            "tune",
            "--data",
            str(path),
            *flags,
            "--seed",
            "2",
            "--trials",
            "2",
            "--minutes",
            "5",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.stderr
    assert "trial 1:" in r.stdout and "Best trial" in r.stdout and "val_loss" in r.stdout
    compared = CliRunner().invoke(app, ["compare", str(out), "--json"])
    assert compared.exit_code == 0, compared.stderr
    kinds = [row["kind"] for row in json.loads(compared.stdout)]
    assert kinds == ["run", "run", "baseline"]  # a row per trial, and their shared baseline
    bad = CliRunner().invoke(
        app, ["tune", "--data", str(path), "--ensemble", "2", "--out", str(tmp_path / "b")]
    )
    assert bad.exit_code == 1 and "--ensemble" in bad.stderr and not (tmp_path / "b").exists()
    assert set(SPACE) >= {"rnn", "units", "learning_rate"}
