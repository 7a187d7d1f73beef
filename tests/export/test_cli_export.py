"""`textrnn export` end to end: a small trained run, its folder, and predict.py without PyTorch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import textrnn  # noqa: E402
from textrnn.cli import app  # noqa: E402
from textrnn.data.toy import toy_texts, write_toy_csv  # noqa: E402
from textrnn.onnx_predictor import OnnxPredictor  # noqa: E402
from textrnn.runs.run import RUN_FORMAT  # noqa: E402

TINY = [
    "--units",
    "8",
    "--embedding-dim",
    "8",
    "--maxlen",
    "24",
    "--num-words",
    "200",
    "--batch-size",
    "32",
    "--no-linear",  # one model to export (the default recipe adds the linear n-gram model)
]
TEXTS = [
    "A wonderful film, loved it!",
    "Dull<br />and far too long...",
    "",
    "ÇA VA? café’s naïve 🎬",
]

# Runs predict.py as a user without PyTorch would: isolated mode, torch and textrnn unimportable.
_NO_TORCH = (
    "import runpy, sys\n"
    "sys.modules['torch'] = None\n"
    "sys.modules['textrnn'] = None\n"
    "path = sys.argv.pop(1)\n"
    "sys.argv[0] = path\n"
    "runpy.run_path(path, run_name='__main__')\n"
)


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("export_run")
    data = write_toy_csv(base / "toy.csv", *toy_texts(100, seed=0))
    result = invoke(
        "train",
        "--data",
        data,
        *TINY,
        "--mask-zero",
        "--epochs",
        "1",
        "--verbose",
        "0",
        "--out",
        base / "run",
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    return base / "run"


def test_export_writes_the_folder_and_matches_pytorch(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "exported"
    result = invoke("export", run, "--format", "onnx", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert f"Wrote {out}: model.onnx, predict.py, preprocessing.json, vocabulary.json" in result.stdout
    assert "max |ONNX - PyTorch| = " in result.stdout
    rules = json.loads((out / "preprocessing.json").read_text())
    assert rules["maxlen"] == 24 and rules["mask_zero"] is True and rules["trim_padding"] is True
    assert rules["label_names"] == textrnn.load(run).label_names
    want = textrnn.load(run).predict_proba(TEXTS)
    got = OnnxPredictor(out).predict_proba(TEXTS)
    assert np.abs(got - want).max() <= 1e-5


def test_default_out_is_inside_the_run(run: Path) -> None:
    result = invoke("export", run)
    assert result.exit_code == 0, result.stderr
    assert (run / "onnx" / "model.onnx").is_file()


def test_predict_py_runs_without_torch(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "standalone"
    assert invoke("export", run, "--out", out).exit_code == 0
    proc = subprocess.run(
        [sys.executable, "-I", "-c", _NO_TORCH, str(out / "predict.py"), "--json", *TEXTS],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    want = textrnn.load(run).predict(TEXTS)
    assert [r["text"] for r in rows] == TEXTS
    assert [r["label"] for r in rows] == [p.label for p in want]
    for r, p in zip(rows, want, strict=True):
        assert abs(r["probability"] - p.probability) <= 1e-5
    # the shim really blocks torch: importing it fails the same way
    blocked = subprocess.run(
        [sys.executable, "-I", "-c", "import sys; sys.modules['torch'] = None; import torch"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert blocked.returncode != 0 and "ModuleNotFoundError" in blocked.stderr


def test_incomplete_run_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "half"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"format": RUN_FORMAT, "format_version": 1}))
    result = invoke("export", folder)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "no saved model" in lines[0]


def test_unknown_format_and_missing_run_are_one_line(tmp_path: Path) -> None:
    result = invoke("export", tmp_path, "--format", "tflite")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and "--format" in result.stderr
    result = invoke("export", tmp_path / "nothing")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and "does not exist" in result.stderr


def test_the_ten_line_client_in_the_docs(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "client"
    assert invoke("export", run, "--out", out).exit_code == 0
    doc = (Path(__file__).resolve().parents[2] / "docs" / "onnx.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in doc.split("```python\n")[1:]]
    client = next(b for b in blocks if b.startswith("import json, re, numpy"))
    assert len(client.strip().splitlines()) <= 11
    printed: list = []
    exec(client.replace('"runs/lstm/onnx/"', repr(str(out) + "/")), {"print": printed.append})
    want = textrnn.load(run).predict_proba(["A wonderful film."])
    assert np.abs(np.asarray(printed[0]) - want).max() <= 1e-5


def test_onnx_predictor_imports_only_the_standard_library_numpy_and_onnxruntime() -> None:
    import ast

    import textrnn.onnx_predictor as module

    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"numpy", "onnxruntime", "__future__"}, imported
    assert "torch" not in imported and "textrnn" not in imported
