"""`textrnn predict`: labels and probabilities of raw texts, with a run's model."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer


def predict(
    run: Annotated[
        Path,
        typer.Argument(
            help="A run folder or ensemble made by `textrnn train` (or a run's model/ folder).",
            show_default=False,
        ),
    ],
    texts: Annotated[
        list[str] | None,
        typer.Argument(
            help="Texts to classify. Default: --file, else one text per line on stdin.", show_default=False
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help="Read texts from this UTF-8 file, one per line (blank lines skipped)."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Texts per forward pass.")] = 1024,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON Lines: text, label, probability, probabilities.")
    ] = False,
) -> None:
    """Classify raw texts with exactly the tokenisation and vocabulary the model was trained with.

    Prints `label<TAB>probability<TAB>text` per text, or JSON Lines with --json.
    """
    from textrnn.runs.predictor import Predictor

    if texts and file is not None:
        raise ValueError("Give texts as arguments or with --file, not both.")
    if file is not None:
        inputs = _read_lines(file)
    elif texts:
        inputs = list(texts)
    else:
        if sys.stdin is None or sys.stdin.isatty():
            raise ValueError(
                'No texts to classify. Pass them as arguments (textrnn predict RUN "text"), '
                "with --file, or on stdin."
            )
        from textrnn.data.lines import read_lines

        stream = getattr(sys.stdin, "buffer", None)  # bytes, so that bad UTF-8 is refused
        lines = stream if stream is not None else (x.encode() for x in sys.stdin)
        inputs = read_lines(lines, "stdin")
    if not inputs:
        raise ValueError("No texts to classify: the input is empty.")
    predictor = Predictor.load(run)
    for text, p in zip(inputs, predictor.predict(inputs, batch_size=batch_size), strict=True):
        if as_json:
            typer.echo(json.dumps({"text": text, **p.to_dict()}, ensure_ascii=False))
        else:
            shown = " ".join(text.split())
            typer.echo(f"{p.label}\t{p.probability:.4f}\t{shown[:77] + '...' if len(shown) > 80 else shown}")


def _read_lines(path: Path) -> list[str]:
    from textrnn.errors import DatasetError

    if not path.is_file():
        raise DatasetError(f"--file `{path}` does not exist or is not a file.")
    from textrnn.data.lines import split_lines

    return split_lines(path.read_bytes(), f"`{path}`")
