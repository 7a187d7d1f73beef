"""The data readers on hostile files: one `DatasetError` line, never a traceback."""

from __future__ import annotations

import json

import pytest

from textrnn.data import readers
from textrnn.errors import DatasetError


def test_deeply_nested_jsonl_is_one_error(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text(
        '{"text": "ok", "label": 1}\n{"text": ' + "[" * 100_000 + "]" * 100_000 + ', "label": 1}\n'
    )
    with pytest.raises(DatasetError, match="line 2: JSON nested too deeply"):
        readers.read_texts(path)


def test_jsonl_records_holding_unicode_line_separators(tmp_path):
    texts = ["one\u2028two", "three\x85four", "five\x0csix", "seven\rhalf"]
    path = tmp_path / "t.jsonl"
    path.write_text(
        "".join(
            json.dumps({"text": t, "label": i % 2}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)
        ),
        encoding="utf-8",
        newline="",
    )
    got, labels = readers.read_texts(path)
    assert got == texts and len(labels) == 4


def test_pad_sequences_value_out_of_range_is_a_value_error():
    from textrnn.preprocessing.sequence import pad_sequences

    with pytest.raises(ValueError, match="does not fit `dtype` 'int32'"):
        pad_sequences([[2147483648.0]])  # found by tests/fuzz
    with pytest.raises(ValueError, match="does not fit"):
        pad_sequences([[1, 2**40]], dtype="int32")
    assert pad_sequences([[1, 2**40]], dtype="int64").tolist() == [[1, 2**40]]
