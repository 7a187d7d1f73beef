"""User-data readers: every format, label normalisation, the split, and each bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from textrnn.data import (
    DataSource,
    detect_format,
    encode_labels,
    label_names_of,
    read_texts,
    stratified_split,
)
from textrnn.errors import DatasetError


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- formats
def test_csv_quoted_commas_newlines_and_bom(tmp_path):
    p = write(
        tmp_path / "d.csv",
        '\ufeffid,text,label\n1,"good, really ""good""",pos\n2,"two\nlines",neg\n\n3,plain,pos\n',
    )
    texts, labels = read_texts(p)
    assert texts == ['good, really "good"', "two\nlines", "plain"]
    assert labels == ["pos", "neg", "pos"]


def test_tsv_with_custom_columns(tmp_path):
    p = write(tmp_path / "d.tsv", 'review\tstars\nfine film\t5\nbad, "awful" film\t1\n')
    texts, labels = read_texts(p, text_column="review", label_column="stars")
    assert texts == ["fine film", 'bad, "awful" film']
    assert labels == ["5", "1"]


def test_jsonl_numbers_and_strings_are_one_label_space(tmp_path):
    rows = [
        {"text": "a", "label": 1},
        {"text": "b", "label": "0"},
        {"text": "c", "label": 1.0},
        {"text": "d", "label": True},
    ]
    p = write(tmp_path / "d.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n\n")
    texts, labels = read_texts(p)
    assert texts == ["a", "b", "c", "d"]
    assert labels == ["1", "0", "1", "true"]


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    p = tmp_path / "d.parquet"
    pq.write_table(pa.table({"body": ["x y", "z"], "y": [0, 2]}), p)
    assert read_texts(p, text_column="body", label_column="y") == (["x y", "z"], ["0", "2"])
    with pytest.raises(DatasetError, match="no column `text`.*body, y"):
        read_texts(p)


