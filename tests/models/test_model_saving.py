import json
import os

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from textrnn.errors import ModelFileError
from textrnn.layers import GRU, LSTM, Bidirectional, Dense, Embedding, SimpleRNN
from textrnn.models import Sequential, load_model, read_metadata, saving
from textrnn.optimizers import RMSprop

X = np.array([[0, 0, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 7, 8]])


def make_model():
    model = Sequential(
        [
            Embedding(12, 6, mask_zero=True),
            Bidirectional(LSTM(4, return_sequences=True)),
            GRU(3, return_sequences=True),
            SimpleRNN(3),
            Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=RMSprop(learning_rate=0.005), loss="binary_crossentropy", metrics=["acc"])
    return model


def test_round_trip_same_predictions_config_and_compile(tmp_path):
    model = make_model()
    model.fit(X, np.array([1, 0, 1]), epochs=1, verbose=0)
    path = tmp_path / "m"
    model.save(path, metadata={"labels": ["neg", "pos"], "vocab_size": 12})
    assert sorted(os.listdir(path)) == ["config.json", "model.safetensors"]
    config = json.loads((path / "config.json").read_text())
    assert config["format"] == "textrnn.model" and config["format_version"] == saving.FORMAT_VERSION
    assert "textrnn_version" in config
    loaded, meta = load_model(path, return_metadata=True)
    assert meta == {"labels": ["neg", "pos"], "vocab_size": 12}
    assert read_metadata(path) == meta
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)
    assert loaded.get_config() == model.get_config()
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.metrics_names == ["loss", "acc"]
    assert loaded.evaluate(X, np.array([1, 0, 1]), verbose=0) == pytest.approx(
        model.evaluate(X, np.array([1, 0, 1]), verbose=0), rel=1e-6
    )
    assert not load_model(path, compile=False).compiled


def test_weights_are_keyed_by_position_and_type(tmp_path):
    model = make_model()
    model.save(tmp_path / "m")
    keys = set(load_file(str(tmp_path / "m" / "model.safetensors")))
    assert {".".join(k.split(".")[:3]) for k in keys} == {
        "layers.0.embedding",
        "layers.1.bidirectional",
        "layers.2.gru",
        "layers.3.simple_rnn",
        "layers.4.dense",
    }
    assert "layers.4.dense.kernel" in keys and "layers.0.embedding.embeddings" in keys


def test_overwrite_replaces_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "m"
    a, b = make_model(), make_model()
    a.save(path)
    b.save(path)
    np.testing.assert_allclose(load_model(path).predict(X, verbose=0), b.predict(X, verbose=0), rtol=1e-6)
    assert os.listdir(tmp_path) == ["m"]
    with pytest.raises(ModelFileError, match="overwrite=True"):
        a.save(path, overwrite=False)


def test_failed_save_keeps_the_old_model(tmp_path, monkeypatch):
    path = tmp_path / "m"
    a = make_model()
    a.save(path)
    before = a.predict(X, verbose=0)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(saving, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        make_model().save(path)
    monkeypatch.undo()
    np.testing.assert_allclose(load_model(path).predict(X, verbose=0), before, rtol=1e-6)
    assert os.listdir(tmp_path) == ["m"]


def test_never_replaces_a_folder_that_is_not_a_model(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "precious.txt").write_text("keep me")
    with pytest.raises(ModelFileError, match="not a textrnn model folder"):
        make_model().save(tmp_path / "data")
    assert (tmp_path / "data" / "precious.txt").read_text() == "keep me"


def test_metadata_must_be_json(tmp_path):
    with pytest.raises(TypeError, match="JSON-serialisable"):
        make_model().save(tmp_path / "m", metadata={"x": np.zeros(2)})


def _saved(tmp_path):
    path = tmp_path / "m"
    make_model().save(path)
    return path


def test_missing_key(tmp_path):
    path = _saved(tmp_path)
    tensors = load_file(str(path / "model.safetensors"))
    dropped = sorted(tensors)[0]
    del tensors[dropped]
    save_file(tensors, str(path / "model.safetensors"))
    with pytest.raises(ModelFileError, match=f"missing keys: {dropped}"):
        load_model(path)


def test_unexpected_key(tmp_path):
    path = _saved(tmp_path)
    tensors = load_file(str(path / "model.safetensors"))
    tensors["extra.kernel"] = torch.zeros(2)
    save_file(tensors, str(path / "model.safetensors"))
    with pytest.raises(ModelFileError, match="unexpected keys: extra.kernel"):
        load_model(path)


def test_shape_mismatch(tmp_path):
    path = _saved(tmp_path)
    tensors = load_file(str(path / "model.safetensors"))
    key = next(k for k in tensors if k.endswith("embeddings"))
    tensors[key] = torch.zeros(3, 3)
    save_file(tensors, str(path / "model.safetensors"))
    with pytest.raises(
        ModelFileError, match=rf"Weight `{key}` .* has shape \(3, 3\), but the model expects \(12, 6\)"
    ):
        load_model(path)


def test_corrupted_safetensors(tmp_path):
    path = _saved(tmp_path)
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelFileError, match="corrupted or not a safetensors file"):
        load_model(path)


def test_foreign_and_broken_config(tmp_path):
    path = _saved(tmp_path)
    (path / "config.json").write_text(json.dumps({"class_name": "Sequential", "config": {}}))
    with pytest.raises(ModelFileError, match="not a textrnn model config"):
        load_model(path)
    (path / "config.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(path)
    config = {"format": "textrnn.model", "format_version": 99, "model": {}}
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="Upgrade textrnn"):
        load_model(path)


def test_missing_paths(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFileError, match="config.json is missing"):
        load_model(tmp_path / "empty")
    (tmp_path / "file.bin").write_bytes(b"x")
    with pytest.raises(ModelFileError, match="is a file"):
        load_model(tmp_path / "file.bin")


def test_save_and_load_weights(tmp_path):
    a, b = make_model(), make_model()
    a.save_weights(tmp_path / "w.weights.safetensors")
    b.load_weights(tmp_path / "w.weights.safetensors")
    np.testing.assert_allclose(b.predict(X, verbose=0), a.predict(X, verbose=0), rtol=1e-6)
    other = Sequential([Embedding(12, 6), Dense(1)])
    with pytest.raises(ModelFileError, match="do not match the model"):
        other.load_weights(tmp_path / "w.weights.safetensors")
