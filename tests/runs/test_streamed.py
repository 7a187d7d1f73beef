"""`textrnn train --data` streamed (`textrnn.runs.streamed`): a folder of CSV, JSON Lines and
Parquet shards trains into a run folder that evaluates, predicts and resumes; the vocabulary is
the in-memory one; bad shards stop the run with one line naming the file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import textrnn
from textrnn.callbacks import Callback
from textrnn.cli import app
from textrnn.data import stream
from textrnn.data.toy import toy_texts, write_toy_csv, write_toy_jsonl
from textrnn.preprocessing.text import Vocabulary
from textrnn.runs import TrainingInterrupted, TrainOptions, resume, streamed, train

TINY = ["--units", "8", "--embedding-dim", "8", "--maxlen", "24", "--num-words", "200", "--batch-size", "32"]
TINY_OPTIONS = {"units": 8, "embedding_dim": 8, "maxlen": 24, "num_words": 200, "batch_size": 32}


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(result):
    assert result.exit_code == 0, (
        f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}\n{result.exception!r}"
    )
    return result


def one_line_error(result, *patterns):
    assert result.exit_code != 0, result.stdout
    err = result.stderr.strip()
    assert err.startswith("Error: ") and "\n" not in err, err
    assert "Traceback" not in result.stdout + result.stderr
    for p in patterns:
        assert p in err, f"{p!r} not in {err!r}"


@pytest.fixture()
def shards(tmp_path, monkeypatch):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    monkeypatch.setattr(stream, "CHUNK_ROWS", 50)  # several chunks per shard
    texts, labels = toy_texts(120, seed=5)
    folder = tmp_path / "shards"
    folder.mkdir()
    write_toy_csv(folder / "a.csv", texts[:80], labels[:80])
    write_toy_jsonl(folder / "b.jsonl", texts[80:160], labels[80:160])
    pq.write_table(pa.table({"text": texts[160:], "label": labels[160:]}), folder / "c.parquet")
    (folder / "README.txt").write_text("not a shard")
    return folder, texts, labels


def test_a_folder_of_shards_trains_streamed_into_a_run_that_evaluates_and_predicts(shards, tmp_path):
    folder, texts, labels = shards
    run = tmp_path / "run"
    out = ok(invoke("train", "--data", folder, "--preset", "fast", *TINY, "--epochs", "2", "--seed", "3",
                    "--out", run, "--verbose", "0"))  # fmt: skip
    assert out.stderr == ""
    config = json.loads((run / "config.json").read_text())
    data = config["data"]
    assert data["kind"] == "stream" and data["train"]["shards"] == 3 and data["train"]["rows"] == 240
    # the rule: every fifth row (0.2), evenly spaced; 20% of the other 192 validate
    assert data["test_samples"] == 48 and data["train_samples"] == 192
    assert data["validation"].startswith("39 training rows")
    metrics = json.loads(ok(invoke("evaluate", run, "--json")).stdout)
    assert sum(map(sum, metrics["confusion_matrix"])) == 48
    saved = json.loads((run / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(saved["accuracy"], abs=1e-6)
    assert "baseline" in saved  # small enough to keep the baseline
    whole = json.loads(ok(invoke("evaluate", run, "--data", folder, "--json")).stdout)
    assert sum(map(sum, whole["confusion_matrix"])) == 240
    predicted = ok(invoke("predict", run, texts[0])).stdout
    assert predicted.split("\t")[0] in {"neg", "pos"}
    model = textrnn.load(run)
    assert model.predict_proba(texts[:4]).shape == (4, 2)


def test_streamed_and_in_memory_runs_build_the_same_vocabulary(shards, tmp_path):
    folder, texts, labels = shards
    single = write_toy_csv(tmp_path / "all.csv", texts, labels)
    test = write_toy_csv(tmp_path / "test.csv", texts[:30], labels[:30])
    words = {}
    for mode in ("on", "off"):
        ok(invoke("train", "--data", single, "--test-data", test, "--stream", mode, "--preset", "fast",
                  *TINY, "--epochs", "1", "--seed", "1", "--out", tmp_path / mode, "--verbose", "0",
                  "--no-baseline"))  # fmt: skip
        words[mode] = textrnn.load(tmp_path / mode).vocabulary.word_index
        kind = json.loads((tmp_path / mode / "config.json").read_text())["data"]["kind"]
        assert kind == ("stream" if mode == "on" else "files")
    assert words["on"] == words["off"] and len(words["on"]) > 20
    on, off = (json.loads(ok(invoke("evaluate", tmp_path / m, "--json")).stdout) for m in ("on", "off"))
    assert sum(map(sum, on["confusion_matrix"])) == sum(map(sum, off["confusion_matrix"])) == 30
    # with a carved test split, the vocabulary is that of the training rows alone
    found = stream.scan(folder, num_words=200, max_words=196, test_share=0.2)
    held = stream.test_rows(0, len(texts), 0.2)
    train_texts = [t for t, h in zip(texts, held, strict=True) if not h]
    assert found.vocabulary.word_index == Vocabulary.build(train_texts, max_words=196).word_index
    assert found.test_rows == int(held.sum()) == 48


def test_validation_rows_are_evenly_spaced_and_written_last(shards, tmp_path):
    folder, texts, labels = shards
    found = stream.scan(folder, test_share=0.25)
    names = ["neg", "pos"]
    split = stream.encode_split(folder, tmp_path / "enc", found.vocabulary, names, 16, found,
                                test_share=0.25, validation_split=0.1, keep_texts=True)  # fmt: skip
    n = found.train_rows
    assert n == 180 and len(split.test.y) == 60 and split.test_index.tolist()[:3] == [3, 7, 11]
    # every per-row array is a mapped file: memory holds none the size of the data
    arrays = (split.train.x, split.train.y, split.test.y, split.test_index)
    assert all(isinstance(a, np.memmap) for a in arrays)
    val = stream.validation_rows(0, n, n, 0.1)
    assert int(val.sum()) == n - int(np.floor(n * 0.9))  # as many as fit(validation_split=0.1) takes
    train_rows = [i for i in range(len(texts)) if i % 4 != 3]
    order = [train_rows[j] for j in np.flatnonzero(~val)] + [train_rows[j] for j in np.flatnonzero(val)]
    assert split.kept[0] == [texts[i] for i in order]
    assert split.train.y.tolist() == [names.index(labels[i]) for i in order]
    assert np.array_equal(split.train.x[-1], stream.pad_sequences(found.vocabulary.encode([texts[order[-1]]]),
                                                                   maxlen=16)[0])  # fmt: skip


def test_an_interrupted_streamed_run_resumes_to_the_uninterrupted_result(shards, tmp_path):
    folder, _, _ = shards
    options = TrainOptions.from_preset(
        "fast", data=str(folder), seed=2, epochs=2, baseline=False, **TINY_OPTIONS
    )
    straight = train(options, tmp_path / "straight", verbose=0)

    class StopAfterFirstEpoch(Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted):
        train(options, tmp_path / "cut", verbose=0, callbacks=[StopAfterFirstEpoch()])
    resumed = resume(tmp_path / "cut", verbose=0)
    assert resumed.status == "complete"
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(resumed.history[key], straight.history[key], rtol=1e-5, err_msg=key)


def test_large_streamed_data_skips_the_baseline_with_a_note(shards, tmp_path, monkeypatch):
    folder, _, _ = shards
    monkeypatch.setattr(streamed, "BASELINE_TEXTS", 100)
    out = ok(invoke("train", "--data", folder, "--preset", "fast", *TINY, "--epochs", "1", "--seed", "1",
                    "--out", tmp_path / "run", "--verbose", "2"))  # fmt: skip
    notes = [line for line in out.stdout.splitlines() if line.startswith("Baseline skipped")]
    assert len(notes) == 1 and "192 training texts" in notes[0]
    assert "baseline" not in json.loads((tmp_path / "run" / "metrics.json").read_text())


def test_when_a_run_streams(shards, tmp_path, monkeypatch):
    folder, texts, labels = shards
    small = write_toy_csv(tmp_path / "small.csv", texts, labels)
    assert streamed.streams(TrainOptions(data=str(folder)))
    assert not streamed.streams(TrainOptions(data=str(small)))
    assert streamed.streams(TrainOptions(data=str(small), stream="on"))
    assert streamed.streams(TrainOptions(data=str(small), test_data=str(folder)))
    monkeypatch.setattr(streamed, "STREAM_FILE_BYTES", 100)
    assert streamed.streams(TrainOptions(data=str(small)))
    assert not streamed.streams(TrainOptions(data=str(small), stream="off"))
    one_line_error(invoke("train", "--data", folder, "--stream", "off"), "folder of shards", "--stream off")
    one_line_error(invoke("train", "--data", folder, "--ensemble", "2", "--preset", "fast"), "--ensemble 1")


def test_bad_shards_stop_the_run_with_one_line_naming_the_file(shards, tmp_path):
    folder, texts, labels = shards
    run = tmp_path / "run"

    def fails(data, *patterns):
        one_line_error(invoke("train", "--data", data, "--preset", "fast", *TINY, "--out", run), *patterns)
        assert not run.exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    fails(empty)  # read as a folder of class folders: none there
    one_line_error(invoke("train", "--data", empty, "--stream", "on", "--out", run), str(empty), "no .csv")
    (folder / "d.csv").write_text("body,label\nsome text,pos\n", encoding="utf-8")
    fails(folder, "d.csv", "no column `text`", "--text-column")
    (folder / "d.csv").write_text("text,label,extra\nsome text,pos,1\n", encoding="utf-8")
    fails(folder, "d.csv", "same columns", "a.csv")
    (folder / "d.csv").unlink()
    write_toy_jsonl(folder / "d.jsonl", ["fine text", "no label here"], ["pos", ""])
    fails(folder, "d.jsonl", "no label")
    (folder / "d.jsonl").write_text('{"text": "x", "label": "pos"}\nnot json\n', encoding="utf-8")
    fails(folder, "d.jsonl", "Line 2")
    (folder / "d.jsonl").unlink()
    other = write_toy_csv(tmp_path / "other.csv", ["a new kind of text"], ["neutral"])
    one_line_error(invoke("train", "--data", folder, "--test-data", other, "--preset", "fast", "--out", run),
                   "other.csv", "'neutral'", "training data lacks")  # fmt: skip
    assert not run.exists()


def test_the_chosen_recipe_on_shards_streams_without_the_linear_model(shards, tmp_path):
    # the recipe adds the linear n-gram model to in-memory data; on shards it must not, since the
    # linear model would read every text into memory (the run is then a single streamed run)
    folder, _, _ = shards
    run = tmp_path / "run"
    out = ok(invoke("train", "--data", folder, "--epochs", "1", "--seed", "2", "--out", run))
    assert "no linear n-gram model: the data is streamed" in out.stdout
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["kind"] == "stream"
    assert not (run / "members").exists() and not (run / "linear").exists()


def test_a_streamed_fit_keeps_its_labels_mapped_and_plans_by_window(shards):
    from textrnn.runs.model import build_model
    from textrnn.runs.prepare import prepare
    from textrnn.runs.single import fit_targets
    from textrnn.training.windows import windowed_batcher

    folder, _, _ = shards
    options = TrainOptions.from_preset("fast", data=str(folder), seed=0, baseline=False, **TINY_OPTIONS)
    data = prepare(options)
    model = build_model(options, data.vocabulary.input_dim, data.num_classes)
    y = fit_targets(model, data)
    assert y is data.y_train and isinstance(y, np.memmap) and model.batcher_factory is windowed_batcher
