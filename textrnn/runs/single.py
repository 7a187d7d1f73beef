"""Training one run into its folder, and resuming it from its checkpoint.

A run is built in a hidden folder beside its target and published once its first epoch has been
committed, so a failed or interrupted start leaves nothing (see `textrnn.runs.run`). After every
epoch, with Ctrl-C held back while it writes: the resume checkpoint (with the history), the model
(when the monitored figure improved), and the history files. Ctrl-C therefore leaves the best
model so far, a history whose status says `interrupted` and how many epochs finished, and a
checkpoint that `resume_single` continues from with the same random generators (so the result is
the one an uninterrupted run would have given).

Data-parallel runs (`textrnn.distributed`): with `--nproc N` and no job yet, this process starts
N workers (`textrnn train` again, with the settled options) and waits for them; in a worker
(started so, or by `torchrun`) every rank prepares the same data and model and trains its share
of each batch, and rank 0 alone writes the run folder, shows progress and checkpoints; its
result is sent to the other ranks at the end.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import platform
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from textrnn import distributed, optimizers
from textrnn.callbacks import Callback, CosineDecay
from textrnn.distributed import Group
from textrnn.errors import DatasetError, RunFolderError
from textrnn.evaluation import classification_metrics
from textrnn.fileio import make_parents, remove_empty_dirs
from textrnn.models import Sequential
from textrnn.runs.model import (
    build_model,
    freeze_word_vectors,
    load_word_vectors,
    pretrain_embedding,
    uses_vector_file,
)
from textrnn.runs.options import TrainOptions, command_line, flag_of
from textrnn.runs.predictor import decided_metrics, to_class_matrix
from textrnn.runs.prepare import PADDING, TRUNCATING, PreparedData, prepare
from textrnn.runs.recorder import AverageEachEpoch, RunRecorder, ValidationMacroF1
from textrnn.runs.result import TrainingInterrupted, TrainResult
from textrnn.runs.run import CHECKPOINT, SingleRun, new_history, single_run_config
from textrnn.training import threads_policy
from textrnn.training.seed import set_random_seed
from textrnn.training.windows import windowed_batcher
from textrnn.version import __version__


def printer(verbose: int, print_fn: Callable[[str], Any] | None) -> Callable[[str], Any]:
    """Where a job's messages go: nowhere at `verbose=0`, else `print_fn` (default `print`)."""
    if verbose == 0:
        return lambda _: None
    return print_fn or print


def result_of(run: SingleRun) -> TrainResult:
    """The `TrainResult` of a finished (or interrupted) run, read back from its files."""
    return TrainResult.of(run.path, run.train_options().epochs, dict(run.history), run.metrics)


def _versions() -> dict[str, str]:
    import torch

    return {
        "textrnn_version": __version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
    }


@contextlib.contextmanager
def _threads(options: TrainOptions) -> Any:
    """PyTorch's CPU threads set to `options.threads` (when set) while a run trains."""
    import torch

    if options.threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(options.threads)
    try:
        with threads_policy.pinned():  # the user's count, not adapted to the load
            yield
    finally:
        torch.set_num_threads(before)


def small_class_lines(options: TrainOptions, data: PreparedData) -> list[str]:
    """`small_class_warnings` of the run's data, each line starting `Warning: `."""
    from textrnn.data.imbalance import small_class_warnings

    carved = options.data is not None and "stratified" in str(data.description.get("test", ""))
    labels = data.train_labels + (data.test_labels if carved else [])
    counts = np.bincount(data.y_train, minlength=len(data.label_names)).tolist()
    lines = small_class_warnings(
        labels or itertools.chain.from_iterable(map(itertools.repeat, data.label_names, counts)),
        validation_split=options.validation_split,
        test_split=options.test_split if carved else 0.0,
    )
    return [f"Warning: {line}" for line in lines]


