"""Damaged and crafted model folders cost nothing (issue 14 items 4, 7, 9, 10).

Every case ends in a `ModelFileError` (or `DiskFullError`) naming the problem, before any large
allocation: a spy on the initialisers fails the test if a weight of more than a million values is
ever initialised.
"""

from __future__ import annotations

import errno
import hashlib
import json
import struct

import numpy as np
import pytest
import torch
from safetensors import SafetensorError

from textrnn import initializers
from textrnn.errors import DiskFullError, ModelFileError
from textrnn.fileio import write_bytes_atomic, write_json_atomic
from textrnn.layers import LSTM, Dense, Embedding
from textrnn.models import Sequential, load_model, read_metadata, saving

BIG = 10**6


@pytest.fixture
def saved(tmp_path):
    model = Sequential([Embedding(50, 4), LSTM(3), Dense(1, activation="sigmoid")])
    model.build((None, 8))
    path = tmp_path / "m"
    model.save(path, metadata={"labels": ["neg", "pos"]})
    return path


@pytest.fixture(autouse=True)
def no_big_weights(monkeypatch):
    real = initializers.get

    def spy(identifier):
        init = real(identifier)

        def checked(shape, dtype=None):
            assert int(np.prod(shape, dtype=np.float64)) <= BIG, f"allocated a weight of shape {shape}"
            return init(shape, dtype=dtype)

        return checked

    monkeypatch.setattr(initializers, "get", spy)


def edit_config(path, change):
    config = json.loads((path / "config.json").read_text())
    change(config)
    (path / "config.json").write_text(json.dumps(config))


def layer_cfg(config, index):
    return config["model"]["config"]["layers"][index]["config"]


@pytest.mark.parametrize(
    "index, key, value, pattern",
    [
        (
            1,
            "units",
            20000,
            r"Weight `layers.1.lstm.kernel` \(layer 1, lstm\) .* has shape \(4, 12\), "
            r"but the model expects \(4, 80000\)",
        ),
        (0, "input_dim", 10**12, r"layers.0.embedding.embeddings.*expects \(1000000000000, 4\)"),
        (0, "input_dim", 5 * 10**6, r"has shape \(50, 4\), but the model expects \(5000000, 4\)"),
        (0, "output_dim", 10**12, r"layers.0.embedding.embeddings"),
    ],
)
def test_declared_sizes_checked_against_the_header_first(saved, index, key, value, pattern):
    edit_config(saved, lambda c: layer_cfg(c, index).__setitem__(key, value))
    with pytest.raises(ModelFileError, match=pattern):
        load_model(saved)


def test_impossible_sizes_are_one_error(saved):
    edit_config(saved, lambda c: layer_cfg(c, 0).__setitem__("input_dim", 10**30))
    with pytest.raises(ModelFileError):
        load_model(saved)


def test_huge_maxlen_in_build_shape_is_harmless(saved):
    edit_config(saved, lambda c: c["model"]["config"].__setitem__("build_input_shape", [None, 10**12]))
    load_model(saved)  # builds no per-step weights; predict pads to the predictor's checked maxlen


def rewrite_weights(path, mutate, *, fix_checksum):
    raw = bytearray((path / "model.safetensors").read_bytes())
    raw = mutate(raw)
    (path / "model.safetensors").write_bytes(bytes(raw))
    if fix_checksum:
        edit_config(path, lambda c: c.__setitem__("weights_sha256", hashlib.sha256(raw).hexdigest()))


def test_flipped_byte_in_the_weights_is_refused(saved):
    def flip(raw):
        raw[-3] ^= 0x40
        return raw

    rewrite_weights(saved, flip, fix_checksum=False)
    with pytest.raises(ModelFileError, match="does not match the checksum"):
        load_model(saved)


def _change_dtype(raw):
    (n,) = struct.unpack("<Q", raw[:8])
    header = raw[8 : 8 + n].replace(b'"F32"', b'"I32"', 1)
    return bytearray(raw[:8] + header + raw[8 + n :])


def test_changed_dtype_in_the_header_is_refused(saved):
    rewrite_weights(saved, _change_dtype, fix_checksum=False)
    with pytest.raises(ModelFileError, match="dtype I32"):
        load_model(saved)
    rewrite_weights(saved, lambda raw: raw, fix_checksum=True)  # even with a matching checksum
    with pytest.raises(ModelFileError, match="dtype I32, but the model stores F32"):
        load_model(saved)


