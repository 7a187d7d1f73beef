"""`textrnn export`: a trained run for use without textrnn (ONNX + JSON + predict.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def export(
    run: Annotated[
        Path,
        typer.Argument(
            help="A run folder made by `textrnn train` (or its model/ folder).", show_default=False
        ),
    ],
    format: Annotated[str, typer.Option("--format", help="Export format: onnx.")] = "onnx",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder to write (replaced if it exists). Default: RUN/onnx."),
    ] = None,
) -> None:
    """Export a run to ONNX: model.onnx (dynamic batch and length), vocabulary.json,
    preprocessing.json (the tokenisation rules) and predict.py (numpy + onnxruntime only).

    Checks the graph with onnxruntime against PyTorch and prints the largest difference.
    """
    if format != "onnx":
        raise ValueError(f"Received an invalid value for --format, expected 'onnx', got {format!r}.")
    from textrnn.export import export_onnx

    result = export_onnx(run, out)
    size = (result.folder / "model.onnx").stat().st_size
    typer.echo(f"Wrote {result.folder}: {', '.join(result.files)} (model.onnx {size / 1e6:.1f} MB)")
    typer.echo(
        f"Checked with onnxruntime: max |ONNX - PyTorch| = {result.max_abs_diff:.2e} "
        f"on {result.checked} sequences"
    )
    typer.echo(f'Use it: python {result.folder / "predict.py"} "A wonderful film."')
