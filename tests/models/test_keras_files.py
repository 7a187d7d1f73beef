"""Keras's model files: `.keras`, `.weights.h5` and legacy `.h5` written by Keras 3 load in textrnn
and predict what Keras predicted; textrnn writes the same layout back.

The fixtures (tests/fixtures/keras/files, gzipped) are written by
`tests/fixtures/make_keras_fixtures.py files` with Keras 3 on JAX, which also loads textrnn-written
files in Keras and checks their predictions; Keras is not needed here.
"""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import torch

import textrnn as keras
from textrnn.errors import ModelFileError
from textrnn.layers import Dense
from textrnn.models import keras_files, load_model

FILES = Path(__file__).resolve().parents[1] / "fixtures" / "keras" / "files"
CASES = sorted(p.stem for p in FILES.glob("*.npz"))
KINDS = (".keras", ".weights.h5", ".h5")


def keras_file(tmp_path: Path, case: str, kind: str) -> Path:
    out = tmp_path / f"keras_{case}{kind}"
    out.write_bytes(gzip.decompress((FILES / f"{case}{kind}.gz").read_bytes()))
    return out


def recorded(case: str) -> tuple[np.ndarray, np.ndarray]:
    with np.load(FILES / f"{case}.npz") as data:
        return data["inputs"], data["outputs"]


def h5_layout(path: Any, under: str = "") -> dict[str, tuple[int, ...]]:
    out: dict[str, tuple[int, ...]] = {}
    with h5py.File(path, "r") as f:
        root = f[under] if under else f

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset) and not name.startswith("optimizer"):
                out[name] = tuple(obj.shape)

        root.visititems(visit)
    return out


def class_names(entry: Any, path: str = "") -> list[tuple[str, str, Any]]:
    """Every `(where, class_name, module)` in a Keras config, shared-object ids left aside."""
    found: list[tuple[str, str, Any]] = []
    if isinstance(entry, dict):
        if "class_name" in entry and entry["class_name"] != "__keras_tensor__":
            found.append((path, entry["class_name"], entry.get("module")))
        for key, value in entry.items():
            if key != "compile_config":
                found += class_names(value, f"{path}/{key}")
    elif isinstance(entry, list):
        for i, value in enumerate(entry):
            found += class_names(value, f"{path}/{i}")
    return found


def zip_json(path: Path, member: str) -> Any:
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read(member))


def test_fixtures_exist_and_are_small():
    assert CASES == ["functional", "sequential_cnn", "sequential_rnn"]
    for case in CASES:
        for kind in KINDS:
            assert (FILES / f"{case}{kind}.gz").stat().st_size < 8_000


@pytest.mark.parametrize("kind", [".keras", ".h5"])
@pytest.mark.parametrize("case", CASES)
def test_textrnn_loads_keras_model_files(tmp_path, case, kind):
    x, expected = recorded(case)
    model = load_model(keras_file(tmp_path, case, kind))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)
    assert model.compiled  # Keras's compile config: adam, binary_crossentropy, accuracy
    assert type(model.optimizer).__name__ == "Adam"


@pytest.mark.parametrize("case", CASES)
def test_textrnn_loads_keras_weights_files(tmp_path, case):
    x, expected = recorded(case)
    model = load_model(keras_file(tmp_path, case, ".keras"), compile=False)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    model.load_weights(keras_file(tmp_path, case, ".weights.h5"))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    model.load_weights(keras_file(tmp_path, case, ".keras"))  # a .keras archive's weights
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)


