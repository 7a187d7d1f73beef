"""`textrnn summary`: the model a set of options builds, its parameter arithmetic, untrained."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from textrnn.cli.options import given, with_options
from textrnn.runs.options import DEFAULT_PRESET, MODEL, TrainOptions

# The options that shape the model: the Model group, the vocabulary size (the Embedding's
# input_dim), the sequence length, and the preset they start from.
SUMMARY_OPTIONS = (
    *(o.name for o in TrainOptions.OPTIONS if o.group == MODEL),
    "num_words",
    "maxlen",
    "preset",
)


@with_options(SUMMARY_OPTIONS)
def summary(
    *,
    num_classes: Annotated[
        int,
        typer.Option(min=2, help="Number of classes: 2 gives Dense(1, sigmoid), more Dense(n, softmax)."),
    ] = 2,
    **options: Any,
) -> None:
    """Print the model's summary(explain=True) for these options, without data or training."""
    from textrnn.runs.model import build_model

    values = given(options)
    run_options = TrainOptions.from_preset(values.pop("preset", DEFAULT_PRESET), **values)
    model = build_model(run_options, run_options.num_words, num_classes)
    typer.echo(model.summary_text(explain=True))