def test_parquet_missing_pyarrow_is_a_clear_error(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError("no pyarrow")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    p = write(tmp_path / "d.parquet", b"PAR1")
    with pytest.raises(DatasetError, match=r"pip install 'textrnn\[data\]'"):
        read_texts(p)


def test_folder_tree_with_train_and_test(tmp_path):
    for subset, label, name, text in [
        ("train", "pos", "1.txt", "great"),
        ("train", "pos", "0.txt", "fine"),
        ("train", "neg", "2.txt", "bad"),
        ("train", "unsup", "3.txt", "unlabelled"),
        ("test", "neg", "4.txt", "poor"),
    ]:
        write(tmp_path / "root" / subset / label / name, text)
    write(tmp_path / "root" / "train" / "urls.txt", "not a class")
    src = DataSource(str(tmp_path / "root"))
    assert src.resolved_format() == "folder" and src.has_test_subset()
    assert src.read("train") == (["bad", "fine", "great"], ["neg", "pos", "pos"])
    assert src.read("test") == (["poor"], ["neg"])


def test_folder_of_class_folders_without_train(tmp_path):
    write(tmp_path / "r" / "a" / "1.txt", "x")
    write(tmp_path / "r" / "b" / "1.txt", "y")
    assert read_texts(tmp_path / "r") == (["x", "y"], ["a", "b"])
    with pytest.raises(DatasetError, match="no `test/` folder"):
        read_texts(tmp_path / "r", subset="test")


def test_detect_format(tmp_path):
    assert detect_format(write(tmp_path / "a.CSV", "text,label\n")) == "csv"
    assert detect_format(write(tmp_path / "a.ndjson", "")) == "jsonl"
    assert detect_format(tmp_path) == "folder"
    with pytest.raises(DatasetError, match=r"extension '\.xlsx'.*--format csv"):
        detect_format(write(tmp_path / "a.xlsx", ""))


def test_explicit_format_overrides_extension(tmp_path):
    p = write(tmp_path / "d.txt", "text,label\nhi,1\n")
    assert read_texts(p, format="csv") == (["hi"], ["1"])


def test_datasource_round_trip_and_validation():
    src = DataSource("x.csv", "csv", "t", "l", "latin-1")
    assert DataSource.from_dict(json.loads(json.dumps(src.to_dict()))) == src
    with pytest.raises(ValueError, match="`format`.*csv, tsv, jsonl, parquet, folder.*'xls'"):
        DataSource("x", format="xls")
    with pytest.raises(ValueError, match="`encoding`.*'nope'"):
        DataSource("x", encoding="nope")
    with pytest.raises(ValueError, match="`text_column`"):
        DataSource("x", text_column="")


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("name", "content", "pattern"),
    [
        ("missing.csv", None, "does not exist"),
        ("empty.csv", "", "is empty"),
        ("header_only.csv", "text,label\n", "holds no examples"),
        ("nocol.csv", "review,label\nx,1\n", "no column `text` .*review, label.*--text-column"),
        ("nolabelcol.csv", "text,y\nx,1\n", "no column `label`.*--label-column"),
        ("badquote.csv", 'text,label\n"abc"def,1\n', "line 2: not valid CSV"),
        ("unclosed.csv", 'text,label\nok,1\n"never closed,1\n', "line 3: not valid CSV"),
        ("fields.csv", "text,label\na,b,1\n", "line 2: 3 fields, but the header has 2"),
        ("nolabel.csv", "text,label\nok,1\nno label here,\n", "line 3: no label in column `label`"),
        (
            "undecodable.csv",
            b"text,label\nok,1\ncaf\xe9,0\n",
            r"line 3: bytes b'\\xe9' are not valid utf-8.*--encoding",
        ),
        ("bad.jsonl", '{"text": "a", "label": 1}\n{oops\n', "line 2: not valid JSON"),
        ("list.jsonl", "[1, 2]\n", "line 1: expected a JSON object"),
        ("nokey.jsonl", '{"text": "a"}\n', "line 1: no key `label`"),
        ("nulllabel.jsonl", '{"text": "a", "label": null}\n', "line 1: no label"),
        ("numtext.jsonl", '{"text": 5, "label": 1}\n', "must be a string"),
        ("bad.parquet", b"not parquet at all", "not a readable Parquet file"),
    ],
)
def test_bad_files(tmp_path, name, content, pattern):
    p = tmp_path / name
    if content is not None:
        write(p, content)
    with pytest.raises(DatasetError, match=pattern):
        read_texts(p)


def test_undecodable_bytes_read_with_the_right_encoding(tmp_path):
    p = write(tmp_path / "d.csv", b"text,label\ncaf\xe9,0\n")
    assert read_texts(p, encoding="latin-1") == (["café"], ["0"])


def test_undecodable_txt_in_folder_names_the_file(tmp_path):
    write(tmp_path / "r" / "a" / "bad.txt", b"\xff\xfe\xfa")
    with pytest.raises(DatasetError, match=r"bad\.txt` line 1"):
        read_texts(tmp_path / "r")


def test_empty_folder_tree(tmp_path):
    (tmp_path / "r" / "train" / "a").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no class folders with .txt files"):
        read_texts(tmp_path / "r")


def test_directory_given_a_file_format(tmp_path):
    with pytest.raises(DatasetError, match="is not a file"):
        read_texts(tmp_path, format="csv")


# ----------------------------------------------------------------------------- labels
def test_label_names_numeric_and_alphabetic_order():
    assert label_names_of(["10", "9", "1", "9"]) == ["1", "9", "10"]
    assert label_names_of(["pos", "neg", "pos"]) == ["neg", "pos"]
    assert label_names_of(["b", "10", "a"]) == ["10", "a", "b"]


def test_encode_labels_rejects_unknown():
    np.testing.assert_array_equal(encode_labels(["b", "a", "b"], ["a", "b"]), [1, 0, 1])
    with pytest.raises(
        DatasetError, match="Label 'c' in test.csv is not one of the model's labels \\['a', 'b'\\]"
    ):
        encode_labels(["a", "c"], ["a", "b"], source="test.csv")


