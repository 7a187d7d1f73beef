"""`textrnn train` turns each kind of bad input the readers refuse into one `Error:` line, with
the recipe (--preset auto) and with a preset, and leaves no run folder behind."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from textrnn.cli import app

TEXTS = [f"text number {i} good" if i % 2 else f"text {i} bad" for i in range(40)]


def write(path, header, rows):
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


CASES = {
    "duplicate column": (
        "text,label,text",
        [f"{t},{i % 2},x" for i, t in enumerate(TEXTS)],
        ["column `text` 2 times"],
    ),
    "empty text column": (
        "text,label",
        [f"{t if i < 3 else ''},{i % 2}" for i, t in enumerate(TEXTS)],
        ["is empty in 37 of 40 rows", "--text-column"],
    ),
    "id label column": (
        "text,label",
        [f"{t},id{i}" for i, t in enumerate(TEXTS)],
        ["a different value in every row", "--label-column"],
    ),
    "one class": ("text,label", [f"{t},x" for t in TEXTS], ["a single class"]),
}


@pytest.mark.parametrize("preset", [None, "tutorial"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_data_is_one_line(tmp_path, case, preset):
    header, rows, patterns = CASES[case]
    data = write(tmp_path / "data.csv", header, rows)
    out = tmp_path / "run"
    args = ["train", "--data", str(data), "--epochs", "1", "--out", str(out)]
    result = CliRunner().invoke(app, args + (["--preset", preset] if preset else []))
    assert result.exit_code == 1, result.stdout
    err = result.stderr.strip()
    assert err.startswith("Error: ") and "\n" not in err, err
    assert "Traceback" not in result.stdout + result.stderr
    for p in patterns:
        assert p in err, err
    assert not out.exists()


def test_numeric_looking_labels_are_two_classes(tmp_path):
    rows = [f"{t},{['1', '1.0', '0', '0.0'][i % 4]}" for i, t in enumerate(TEXTS * 2)]
    data = write(tmp_path / "num.csv", "text,label", rows)
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--data",
            str(data),
            "--units",
            "4",
            "--embedding-dim",
            "4",
            "--epochs",
            "1",
            "--no-baseline",
            "--no-linear",
            "--out",
            str(out),
            "--verbose",
            "0",
        ],
    )
    assert result.exit_code == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["label_names"] == ["0", "1"]
