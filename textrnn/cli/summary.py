"""`textrnn summary`: the model a set of options builds, with its parameter arithmetic, untrained."""

from __future__ import annotations

from typing import Annotated

import typer


def summary(
    rnn: Annotated[str | None, typer.Option(help="Recurrent layer: simple_rnn, lstm or gru. Default: simple_rnn.")] = None,
    units: Annotated[int | None, typer.Option(help="Units of each recurrent layer. Default: 32.")] = None,
    layers: Annotated[int | None, typer.Option(help="Number of stacked recurrent layers. Default: 1.")] = None,
    bidirectional: Annotated[bool | None, typer.Option("--bidirectional/--no-bidirectional", help="Wrap each recurrent layer in Bidirectional.")] = None,
    embedding_dim: Annotated[int | None, typer.Option(help="Size of the word vectors. Default: 32.")] = None,
    dropout: Annotated[float | None, typer.Option(help="Dropout rate after each recurrent layer. Default: 0.")] = None,
    mask_zero: Annotated[bool | None, typer.Option("--mask-zero/--no-mask-zero", help="Mask padding in the Embedding.")] = None,
    num_words: Annotated[int | None, typer.Option(help="Vocabulary size (the Embedding's input_dim). Default: 10000.")] = None,
    maxlen: Annotated[int | None, typer.Option(help="Sequence length. Default: 500.")] = None,
    num_classes: Annotated[int, typer.Option(min=2, help="Number of classes: 2 gives Dense(1, sigmoid), more Dense(n, softmax).")] = 2,
    preset: Annotated[str | None, typer.Option(help="Named set of defaults. Default: tutorial.")] = None,
) -> None:
    """Print the model's summary(explain=True) for these options, without data or training."""
    from textrnn.presets import DEFAULT_PRESET
    from textrnn.runs.model import build_model
    from textrnn.runs.options import TrainOptions

    options = TrainOptions.from_preset(
        preset or DEFAULT_PRESET, rnn=rnn.lower() if rnn else None, units=units, layers=layers,
        bidirectional=bidirectional, embedding_dim=embedding_dim, dropout=dropout, mask_zero=mask_zero,
        num_words=num_words, maxlen=maxlen,
    )  # fmt: skip
    model = build_model(options, options.num_words, num_classes)
    typer.echo(model.summary_text(explain=True))
