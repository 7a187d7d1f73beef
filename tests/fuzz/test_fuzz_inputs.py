"""Fuzzing (Hypothesis): hostile inputs end in a documented error with a message, nothing else.

Allowed: `TextRNNError`, `ValueError`, `TypeError` with a non-empty message; in the CLI one
`Error: ...` line and exit code 1. Anything else (IndexError, KeyError, AttributeError,
RecursionError, pyarrow's errors, a traceback) fails the test.
"""

from __future__ import annotations

import json
import string
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from textrnn.cli import app
from textrnn.data import readers
from textrnn.data.lines import read_lines, split_lines
from textrnn.errors import TextRNNError
from textrnn.models import load_model, read_metadata
from textrnn.preprocessing.sequence import pad_sequences
from textrnn.preprocessing.text import Vocabulary, tokenize

ALLOWED = (TextRNNError, ValueError, TypeError)

texts = st.text(alphabet=st.characters(codec=None), max_size=200) | st.sampled_from(
    ["", "\0", "\0" * 50, "a" * 100_000, "<br />" * 100, "\ufeff", "\u2028\x85\x0c\r", "é" * 1000]
)
junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def documented(fn, *args, **kwargs):
    """Call `fn`; an error must be one of ALLOWED, with a message."""
    try:
        return fn(*args, **kwargs)
    except ALLOWED as err:
        assert str(err).strip(), f"{type(err).__name__} without a message"
        return err


@given(texts)
def test_tokenize_any_text(text):
    tokens = tokenize(text)
    assert all(isinstance(t, str) and t for t in tokens)


@given(junk)
def test_tokenize_wrong_types(value):
    if not isinstance(value, str):
        documented(tokenize, value)


@given(st.lists(texts, max_size=8), st.lists(texts, max_size=4))
def test_vocabulary_build_and_encode(train, other):
    vocab = documented(Vocabulary.build, train)
    if isinstance(vocab, Vocabulary):
        encoded = vocab.encode(other)
        assert len(encoded) == len(other)
        again = Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict())))
        assert again.encode(other) == encoded


@given(junk)
def test_vocabulary_from_any_json(data):
    documented(Vocabulary.from_dict, data)


@given(
    st.lists(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=6) | junk, max_size=5),
    st.none() | st.integers(-3, 10) | junk,
    st.sampled_from(["pre", "post", "middle", 3]),
    st.sampled_from(["pre", "post", None]),
)
def test_pad_sequences_any_input(seqs, maxlen, padding, truncating):
    out = documented(pad_sequences, seqs, maxlen=maxlen, padding=padding, truncating=truncating)
    if isinstance(out, np.ndarray):
        assert out.ndim >= 2 or out.size == 0


def _read(suffix, raw):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"data{suffix}"
        path.write_bytes(raw)
        return documented(readers.read_texts, path)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
@given(raw=st.binary(max_size=300))
def test_readers_any_bytes(suffix, raw):
    _read(suffix, raw)


@given(rows=st.lists(st.tuples(texts, texts | junk.map(json.dumps)), max_size=6))
def test_readers_any_text_rows(rows):
    csv_text = "text,label\n" + "".join(f'"{a.replace(chr(34), chr(34) * 2)}",{b}\n' for a, b in rows)
    _read(".csv", csv_text.encode("utf-8", "surrogatepass"))
    jsonl = "".join(json.dumps({"text": a, "label": b}) + "\n" for a, b in rows)
    _read(".jsonl", jsonl.encode("utf-8", "surrogatepass"))
    _read(".jsonl", "".join(json.dumps(x) + "\n" for x in rows).encode())


@given(
    st.dictionaries(
        st.text(string.ascii_letters + "é\0 .", min_size=1, max_size=8),
        st.lists(st.binary(max_size=40), max_size=3),
        max_size=3,
    )
)
def test_folder_reader_any_tree(tree):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "data"
        root.mkdir()
        for cls, files in tree.items():
            try:
                (root / cls).mkdir(exist_ok=True)
            except (OSError, ValueError):
                continue  # a name the file system refuses (NUL, "."): not a reader's input
            for i, raw in enumerate(files):
                (root / cls / f"{i}.txt").write_bytes(raw)
        documented(readers.read_texts, root)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    from textrnn.layers import Dense, Embedding, SimpleRNN
    from textrnn.models import Sequential

    model = Sequential([Embedding(20, 3), SimpleRNN(2), Dense(1)])
    model.build((None, 5))
    path = tmp_path_factory.mktemp("fuzz") / "m"
    model.save(path, metadata={"a": 1})
    return path


@given(
    junk,
    st.sampled_from(
        [
            "model",
            "metadata",
            "compile",
            "weights",
            "format_version",
            "weights_sha256",
            "layers",
            "whole",
        ]
    ),
)
def test_model_config_any_json(saved_model, value, where):
    config = json.loads((saved_model / "config.json").read_text())
    if where == "whole":
        config = value
    elif where == "layers":
        config["model"]["config"]["layers"] = value
    else:
        config[where] = value
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m"
        path.mkdir()
        (path / "model.safetensors").write_bytes((saved_model / "model.safetensors").read_bytes())
        (path / "config.json").write_text(json.dumps(config))
        documented(load_model, path)
        documented(read_metadata, path)


@given(st.binary(max_size=400))
def test_line_reading_any_bytes(raw):
    lines = documented(split_lines, raw, "f")
    if isinstance(lines, list):
        assert all("\n" not in x and x.strip() for x in lines)
        assert lines == documented(read_lines, raw.split(b"\n"), "f")


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    from textrnn.data.toy import toy_texts, write_toy_csv

    root = tmp_path_factory.mktemp("fuzz_cli")
    data = write_toy_csv(root / "r.csv", *toy_texts(60, seed=4))
    args = [
        "train",
        "--data",
        str(data),
        "--units",
        "2",
        "--embedding-dim",
        "2",
        "--maxlen",
        "8",
        "--num-words",
        "50",
        "--epochs",
        "1",
        "--seed",
        "0",
        "--out",
        str(root / "run"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    return root / "run"


@given(st.binary(max_size=300))
def test_cli_predict_any_file(cli_run, raw):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "in.txt"
        path.write_bytes(raw)
        result = CliRunner().invoke(app, ["predict", str(cli_run), "--file", str(path), "--json"])
    assert result.exit_code in (0, 1), result.exception
    if result.exit_code == 1:
        err = result.stderr.strip()
        assert err.startswith("Error: ") and "\n" not in err and "Traceback" not in err, err
    else:
        for line in result.stdout.strip().split("\n"):
            record = json.loads(line)
            assert set(record) >= {"text", "label", "probability"}