@pytest.mark.parametrize("case", CASES)
def test_textrnn_writes_keras_layout(tmp_path, case):
    x, expected = recorded(case)
    theirs = keras_file(tmp_path, case, ".keras")
    model = load_model(theirs)
    ours = tmp_path / "ours.keras"
    model.save(ours)
    with zipfile.ZipFile(theirs) as a, zipfile.ZipFile(ours) as b:
        assert b.namelist() == a.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in b.infolist())
        their_weights, our_weights = (z.read("model.weights.h5") for z in (a, b))
    assert h5_layout(_bytes_file(tmp_path, "o.h5", our_weights)) == h5_layout(
        _bytes_file(tmp_path, "t.h5", their_weights)
    )
    assert class_names(zip_json(ours, "config.json")) == class_names(zip_json(theirs, "config.json"))
    ours_cfg, theirs_cfg = zip_json(ours, "config.json"), zip_json(theirs, "config.json")
    assert ours_cfg["compile_config"]["optimizer"]["class_name"] == "Adam"
    for a_layer, b_layer in zip(ours_cfg["config"]["layers"], theirs_cfg["config"]["layers"], strict=True):
        assert set(a_layer) == set(b_layer)
        if a_layer["class_name"] != "InputLayer":
            assert set(a_layer["config"]) == set(b_layer["config"]), a_layer["class_name"]
    again = load_model(ours)  # round trip
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, atol=1e-5)
    assert again.compiled


@pytest.mark.parametrize("case", CASES)
def test_textrnn_writes_keras_weights_layout(tmp_path, case):
    x, expected = recorded(case)
    model = load_model(keras_file(tmp_path, case, ".keras"))
    ours = tmp_path / "ours.weights.h5"
    model.save_weights(ours)
    assert h5_layout(ours) == h5_layout(keras_file(tmp_path, case, ".weights.h5"))
    with h5py.File(ours) as f, h5py.File(keras_file(tmp_path, case, ".weights.h5")) as g:
        names = []
        f.visititems(lambda n, o: names.append(n) if n.endswith("vars") else None)
        for name in names:
            assert f[name].attrs["name"] == g[name].attrs["name"], name
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    model.load_weights(ours)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)


@pytest.mark.parametrize("case", CASES)
def test_textrnn_writes_legacy_h5_layout(tmp_path, case):
    x, expected = recorded(case)
    theirs = keras_file(tmp_path, case, ".h5")
    model = load_model(theirs)
    ours = tmp_path / "ours.h5"
    model.save(ours)
    assert h5_layout(ours, "model_weights") == h5_layout(theirs, "model_weights")
    with h5py.File(ours) as f, h5py.File(theirs) as g:
        assert list(f["model_weights"].attrs["layer_names"]) == list(g["model_weights"].attrs["layer_names"])
        for name in g["model_weights"]:
            assert list(f["model_weights"][name].attrs["weight_names"]) == list(
                g["model_weights"][name].attrs["weight_names"]
            ), name
        ours_cfg = json.loads(f.attrs["model_config"])
        theirs_cfg = json.loads(g.attrs["model_config"])
        assert "training_config" in f.attrs
    assert class_names(ours_cfg) == class_names(theirs_cfg)
    again = load_model(ours)
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, atol=1e-5)


def _bytes_file(tmp_path: Path, name: str, raw: bytes) -> Path:
    (tmp_path / name).write_bytes(raw)
    return tmp_path / name


def test_keras2_style_legacy_file_loads(tmp_path):
    """Keras 2's spelling: weight names ending in `:0`, no InputLayer but `batch_input_shape` on
    the first layer, string dtypes, Keras 2 arguments (`input_length`, `implementation`)."""
    x, expected = recorded("sequential_rnn")
    path = keras_file(tmp_path, "sequential_rnn", ".h5")
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        layers = config["config"]["layers"]
        shape = layers[0]["config"]["batch_shape"]
        del layers[0]
        layers[0]["config"]["batch_input_shape"] = shape
        layers[0]["config"]["input_length"] = shape[1]
        for layer in layers:
            layer["config"]["dtype"] = "float32"
            if layer["class_name"] == "GRU":
                layer["config"]["implementation"] = 2
        f.attrs["model_config"] = json.dumps(config)
        group = f["model_weights"]
        for name in list(group):
            names = [n.decode() if isinstance(n, bytes) else n for n in group[name].attrs["weight_names"]]
            for n in names:
                group[name].move(n, n + ":0")
            group[name].attrs["weight_names"] = [(n + ":0").encode() for n in names]
    model = load_model(path)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)


