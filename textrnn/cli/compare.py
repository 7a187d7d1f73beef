"""`textrnn compare`: one table of several runs and one figure of their validation curves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def compare(
    runs: Annotated[list[Path], typer.Argument(help="Run folders made by `textrnn train`.", show_default=False)],
    figure: Annotated[Path | None, typer.Option(help="Where to write the figure (PNG). Default: comparison.png beside the first run.")] = None,
    metric: Annotated[str, typer.Option(help="History figure to overlay: val_acc, val_loss, acc or loss.")] = "val_acc",
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as a JSON list instead.")] = False,
) -> None:
    """Model, parameters, best epoch, best validation accuracy, test accuracy, seconds per epoch."""
    from textrnn.plot import plot_comparison
    from textrnn.runs.compare import compare_runs, default_figure_path, format_table
    from textrnn.runs.folder import RunFolder

    if metric not in ("val_acc", "val_loss", "acc", "loss"):
        raise ValueError(f"Received an invalid value for `--metric`, expected val_acc, val_loss, acc or loss, got {metric!r}.")
    rows = compare_runs(runs)
    names = [row["run"] for row in rows]
    labels = names if len(set(names)) == len(names) else [row["path"] for row in rows]
    curves = {}
    for label, path in zip(labels, runs, strict=True):
        values = RunFolder(path).history.get(metric) or []
        if values and None not in values:
            curves[label] = {metric: values}
    skipped = [label for label in labels if label not in curves]
    target = figure or default_figure_path(runs)
    if curves:
        plot_comparison(curves, target, metric=metric)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    typer.echo(format_table(rows))
    if curves:
        typer.echo(f"\nFigure ({metric} by epoch): {target}")
    if skipped:
        typer.echo(f"Not in the figure (no {metric} recorded): {', '.join(skipped)}", err=True)
