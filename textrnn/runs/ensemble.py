"""Ensembles: runs of one recipe with different seeds, predicting with their mean probability.

`textrnn train --ensemble K` (or `TrainOptions(ensemble=K)`) trains K members, seeds `seed`,
`seed + 1`, ..., each a complete run folder of its own inside the ensemble's folder (the layout
is `textrnn.runs.run`'s). `textrnn.load(path)` of an ensemble folder gives a predictor that
averages its members; Ctrl-C keeps the finished members and `textrnn train --resume path`
continues with the unfinished one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textrnn.errors import RunFolderError
from textrnn.fileio import make_parents, remove_empty_dirs, remove_paths
from textrnn.runs.options import TrainOptions
from textrnn.runs.result import EnsembleResult, TrainingInterrupted, TrainResult
from textrnn.runs.run import ENSEMBLE_FORMAT, EnsembleRun, SingleRun, ensemble_config
from textrnn.runs.settle import settle
from textrnn.runs.single import printer, result_of, resume_single, train_single


def train_ensemble(
    options: TrainOptions,
    target: Path,
    *,
    callbacks: Sequence[Any] = (),
    verbose: int = 1,
    print_fn: Callable[[str], Any] | None = None,
    command: Sequence[str] | None = None,
) -> EnsembleResult:
    """Train `options.ensemble` members into the new ensemble folder `target` (options settled by
    `textrnn.runs.settle`).

    Raises:
        TrainingInterrupted: Ctrl-C after the first member's first epoch (resume the ensemble).
        KeyboardInterrupt: Ctrl-C before that; nothing is left behind.
        DatasetError, RunFolderError, ValueError: bad data or options.
    """
    config = ensemble_config(name=target.name, command=command, options=options)
    created = make_parents(target.parent)
    run = EnsembleRun.create(target, config)
    try:
        return _train_members(run, callbacks, verbose, print_fn)
    except BaseException:
        if not run.started:  # no member got past its first epoch: leave nothing
            remove_paths([target])
            remove_empty_dirs(created)
        raise
    finally:
        run.close()


def resume_ensemble(
    run: EnsembleRun,
    *,
    callbacks: Sequence[Any] = (),
    verbose: int = 1,
    print_fn: Callable[[str], Any] | None = None,
) -> EnsembleResult:
    """Continue an interrupted ensemble: resume its unfinished member, train the missing ones.

    Raises:
        RunFolderError: if the ensemble is already complete, or another process trains it.
    """
    if run.status == "complete":
        raise RunFolderError(
            f"`{run.path}` is already a complete ensemble: nothing to resume. "
            "Start a new one with `textrnn train`."
        )
    run.open_for_writing()
    try:
        return _train_members(run, callbacks, verbose, print_fn)
    finally:
        run.close()


def _train_members(
    run: EnsembleRun, callbacks: Sequence[Any], verbose: int, print_fn: Callable[[str], Any] | None
) -> EnsembleResult:
    say = printer(verbose, print_fn)
    options = run.train_options()
    results: list[TrainResult] = []
    paths, seeds = run.member_paths, run.member_seeds
    for i, (path, seed) in enumerate(zip(paths, seeds, strict=True), start=1):
        say(f"Ensemble member {i} of {len(paths)} (seed {seed}):")
        try:
            if not path.exists():
                # a seed of its own (weights, shuffling, validation), the ensemble's test split
                member_options, _ = settle(
                    options.replace(seed=seed, ensemble=1, split_seed=options.seed), path
                )
                result = train_single(
                    member_options, path, callbacks=callbacks, verbose=verbose, print_fn=print_fn
                )
            elif (member := SingleRun(path)).status == "complete":
                result = result_of(member)
                say(f"  already complete: {path}")
            else:
                result = resume_single(
                    member, callbacks=callbacks, verbose=verbose, print_fn=print_fn
                )
        except TrainingInterrupted as e:
            raise TrainingInterrupted(
                EnsembleResult(run.path, "interrupted", [*results, e.result])
            ) from None
        except KeyboardInterrupt:
            if not results:
                raise
            raise TrainingInterrupted(EnsembleResult(run.path, "interrupted", results)) from None
        results.append(result)
    metrics = run.finish()
    done = EnsembleResult(run.path, "complete", results, metrics)
    say(done.summary())
    return done


__all__ = ["ENSEMBLE_FORMAT", "EnsembleResult", "resume_ensemble", "train_ensemble"]
