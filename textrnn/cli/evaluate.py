"""`textrnn evaluate`: a run's metrics on its test split or on another labelled dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def evaluate(
    run: Annotated[
        Path,
        typer.Argument(help="A run folder (or ensemble) made by `textrnn train`.", show_default=False),
    ],
    data: Annotated[
        str | None,
        typer.Option(
            help="Labelled data to evaluate on (file, or folder tree whose test/ is used). "
            "Default: the run's test split."
        ),
    ] = None,
    data_format: Annotated[
        str | None,
        typer.Option(
            "--format", help="Format of --data. Default: the run's choice, else from the extension."
        ),
    ] = None,
    text_column: Annotated[
        str | None, typer.Option(help="Text column of --data. Default: the run's.")
    ] = None,
    label_column: Annotated[
        str | None, typer.Option(help="Label column of --data. Default: the run's.")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding of --data. Default: the run's.")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Texts per forward pass.")] = 1024,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as one JSON object.")] = False,
) -> None:
    """Accuracy, loss, precision/recall/F1 per class and macro, confusion matrix, ROC AUC."""
    from textrnn.evaluation import format_metrics
    from textrnn.runs.evaluate import evaluate_run

    metrics = evaluate_run(
        run, data, data_format=data_format, text_column=text_column, label_column=label_column,
        encoding=encoding, batch_size=batch_size,
    )  # fmt: skip
    if as_json:
        typer.echo(json.dumps(metrics))
    else:
        typer.echo(f"{metrics['run']} on {metrics['data']}")
        typer.echo(format_metrics(metrics))