# ----------------------------------------------------------------------------- split
def test_stratified_split_keeps_class_shares_and_is_seeded():
    labels = ["a"] * 80 + ["b"] * 20 + ["c"] * 1
    train, test = stratified_split(labels, 0.25, seed=3)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(101))
    test_labels = [labels[i] for i in test]
    assert test_labels.count("a") == 20 and test_labels.count("b") == 5 and test_labels.count("c") == 0
    again = stratified_split(labels, 0.25, seed=3)
    np.testing.assert_array_equal(again[1], test)
    other = stratified_split(labels, 0.25, seed=4)
    assert not np.array_equal(other[1], test)


def test_stratified_split_small_class_keeps_one_in_training():
    train, test = stratified_split(["a", "a", "b", "b"], 0.9, seed=0)
    assert len(train) == 2 and len(test) == 2


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, True])
def test_stratified_split_rejects_bad_fraction(bad):
    with pytest.raises(ValueError, match="`test_split`, expected a fraction in \\(0, 1\\)"):
        stratified_split(["a", "b"], bad)


# ------------------------------------------------------------------ issue 12: labels, bad input
def test_numeric_looking_csv_labels_are_numbers(tmp_path):
    p = write(tmp_path / "d.csv", "text,label\na,1\nb,1.0\nc,0\nd,0.0\ne, 1.00 \nf,2.5\ng,2.50\n")
    texts, labels = read_texts(p)
    assert labels == ["1", "1", "0", "0", "1", "2.5", "2.5"]
    assert label_names_of(labels) == ["0", "1", "2.5"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", "1"),
        ("1.0", "1"),
        ("+1", "1"),
        ("-0.0", "0"),
        ("007", "7"),
        (".5", "0.5"),
        ("1e2", "100"),
        ("pos", "pos"),
        ("nan", "nan"),
        ("inf", "inf"),
        ("1_000", "1_000"),
        ("1.2.3", "1.2.3"),
        ("  ", None),
    ],
)
def test_normalize_label_reads_decimal_numbers_only(raw, expected):
    from textrnn.data import normalize_label

    assert normalize_label(raw) == expected


def test_duplicate_column_name_is_refused_naming_it(tmp_path):
    p = write(tmp_path / "d.csv", "text,label,label\na,1,2\n")
    with pytest.raises(DatasetError, match="header names column `label` 2 times"):
        read_texts(p)
    p = write(tmp_path / "e.tsv", "id\ttext\tid\tlabel\n1\ta\t2\t0\n")
    with pytest.raises(DatasetError, match="column `id` 2 times"):
        read_texts(p)


def test_mostly_empty_text_column_is_refused(tmp_path):
    rows = "".join(f"{'' if i % 4 else 'some text'},{i % 2}\n" for i in range(40))
    p = write(tmp_path / "d.csv", "text,label\n" + rows)
    pattern = r"text column `text` is empty in 30 of 40 rows.*--text-column"
    with pytest.raises(DatasetError, match=pattern):
        read_texts(p)
    # a few empty texts are data, not a wrong column
    rows = "".join(f"{'' if i % 4 == 0 else 'some text'},{i % 2}\n" for i in range(40))
    assert len(read_texts(write(tmp_path / "ok.csv", "text,label\n" + rows))[0]) == 40


def test_id_like_label_column_is_refused(tmp_path):
    rows = "".join(f"text {i},{1000 + i}\n" for i in range(30))
    p = write(tmp_path / "d.csv", "text,id\n" + rows)
    pattern = r"label column `id` has a different value in every row, like an id.*--label-column"
    with pytest.raises(DatasetError, match=pattern):
        read_texts(p, label_column="id")
    # 21 values in 30 rows: not classes
    rows = "".join(f"text {i},{min(i, 20)}\n" for i in range(30))
    with pytest.raises(DatasetError, match="21 distinct values in 30 rows"):
        read_texts(write(tmp_path / "e.csv", "text,label\n" + rows))
    # a tiny file with one example per class is allowed
    tiny = write(tmp_path / "tiny.csv", "text,label\na,x\nb,y\nc,z\n")
    assert read_texts(tiny)[1] == ["x", "y", "z"]
    rows = "".join(f"text {i},{i % 10}\n" for i in range(30))  # 10 classes of 3
    assert len(set(read_texts(write(tmp_path / "ten.csv", "text,label\n" + rows))[1])) == 10