def validation_part(data: PreparedData, split: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The rows `fit(validation_split=split)` validates on (the last ones), None for none."""
    if split <= 0:
        return None
    at = int(math.floor(len(data.x_train) * (1.0 - split)))
    return data.x_train[at:], data.y_train[at:]


def class_weights(options: TrainOptions, data: PreparedData) -> dict[int, float] | None:
    """`--class-weight balanced`: `{class index: weight}` from the training rows fit trains on.

    Raises:
        TypeError: if the installed `fit` takes no `class_weight`.
    """
    if options.class_weight is None:
        return None
    import inspect

    from textrnn.data.imbalance import balanced_class_weights

    if "class_weight" not in inspect.signature(Sequential.fit).parameters:
        raise TypeError(
            "--class-weight balanced needs fit(class_weight), which this textrnn's Trainer "
            "does not have yet. Train without --class-weight."
        )
    split = options.validation_split
    at = int(math.floor(len(data.y_train) * (1.0 - split))) if split > 0 else len(data.y_train)
    weights = balanced_class_weights(data.y_train[:at])
    return {int(k): float(v) for k, v in weights.items()}


def _check_validation_split(n: int, split: float) -> None:
    if split <= 0:
        return
    at = int(math.floor(n * (1.0 - split)))
    if at == 0 or at == n:
        raise DatasetError(
            f"The training data has {n} texts, too few to hold out a validation split of "
            f"{split:g}. "
            f"Add data, or change {flag_of('validation_split')} (0 for none)."
        )


def _describe(options: TrainOptions, data: PreparedData, model: Sequential) -> str:
    n = len(data.x_train)
    n_val = n - int(math.floor(n * (1.0 - options.validation_split))) if options.validation_split > 0 else 0
    source = "IMDB" if options.data is None else options.data
    return (
        f"Training {options.model_name()} ({model.count_params():,} parameters) on {source}: "
        f"{n - n_val:,} train / {n_val:,} validation / {len(data.x_test):,} test texts, "
        f"classes {', '.join(data.label_names)}, vocabulary {len(data.vocabulary):,} words "
        f"(num_words {options.num_words:,}), maxlen {options.maxlen}, seed {options.seed}."
    )


def _schedule(options: TrainOptions, callbacks: Sequence[Callback]) -> list[Callback]:
    """The callbacks every rank trains with: the learning-rate schedule and `--ema`'s, then
    the caller's."""
    scheduled = list(callbacks)
    if options.lr_schedule == "cosine":
        # the peak is the option's rate, not the optimizer's current one (decayed, when resumed)
        peak = options.learning_rate or optimizers.get(options.optimizer).learning_rate
        scheduled = [CosineDecay(peak, warmup_fraction=0.05), *scheduled]
    if options.ema is not None:
        scheduled = [AverageEachEpoch(), *scheduled]
    return scheduled


def fit_targets(model: Sequential, data: PreparedData) -> np.ndarray:
    """The labels `fit` trains on: float32 for two classes; streamed data's (memory-mapped) as
    they are, converted batch by batch, with the model's epochs planned a window of rows at a
    time (`textrnn.training.windows`), so no array the size of the data is held."""
    if isinstance(data.y_train, np.memmap):
        model.batcher_factory = windowed_batcher
        return data.y_train
    return data.y_train.astype(np.float32) if data.num_classes == 2 else data.y_train


def _fit(
    model: Sequential,
    options: TrainOptions,
    data: PreparedData,
    initial_epoch: int,
    callbacks: Sequence[Callback],
    verbose: int,
    group: Group | None,
) -> None:
    """`model.fit` on the run's training data (data-parallel over `group` when given)."""
    weights = class_weights(options, data)
    extra: dict[str, Any] = {"class_weight": weights} if weights is not None else {}
    with distributed.strategy(model, group) if group is not None else contextlib.nullcontext():
        model.fit(
            data.x_train,
            fit_targets(model, data),
            batch_size=options.batch_size,
            epochs=options.epochs,
            verbose=verbose,
            callbacks=list(callbacks),
            validation_split=options.validation_split,
            initial_epoch=initial_epoch,
            bucket_by_length=options.bucket_by_length,
            **extra,
        )


def _follow(
    model: Sequential,
    options: TrainOptions,
    data: PreparedData,
    initial_epoch: int,
    callbacks: Sequence[Callback],
    group: Group,
    *,
    fit: bool = True,
) -> TrainResult:
    """A rank other than 0: train its share, writing nothing, and return rank 0's result."""
    if fit:
        _fit(model, options, data, initial_epoch, _schedule(options, callbacks), 0, group)
    result: TrainResult = group.share(None)
    return result


def _launch(options: TrainOptions, args: list[str], callbacks: Sequence[Callback]) -> None:
    """Run `textrnn ARGS` in `options.nproc` local worker processes (see `textrnn.distributed`)."""
    if callbacks:
        raise ValueError(
            "Callbacks cannot be sent to the worker processes of `nproc` above 1. Train in "
            "your own script under `textrnn.distributed.strategy` instead (docs/distributed.md)."
        )
    distributed.run_workers([distributed.launch.python_command(*args)] * options.nproc)


def _fit_and_finish(
    model: Sequential,
    options: TrainOptions,
    data: PreparedData,
    recorder: RunRecorder,
    initial_epoch: int,
    callbacks: Sequence[Callback],
    verbose: int,
    *,
    fit: bool = True,
    group: Group | None = None,
) -> TrainResult:
    run, h = recorder.run, recorder.history
    callbacks = _schedule(options, callbacks)
    validation = validation_part(data, options.validation_split)
    first: list[Callback] = []
    if options.monitor == "val_macro_f1" and validation is not None:
        first = [ValidationMacroF1(*validation, data.label_names, options.mask_zero)]
    try:
        if fit:
            _fit(model, options, data, initial_epoch, [*first, recorder, *callbacks], verbose, group)
        if h["best_epoch"] is not None and h["best_epoch"] != len(h["epochs"]):
            model.load_weights(run.require_model())
        threshold = _choose_threshold(model, options, data, validation)
        if threshold is not None:
            recorder.metadata["threshold"] = threshold
            run.save_model(model, recorder.metadata)
        probs = model.predict(data.x_test, verbose=0, bucket_by_length=options.mask_zero)
        probs = to_class_matrix(np.asarray(probs, dtype=np.float32), data.num_classes)
        metrics = decided_metrics(data.y_test, probs, data.label_names, threshold)
        metrics = {"split": "test", "best_epoch": h["best_epoch"], **metrics}
        names = data.label_names
        index = [int(i) for i in data.test_index]
        test_labels = [names[int(y)] for y in data.y_test]
        if options.baseline and data.baseline:
            baseline, baseline_probs = _baseline(options, data)
            metrics["baseline"] = baseline
            run.write_baseline_predictions(index, test_labels, baseline_probs, names)
        run.write_results(metrics, index, test_labels, probs, names, threshold)
        run.write_curves(h)
        h["status"] = "complete"
        h["stop_reason"] = h.get("stop_reason") or "completed"
        run.finish(h)
        return TrainResult.of(run.path, options.epochs, h, metrics)
    except BaseException as e:
        if not run.published:
            raise
        h["status"] = "interrupted"
        h["stop_reason"] = (
            "interrupted" if isinstance(e, KeyboardInterrupt) else f"error: {type(e).__name__}: {e}"
        )
        with contextlib.suppress(Exception):
            run.write_history(h)
            run.write_curves(h)
        if isinstance(e, KeyboardInterrupt):
            raise TrainingInterrupted(TrainResult.of(run.path, options.epochs, h, None)) from None
        raise


def _choose_threshold(
    model: Sequential,
    options: TrainOptions,
    data: PreparedData,
    validation: tuple[np.ndarray, np.ndarray] | None,
) -> float | None:
    """`--threshold f1`: the decision threshold chosen on the validation split (two classes)."""
    if options.threshold is None or validation is None or data.num_classes != 2:
        return None
    from textrnn.data.imbalance import choose_threshold

    x_val, y_val = validation
    p = model.predict(x_val, verbose=0, bucket_by_length=options.mask_zero)
    p = to_class_matrix(np.asarray(p, dtype=np.float32), 2)[:, 1]
    return choose_threshold(y_val, np.clip(p, 0.0, 1.0), options.threshold)


def _baseline(options: TrainOptions, data: PreparedData) -> tuple[dict[str, Any], np.ndarray]:
    """The bag-of-words baseline on the run's training and test texts: its metrics (with the
    run's label order) and test probabilities."""
    from textrnn.baseline import run_baseline

    names = data.label_names
    train_labels = data.train_labels or [names[int(y)] for y in data.y_train]
    test_labels = [names[int(y)] for y in data.y_test]
    metrics, probs = run_baseline(
        data.train_texts, train_labels, data.test_texts, test_labels, seed=int(options.seed or 0)
    )
    # Its columns follow its own label order: put them in the run's.
    columns = [list(metrics["labels"]).index(n) if n in metrics["labels"] else -1 for n in names]
    ordered = np.zeros((len(probs), len(names)), dtype=np.float64)
    for j, c in enumerate(columns):
        if c >= 0:
            ordered[:, j] = probs[:, c]
    y = np.asarray(data.y_test, dtype=np.int64)
    figures = classification_metrics(y, ordered, names)
    keep = ("model", "c", "fit_seconds", "seconds")
    figures.update({k: metrics[k] for k in keep if k in metrics})
    figures["train_samples"] = len(data.train_texts)
    return figures, ordered


def train_single(
    options: TrainOptions,
    target: Path,
    *,
    callbacks: Sequence[Callback] = (),
    verbose: int = 1,
    print_fn: Callable[[str], Any] | None = None,
    command: Sequence[str] | None = None,
    recipe: dict[str, Any] | None = None,
) -> TrainResult:
    """Train one run into the new folder `target`, with options settled by `textrnn.runs.settle`.

    `recipe` is what `--preset auto` chose (`AutoChoice.recipe`), kept in `config.json`.

    Raises:
        TrainingInterrupted: Ctrl-C after the first finished epoch.
        KeyboardInterrupt: Ctrl-C before that; nothing is left behind.
    """
    with _threads(options):
        return _train_single(options, target, callbacks, verbose, print_fn, command, recipe)


def _train_single(
    options: TrainOptions,
    target: Path,
    callbacks: Sequence[Callback],
    verbose: int,
    print_fn: Callable[[str], Any] | None,
    command: Sequence[str] | None,
    recipe: dict[str, Any] | None,
) -> TrainResult:
    group = distributed.current()
    if group is None and options.nproc > 1:
        args = shlex.split(command_line(options, target))[1:]
        _launch(options, [*args, "--verbose", str(verbose)], callbacks)
        return result_of(SingleRun(target))
    if group is not None:  # rank 0's seed and folder (torchrun starts every rank alike)
        options, target = group.share((options, target))
        verbose = verbose if group.is_main else 0
    say = printer(verbose, print_fn)
    set_random_seed(int(options.seed or 0))
    data = prepare(options)
    _check_validation_split(len(data.x_train), options.validation_split)
    for line in [*small_class_lines(options, data), *data.notes]:
        say(line)
    model = build_model(options, data.vocabulary.input_dim, data.num_classes)
    if options.word_vectors == "ppmi":
        say(f"Learning {options.embedding_dim}-d PPMI word vectors for the embedding ...")
        pretrain_embedding(
            model, options, data.x_train, data.vocabulary, imdb_source=data.description.get("path")
        )
    elif uses_vector_file(options):
        say(
            f"Word vectors from {options.word_vectors}: " + load_word_vectors(model, options, data.vocabulary)
        )
    if options.freeze_embeddings:
        freeze_word_vectors(model)
    class_weights(options, data)  # refuse --class-weight before anything is written
    if group is not None and not group.is_main:
        return _follow(model, options, data, 0, callbacks, group)
    device = str(model.device)
    if group is not None:
        device = f"{group.device.type} × {group.world_size} processes ({group.backend})"
    config = single_run_config(
        name=target.name,
        command=command,
        reproduce=command_line(options, target),
        options=options,
        data={
            **data.description,
            "label_names": data.label_names,
            "input_dim": data.vocabulary.input_dim,
            "padding": PADDING,
            "truncating": TRUNCATING,
        },
        model={
            "name": options.model_name(),
            "parameters": model.count_params(),
            "config": model.get_config(),
            "compile": model.get_compile_config(),
        },
        device=device,
        versions=_versions(),
        recipe=recipe,
    )
    created = make_parents(target.parent)
    run: SingleRun | None = None
    try:
        run = SingleRun.create(target, config)
        run.write_summary(model.summary_text(explain=True) + "\n")
        say(_describe(options, data, model))
        recorder = RunRecorder(run, options, data, new_history(options))
        result = _fit_and_finish(model, options, data, recorder, 0, callbacks, verbose, group=group)
    except BaseException:
        if run is None or not run.published:
            if run is not None:
                run.discard()
            remove_empty_dirs(created)
        raise
    finally:
        if run is not None:
            run.close()
    if group is not None:
        group.share(result)
    say(result.summary())
    return result


def resume_single(
    run: SingleRun,
    *,
    callbacks: Sequence[Callback] = (),
    verbose: int = 1,
    print_fn: Callable[[str], Any] | None = None,
) -> TrainResult:
    """Continue an interrupted run from its last finished epoch, to its planned epochs.

    The run's own options, vocabulary, label names and data split are used, and the model,
    optimizer and random generators are restored from its checkpoint; the history is the one the
    checkpoint carries, so no epoch is skipped or repeated whenever the last run was killed.

    Raises:
        RunFolderError: if the run is complete, has no checkpoint, or another process trains it.
    """
    group = distributed.current()
    main = group is None or group.is_main
    if main and run.status == "complete":
        raise RunFolderError(
            f"`{run.path}` is already complete "
            f"({run.epochs_done} of {run.options.get('epochs')} epochs): "
            "nothing to resume. Start a new run with `textrnn train`."
        )
    if group is None and run.train_options().nproc > 1:
        _launch(run.train_options(), ["train", "--resume", str(run.path),
                                      "--verbose", str(verbose)], callbacks)  # fmt: skip
        return result_of(SingleRun(run.path))
    if main:
        run.open_for_writing()
    try:
        done = run.checkpoint_epoch() if main else None
        if main and done is None:
            raise RunFolderError(
                f"`{run.path}` has no {CHECKPOINT}/ to resume from. Train it again with `textrnn train`."
            )
        if group is not None:  # the others read the run once rank 0 has tidied it
            done = group.share(done)
            verbose = verbose if main else 0
        assert done is not None
        say = printer(verbose, print_fn)
        options = run.train_options()
        saved = run.text_model()
        vocabulary = saved.vocabulary
        data = prepare(
            options,
            vocabulary=vocabulary,
            label_names=saved.label_names,
            imdb_source=run.data_config.get("path"),
        )
        model = build_model(options, vocabulary.input_dim, data.num_classes)
        if options.freeze_embeddings:
            freeze_word_vectors(model)
        run.load_checkpoint(model)
        history = run.checkpoint_history(done)
        stopped = history.get("stop_reason") == "early_stopping"
        if group is not None and not main:
            return _follow(model, options, data, done, callbacks, group, fit=not stopped)
        history["status"], history["stop_reason"] = "running", "early_stopping" if stopped else None
        recorder = RunRecorder(run, options, data, history)
        if history.get("best_epoch") == done:
            # the checkpoint holds the best model: a kill may have cut its save short
            run.save_model(model, recorder.metadata)
        run.stamp_resumed()
        say(f"Resuming {run.path} after epoch {done} of {options.epochs}.")
        with _threads(options):
            result = _fit_and_finish(
                model,
                options,
                data,
                recorder,
                done,
                callbacks,
                verbose,
                fit=not stopped,
                group=group,
            )
    finally:
        run.close()
    if group is not None:
        group.share(result)
    say(result.summary())
    return result


__all__ = ["fit_targets", "printer", "result_of", "resume_single", "train_single"]