def _edit_config(tmp_path: Path, edit: Any, rename: tuple[str, str] | None = None) -> Path:
    """A copy of the Keras CNN's `.keras` with its layer configs edited (and a weights group renamed)."""
    source = keras_file(tmp_path, "sequential_cnn", ".keras")
    config = zip_json(source, "config.json")
    edit(config["config"]["layers"])
    out = tmp_path / "edited.keras"
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(out, "w") as b:
        weights = _bytes_file(tmp_path, "w.h5", a.read("model.weights.h5"))
        if rename:
            with h5py.File(weights, "r+") as f:
                f.move(*rename)
        for name in a.namelist():
            raw = weights.read_bytes() if name == "model.weights.h5" else a.read(name)
            b.writestr(name, json.dumps(config) if name == "config.json" else raw)
    return out


def test_unknown_keras_layer_is_named(tmp_path):
    def edit(layers):
        layers[2]["class_name"] = "Conv2D"

    with pytest.raises(ModelFileError, match="Conv2D.*custom_objects"):
        load_model(_edit_config(tmp_path, edit))


def test_unsupported_argument_is_named(tmp_path):
    def edit(layers):
        layers[-1]["config"]["kernel_regularizer"] = {"class_name": "L2", "config": {"l2": 0.01}}

    with pytest.raises(ModelFileError, match="kernel_regularizer"):
        load_model(_edit_config(tmp_path, edit))


def test_float16_policy_is_refused(tmp_path):
    def edit(layers):
        layers[-1]["config"]["dtype"]["config"]["name"] = "float16"

    with pytest.raises(ModelFileError, match="float16"):
        load_model(_edit_config(tmp_path, edit))


class MyDense(Dense):
    pass


def test_custom_objects_are_honoured(tmp_path):
    x, expected = recorded("sequential_cnn")

    def edit(layers):
        layers[-1].update(
            class_name="MyDense", module="my_package.layers", registered_name="MyPackage>MyDense"
        )

    path = _edit_config(tmp_path, edit, ("layers/dense", "layers/my_dense"))  # Keras names it so
    with pytest.raises(ModelFileError, match="MyDense"):
        load_model(path)
    model = load_model(path, custom_objects={"MyDense": MyDense})
    assert type(model.layers[-1]) is MyDense
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)


def test_weights_of_another_model_are_refused(tmp_path):
    model = load_model(keras_file(tmp_path, "sequential_cnn", ".keras"))
    with pytest.raises(ModelFileError, match="do not match"):
        model.load_weights(keras_file(tmp_path, "sequential_rnn", ".weights.h5"))
    with pytest.raises(ModelFileError, match="layers"):
        model.load_weights(keras_file(tmp_path, "sequential_rnn", ".h5"))


def test_layers_keras_lacks_are_refused_on_write(tmp_path):
    model = keras.Sequential([keras.layers.NGramEmbedding(50, 4), keras.layers.Dense(1)])
    model.build((None, 5))
    with pytest.raises(ModelFileError, match="NGramEmbedding.*textrnn's own format"):
        model.save(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()


def test_new_model_round_trips_with_metadata(tmp_path):
    inputs = keras.Input(shape=(6,), dtype="int32")
    h = keras.layers.Embedding(20, 4, mask_zero=True)(inputs)
    h = keras.layers.LSTM(3, return_sequences=True)(h)
    h = keras.layers.LayerNormalization()(h)
    h = keras.layers.GlobalMaxPooling1D()(h)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(h))
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["acc"])
    x = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 9]], dtype="int32")
    for name in ("m.keras", "m.h5"):
        model.save(tmp_path / name, metadata={"labels": ["neg", "pos"]})
        again, meta = load_model(tmp_path / name, return_metadata=True)
        assert meta == {"labels": ["neg", "pos"]}
        np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
        assert type(again.optimizer).__name__ == "RMSprop"


def test_other_names_keep_textrnn_format(tmp_path):
    model = keras.Sequential([keras.layers.Embedding(10, 3), keras.layers.GRU(2)])
    model.save(tmp_path / "folder")
    assert (tmp_path / "folder" / "config.json").is_file()
    model.save_weights(tmp_path / "w.safetensors")
    assert keras_files.file_kind(tmp_path / "w.safetensors") is None
    assert keras_files.file_kind("a.weights.h5") == "weights_h5"
    assert keras_files.file_kind("a.H5") == "legacy_h5"


