"""Ensembles: runs of one recipe with different seeds, predicting with their mean probability.

`textrnn train --ensemble K` (or `TrainOptions(ensemble=K)`) trains K members, seeds `seed`,
`seed + 1`, ..., each a complete run folder of its own inside the ensemble's folder (the layout
is `textrnn.runs.run`'s). `textrnn.load(path)` of an ensemble folder gives a predictor that
averages its members; Ctrl-C keeps the finished members and `textrnn train --resume path`
continues with the unfinished one.

With `--linear` (part of `--preset best`), a linear n-gram model (`textrnn.linear`) joins the
members once they are trained: its features and C, then its weight `w` in
`(1 - w) · mean(members) + w · linear`, are chosen on validation data only. Each member's own
validation split (the last `validation_split` of the training texts in its seed's order, which
it never trained on) is paired with linear models fitted without those texts. The splits pooled
choose the features and C (every candidate fitted once per split), then `w`, by accuracy (ties:
log loss). The final linear model is refitted on all the training texts and saved in `linear/`;
the weight and the validation tables go into `config.json`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

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
    recipe: dict[str, Any] | None = None,
) -> EnsembleResult:
    """Train `options.ensemble` members into the new ensemble folder `target` (options settled by
    `textrnn.runs.settle`). `recipe` is what the data chose (`AutoChoice.recipe`), kept in
    `config.json` as a single run keeps it.

    Raises:
        TrainingInterrupted: Ctrl-C after the first member's first epoch (resume the ensemble).
        KeyboardInterrupt: Ctrl-C before that; nothing is left behind.
        DatasetError, RunFolderError, ValueError: bad data or options.
    """
    config = ensemble_config(
        name=target.name, command=command, options=options, recipe=recipe,
        reproduce=options.command_line(target),
    )  # fmt: skip
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
                # a seed of its own (weights, shuffling, validation), the ensemble's test split;
                # the baseline once, with the first member: the members share its training and
                # test texts, and the ensemble reports the first member's (`EnsembleRun`)
                first = path == paths[0]
                member_options, _ = settle(
                    options.replace(
                        seed=seed, ensemble=1, split_seed=options.seed, baseline=options.baseline and first
                    ),
                    path,
                )
                result = train_single(
                    member_options, path, callbacks=callbacks, verbose=verbose, print_fn=print_fn
                )
            elif (member := SingleRun(path)).status == "complete":
                result = result_of(member)
                say(f"  already complete: {path}")
            else:
                result = resume_single(member, callbacks=callbacks, verbose=verbose, print_fn=print_fn)
        except TrainingInterrupted as e:
            raise TrainingInterrupted(EnsembleResult(run.path, "interrupted", [*results, e.result])) from None
        except KeyboardInterrupt:
            if not results:
                raise
            raise TrainingInterrupted(EnsembleResult(run.path, "interrupted", results)) from None
        results.append(result)
    linear, linear_probs = _add_linear(run, options, say) if options.linear else (None, None)
    metrics = run.finish(linear, linear_probs)
    done = EnsembleResult(run.path, "complete", results, metrics)
    say(done.summary())
    return done


def _missing_classes(y: np.ndarray, rows: list[np.ndarray], names: list[str]) -> str | None:
    """The first class that some member's training rows lack (a linear model cannot learn it)."""
    for part in rows:
        present = set(np.unique(y[part]).tolist())
        for index, name in enumerate(names):
            if index not in present:
                return name
    return None


def _add_linear(
    run: EnsembleRun, options: TrainOptions, say: Callable[[str], Any]
) -> tuple[dict[str, Any] | None, np.ndarray | None]:
    """Fit the linear model, choose its weight on validation, save it: `(config entry, test
    probabilities)`."""
    from textrnn.data.labels import encode_labels
    from textrnn.linear import (
        WORD_NS,
        NgramCounts,
        choose_linear,
        choose_weight,
        fit_linear,
    )
    from textrnn.runs.predictor import Predictor
    from textrnn.runs.prepare import read_splits

    start = time.perf_counter()
    members = run.members()
    imdb_source = members[0].data_config.get("path") if options.data is None else None
    train_texts, train_labels, test_texts, _, _, _ = read_splits(
        options.replace(split_seed=options.seed), imdb_source=imdb_source
    )
    predictors = [Predictor.from_model_dir(m.require_model(), path=m.path) for m in members]
    names = predictors[0].label_names
    y = encode_labels(train_labels, names, source="the training data")
    n = len(train_texts)
    split_at = int(math.floor(n * (1.0 - options.validation_split)))
    # each member's validation rows: the end of its seed's shuffle (`runs.prepare`, Keras's split)
    orders = [np.random.default_rng(seed).permutation(n) for seed in run.member_seeds]
    missing = _missing_classes(y, [order[:split_at] for order in orders], names)
    if missing:
        say(
            f"Linear n-gram model left out: class {missing!r} has no rows in a member's training "
            "split, so a linear model could not learn it (the RNNs alone make the ensemble). Add "
            "examples of it, or pass --no-linear."
        )
        return None, None
    grams = f"word 1-{WORD_NS[-1]}-grams" + (" and character 2-5-grams" if options.char_ngrams else "")
    say(f"Linear n-gram model: counting the {grams} of {n:,} training texts ...")
    counts = NgramCounts.build(train_texts, chars=options.char_ngrams)
    # an imbalanced run (monitor val_macro_f1) weighs every class alike here too
    by = "macro_f1" if options.monitor == "val_macro_f1" else "accuracy"
    splits = [(order[:split_at], order[split_at:]) for order in orders]
    choice = choose_linear(counts, splits, y, names, by=by)
    kind, c, chars, table = choice.kind, choice.c, choice.chars, choice.table
    counts = choice.counts(counts)
    ys = [y[val] for _, val in splits]
    rnn = [
        predictor.predict_proba([train_texts[i] for i in val])
        for (_, val), predictor in zip(splits, predictors, strict=True)
    ]
    lin = choice.probs
    weight, weights = choose_weight(
        np.concatenate(ys), np.concatenate(rnn).astype(np.float64), np.concatenate(lin), by=by
    )
    final = fit_linear(counts, np.arange(n), y, names, kind=kind, c=c)
    entry = {
        "weight": weight,
        "kind": kind,
        "c": c,
        "chars": chars,
        "longest": choice.longest,
        "model": final.name,
        "features": len(final.vocabulary),
        "chosen_on": f"the members' validation splits ({len(np.concatenate(ys)):,} texts)",
        "chosen_by": "val_macro_f1" if by == "macro_f1" else "val_acc",
        "features_table": table,
        "weights_table": weights,
        "seconds": round(time.perf_counter() - start, 1),
    }
    final.scores = {k: v for k, v in entry.items() if k != "weight"}
    run.save_linear(final)
    best = next(r for r in weights if r["weight"] == weight)
    say(
        f"Linear n-gram model ({final.name}): weight {weight:g} in the ensemble, validation "
        f"accuracy {best['val_acc']:.4f} (RNN alone {weights[0]['val_acc']:.4f}, linear alone "
        f"{weights[-1]['val_acc']:.4f}), {entry['seconds']:g} s."
    )
    return entry, final.predict_proba(test_texts)


__all__ = ["ENSEMBLE_FORMAT", "EnsembleResult", "resume_ensemble", "train_ensemble"]
