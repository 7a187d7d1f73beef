"""Training jobs: `train(options)` makes a run folder; `resume(path)` continues an interrupted one.

This module only chooses the job: a single run (`textrnn.runs.single`) or an ensemble
(`textrnn.runs.ensemble`), by the options for a new run and by `open_run` for an existing one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Sequence
from typing import Any

from textrnn.callbacks import Callback
from textrnn.errors import RunFolderError
from textrnn.runs.auto import choose_options, chooses_from_data
from textrnn.runs.ensemble import resume_ensemble, train_ensemble
from textrnn.runs.options import TrainOptions
from textrnn.runs.result import EnsembleResult, TrainingInterrupted, TrainResult
from textrnn.runs.run import EnsembleRun, TuneRun, open_run
from textrnn.runs.settle import settle
from textrnn.runs.single import resume_single, train_single
from textrnn.runs.streamed import check_streamed


def train(
    options: TrainOptions | None = None,
    out: str | os.PathLike[str] | None = None,
    *,
    callbacks: Sequence[Callback] = (),
    verbose: int = 1,
    print_fn: Callable[[str], Any] | None = None,
    command: Sequence[str] | None = None,
    explicit: Collection[str] | None = None,
) -> TrainResult | EnsembleResult:
    """Train a text classifier and write its run folder.

    With `options.preset == "auto"` (what `textrnn train --data FILE` uses without `--preset`),
    and with `"best"` on the user's data, the options are chosen from the training texts first
    (`textrnn.runs.auto`), the ones the caller set winning; the choice and its reasons are
    printed and kept in `config.json`.

    Args:
        options: the run's options; default `TrainOptions()` (the tutorial on IMDB). A missing
            seed is drawn and recorded. `ensemble` above 1 trains an ensemble.
        out: the run folder to create; default a fresh `runs/<data>-<rnn>-<time>`.
        callbacks: extra `textrnn.callbacks.Callback`s passed to `fit` (after the run's own).
        verbose: 0 silent, 1 progress bar per epoch (default), 2 one line per epoch.
        print_fn: where the run's messages go; default `print`.
        command: the command line that started the run, recorded in `config.json`.
        explicit: for an auto run, the names of the options the caller set (the command line
            passes the flags typed); default: those whose values differ from the `fast` preset's.

    Returns:
        A `TrainResult` (status `complete`), or an `EnsembleResult` for an ensemble.

    Raises:
        TrainingInterrupted: Ctrl-C after the first finished epoch; the run folder holds the
            best model so far, and `resume(path)` continues it.
        KeyboardInterrupt: Ctrl-C before that; nothing is left behind.
        DatasetError, RunFolderError, ValueError: for bad data or options, before anything is
            written (an existing `out` is never touched).

    Example:
        >>> options = TrainOptions(data="reviews.csv", rnn="lstm", epochs=3)
        >>> result = train(options, out="runs/reviews")
        >>> result.metrics["accuracy"]
        0.87
    """
    options, target = settle(options or TrainOptions(), out)
    check_streamed(options)
    recipe = None
    if chooses_from_data(options):
        from textrnn.runs.prepare import read_splits

        texts, labels, *_ = read_splits(options)
        choice = choose_options(options, texts, labels, explicit=explicit)
        options, recipe = choice.options, choice.recipe
        if verbose:
            (print_fn or print)(choice.describe)
        check_streamed(options)  # what the recipe chose (e.g. `best`'s ensemble) must stream too
    if options.ensemble > 1 or options.linear:
        return train_ensemble(
            options, target, callbacks=callbacks, verbose=verbose, print_fn=print_fn,
            command=command, recipe=recipe,
        )  # fmt: skip
    return train_single(
        options, target, callbacks=callbacks, verbose=verbose, print_fn=print_fn,
        command=command, recipe=recipe,
    )  # fmt: skip


def resume(
    path: str | os.PathLike[str],
    *,
    callbacks: Sequence[Callback] = (),
    verbose: int = 1,
    print_fn: Callable[[str], Any] | None = None,
) -> TrainResult | EnsembleResult:
    """Continue an interrupted run (or ensemble) from its last finished epoch to its planned ones.

    Raises:
        RunFolderError: if `path` is not a run, is already complete, has no checkpoint, or
            another process is training it.
        TrainingInterrupted: Ctrl-C again (the run can be resumed again).
    """
    run = open_run(path)
    if isinstance(run, EnsembleRun):
        return resume_ensemble(run, callbacks=callbacks, verbose=verbose, print_fn=print_fn)
    if isinstance(run, TuneRun):
        raise RunFolderError(
            f"`{run.path}` is a tune folder (`textrnn tune`): it cannot be resumed. Resume one of "
            f"its trials (`{run.path}/trials/N`), or tune again into a new folder."
        )
    return resume_single(run, callbacks=callbacks, verbose=verbose, print_fn=print_fn)


__all__ = [
    "EnsembleResult",
    "TrainOptions",
    "TrainResult",
    "TrainingInterrupted",
    "resume",
    "train",
]
