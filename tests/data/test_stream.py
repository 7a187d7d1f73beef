"""Streaming a folder of shards into memory-mapped token arrays (`textrnn.data.stream`)."""

import json

import numpy as np
import pytest

from textrnn.data.stream import encode_to_disk, iter_chunks, load_encoded, scan, shard_paths
from textrnn.data.toy import toy_texts, write_toy_csv, write_toy_jsonl
from textrnn.errors import DatasetError
from textrnn.preprocessing.sequence import pad_sequences
from textrnn.preprocessing.text import Vocabulary


@pytest.fixture()
def shards(tmp_path, monkeypatch):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from textrnn.data import stream

    monkeypatch.setattr(stream, "CHUNK_ROWS", 7)  # several chunks per shard
    texts, labels = toy_texts(30, classes=("neg", "pos", "neutral"), seed=3)
    folder = tmp_path / "shards"
    folder.mkdir()
    write_toy_csv(folder / "a.csv", texts[:40], labels[:40])
    write_toy_jsonl(folder / "b.jsonl", texts[40:70], labels[40:70])
    pq.write_table(pa.table({"text": texts[70:], "label": labels[70:]}), folder / "c.parquet")
    (folder / "notes.txt").write_text("not a shard")
    return folder, texts, labels


def test_scan_and_encode_match_the_in_memory_path(shards, tmp_path):
    folder, texts, labels = shards
    assert [p.name for p in shard_paths(folder)] == ["a.csv", "b.jsonl", "c.parquet"]
    assert sum(len(t) for t, _ in iter_chunks(folder)) == len(texts)
    found = scan(folder, num_words=30)
    expected = Vocabulary.build(texts, num_words=30)
    assert found.vocabulary.word_index == expected.word_index
    assert found.label_names == ["neg", "neutral", "pos"] and found.rows == 90
    data = encode_to_disk(folder, tmp_path / "enc", found.vocabulary, found.label_names, 12,
                          rows=found.rows)  # fmt: skip
    assert isinstance(data.x, np.memmap) and data.x.dtype == np.int32
    np.testing.assert_array_equal(data.x, pad_sequences(expected.encode(texts), maxlen=12))
    np.testing.assert_array_equal(data.y, [found.label_names.index(y) for y in labels])
    again = load_encoded(tmp_path / "enc")
    np.testing.assert_array_equal(again.x, data.x)
    assert json.loads((tmp_path / "enc" / "encoded.json").read_text())["rows"] == 90


def test_fit_trains_on_the_memory_mapped_tokens_without_copying(shards, tmp_path):
    import torch

    from textrnn.layers import GRU, Dense, Embedding
    from textrnn.models import Sequential
    from textrnn.training.data import check_inputs

    folder, _, _ = shards
    found = scan(folder, num_words=50)
    data = encode_to_disk(folder, tmp_path / "enc", found.vocabulary, found.label_names, 10,
                          rows=found.rows)  # fmt: skip
    model = Sequential([Embedding(50, 4, mask_zero=True), GRU(4), Dense(3, "softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["acc"])
    model.build_for(torch.zeros(1, 10, dtype=torch.int32))
    checked = check_inputs(data.x, model.first_layer)
    start = data.x.ctypes.data
    assert start <= checked.data_ptr() < start + data.x.nbytes  # the mapped file, not a copy
    history = model.fit(data.x, data.y, batch_size=16, epochs=1, verbose=0,
                        validation_split=0.2, bucket_by_length=True)  # fmt: skip
    assert np.isfinite(history.history["val_loss"][0])


def test_stream_errors_are_one_line(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        shard_paths(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no .csv"):
        shard_paths(tmp_path / "empty")
    bad = tmp_path / "bad.csv"
    bad.write_text("body,y\nhello,pos\n")
    with pytest.raises(DatasetError, match="--text-column"):
        scan(bad)
    with pytest.raises(DatasetError, match="unknown label"):
        write_toy_csv(tmp_path / "ok.csv", ["a b", "c d"], ["pos", "neg"])
        encode_to_disk(tmp_path / "ok.csv", tmp_path / "e", Vocabulary(["a"]), ["pos"], 4, rows=2)
    assert not (tmp_path / "e").exists()
