"""ONNX predictor vs PyTorch Predictor on raw IMDB reviews: reviews/s and the largest difference.

For each run (default: the tutorial LSTM, trained here for one epoch with `textrnn train --rnn
lstm --epochs 1`), exports it with `textrnn export`, then on the same raw test reviews times, side
by side and alternating (so both see the same machine load), `textrnn.load(run).predict_proba`
(PyTorch, textrnn's kernels) and `OnnxPredictor(folder).predict_proba` (numpy + onnxruntime), and
the same with onnxruntime's spinning threads (`spin=True`, onnxruntime's own default).
Both include tokenisation, vocabulary lookup and padding. Reported per run: reviews/s (median of
`--repeats`), seconds spent turning text into ids for each, and max |ONNX - PyTorch| over all the
reviews timed. Results go to benchmarks/results/onnx.json.

    TEXTRNN_IMDB=../shared/data/aclImdb_v1.tar.gz python benchmarks/onnx_vs_torch.py \
        [--run RUN ...] [--reviews 5000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, save_json  # noqa: E402

import textrnn  # noqa: E402
from textrnn.datasets import imdb  # noqa: E402
from textrnn.export import export_onnx  # noqa: E402
from textrnn.onnx_predictor import OnnxPredictor  # noqa: E402


def _train_tutorial(folder: Path) -> Path:
    run = folder / "tutorial_lstm"
    cmd = [
        sys.executable,
        "-m",
        "textrnn",
        "train",
        "--rnn",
        "lstm",
        "--epochs",
        "1",
        "--verbose",
        "0",
        "--out",
        str(run),
    ]
    subprocess.run(cmd, check=True)
    return run


def _timed(fn, texts):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(texts)
    return time.perf_counter() - t0, out


def bench(run: Path, texts: list[str], repeats: int, workdir: Path) -> dict:
    export = export_onnx(run, workdir / f"{run.name}_onnx")
    torch_predictor = textrnn.load(run)
    onnx_predictor = OnnxPredictor(export.folder)
    spinning = OnnxPredictor(export.folder, spin=True)  # onnxruntime's own default, as before
    torch_predictor.predict_proba(texts[:256])  # warm all up (kernels built, sessions ready)
    onnx_predictor.predict_proba(texts[:256])
    spinning.predict_proba(texts[:256])
    torch_s, onnx_s, spin_s = [], [], []
    for _ in range(repeats):
        t, want = _timed(torch_predictor.predict_proba, texts)
        torch_s.append(t)
        t, got = _timed(onnx_predictor.predict_proba, texts)
        onnx_s.append(t)
        spin_s.append(_timed(spinning.predict_proba, texts)[0])
    diff = np.abs(got - want)
    encode_torch, _ = _timed(torch_predictor.encode, texts)
    encode_onnx, _ = _timed(onnx_predictor.encode, texts)
    first = torch_predictor.model.layers[0]
    return {
        "run": str(run),
        "model": " -> ".join(type(layer).__name__ for layer in torch_predictor.model.layers),
        "mask_zero": bool(getattr(first, "mask_zero", False)),
        "maxlen": torch_predictor.maxlen,
        "reviews": len(texts),
        "torch_reviews_per_second": len(texts) / statistics.median(torch_s),
        "onnx_reviews_per_second": len(texts) / statistics.median(onnx_s),
        "onnx_spinning_reviews_per_second": len(texts) / statistics.median(spin_s),
        "torch_seconds": torch_s,
        "onnx_seconds": onnx_s,
        "onnx_spinning_seconds": spin_s,
        "torch_text_to_ids_seconds": encode_torch,
        "onnx_text_to_ids_seconds": encode_onnx,
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "same_labels": int((got.argmax(1) == want.argmax(1)).sum()),
        "export_check_max_abs_diff": export.max_abs_diff,
        "onnx_bytes": (export.folder / "model.onnx").stat().st_size,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--run", action="append", type=Path, help="Run folder(s); default: train the tutorial LSTM."
    )
    p.add_argument("--reviews", type=int, default=5000, help="Raw test reviews timed (and compared).")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--note", default="", help="Stored with the figures (e.g. how busy the machine was).")
    p.add_argument("--out", default="onnx.json")
    args = p.parse_args()

    texts, _ = imdb.load_texts(subset="test")
    rng = np.random.default_rng(0)
    texts = [texts[i] for i in rng.permutation(len(texts))[: args.reviews]]
    with tempfile.TemporaryDirectory() as tmp:
        runs = args.run or [_train_tutorial(Path(tmp))]
        results = []
        for run in runs:
            r = bench(run, texts, args.repeats, Path(tmp))
            results.append(r)
            print(
                f"{r['model']} (mask_zero={r['mask_zero']}): "
                f"PyTorch {r['torch_reviews_per_second']:.0f} "
                f"reviews/s, ONNX {r['onnx_reviews_per_second']:.0f} reviews/s "
                f"({r['onnx_spinning_reviews_per_second']:.0f} with spinning threads); max |diff| "
                f"{r['max_abs_diff']:.2e} on {r['reviews']} reviews, same label {r['same_labels']}"
            )
    out = save_json(
        {
            "benchmark": "onnx_vs_torch",
            "machine": machine(),
            "threads": {
                "torch": torch.get_num_threads(),
                "onnxruntime": "default (all cores), no spinning unless noted",
            },
            "note": args.note,
            "command": "TEXTRNN_IMDB=... python benchmarks/onnx_vs_torch.py " + " ".join(sys.argv[1:]),
            "results": results,
        },
        args.out,
    )
    print(f"Saved {out}")


if __name__ == "__main__":
    main()
