"""`textrnn compare`: a table of runs (or ensembles), and a figure of their curves on request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def compare(
    runs: Annotated[
        list[Path],
        typer.Argument(help="Run folders (or ensembles) made by `textrnn train`.", show_default=False),
    ],
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            "--figure",
            help="Write a figure (PNG) of the runs' --metric by epoch to this file. Default: none.",
        ),
    ] = None,
    metric: Annotated[
        str, typer.Option(help="History figure to overlay: val_acc, val_loss, acc or loss.")
    ] = "val_acc",
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as a JSON list instead.")] = False,
) -> None:
    """Model, parameters, best epoch, best validation accuracy, test accuracy, seconds per epoch.

    Reads the runs and writes nothing, unless --plot FILE is given. An ensemble's row has its
    own test accuracy; its curve is the mean of its members'.
    """
    from textrnn.plot import plot_comparison
    from textrnn.runs.compare import compare_with_curves, format_table

    if metric not in ("val_acc", "val_loss", "acc", "loss"):
        raise ValueError(
            "Received an invalid value for `--metric`, expected val_acc, val_loss, acc or loss, "
            f"got {metric!r}."
        )
    compared = compare_with_curves(runs, metric)
    rows = [row for row, _ in compared]
    names = [row["run"] for row in rows]
    labels = names if len(set(names)) == len(names) else [row["path"] for row in rows]
    curves = {label: {metric: values} for label, (_, values) in zip(labels, compared, strict=True) if values}
    skipped = [label for label in labels if label not in curves]
    if plot is not None and curves:
        plot_comparison(curves, plot, metric=metric)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    typer.echo(format_table(rows))
    if plot is not None and curves:
        typer.echo(f"\nFigure ({metric} by epoch): {plot}")
    if plot is not None and skipped:
        typer.echo(f"Not in the figure (no {metric} recorded): {', '.join(skipped)}", err=True)
