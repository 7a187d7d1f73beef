"""`predict`'s input: one text per "\\n"-line, strict UTF-8 (issue 14 item 8)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from textrnn.cli import app
from textrnn.data.lines import read_lines, split_lines
from textrnn.errors import DatasetError

ODD = "a\fb", "c\vd", "e\x85f", "g\u2028h", "i\rj", "k\u2029l"


def test_split_lines_splits_on_newline_only():
    raw = ("\n".join(ODD) + "\r\nlast\n\n").encode()
    assert split_lines(raw, "f") == [*ODD, "last"]


def test_bom_and_crlf_and_blank_lines():
    assert split_lines(b"\xef\xbb\xbfone\r\n\r\n  \ntwo", "f") == ["one", "two"]
    assert read_lines([b"x\r\n", b"\n", b"y"], "stdin") == ["x", "y"]


def test_invalid_utf8_names_the_line():
    with pytest.raises(DatasetError, match=r"stdin line 3 is not valid UTF-8"):
        read_lines([b"ok\n", b"fine\n", b"bad \xff\n"], "stdin")
    with pytest.raises(DatasetError, match=r"`f` line 2 "):
        split_lines(b"a\n\xc3(\n", "`f`")


def test_cli_file_gives_one_prediction_per_line(tiny_run, tmp_path):
    path = tmp_path / "texts.txt"
    path.write_bytes(("\n".join(ODD) + "\n").encode())
    result = CliRunner().invoke(app, ["predict", str(tiny_run), "--file", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(x) for x in result.stdout.strip().split("\n")]
    assert [r["text"] for r in records] == list(ODD)


def test_cli_stdin_refuses_invalid_utf8(tiny_run):
    result = CliRunner().invoke(app, ["predict", str(tiny_run), "--json"], input=b"good\nbad \xff\xfe\n")
    assert result.exit_code == 1
    err = result.stderr.strip()
    assert err.startswith("Error: ") and "\n" not in err and "line 2" in err, err
