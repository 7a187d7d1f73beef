"""The `textrnn` command line, end to end on small generated datasets.

One run is trained once per module (a few hundred short texts, tiny model, 2 epochs) and shared
by the evaluate / predict / compare tests; every file of its run folder is checked for content.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import textrnn
from textrnn.cli import app, main
from textrnn.data.toy import toy_texts, write_toy_csv, write_toy_jsonl
from textrnn.runs import Predictor, RunFolder, TrainingInterrupted, TrainOptions
from textrnn.runs import train as train_run

# single run folders: the default recipe's linear model (an ensemble of one) is tested in tests/runs
TINY = ["--units", "8", "--embedding-dim", "8", "--maxlen", "24", "--num-words", "200", "--batch-size", "32",
        "--no-linear"]  # fmt: skip


def invoke(*args, input=None, env=None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input, env=env)


def ok(result):
    assert result.exit_code == 0, (
        f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}"
    )
    return result


def one_line_error(result, *patterns):
    """Non-zero exit, a single `Error: ...` line on stderr, no traceback, the patterns in it."""
    assert result.exit_code != 0, result.stdout
    err = result.stderr.strip()
    assert err.startswith("Error: "), err
    assert "\n" not in err, err
    assert "Traceback" not in result.stdout + result.stderr
    for p in patterns:
        assert p in err, f"{p!r} not in {err!r}"
    return err


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    texts, labels = toy_texts(150, seed=1)
    data = write_toy_csv(root / "reviews.csv", texts, labels)
    run = root / "runs" / "simple"
    # --preset tutorial: without it, --data chooses a recipe (tests/runs/test_recipe_wiring.py)
    result = ok(
        invoke(
            "train",
            "--data",
            data,
            "--preset",
            "tutorial",
            *TINY,
            "--epochs",
            "2",
            "--learning-rate",
            "0.01",
            "--seed",
            "7",
            "--out",
            run,
        )
    )
    return {
        "root": root,
        "data": data,
        "texts": texts,
        "labels": labels,
        "run": run,
        "train_output": result.stdout,
    }


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# ----------------------------------------------------------------------------------- train
def test_train_prints_progress_and_summary(work):
    out = work["train_output"]
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "val_acc" in out and "━" in out  # the Keras-style bar
    assert "Finished 2 of 2 epochs." in out
    assert "Best epoch:" in out and "Test: accuracy" in out
    assert f"Run folder: {work['run']}" in out


def test_run_folder_contents(work):
    run = work["run"]
    names = sorted(p.name for p in run.iterdir())
    assert names == sorted(
        [
            "config.json",
            "history.json",
            "history.csv",
            "summary.txt",
            "model",
            "curves.png",
            "metrics.json",
            "predictions.csv",
            "baseline_predictions.csv",
        ]
    )
    assert not list(run.parent.glob(".*"))  # no temporary or incomplete folder left beside it

    config = json.loads((run / "config.json").read_text())
    assert config["format"] == "textrnn.run" and config["format_version"] == 1
    assert config["textrnn_version"] == textrnn.__version__
    import torch

    assert config["torch_version"] == torch.__version__
    opts = config["options"]
    assert opts["epochs"] == 2 and opts["units"] == 8 and opts["seed"] == 7 and opts["rnn"] == "simple_rnn"
    assert Path(opts["data"]) == work["data"].resolve()
    assert TrainOptions.from_dict(opts).learning_rate == 0.01
    assert config["data"]["label_names"] == ["neg", "pos"]
    assert config["data"]["train_samples"] + config["data"]["test_samples"] == 300
    assert config["command"][:2] == ["textrnn", "train"]
    assert "--seed 7" in config["reproduce"] and "--units 8" in config["reproduce"]
    assert config["model"]["name"] == "SimpleRNN(8)"

    history = json.loads((run / "history.json").read_text())
    assert history["status"] == "complete" and history["epochs"] == [1, 2]
    rows = read_csv(run / "history.csv")
    assert list(rows[0]) == ["epoch", "loss", "acc", "val_loss", "val_acc", "seconds"]
    assert len(rows) == 2
    for i, row in enumerate(rows):
        for key in ("loss", "acc", "val_loss", "val_acc", "seconds"):
            assert float(row[key]) == pytest.approx(history[key][i], abs=1e-5)
        assert 0 <= float(row["acc"]) <= 1 and 0 <= float(row["val_acc"]) <= 1 and float(row["seconds"]) > 0
    assert history["best_epoch"] == int(np.argmin(history["val_loss"])) + 1

    metrics = json.loads((run / "metrics.json").read_text())
    cm = np.array(metrics["confusion_matrix"])
    n = config["data"]["test_samples"]
    assert cm.shape == (2, 2) and cm.sum() == n == metrics["samples"]
    assert metrics["accuracy"] == pytest.approx(np.trace(cm) / n)
    for i, name in enumerate(["neg", "pos"]):
        c = metrics["per_class"][name]
        assert c["support"] == cm[i].sum()
        assert c["recall"] == pytest.approx(cm[i, i] / cm[i].sum())
        if cm[:, i].sum():
            assert c["precision"] == pytest.approx(cm[i, i] / cm[:, i].sum())
    assert 0 <= metrics["roc_auc"] <= 1 and metrics["loss"] > 0
    assert metrics["best_epoch"] == history["best_epoch"]

    predictions = read_csv(run / "predictions.csv")
    assert len(predictions) == n
    pred_cm = np.zeros((2, 2), dtype=int)
    idx = {"neg": 0, "pos": 1}
    for row in predictions:
        pred_cm[idx[row["label"]], idx[row["predicted"]]] += 1
        assert work["labels"][int(row["index"])] == row["label"]
    np.testing.assert_array_equal(pred_cm, cm)

    # The saved model, reloaded from disk, predicts the recorded probabilities from raw text.
    predictor = textrnn.load(run)
    texts = [work["texts"][int(r["index"])] for r in predictions]
    recorded = np.array([[float(r["p_neg"]), float(r["p_pos"])] for r in predictions])
    np.testing.assert_allclose(predictor.predict_proba(texts), recorded, atol=1e-5)

    summary = (run / "summary.txt").read_text()
    assert "Parameter arithmetic" in summary and "simple_rnn (SimpleRNN)" in summary
    assert f"{config['model']['parameters']:,}" in summary
    assert predictor.model.count_params() == config["model"]["parameters"]

    png = (run / "curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    image = matplotlib.image.imread(run / "curves.png")
    assert image.shape[1] > 1.5 * image.shape[0]  # two figures side by side

    from textrnn.models import read_metadata

    meta = read_metadata(run / "model")
    assert meta["label_names"] == ["neg", "pos"] and meta["preprocessing"]["maxlen"] == 24


# ----------------------------------------------------------------------------------- evaluate
def test_evaluate_json_matches_metrics_json(work):
    result = ok(invoke("evaluate", work["run"], "--json"))
    got = json.loads(result.stdout)
    recorded = json.loads((work["run"] / "metrics.json").read_text())
    assert got["confusion_matrix"] == recorded["confusion_matrix"]
    assert got["accuracy"] == pytest.approx(recorded["accuracy"])
    assert got["loss"] == pytest.approx(recorded["loss"], abs=1e-5)
    assert got["data"] == "test split"


def test_evaluate_text_and_other_data(work, tmp_path):
    text = ok(invoke("evaluate", work["run"])).stdout
    assert "accuracy" in text and "confusion matrix" in text and "macro" in text
    other = write_toy_jsonl(tmp_path / "other.jsonl", *toy_texts(10, seed=9))
    got = json.loads(ok(invoke("evaluate", work["run"], "--data", other, "--json")).stdout)
    assert got["samples"] == 20 and got["data"] == str(other)
    renamed = tmp_path / "renamed.csv"
    with open(renamed, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["review", "y"], ["great film", "pos"], ["awful film", "neg"]])
    got = json.loads(
        ok(
            invoke(
                "evaluate",
                work["run"],
                "--data",
                renamed,
                "--text-column",
                "review",
                "--label-column",
                "y",
                "--json",
            )
        ).stdout
    )
    assert got["samples"] == 2


# ----------------------------------------------------------------------------------- predict
def test_predict_arguments_stdin_file_and_json(work, tmp_path):
    predictor = Predictor.load(work["run"])
    texts = ["a great wonderful film, loved it", "awful and boring, the worst"]
    expected = predictor.predict(texts)

    lines = ok(invoke("predict", work["run"], *texts)).stdout.strip().splitlines()
    assert len(lines) == 2
    for line, p, t in zip(lines, expected, texts, strict=True):
        label, prob, shown = line.split("\t")
        assert label == p.label and float(prob) == pytest.approx(p.probability, abs=1e-4) and shown == t

    stdin_lines = (
        ok(invoke("predict", work["run"], "--json", input="\n".join(texts) + "\n\n"))
        .stdout.strip()
        .splitlines()
    )
    records = [json.loads(x) for x in stdin_lines]
    assert [r["text"] for r in records] == texts
    for r, p in zip(records, expected, strict=True):
        assert r["label"] == p.label
        assert r["probabilities"]["pos"] == pytest.approx(p.probabilities["pos"], abs=1e-6)
        assert sum(r["probabilities"].values()) == pytest.approx(1.0, abs=1e-6)

    f = tmp_path / "texts.txt"
    f.write_text("\n".join(texts) + "\n", encoding="utf-8")
    from_file = ok(invoke("predict", work["run"], "--file", f)).stdout.strip().splitlines()
    assert from_file == lines


# ----------------------------------------------------------------------------------- compare
def test_compare_table_and_figure(work):
    second = work["root"] / "runs" / "gru"
    ok(
        invoke(
            "train",
            "--data",
            work["data"],
            "--preset",
            "tutorial",
            *TINY,
            "--rnn",
            "gru",
            "--epochs",
            "1",
            "--seed",
            "3",
            "--out",
            second,
            "--verbose",
            "0",
        )
    )
    figure = work["root"] / "cmp.png"
    before = sorted(p for p in work["root"].rglob("*") if p.is_file())
    out = ok(invoke("compare", work["run"], second)).stdout  # a reading command: writes nothing
    assert sorted(p for p in work["root"].rglob("*") if p.is_file()) == before
    assert "Figure" not in out
    out = ok(invoke("compare", work["run"], second, "--plot", figure)).stdout
    assert f"Figure (val_acc by epoch): {figure}" in out
    assert sorted(p for p in work["root"].rglob("*") if p.is_file()) == sorted([*before, figure])
    ok(invoke("compare", work["run"], second, "--figure", figure))  # the older name of --plot
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["run", "model", "params"]
    assert any(line.startswith("simple ") and "SimpleRNN(8)" in line for line in lines)
    assert any(line.startswith("gru ") and "GRU(8)" in line for line in lines)
    assert figure.read_bytes()[:4] == b"\x89PNG"
    rows = json.loads(ok(invoke("compare", work["run"], second, "--figure", figure, "--json")).stdout)
    # one baseline row per split (the two seeds split differently)
    assert [r["run"] for r in rows] == ["simple", "gru", "baseline (simple)", "baseline (gru)"]
    recorded = json.loads((work["run"] / "metrics.json").read_text())
    assert rows[0]["test_acc"] == recorded["accuracy"]
    assert rows[1]["epochs"] == 1 and rows[1]["parameters"] == 200 * 8 + 3 * (8 + 8 + 2) * 8 + 9
    # what sets the runs apart: only the options that differ, in both the table and the JSON
    assert lines[0].rstrip().endswith("options that differ")
    assert rows[0]["differs"] == "rnn=simple_rnn epochs=2 learning_rate=0.01 seed=7"
    assert rows[1]["differs"] == "rnn=gru epochs=1 learning_rate=none seed=3"
    assert any(
        line.startswith("gru ") and line.endswith("rnn=gru epochs=1 learning_rate=none seed=3")
        for line in lines
    )


# ----------------------------------------------------------------------------------- other data
def test_multiclass_string_labels_with_test_file(tmp_path):
    classes = ("neg", "neutral", "pos")
    train_file = write_toy_jsonl(tmp_path / "train.jsonl", *toy_texts(60, classes=classes, seed=2))
    test_file = write_toy_jsonl(tmp_path / "test.jsonl", *toy_texts(10, classes=classes, seed=3))
    run = tmp_path / "runs" / "three"
    ok(
        invoke(
            "train",
            "--data",
            train_file,
            "--test-data",
            test_file,
            *TINY,
            "--epochs",
            "1",
            "--seed",
            "1",
            "--out",
            run,
            "--verbose",
            "0",
        )
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["labels"] == list(classes) and metrics["samples"] == 30 and metrics["roc_auc"] is None
    assert np.array(metrics["confusion_matrix"]).shape == (3, 3)
    predictor = textrnn.load(run)
    assert predictor.model.layers[-1].units == 3
    probs = predictor.predict_proba(["okay average film", "great"])
    assert probs.shape == (2, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    lines = ok(invoke("predict", run, "okay average film")).stdout.split("\t")
    assert lines[0] in classes
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["compile"]["loss"] == "sparse_categorical_crossentropy"


def test_numeric_labels_and_folder_tree(tmp_path):
    root = tmp_path / "tree"
    texts, labels = toy_texts(30, seed=4)
    for i, (t, y) in enumerate(zip(texts, labels, strict=True)):
        subset = "test" if i % 5 == 0 else "train"
        folder = root / subset / ("0" if y == "neg" else "1")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}.txt").write_text(t, encoding="utf-8")
    run = tmp_path / "runs" / "tree"
    ok(invoke("train", "--data", root, *TINY, "--epochs", "1", "--seed", "1", "--out", run, "--verbose", "0"))
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["label_names"] == ["0", "1"]
    assert config["data"]["test_samples"] == 12 and config["data"]["test"] == "the test/ folder of the data"
    got = json.loads(ok(invoke("evaluate", run, "--json")).stdout)
    assert got["samples"] == 12 and got["labels"] == ["0", "1"]


def make_aclimdb(root: Path, n: int = 24) -> Path:
    texts, labels = toy_texts(n, seed=5)
    base = root / "aclImdb"
    for i, (t, y) in enumerate(zip(texts, labels, strict=True)):
        for subset in ("train", "test"):
            folder = base / subset / y
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{i}_{8 if y == 'pos' else 2}.txt").write_text(
                t + ("<br /><br />" if i % 2 else ""), encoding="utf-8"
            )
    (base / "train" / "unsup").mkdir()
    (base / "train" / "unsup" / "0_0.txt").write_text("unlabelled review", encoding="utf-8")
    return base


def test_imdb_default_data_and_data_command(tmp_path):
    base = make_aclimdb(tmp_path)
    env = {"TEXTRNN_IMDB": str(base), "TEXTRNN_HOME": str(tmp_path / "home")}
    run = tmp_path / "runs" / "imdb"
    out = ok(
        invoke("train", *TINY, "--epochs", "1", "--seed", "2", "--out", run, "--verbose", "0", env=env)
    ).stdout
    assert out == ""
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["kind"] == "imdb" and config["data"]["label_names"] == ["neg", "pos"]
    assert config["data"]["train_samples"] == 48 and config["data"]["test_samples"] == 48
    assert config["options"]["validation_split"] == 0.2 and config["options"]["optimizer"] == "rmsprop"
    info = json.loads(ok(invoke("data", "imdb", "--json", env=env)).stdout)
    assert info["source"] == str(base.resolve()) and info["source_from"] == "$TEXTRNN_IMDB"
    assert info["train"]["texts"] == 48 and info["train"]["classes"] == {"neg": 24, "pos": 24}
    assert 4 <= info["test"]["tokens"]["min"] <= info["test"]["tokens"]["max"] <= 12
    text = ok(invoke("data", "imdb", env=env)).stdout
    assert "train: 48 texts" in text and "tokens per text" in text


def test_data_stats_command(work):
    info = json.loads(ok(invoke("data", "stats", work["data"], "--json")).stdout)
    assert info["format"] == "csv" and info["data"]["texts"] == 300
    assert info["data"]["classes"] == {"neg": 150, "pos": 150}


def test_summary_command():
    out = ok(invoke("summary")).stdout
    assert "Parameter arithmetic" in out and "322,113" in out and "SimpleRNN" in out
    out = ok(
        invoke("summary", "--rnn", "lstm", "--units", "16", "--num-classes", "4", "--bidirectional")
    ).stdout
    assert "Bidirectional" in out and "(None, 4)" in out


def test_early_stopping(work, tmp_path):
    # A learning rate too small to move float32 weights: val_loss never improves after epoch 1.
    run = tmp_path / "runs" / "es"
    out = ok(invoke("train", "--data", work["data"], *TINY, "--epochs", "5", "--learning-rate", "1e-12",
                    "--early-stopping", "1", "--seed", "1", "--out", run)).stdout  # fmt: skip
    assert "Finished 2 of 5 epochs (early stopping)." in out
    history = RunFolder(run).history
    assert (
        history["epochs"] == [1, 2]
        and history["best_epoch"] == 1
        and history["stop_reason"] == "early_stopping"
    )
    assert len(read_csv(run / "history.csv")) == 2


# ----------------------------------------------------------------------------------- interruption
class InterruptAfter(textrnn.callbacks.Callback):
    """Simulates Ctrl-C: KeyboardInterrupt at the end of epoch `epochs` (1-based) or in its first batch."""

    def __init__(self, epochs: int, in_batch: bool = False) -> None:
        super().__init__()
        self.epochs = epochs
        self.in_batch = in_batch

    def on_train_batch_end(self, batch, logs=None):
        if self.in_batch:
            raise KeyboardInterrupt

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.epochs:
            raise KeyboardInterrupt


def test_interrupt_then_resume_gives_the_uninterrupted_run(work, tmp_path):
    opts = TrainOptions(
        data=str(work["data"]),
        units=8,
        embedding_dim=8,
        maxlen=24,
        num_words=200,
        batch_size=32,
        epochs=3,
        seed=11,
    )
    straight = train_run(opts, tmp_path / "straight", verbose=0)
    target = tmp_path / "runs" / "resumed"
    with pytest.raises(TrainingInterrupted) as info:
        train_run(opts, target, verbose=0, callbacks=[InterruptAfter(1)])
    assert info.value.result.status == "interrupted" and info.value.result.epochs_done == 1
    run = RunFolder(target)
    assert run.status == "interrupted" and run.epochs_done == 1
    assert run.history["stop_reason"] == "interrupted"
    assert len(read_csv(target / "history.csv")) == 1
    assert (target / "model" / "config.json").is_file() and (target / "checkpoint" / "state.json").is_file()
    assert not (target / "metrics.json").exists()
    assert len(textrnn.load(target).predict(["great"])) == 1  # the best model so far is usable

    out = ok(invoke("train", "--resume", target)).stdout
    assert "Resuming" in out and "Epoch 2/3" in out and "Epoch 1/3" not in out
    run = RunFolder(target)
    assert run.status == "complete" and run.epochs_done == 3 and not (target / "checkpoint").exists()
    assert len(read_csv(target / "history.csv")) == 3
    for key in ("loss", "acc", "val_loss", "val_acc"):
        np.testing.assert_allclose(run.history[key], straight.history[key], rtol=1e-5, err_msg=key)
    assert json.loads((target / "metrics.json").read_text())["accuracy"] == pytest.approx(
        straight.metrics["accuracy"]
    )
    err = one_line_error(invoke("train", "--resume", target), "already complete")
    assert "nothing to resume" in err


def test_interrupt_before_first_epoch_leaves_nothing(work, tmp_path):
    opts = TrainOptions(
        data=str(work["data"]), units=8, embedding_dim=8, maxlen=24, num_words=200, epochs=2, seed=1
    )
    target = tmp_path / "fresh" / "runs" / "x"
    with pytest.raises(KeyboardInterrupt):
        train_run(opts, target, verbose=0, callbacks=[InterruptAfter(1, in_batch=True)])
    assert not (tmp_path / "fresh").exists()


def test_ctrl_c_while_loading_data_exits_130_and_writes_nothing(work, tmp_path, monkeypatch):
    import textrnn.runs.single as train_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "prepare", interrupted)
    result = invoke("train", "--data", work["data"], "--out", tmp_path / "runs" / "x")
    assert result.exit_code == 130
    assert "no run folder was written" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()


# ----------------------------------------------------------------------------------- bad input
def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


BAD_DATA = [
    ("missing.csv", None, "does not exist"),
    ("empty.csv", "text,label\n", "holds no examples"),
    ("single.csv", "text,label\n" + "good film,pos\n" * 20, "single class"),
    ("nocolumn.csv", "review,label\nx,pos\ny,neg\n", "no column `text`"),
    ("broken.csv", 'text,label\n"good",pos\n"unclosed,neg\n', "not valid CSV"),
    ("nolabel.csv", "text,label\ngood,pos\nbad,\n", "line 3: no label"),
    ("latin1.csv", "text,label\nok,pos\ncafé,neg\n".encode("latin-1"), "not valid utf-8"),
]


@pytest.mark.parametrize(("name", "content", "pattern"), BAD_DATA, ids=[b[0] for b in BAD_DATA])
def test_bad_data_is_one_line_and_writes_nothing(tmp_path, name, content, pattern):
    data = tmp_path / name
    if content is not None:
        write(data, content)
    out = tmp_path / "runs" / "bad"
    one_line_error(invoke("train", "--data", data, *TINY, "--epochs", "1", "--out", out), pattern)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("args", "patterns"),
    [
        (["--rnn", "transformer"], ["`--rnn`", "simple_rnn, lstm, gru", "'transformer'"]),
        (["--epochs", "0"], ["`--epochs`", "positive integer", "got 0"]),
        (["--epochs", "-3"], ["`--epochs`", "got -3"]),
        (["--epochs", "many"], ["'--epochs'", "--help"]),
        (["--validation-split", "1.5"], ["`--validation-split`"]),
        (["--optimizer", "adagrad"], ["`--optimizer`"]),
        (["--preset", "huge"], ["`--preset`", "tutorial"]),
        (["--ema", "1"], ["`--ema`", "between 0 and 1", "got 1.0"]),
        (["--no-such-option"], ["--no-such-option"]),
    ],
)
def test_bad_options_are_one_line_and_write_nothing(work, tmp_path, args, patterns):
    one_line_error(
        invoke("train", "--data", work["data"], "--out", tmp_path / "runs" / "x", *args), *patterns
    )
    assert not (tmp_path / "runs").exists()


def test_too_little_data_for_validation(tmp_path):
    data = write(tmp_path / "tiny.csv", "text,label\ngood,pos\nbad,neg\ngreat,pos\nawful,neg\n")
    one_line_error(
        invoke(
            "train",
            "--data",
            data,
            "--test-split",
            "0.5",
            "--validation-split",
            "0.6",
            *TINY,
            "--epochs",
            "1",
            "--out",
            tmp_path / "runs" / "x",
        ),
        "2 texts, too few",
        "--validation-split",
    )
    assert not (tmp_path / "runs").exists()


def test_existing_out_is_never_touched(work, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    one_line_error(invoke("train", "--data", work["data"], "--out", out), "already exists", "--resume")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_unknown_test_label(work, tmp_path):
    test = write(tmp_path / "t.csv", "text,label\ngood,pos\nmeh,neutral\n")
    one_line_error(
        invoke("train", "--data", work["data"], "--test-data", test, *TINY, "--out", tmp_path / "runs" / "x"),
        "'neutral'",
    )
    assert not (tmp_path / "runs").exists()
    one_line_error(
        invoke("evaluate", work["run"], "--data", test), "'neutral'", "not one of the model's labels"
    )


def test_not_a_run_folder(work, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    for args in (
        ["evaluate", plain],
        ["predict", plain, "text"],
        ["compare", work["run"], plain],
        ["train", "--resume", plain],
    ):
        one_line_error(invoke(*args), "not a textrnn run" if args[0] != "predict" else "not a textrnn model")
    one_line_error(invoke("evaluate", tmp_path / "missing"), "does not exist")
    one_line_error(invoke("predict", tmp_path / "missing", "x"), "does not exist")


def test_predict_input_errors(work, tmp_path):
    one_line_error(invoke("predict", work["run"], input=""), "empty")
    one_line_error(invoke("predict", work["run"], "--file", tmp_path / "none.txt"), "does not exist")
    one_line_error(invoke("predict", work["run"], "x", "--file", work["data"]), "not both")
    bad = write(tmp_path / "bad.txt", b"ok\n\xff\xfe\n")
    one_line_error(invoke("predict", work["run"], "--file", bad), "line 2", "UTF-8")


def test_resume_refuses_other_options(work):
    one_line_error(invoke("train", "--resume", work["run"], "--epochs", "5"), "--epochs", "--resume")


def test_main_returns_exit_codes(capsys):
    assert main(["train", "--epochs", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: ") and "\n" not in err
    assert main(["--help"]) == 0


def test_python_dash_m():
    result = subprocess.run(
        [sys.executable, "-m", "textrnn", "evaluate", "/nonexistent/run"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("Error: Run folder `/nonexistent/run` does not exist")


def test_ema_flag_reaches_the_run_and_its_optimizer(work, tmp_path):
    run = tmp_path / "ema"
    ok(
        invoke(
            "train",
            "--data",
            work["data"],
            *TINY,
            "--epochs",
            "1",
            "--ema",
            "0.9",
            "--seed",
            "1",
            "--out",
            run,
            "--verbose",
            "0",
        )
    )
    config = json.loads((run / "config.json").read_text())
    assert (
        config["options"]["ema"] == 0.9 and config["command"][config["command"].index("--ema") + 1] == "0.9"
    )
    from textrnn.models import load_model

    optimizer = load_model(run / "model").optimizer
    assert optimizer.use_ema and optimizer.ema_momentum == 0.9 and optimizer.ema_overwrite_frequency >= 1