def test_damaged_files_raise_model_file_error(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="not a Keras"):
        load_model(bad)
    bad_h5 = tmp_path / "bad.h5"
    bad_h5.write_bytes(b"not hdf5")
    with pytest.raises(ModelFileError, match="HDF5"):
        load_model(bad_h5)
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "missing.keras")


def test_two_inputs_and_a_nested_model_round_trip(tmp_path):
    tokens = keras.Input(shape=(5,), dtype="int32", name="tokens")
    features = keras.Input(shape=(3,), name="features")
    encoder = keras.Sequential([keras.layers.Embedding(12, 4), keras.layers.GRU(3)], name="encoder")
    h = keras.layers.Concatenate()([encoder(tokens), keras.layers.Dense(2)(features)])
    model = keras.Model([tokens, features], keras.layers.Dense(1)(h))
    x = [np.array([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], dtype="int32"), np.ones((2, 3), dtype="float32")]

    def run(m):
        with torch.no_grad():
            return m([torch.as_tensor(v) for v in x]).numpy()

    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        (tmp_path / "w.h5").write_bytes(zf.read("model.weights.h5"))
    layout = h5_layout(tmp_path / "w.h5")
    assert layout["layers/sequential/layers/gru/cell/vars/1"] == (3, 9)  # Keras's path for it
    assert layout["layers/dense_1/vars/0"] == (5, 1)
    for name in ("m.keras", "m.h5"):
        if name != "m.keras":
            model.save(tmp_path / name)
        np.testing.assert_allclose(run(load_model(tmp_path / name)), run(model), atol=1e-6)


def test_old_folder_under_a_keras_name_still_loads(tmp_path):
    model = keras.Sequential([keras.layers.Embedding(10, 3), keras.layers.GRU(2)])
    model.build()
    x = np.array([[1, 2, 3]], dtype="int32")
    old = tmp_path / "old.keras"
    from textrnn.models import saving

    saving.save_model(model, tmp_path / "folder")
    (tmp_path / "folder").rename(old)  # what earlier textrnn wrote for this name
    np.testing.assert_allclose(load_model(old).predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ModelFileError, match="is a folder"):
        model.save(old)


@pytest.mark.parametrize(
    ("loss", "compiled"),
    [
        ({"from_logits": True, "label_smoothing": 0.0, "reduction": "sum_over_batch_size"}, True),
        ({"from_logits": False, "label_smoothing": 0.1}, False),
    ],
)
def test_keras_loss_objects_compile_or_warn(tmp_path, loss, compiled):
    source = keras_file(tmp_path, "sequential_cnn", ".keras")
    config = zip_json(source, "config.json")
    config["compile_config"]["loss"] = {
        "module": "keras.losses",
        "class_name": "BinaryCrossentropy",
        "config": {"name": "binary_crossentropy", **loss},
        "registered_name": None,
    }
    out = tmp_path / "loss.keras"
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(out, "w") as b:
        for name in a.namelist():
            b.writestr(name, json.dumps(config) if name == "config.json" else a.read(name))
    if compiled:
        model = load_model(out)
        assert model.compiled and model.loss.from_logits
    else:
        with pytest.warns(UserWarning, match="label_smoothing.*uncompiled"):
            model = load_model(out)
        assert not model.compiled


def test_keras2_functional_legacy_file_loads(tmp_path):
    """Keras 2's functional config: class `Model`, `inbound_nodes` as nested lists."""
    x, expected = recorded("functional")
    path = keras_file(tmp_path, "functional", ".h5")
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        config["class_name"] = "Model"
        for layer in config["config"]["layers"]:
            old = []
            for node in layer["inbound_nodes"]:
                arg = node["args"][0]
                tensors = arg if isinstance(arg, list) else [arg]
                old.append([[*t["config"]["keras_history"], {}] for t in tensors])
            layer["inbound_nodes"] = old
        f.attrs["model_config"] = json.dumps(config)
    model = load_model(path)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)
