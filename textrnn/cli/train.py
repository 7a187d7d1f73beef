"""`textrnn train`: train a classifier on IMDB (the tutorial, by default) or on your own data."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from textrnn.cli.options import given, with_options
from textrnn.errors import TextRNNError
from textrnn.runs.options import AUTO_PRESET, DEFAULT_PRESET, TrainOptions, flag_of

_RUN = "Run folder"


@with_options()
def train(
    ctx: typer.Context,
    *,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Run folder to create. Default: a fresh runs/<data>-<rnn>-<time>.", rich_help_panel=_RUN
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            metavar="RUN",
            rich_help_panel=_RUN,
            help="Continue the interrupted run folder RUN from its last finished epoch (no other options).",
        ),
    ] = None,
    verbose: Annotated[
        int,
        typer.Option(
            min=0,
            max=2,
            rich_help_panel=_RUN,
            help="0 quiet, 1 a progress bar per epoch, 2 one line per epoch.",
        ),
    ] = 1,
    **options: Any,
) -> None:
    """Train an RNN text classifier; with no options, the Keras IMDB tutorial.

    With --data and no --preset, the options are chosen from your training texts (--preset
    auto: printed with the reasons); every option you give wins over the chosen value. After
    the test, a bag-of-words baseline is trained on the same split for comparison
    (--no-baseline skips it).

    Writes a run folder (config.json, history.csv/.json, curves.png, metrics.json, summary.txt,
    model/) and ends with the best epoch, the test figures and where the files are. Ctrl-C keeps
    the best model so far; `textrnn train --resume RUN` continues.
    """
    from textrnn.runs.trainer import TrainingInterrupted
    from textrnn.runs.trainer import resume as resume_run
    from textrnn.runs.trainer import train as train_run

    values = given(options)
    # With --data and no --preset, the options are chosen from the data (`--preset auto`).
    preset = values.pop("preset", AUTO_PRESET if values.get("data") else DEFAULT_PRESET)
    worker = _is_worker()
    try:
        if resume is not None:
            flags = [flag_of(name) for name in given(options)] + (["--out"] if out else [])
            if flags:
                raise ValueError(
                    f"--resume continues a run with its own options, so {', '.join(flags)} "
                    "cannot be given with it. Drop them, or start a new run without --resume."
                )
            resume_run(resume, verbose=verbose, print_fn=typer.echo)
        else:
            run_options = TrainOptions.from_preset(preset, **values)
            train_run(
                run_options,
                out,
                verbose=verbose,
                print_fn=typer.echo,
                command=_argv(ctx),
                explicit=set(values),
            )
        if worker:
            from textrnn.distributed.group import finish

            finish()  # every rank done: leave without the interpreter's teardown
    except TrainingInterrupted as e:
        typer.echo(e.result.summary(), err=True)
        raise typer.Exit(130) from None
    except KeyboardInterrupt:
        typer.echo("Interrupted before the first epoch finished: no run folder was written.", err=True)
        raise typer.Exit(130) from None
    except RuntimeError as e:
        if not worker or isinstance(e, TextRNNError):
            raise
        # a collective failed: another process of the job ended. `textrnn train --nproc`'s
        # launcher names it in one line; under torchrun, say which rank stopped and why.
        if os.environ.get("TEXTRNN_LAUNCHER") != "textrnn":
            rank = os.environ.get("RANK", "?")
            typer.echo(f"Error: rank {rank} stopped: {_first_line(e)}", err=True)
        # leave at once: tearing down a broken process group can abort with C++ noise
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)
    finally:
        if worker:
            from textrnn.distributed import shutdown

            shutdown()


def _is_worker() -> bool:
    """Whether this process is one of a data-parallel job's (torchrun's WORLD_SIZE above 1)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        return False


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:300] if text else type(e).__name__


def _argv(ctx: typer.Context) -> list[str] | None:
    obj = ctx.find_root().obj
    return list(obj["argv"]) if isinstance(obj, dict) and "argv" in obj else None
