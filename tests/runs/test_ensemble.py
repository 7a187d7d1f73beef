"""Ensembles (`textrnn train --ensemble K`): members, mean probabilities, loading, evaluating, resuming."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import textrnn
from textrnn.cli import app
from textrnn.data.toy import toy_texts, write_toy_csv
from textrnn.errors import RunFolderError
from textrnn.runs import ensemble as ens
from textrnn.runs.evaluate import evaluate_run
from textrnn.runs.options import TrainOptions
from textrnn.runs.predictor import EnsemblePredictor
from textrnn.runs.trainer import TrainingInterrupted, resume, train

TINY = {"units": 4, "embedding_dim": 4, "maxlen": 16, "num_words": 120, "batch_size": 16, "epochs": 1}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    texts, labels = toy_texts(60, seed=5)
    return write_toy_csv(tmp_path_factory.mktemp("d") / "reviews.csv", texts, labels), texts, labels


def test_ensemble_trains_members_and_predicts_with_their_mean(tmp_path, data):
    path, texts, labels = data
    result = train(TrainOptions(data=str(path), ensemble=3, seed=7, **TINY), tmp_path / "ens", verbose=0)
    assert isinstance(result, ens.EnsembleResult) and result.status == "complete" and len(result.members) == 3
    config = json.loads((tmp_path / "ens" / "config.json").read_text())
    assert config["format"] == "textrnn.ensemble" and config["status"] == "complete"
    assert [m["seed"] for m in config["members"]] == [7, 8, 9]
    for i, member in enumerate(result.members, start=1):
        member_config = json.loads((tmp_path / "ens" / "members" / str(i) / "config.json").read_text())
        assert member_config["options"]["seed"] == 6 + i and member_config["options"]["ensemble"] == 1
        assert member.status == "complete"

    predictor = textrnn.load(tmp_path / "ens")
    assert isinstance(predictor, EnsemblePredictor) and len(predictor.members) == 3
    sample = texts[:10]
    mean = np.mean([m.predict_proba(sample) for m in predictor.members], axis=0)
    np.testing.assert_allclose(predictor.predict_proba(sample), mean, rtol=1e-6)
    assert [p.label for p in predictor.predict(sample)] == [predictor.label_names[j] for j in mean.argmax(1)]

    # metrics.json is the mean of the members' recorded test probabilities, and evaluate reproduces it
    members_csv = [
        np.loadtxt(
            tmp_path / "ens" / "members" / str(i) / "predictions.csv",
            delimiter=",",
            skiprows=1,
            usecols=(3, 4),
        )
        for i in (1, 2, 3)
    ]
    ours = np.loadtxt(tmp_path / "ens" / "predictions.csv", delimiter=",", skiprows=1, usecols=(3, 4))
    np.testing.assert_allclose(ours, np.mean(members_csv, axis=0), rtol=1e-6)
    recorded = json.loads((tmp_path / "ens" / "metrics.json").read_text())
    again = evaluate_run(tmp_path / "ens")
    assert again["samples"] == recorded["samples"] and again["accuracy"] == pytest.approx(
        recorded["accuracy"]
    )
    assert recorded["members"] == 3


def test_an_ensemble_interrupted_in_its_second_member_resumes_to_the_same_result(tmp_path, data, monkeypatch):
    path, texts, _ = data
    options = TrainOptions(data=str(path), ensemble=2, seed=3, **{**TINY, "epochs": 2})
    reference = train(options, tmp_path / "ref", verbose=0)

    from textrnn.callbacks import Callback

    calls = {"n": 0}

    class StopAfterThirdEpoch(Callback):
        def on_epoch_end(self, epoch, logs=None):
            calls["n"] += 1
            if calls["n"] == 3:  # member 1 ran epochs 1-2; member 2 stops after its epoch 1
                raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted) as info:
        train(options, tmp_path / "cut", verbose=0, callbacks=[StopAfterThirdEpoch()])
    assert isinstance(info.value.result, ens.EnsembleResult) and info.value.result.status == "interrupted"
    with pytest.raises(RunFolderError, match="has not finished"):
        textrnn.load(tmp_path / "cut")
    resumed = resume(tmp_path / "cut", verbose=0)
    assert resumed.status == "complete"
    np.testing.assert_allclose(
        textrnn.load(tmp_path / "cut").predict_proba(texts[:8]),
        textrnn.load(tmp_path / "ref").predict_proba(texts[:8]),
        rtol=1e-5,
        atol=1e-6,
    )
    assert resumed.metrics["accuracy"] == pytest.approx(reference.metrics["accuracy"])
    with pytest.raises(RunFolderError, match="already a complete ensemble"):
        resume(tmp_path / "cut", verbose=0)


def test_a_failed_start_leaves_nothing_and_an_existing_folder_is_refused(tmp_path, data):
    path, _, _ = data
    with pytest.raises(Exception, match="does not exist|not found|No such"):
        train(
            TrainOptions(data=str(tmp_path / "missing.csv"), ensemble=2, seed=1, **TINY),
            tmp_path / "a" / "ens",
            verbose=0,
        )
    assert not (tmp_path / "a").exists()
    (tmp_path / "taken").mkdir()
    with pytest.raises(RunFolderError, match="already exists"):
        train(TrainOptions(data=str(path), ensemble=2, seed=1, **TINY), tmp_path / "taken", verbose=0)


def test_cli_ensemble_flag_predict_and_bad_value(tmp_path, data):
    path, _, _ = data
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    out = tmp_path / "cli"
    r = CliRunner().invoke(
        app,
        [
            "train",
            "--data",
            str(path),
            *flags,
            "--ensemble",
            "2",
            "--seed",
            "1",
            "--out",
            str(out),
            "--verbose",
            "2",
        ],
    )
    assert r.exit_code == 0, r.stderr
    assert "Ensemble of 2" in r.stdout
    p = CliRunner().invoke(app, ["predict", str(out), "a great film", "--json"])
    assert p.exit_code == 0, p.stderr
    # compare takes an ensemble (its own test metrics, its members' mean curve) beside a single run
    compared = CliRunner().invoke(app, ["compare", str(out), str(out / "members" / "1"), "--json"])
    assert compared.exit_code == 0, compared.stderr
    ensemble_row, member_row, *baselines = json.loads(compared.stdout)
    assert [b["kind"] for b in baselines] == ["baseline"]  # the member's baseline, labelled
    recorded = json.loads((out / "metrics.json").read_text())
    assert ensemble_row["kind"] == "ensemble" and ensemble_row["test_acc"] == recorded["accuracy"]
    # the default recipe (--data, no preset) adds the linear n-gram model beside the members
    assert ensemble_row["model"] == "2 × " + member_row["model"] + " + linear n-grams"
    assert ensemble_row["parameters"] == 2 * member_row["parameters"]
    assert ensemble_row["best_epoch"] is None
    assert member_row["kind"] == "run" and member_row["status"] == "complete"
    assert not list(tmp_path.glob("*.png")) and not list(out.glob("*.png"))  # wrote nothing
    bad = CliRunner().invoke(app, ["train", "--data", str(path), "--ensemble", "0"])
    assert bad.exit_code == 1 and "`ensemble` (`--ensemble`)" in bad.stderr