@pytest.mark.parametrize("header_len", [2**63, 10**9, 10])
def test_lying_header_length(saved, header_len):
    rewrite_weights(saved, lambda raw: bytearray(struct.pack("<Q", header_len)) + raw[8:], fix_checksum=True)
    with pytest.raises(ModelFileError, match="corrupted"):
        load_model(saved)


def test_version_1_models_without_a_checksum_still_load(saved):
    def v1(config):
        config["format_version"] = 1
        del config["weights_sha256"]

    edit_config(saved, v1)
    assert isinstance(load_model(saved), Sequential)
    edit_config(saved, lambda c: c.__setitem__("format_version", 2))
    with pytest.raises(ModelFileError, match="weights_sha256"):
        load_model(saved)


@pytest.mark.parametrize("weights", ["../other.safetensors", "/etc/passwd", "sub/model.safetensors", "..", 7])
def test_weights_path_is_confined_to_the_folder(saved, weights):
    edit_config(saved, lambda c: c.__setitem__("weights", weights))
    with pytest.raises(ModelFileError, match="weights"):
        load_model(saved)


@pytest.mark.parametrize("key, value", [("metadata", [1]), ("metadata", "x"), ("compile", [1])])
def test_wrong_types_in_the_config(saved, key, value):
    edit_config(saved, lambda c: c.__setitem__(key, value))
    with pytest.raises(ModelFileError, match=f'invalid "{key}"'):
        load_model(saved)
    if key == "metadata":
        with pytest.raises(ModelFileError):
            read_metadata(saved)


def test_deeply_nested_config(saved):
    (saved / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelFileError, match="nested too deeply"):
        load_model(saved)
    for depth in (400, 20_000):  # parses and reaches from_config; too deep for the parser
        layer = '{"class_name": "Bidirectional", "config": {"layer": ' * depth + "{}" + "}}" * depth
        text = (
            '{"format": "textrnn.model", "format_version": 1, "model": {"class_name": '
            f'"Sequential", "config": {{"layers": [{layer}]}}}}}}'
        )
        (saved / "config.json").write_text(text)
        with pytest.raises(ModelFileError):
            load_model(saved)


def test_full_disk_while_saving_weights_is_one_error_and_keeps_the_old_model(saved, monkeypatch):
    before = {p.name: p.read_bytes() for p in saved.iterdir()}

    def full(*args, **kwargs):
        raise SafetensorError(
            "Error while serializing: IoError(Os { code: 28, kind: StorageFull, "
            'message: "No space left on device" })'
        )

    monkeypatch.setattr(saving, "save_file", full)
    model = load_model(saved)
    with pytest.raises(DiskFullError, match=r"No space left on the disk holding .* about .* needed"):
        model.save(saved)
    assert {p.name: p.read_bytes() for p in saved.iterdir()} == before
    assert sorted(p.name for p in saved.parent.iterdir()) == ["m"]  # no temporary folder left
    with pytest.raises(DiskFullError):
        model.save_weights(saved.parent / "w.safetensors")
    assert sorted(p.name for p in saved.parent.iterdir()) == ["m"]


def test_full_disk_in_atomic_writes(tmp_path, monkeypatch):
    target = tmp_path / "history.json"
    target.write_text("old")

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(type(target), "write_bytes", full)
    with pytest.raises(DiskFullError, match=r"history.json .* about 6 bytes needed"):
        write_bytes_atomic(target, b"abcdef")
    with pytest.raises(DiskFullError, match="No space left on the disk holding"):
        write_json_atomic(target, {"a": 1})
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["history.json"]


def test_other_errors_pass_through(tmp_path, monkeypatch):
    def denied(self, data):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(type(tmp_path), "write_bytes", denied)
    with pytest.raises(PermissionError):
        write_bytes_atomic(tmp_path / "x", b"1")
    assert list(tmp_path.iterdir()) == []


def test_round_trip_still_exact(saved):
    model = load_model(saved)
    again = load_model(saved)
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        torch.testing.assert_close(torch.as_tensor(a), torch.as_tensor(b))


@pytest.mark.parametrize("maxlen", [10**12, 0, -5])
def test_absurd_maxlen_in_a_predictor_metadata(tiny_run, tmp_path, maxlen):
    import shutil

    from textrnn.runs import Predictor

    model_dir = tmp_path / "model"
    shutil.copytree(tiny_run / "model", model_dir)
    edit_config(model_dir, lambda c: c["metadata"]["preprocessing"].__setitem__("maxlen", maxlen))
    with pytest.raises(ModelFileError, match=f"maxlen={maxlen} is outside"):
        Predictor.load(model_dir)
