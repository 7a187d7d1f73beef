"""`textrnn explain`: which words of a text pushed the model's decision, coloured by weight."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer


def explain(
    run: Annotated[
        Path,
        typer.Argument(help="A run or ensemble folder made by `textrnn train`.", show_default=False),
    ],
    text: Annotated[str, typer.Argument(help="The text to explain.", show_default=False)],
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write the explanation as a self-contained HTML file."),
    ] = None,
    method: Annotated[
        str, typer.Option(help="occlusion (delete each word) or integrated_gradients (Captum).")
    ] = "occlusion",
    color: Annotated[
        bool,
        typer.Option("--color/--no-color", help="Colour the words. Default: when stdout is a terminal."),
    ] = sys.stdout.isatty(),
    top: Annotated[
        int,
        typer.Option(min=0, help="Also list the words that pushed hardest, with their weights."),
    ] = 5,
) -> None:
    """Print the label, the probabilities and the text with each word coloured by its weight.

    Green words pushed towards the predicted label, red ones away from it. With occlusion a word's
    weight is the drop in the label's probability when that word is deleted.
    """
    from textrnn.fileio import write_text_atomic
    from textrnn.runs.predictor import Predictor

    if not text.strip():
        raise ValueError("The text is empty: pass some words to explain.")
    explanation = Predictor.load(run).explain(text, method=method)
    typer.echo(explanation.to_terminal(color=color), color=color)
    if top:
        typer.echo("top: " + ", ".join(f"{w.word} {w.weight:+.4f}" for w in explanation.top(top)))
    if html is not None:
        write_text_atomic(html, explanation.to_html())
        typer.echo(f"Wrote {html}", err=True)
