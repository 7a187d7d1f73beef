"""`textrnn tune`: search hyperparameters with Optuna, a run folder per trial, keep the best."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from textrnn.cli.options import given, with_options

_TUNE = "Search"


@with_options()
def tune(
    ctx: typer.Context,
    *,
    minutes: Annotated[
        float,
        typer.Option(
            min=0.01,
            rich_help_panel=_TUNE,
            help="Start no trial after this many minutes; a running trial stops after its current epoch.",
        ),
    ] = 30.0,
    trials: Annotated[int, typer.Option(min=1, rich_help_panel=_TUNE, help="The most trials to run.")] = 20,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Tune folder to create. Default: a fresh runs/<data>-tune-<time>.", rich_help_panel=_TUNE
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option(min=0, max=1, rich_help_panel=_TUNE, help="0 quiet, 1 a line per trial.")
    ] = 1,
    **options: Any,
) -> None:
    """Search the model and training options on validation loss (Optuna, median pruning).

    Every option given here is fixed; the others of the search space (rnn, units, bidirectional,
    embedding_dim, ngrams, dropouts, learning_rate, batch_size) are searched around --preset
    (default fast). Each trial is a run folder in OUT/trials/N; the best is kept, and
    trials.csv / trials.json list every trial. `textrnn compare OUT` shows the trials;
    `textrnn predict OUT` uses the best.
    """
    from textrnn.runs.options import TrainOptions
    from textrnn.runs.tune import DEFAULT_PRESET
    from textrnn.runs.tune import tune as tune_run

    values = given(options)
    preset = values.pop("preset", DEFAULT_PRESET)
    fixed = list(values)
    base = TrainOptions.from_preset(preset, **values)
    try:
        tune_run(base, out, minutes=minutes, trials=trials, given=fixed, verbose=verbose,
                 print_fn=typer.echo, command=_argv(ctx))  # fmt: skip
    except KeyboardInterrupt:
        typer.echo("Interrupted: the trials finished so far are in the tune folder.", err=True)
        raise typer.Exit(130) from None


def _argv(ctx: typer.Context) -> list[str] | None:
    obj = ctx.find_root().obj
    return list(obj["argv"]) if isinstance(obj, dict) and "argv" in obj else None
