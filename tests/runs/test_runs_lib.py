"""Run-folder library pieces: options, presets, atomic I/O, checkpoints, comparison, Predictor."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
import torch

import textrnn
from textrnn.errors import ModelFileError, RunFolderError
from textrnn.fileio import deferred_interrupt, replace_dir, write_csv_atomic, write_json_atomic
from textrnn.presets import PRESETS, get_preset
from textrnn.runs import Predictor, RunFolder, TrainOptions
from textrnn.runs.checkpoint import checkpoint_epoch, load_checkpoint, save_checkpoint
from textrnn.runs.compare import differing_options, format_table
from textrnn.runs.model import build_model
from textrnn.runs.options import command_line
from textrnn.runs.predictor import model_metadata
from textrnn.runs.prepare import build_vocabulary


# ----------------------------------------------------------------------------------- options
def test_tutorial_preset_is_the_keras_tutorial():
    o = TrainOptions.from_preset("tutorial")
    assert (o.num_words, o.maxlen, o.embedding_dim, o.rnn, o.units, o.layers) == (
        10000,
        500,
        32,
        "simple_rnn",
        32,
        1,
    )
    assert (o.optimizer, o.batch_size, o.epochs, o.validation_split, o.learning_rate) == (
        "rmsprop",
        128,
        10,
        0.2,
        None,
    )
    assert TrainOptions() == o
    assert build_model(o, 10000).count_params() == 322_113  # the tutorial's summary
    assert set(PRESETS["tutorial"]) == {
        f
        for f in TrainOptions().to_dict()
        if f
        not in (
            "data",
            "data_format",
            "text_column",
            "label_column",
            "encoding",
            "test_data",
            "stream",
            "preset",
            "nproc",
            "split_seed",
        )
    }


def test_from_preset_overrides_and_round_trip():
    o = TrainOptions.from_preset(rnn="lstm", units=None, epochs=3)
    assert o.rnn == "lstm" and o.units == 32 and o.epochs == 3
    assert TrainOptions.from_dict(json.loads(json.dumps(o.to_dict()))) == o
    with pytest.raises(TypeError, match="Unknown training option"):
        TrainOptions.from_preset(unit=3)
    with pytest.raises(ValueError, match="`--preset`, expected one of best, fast, tutorial, got 'nope'"):
        get_preset("nope")
    with pytest.raises(ValueError, match="Unknown training option"):
        TrainOptions.from_dict({**o.to_dict(), "future": 1})


def test_no_validation_switches_default_monitor_only():
    assert TrainOptions.from_preset(validation_split=0.0).monitor == "loss"
    with pytest.raises(ValueError, match="`monitor` \\(`--monitor`\\).*--monitor loss"):
        TrainOptions.from_preset(validation_split=0.0, monitor="val_acc")


@pytest.mark.parametrize(
    ("field", "value", "pattern"),
    [
        ("epochs", 0, "`epochs` \\(`--epochs`\\), expected a positive integer, got 0"),
        ("units", 2.5, "`units`"),
        ("layers", True, "`layers`"),
        ("rnn", "SimpleRNN", "`rnn` \\(`--rnn`\\), expected one of simple_rnn, lstm, gru"),
        ("dropout", 1.0, "`dropout`.*\\[0, 1\\)"),
        ("test_split", 0.0, "`test_split`.*\\(0, 1\\)"),
        ("num_words", 3, "`num_words`.*at least 4"),
        ("learning_rate", -1.0, "`learning_rate`"),
        ("early_stopping", 0, "`early_stopping`"),
        ("seed", -1, "`seed`"),
        ("data_format", "xls", "`data_format`"),
        ("monitor", "f1", "`monitor`"),
        ("bidirectional", "yes", "`bidirectional`"),
        ("test_data", "t.csv", "`test_data`.*--data"),
        ("bucket_by_length", True, "`bucket_by_length`.*--mask-zero"),
    ],
)
def test_options_validate_and_never_clamp(field, value, pattern):
    with pytest.raises(ValueError, match=pattern):
        TrainOptions(**{field: value})


def test_command_line_reproduces_the_options():
    o = TrainOptions(data="my data.csv", rnn="gru", bidirectional=True, seed=5, learning_rate=0.01)
    line = command_line(o)
    assert line.startswith("textrnn train --data 'my data.csv'")
    assert "--rnn gru" in line and "--bidirectional" in line and "--seed 5" in line
    assert "mask-zero" not in line  # only what differs from the preset is spelled out
    assert "--format" not in line and "--learning-rate 0.01" in line


def test_model_name():
    assert TrainOptions().model_name() == "SimpleRNN(32)"
    assert TrainOptions(rnn="lstm", units=64, layers=2, bidirectional=True).model_name() == "2×Bi-LSTM(64)"


# ----------------------------------------------------------------------------------- io
def test_atomic_writes_leave_no_temporary_files(tmp_path):
    write_json_atomic(tmp_path / "a.json", {"x": [1, 2]})
    write_json_atomic(tmp_path / "a.json", {"x": [3]})
    write_csv_atomic(tmp_path / "h.csv", ["epoch", "loss"], [[1, 0.5], [2, 0.25]])
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": [3]}
    assert (tmp_path / "h.csv").read_text() == "epoch,loss\n1,0.5\n2,0.25\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "h.csv"]
    with pytest.raises(ValueError):
        write_json_atomic(tmp_path / "b.json", {"x": float("nan")})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "h.csv"]


def test_replace_dir(tmp_path):
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "f").write_text("new")
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "f").write_text("old")
    replace_dir(tmp_path / "new", tmp_path / "target")
    assert (tmp_path / "target" / "f").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target"]


def test_deferred_interrupt_holds_ctrl_c_until_the_block_ends():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_interrupt():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("finished the block")
    assert done == ["finished the block"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# ----------------------------------------------------------------------------------- checkpoint
def test_checkpoint_round_trip_restores_weights_optimizer_and_generators(tmp_path):
    opts = TrainOptions(units=4, embedding_dim=4, maxlen=6, optimizer="adam")
    model = build_model(opts, 50)
    x = np.random.default_rng(0).integers(1, 50, size=(16, 6))
    y = np.random.default_rng(1).integers(0, 2, size=16).astype("float32")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    save_checkpoint(tmp_path, 1, model, model.optimizer)
    save_checkpoint(tmp_path, 2, model, model.optimizer)
    assert checkpoint_epoch(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-0002.safetensors", "state.json"]
    expected_next = torch.rand(3)  # what the generator gives right after the checkpoint...
    state = {
        k: v.clone()
        for k, v in model.optimizer.torch_optimizer.state_dict()["state"][0].items()
        if torch.is_tensor(v)
    }

    other = build_model(opts, 50)
    assert checkpoint_epoch(tmp_path / "none") is None
    assert load_checkpoint(tmp_path, other, other.optimizer) == 2
    assert torch.equal(torch.rand(3), expected_next)  # ...is what it gives after restoring
    for a, b in zip(model.get_weights(), other.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    restored = other.optimizer.torch_optimizer.state_dict()["state"][0]
    for key, value in state.items():
        assert torch.equal(restored[key], value), key
    assert other.optimizer.iterations == model.optimizer.iterations == 2


def test_damaged_checkpoint_is_a_run_folder_error(tmp_path):
    (tmp_path / "state.json").write_text('{"epoch": 1, "file": "epoch-0001.safetensors"}')
    (tmp_path / "epoch-0001.safetensors").write_bytes(b"garbage")
    model = build_model(TrainOptions(units=2, embedding_dim=2, maxlen=3), 10)
    with pytest.raises(RunFolderError, match="damaged.*cannot be resumed"):
        load_checkpoint(tmp_path, model, model.optimizer)


# ----------------------------------------------------------------------------------- run folder
def test_run_folder_errors(tmp_path):
    with pytest.raises(RunFolderError, match="does not exist"):
        RunFolder(tmp_path / "missing")
    with pytest.raises(RunFolderError, match="not a textrnn run: it has no config.json"):
        RunFolder(tmp_path)
    (tmp_path / "config.json").write_text('{"format": "textrnn.model"}')
    with pytest.raises(RunFolderError, match="not a textrnn run config"):
        RunFolder(tmp_path)
    (tmp_path / "config.json").write_text('{"format": "textrnn.run", "format_version": 99}')
    with pytest.raises(RunFolderError, match="format_version 99.*Upgrade textrnn"):
        RunFolder(tmp_path)
    (tmp_path / "config.json").write_text('{"format": "textrnn.run", "format_version": 1}')
    run = RunFolder(tmp_path)
    assert run.status == "running" and run.epochs_done == 0 and run.metrics is None
    with pytest.raises(RunFolderError, match="no saved model yet"):
        run.require_model()


def test_format_table_aligns_and_marks_missing_values():
    rows = [
        {"run": "a", "model": "SimpleRNN(32)", "parameters": 322113, "epochs": 10, "best_epoch": 4,
         "best_val_acc": 0.85, "test_acc": 0.84, "seconds_per_epoch": 30.25, "status": "complete"},
        {"run": "long-name", "model": "LSTM(32)", "parameters": 328353, "epochs": 1, "best_epoch": 1,
         "best_val_acc": None, "test_acc": None, "seconds_per_epoch": 5.0, "status": "interrupted"},
    ]  # fmt: skip
    lines = format_table(rows).splitlines()
    assert len(lines) == 4
    # numbers are right-aligned under their header
    assert lines[2].index("322,113") + len("322,113") == lines[0].index("params") + len("params")
    assert lines[3].index("long-name") == lines[0].index("run") == 0
    assert "322,113" in lines[2] and "0.8500" in lines[2] and "30.2" in lines[2]
    assert lines[3].split()[5:7] == ["-", "-"]


def test_differing_options_lists_only_what_is_not_alike():
    a = TrainOptions(rnn="lstm", seed=1).to_dict()
    b = TrainOptions(rnn="lstm", seed=2, ema=0.98, mask_zero=True).to_dict()
    assert differing_options([a, b]) == ["mask_zero=false ema=none seed=1", "mask_zero=true ema=0.98 seed=2"]
    assert differing_options([a, dict(a)]) == ["", ""]
    assert differing_options([a]) == [""]


# ----------------------------------------------------------------------------------- predictor
def _predictor(num_classes: int = 2, mask_zero: bool = False) -> Predictor:
    texts = ["good film", "bad film", "great", "awful plot"]
    opts = TrainOptions(units=4, embedding_dim=4, maxlen=8, num_words=20, mask_zero=mask_zero)
    vocab = build_vocabulary(opts, texts)
    model = build_model(opts, vocab.input_dim, num_classes)
    names = ["a", "b", "c"][:num_classes] if num_classes > 2 else ["neg", "pos"]
    return Predictor(model, vocab, names, opts.maxlen)


def test_predictor_matches_the_model_on_encoded_text():
    p = _predictor()
    texts = ["good film", "an unknown word", "", "bad bad bad bad bad bad bad bad bad bad"]
    x = p.encode(texts)
    assert x.shape == (4, 8) and x.dtype == np.int32
    assert list(x[0][-3:]) == [1, p.vocabulary.word_index["good"] + 3, p.vocabulary.word_index["film"] + 3]
    assert list(x[2]) == [0] * 7 + [1]  # start_char only
    raw = p.model.predict(x, verbose=0)[:, 0]
    probs = p.predict_proba(texts)
    np.testing.assert_allclose(probs[:, 1], raw, rtol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    preds = p.predict(texts)
    assert [q.label for q in preds] == [("pos" if r > 0.5 else "neg") for r in raw]
    assert preds[0].probability == pytest.approx(max(probs[0]))
    assert preds[0].to_dict()["probabilities"]["pos"] == pytest.approx(probs[0, 1])


def test_predictor_bucketing_with_mask_gives_the_same_probabilities():
    p = _predictor(mask_zero=True)
    texts = ["good", "bad film here and there", "great great", "awful"] * 3
    bucketed = p.predict_proba(texts)
    plain = p.model.predict(p.encode(texts), verbose=0)[:, 0]
    np.testing.assert_allclose(bucketed[:, 1], plain, atol=1e-6)


def test_predictor_evaluate_and_input_errors():
    p = _predictor(num_classes=3)
    m = p.evaluate(["good", "bad", "great"], ["a", "b", "c"])
    assert m["samples"] == 3 and len(m["confusion_matrix"]) == 3 and m["roc_auc"] is None
    with pytest.raises(TypeError, match="single string"):
        p.predict("good film")
    with pytest.raises(TypeError, match="position 1"):
        p.predict(["ok", 3])
    from textrnn.errors import DatasetError

    with pytest.raises(DatasetError, match="not one of the model's labels"):
        p.evaluate(["good"], ["z"])
    with pytest.raises(DatasetError, match="one label per text"):
        p.evaluate(["good", "bad"], ["a"])
    with pytest.raises(DatasetError, match="missing"):
        p.evaluate(["good"], [None])


def test_predictor_rejects_mismatched_labels():
    p = _predictor()
    with pytest.raises(ModelFileError, match="outputs 1 values per text but has 3 label names"):
        Predictor(p.model, p.vocabulary, ["a", "b", "c"], 8)


def test_load_saved_model_folder_and_foreign_model(tmp_path):
    p = _predictor()
    p.model.save(tmp_path / "m", metadata=model_metadata(p.vocabulary, p.label_names, 8, "pre", "pre"))
    loaded = textrnn.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(["good film"]), p.predict_proba(["good film"]), rtol=1e-6)
    assert "labels=['neg', 'pos']" in repr(loaded)
    p.model.save(tmp_path / "plain")
    with pytest.raises(ModelFileError, match="not a text classifier"):
        textrnn.load(tmp_path / "plain")
    with pytest.raises(ModelFileError, match="does not exist"):
        textrnn.load(tmp_path / "nothing")


def test_predictor_evaluate_accepts_class_indices():
    p = _predictor()
    texts = ["good film", "bad film", "great"]
    by_name = p.evaluate(texts, ["pos", "neg", "pos"])
    assert p.evaluate(texts, [1, 0, 1]) == by_name
    assert p.evaluate(texts, np.array([1, 0, 1])) == by_name
    from textrnn.errors import DatasetError

    with pytest.raises(
        DatasetError,
        match=r"Label 2 is neither one of the model's labels \['neg', 'pos'\] nor a class index in \[0, 1\]",
    ):
        p.evaluate(texts, [1, 0, 2])
