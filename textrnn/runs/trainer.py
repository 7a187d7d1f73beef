"""Training runs: `train(options)` makes a run folder; `resume(path)` continues an interrupted one.

A run is built in a hidden folder beside its target (`.NAME.incomplete-*`) and renamed into place
once its first epoch has been checkpointed, so a failed or interrupted start leaves nothing.
After every epoch, with Ctrl-C held back while it writes: the resume checkpoint, the model (when
the monitored figure improved), and the history. Ctrl-C therefore leaves the best model so far,
a history whose status says `interrupted` and how many epochs finished, and a checkpoint that
`resume` continues from with the same random generators (so the result is the one an
uninterrupted run would have given).
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

import textrnn
from textrnn import optimizers
from textrnn.callbacks import Callback, CosineDecay
from textrnn.errors import DatasetError, RunFolderError
from textrnn.evaluation import classification_metrics
from textrnn.fileio import (
    deferred_interrupt,
    new_temp_dir,
    read_json,
    write_csv_atomic,
    write_json_atomic,
    write_text_atomic,
)
from textrnn.models import Sequential, read_metadata
from textrnn.preprocessing.text import Vocabulary
from textrnn.runs.checkpoint import checkpoint_epoch, load_checkpoint, save_checkpoint
from textrnn.runs.folder import (
    CHECKPOINT,
    CONFIG,
    CURVES,
    HISTORY_CSV,
    HISTORY_JSON,
    HISTORY_KEYS,
    METRICS,
    MODEL,
    PREDICTIONS,
    RUN_FORMAT,
    RUN_FORMAT_VERSION,
    SUMMARY,
    RunFolder,
)
from textrnn.runs.model import build_model, pretrain_embedding
from textrnn.runs.options import TrainOptions, command_line, flag_of
from textrnn.runs.predictor import _to_class_matrix, model_metadata
from textrnn.runs.prepare import PADDING, TRUNCATING, PreparedData, prepare
from textrnn.training.metrics import direction_of
from textrnn.training.seed import set_random_seed

DEFAULT_RUNS_DIR = "runs"
HISTORY_FORMAT_VERSION = 1


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run after at least one finished epoch; `result` describes what was kept."""

    def __init__(self, result: Any) -> None:
        done = getattr(result, "epochs_done", None)
        super().__init__(f"Training interrupted after epoch {done}." if done is not None else "Training interrupted.")
        self.result = result  # a TrainResult, or an EnsembleResult for `--ensemble`


@dataclass
class TrainResult:
    """What a run produced.

    Attributes:
        path: the run folder.
        status: `complete` or `interrupted`.
        epochs_done: finished epochs.
        epochs_planned: the `epochs` option.
        best_epoch: the epoch whose model was kept (1-based), by `monitor`.
        history: the contents of `history.json`.
        metrics: the test metrics (`metrics.json`), None if the run did not get that far.
    """

    path: Path
    status: str
    epochs_done: int
    epochs_planned: int
    best_epoch: int | None
    history: dict[str, Any]
    metrics: dict[str, Any] | None = None
    stop_reason: str | None = None

    def summary(self) -> str:
        """A few lines for the end of `textrnn train`."""
        h = self.history
        lines = []
        if self.status == "complete":
            how = " (early stopping)" if self.stop_reason == "early_stopping" else ""
            lines.append(f"Finished {self.epochs_done} of {self.epochs_planned} epochs{how}.")
        else:
            lines.append(f"Interrupted after {self.epochs_done} of {self.epochs_planned} epochs.")
        if self.best_epoch is not None:
            i = self.best_epoch - 1
            parts = [f"{k} {h[k][i]:.4f}" for k in ("val_acc", "val_loss", "acc", "loss") if h.get(k) and h[k][i] is not None]
            lines.append(f"Best epoch: {self.best_epoch} by {h.get('monitor')} ({', '.join(parts[:2])}).")
        if self.metrics is not None:
            lines.append(f"Test: {metrics_line(self.metrics)}")
        lines.append(f"Run folder: {self.path}")
        if self.status == "complete":
            lines.append(f"  {CURVES}, {METRICS}, {HISTORY_CSV}, {SUMMARY}, {MODEL}/ (predict with `textrnn predict {self.path} \"text\"`)")
        else:
            lines.append(f"  best model so far in {MODEL}/; continue with `textrnn train --resume {self.path}`")
        return "\n".join(lines)


def metrics_line(m: dict[str, Any]) -> str:
    """Test metrics in one line: accuracy, loss, macro F1, ROC AUC (two classes), sample count."""
    extra = f", ROC AUC {m['roc_auc']:.4f}" if m.get("roc_auc") is not None else ""
    return f"accuracy {m['accuracy']:.4f}, loss {m['loss']:.4f}, macro F1 {m['macro']['f1']:.4f}{extra} ({m['samples']:,} texts)."


# ---------------------------------------------------------------------------------- helpers
def fresh_seed() -> int:
    return int.from_bytes(os.urandom(4), "little") % 2**31


def fresh_run_path(options: TrainOptions, runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR) -> Path:
    """`runs/<data>-<rnn>-<YYYYmmdd-HHMMSS>`, with `-2`, `-3`, ... if that name is taken."""
    data = "imdb" if options.data is None else Path(options.data).stem or "data"
    base = Path(runs_dir) / f"{data}-{options.rnn}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists() or any(path.parent.glob(f".{path.name}.incomplete-*")):
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _versions() -> dict[str, str]:
    import torch

    return {
        "textrnn_version": textrnn.__version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
    }


def _better(monitor: str, value: float, best: float | None) -> bool:
    if best is None or (isinstance(best, float) and math.isnan(best)):
        return True
    if math.isnan(value):
        return False
    return value > best if direction_of(monitor.removeprefix("val_")) == "up" else value < best


def _check_validation_split(n: int, split: float) -> None:
    if split <= 0:
        return
    at = int(math.floor(n * (1.0 - split)))
    if at == 0 or at == n:
        raise DatasetError(
            f"The training data has {n} texts, too few to hold out a validation split of {split:g}. "
            f"Add data, or change {flag_of('validation_split')} (0 for none)."
        )


def _json_float(value: Any) -> float | None:
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None


# ---------------------------------------------------------------------------------- recorder
class _AverageEachEpoch(Callback):
    """With `--ema`: the optimizer writes its weight average into the model after every epoch's
    last step, before validation (Keras's `ema_overwrite_frequency` set to the steps per epoch)."""

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        optimizer = self._require_model().optimizer
        assert optimizer is not None and optimizer.use_ema  # build_model sets use_ema from --ema
        optimizer.ema_overwrite_frequency = int(self.params["steps"])


class _RunRecorder(Callback):
    """Writes checkpoint, best model and history after every epoch; drives early stopping."""

    def __init__(
        self,
        folder: Path,
        target: Path,
        options: TrainOptions,
        data: PreparedData,
        history: dict[str, Any],
        published: bool,
    ) -> None:
        super().__init__()
        self.folder = folder
        self.target = target
        self.options = options
        self.data = data
        self.history = history
        self.published = published
        self._t0 = 0.0
        self.metadata = model_metadata(data.vocabulary, data.label_names, options.maxlen, PADDING, TRUNCATING)

    @property
    def monitor(self) -> str:
        return str(self.history["monitor"])

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        seconds = time.perf_counter() - self._t0
        logs = dict(logs or {})
        model = self._require_model()
        h = self.history
        h["epochs"].append(epoch + 1)
        for key in HISTORY_KEYS:
            value = seconds if key == "seconds" else logs.get(key)
            h[key].append(_json_float(value))
        value = float(logs.get(self.monitor, math.nan))
        improved = _better(self.monitor, value, h.get("best_value"))
        with deferred_interrupt():
            save_checkpoint(self.folder / CHECKPOINT, epoch + 1, model, model.optimizer)
            if improved:
                h["best_epoch"] = epoch + 1
                h["best_value"] = _json_float(value)
                model.save(self.folder / MODEL, metadata=self.metadata)
            write_history(self.folder, h)
            if not self.published:
                self._publish()
        patience = self.options.early_stopping
        if patience is not None and h["best_epoch"] is not None and (epoch + 1) - h["best_epoch"] >= patience:
            h["stop_reason"] = "early_stopping"
            model.stop_training = True

    def _publish(self) -> None:
        if self.target.exists():
            raise RunFolderError(f"`{self.target}` appeared while training. The run stays in `{self.folder}`.")
        os.rename(self.folder, self.target)
        self.folder = self.target
        self.published = True


def new_history(options: TrainOptions) -> dict[str, Any]:
    return {
        "format_version": HISTORY_FORMAT_VERSION,
        "status": "running",
        "stop_reason": None,
        "epochs_planned": options.epochs,
        "monitor": options.monitor,
        "best_epoch": None,
        "best_value": None,
        "epochs": [],
        **{k: [] for k in HISTORY_KEYS},
    }


def write_history(folder: Path, history: dict[str, Any]) -> None:
    """`history.json` (everything) and `history.csv` (one row per finished epoch), atomically."""
    write_json_atomic(folder / HISTORY_JSON, history)
    rows = [
        [e, *("" if history[k][i] is None else repr(round(history[k][i], 6)) for k in HISTORY_KEYS)]
        for i, e in enumerate(history["epochs"])
    ]
    write_csv_atomic(folder / HISTORY_CSV, ["epoch", *HISTORY_KEYS], rows)


def _plot(folder: Path, history: dict[str, Any]) -> None:
    from textrnn.plot import plot_history

    data = {k: history[k] for k in ("acc", "loss", "val_acc", "val_loss") if history[k] and None not in history[k]}
    if data.get("loss"):
        plot_history(data, folder / CURVES, metric="acc")


# ---------------------------------------------------------------------------------- the job
def _fit_and_finish(
    model: Sequential,
    options: TrainOptions,
    data: PreparedData,
    recorder: _RunRecorder,
    initial_epoch: int,
    callbacks: Sequence[Callback],
    verbose: int,
) -> TrainResult:
    h = recorder.history
    if options.lr_schedule == "cosine":
        # the peak is the option's rate, not the optimizer's current one (a resumed run's is decayed)
        peak = options.learning_rate or optimizers.get(options.optimizer).learning_rate
        callbacks = [CosineDecay(peak, warmup_fraction=0.05), *callbacks]
    if options.ema is not None:
        callbacks = [_AverageEachEpoch(), *callbacks]
    try:
        model.fit(
            data.x_train,
            data.y_train.astype(np.float32) if data.num_classes == 2 else data.y_train,
            batch_size=options.batch_size,
            epochs=options.epochs,
            verbose=verbose,
            callbacks=[recorder, *callbacks],
            validation_split=options.validation_split,
            initial_epoch=initial_epoch,
            bucket_by_length=options.bucket_by_length,
        )
        folder = recorder.folder
        if h["best_epoch"] is not None and h["best_epoch"] != len(h["epochs"]):
            model.load_weights(folder / MODEL)
        probs = model.predict(data.x_test, verbose=0, bucket_by_length=options.mask_zero)
        probs = _to_class_matrix(np.asarray(probs, dtype=np.float32), data.num_classes)
        metrics = classification_metrics(data.y_test, probs, data.label_names)
        metrics = {"split": "test", "best_epoch": h["best_epoch"], **metrics}
        write_json_atomic(folder / METRICS, metrics)
        names = data.label_names
        write_predictions(folder, [int(i) for i in data.test_index], [names[int(y)] for y in data.y_test], probs, names)
        _plot(folder, h)
        h["status"] = "complete"
        h["stop_reason"] = h.get("stop_reason") or "completed"
        with deferred_interrupt():
            write_history(folder, h)
            shutil.rmtree(folder / CHECKPOINT, ignore_errors=True)
        return _result(folder, options, h, metrics)
    except BaseException as e:
        if not recorder.published:
            raise
        folder = recorder.folder
        h["status"] = "interrupted"
        h["stop_reason"] = "interrupted" if isinstance(e, KeyboardInterrupt) else f"error: {type(e).__name__}: {e}"
        with contextlib.suppress(Exception):
            write_history(folder, h)
            _plot(folder, h)
        if isinstance(e, KeyboardInterrupt):
            raise TrainingInterrupted(_result(folder, options, h, None)) from None
        raise


def _result(folder: Path, options: TrainOptions, h: dict[str, Any], metrics: dict[str, Any] | None) -> TrainResult:
    return TrainResult(
        path=folder,
        status=h["status"],
        epochs_done=len(h["epochs"]),
        epochs_planned=options.epochs,
        best_epoch=h["best_epoch"],
        history=h,
        metrics=metrics,
        stop_reason=h.get("stop_reason"),
    )


def _say(verbose: int, print_fn: Callable[[str], Any] | None) -> Callable[[str], Any]:
    if verbose == 0:
        return lambda _: None
    return print_fn or print


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


def train(
    options: TrainOptions | None = None,
    out: str | os.PathLike[str] | None = None,
    *,
    callbacks: Sequence[Callback] = (),
    verbose: int = 1,
    print_fn: Callable[[str], Any] | None = None,
    command: Sequence[str] | None = None,
) -> TrainResult:
    """Train a text classifier and write its run folder.

    Args:
        options: the run's options; default `TrainOptions()` (the tutorial on IMDB). A missing
            seed is drawn and recorded.
        out: the run folder to create; default a fresh `runs/<data>-<rnn>-<time>`.
        callbacks: extra `textrnn.callbacks.Callback`s passed to `fit` (after the run's own).
        verbose: 0 silent, 1 progress bar per epoch (default), 2 one line per epoch.
        print_fn: where the run's messages go; default `print`.
        command: the command line that started the run, recorded in `config.json`.

    Returns:
        A `TrainResult` (status `complete`).

    Raises:
        TrainingInterrupted: Ctrl-C after the first finished epoch; the run folder holds the
            best model so far, and `resume(path)` continues it.
        KeyboardInterrupt: Ctrl-C before that; nothing is left behind.
        DatasetError, RunFolderError, ValueError: for bad data or options, before anything is
            written (an existing `out` is never touched).

    Example:
        >>> result = train(TrainOptions(data="reviews.csv", rnn="lstm", epochs=3), out="runs/reviews")
        >>> result.metrics["accuracy"]
        0.87
    """
    options, target = settle(options or TrainOptions(), out)
    if options.ensemble > 1:
        from textrnn.runs.ensemble import train_ensemble

        return train_ensemble(options, target, callbacks=callbacks, verbose=verbose, print_fn=print_fn, command=command)  # type: ignore[return-value]
    say = _say(verbose, print_fn)
    set_random_seed(int(options.seed or 0))
    data = prepare(options)
    _check_validation_split(len(data.x_train), options.validation_split)
    model = build_model(options, data.vocabulary.input_dim, data.num_classes)
    if options.word_vectors == "ppmi":
        say(f"Learning {options.embedding_dim}-d PPMI word vectors for the embedding ...")
        pretrain_embedding(model, options, data.x_train, data.vocabulary, imdb_source=data.description.get("path"))
    config = {
        "format": RUN_FORMAT,
        "format_version": RUN_FORMAT_VERSION,
        "name": target.name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **_versions(),
        "command": list(command) if command is not None else None,
        "reproduce": command_line(options, target),
        "options": options.to_dict(),
        "data": {
            **data.description,
            "label_names": data.label_names,
            "input_dim": data.vocabulary.input_dim,
            "padding": PADDING,
            "truncating": TRUNCATING,
        },
        "model": {
            "name": options.model_name(),
            "parameters": model.count_params(),
            "config": model.get_config(),
            "compile": model.get_compile_config(),
        },
        "device": str(model.device),
    }
    created = _make_parents(target.parent)
    folder = new_temp_dir(target, "incomplete")
    recorder = _RunRecorder(folder, target, options, data, new_history(options), published=False)
    try:
        write_json_atomic(folder / CONFIG, config)
        write_text_atomic(folder / SUMMARY, model.summary_text(explain=True) + "\n")
        say(_describe(options, data, model))
        result = _fit_and_finish(model, options, data, recorder, 0, callbacks, verbose)
    except BaseException:
        if not recorder.published:
            remove_unpublished(folder, created)
        raise
    say(result.summary())
    return result


def result_of(path: str | os.PathLike[str]) -> TrainResult:
    """The `TrainResult` of a finished (or interrupted) run folder, read back from its files."""
    run = RunFolder(path)
    options = TrainOptions.from_dict(run.config["options"])
    metrics_file = run.path / METRICS
    metrics = read_json(metrics_file) if metrics_file.is_file() else None
    return _result(run.path, options, dict(run.history), metrics)


def settle(options: TrainOptions, out: str | os.PathLike[str] | None) -> tuple[TrainOptions, Path]:
    """Validated options with a seed drawn and absolute data paths, and the new folder to create.

    Raises:
        ValueError: for a bad option; RunFolderError if the folder already exists.
    """
    options.validate()
    if options.seed is None:
        options = options.replace(seed=fresh_seed())
    # Absolute data paths, so `--resume` and reproductions work from any folder.
    for key in ("data", "test_data"):
        value = getattr(options, key)
        if value is not None:
            options = options.replace(**{key: str(Path(value).expanduser().resolve())})
    target = Path(out) if out is not None else fresh_run_path(options)
    if target.exists():
        raise RunFolderError(
            f"`{target}` already exists. Choose another --out, or continue it with `textrnn train --resume {target}`."
        )
    return options, target


def remove_unpublished(folder: Path, created_parents: Sequence[Path]) -> None:
    """Delete a folder that never became a run, and the parent folders made for it (deepest first)."""
    shutil.rmtree(folder, ignore_errors=True)
    for parent in created_parents:
        with contextlib.suppress(OSError):
            parent.rmdir()


def write_predictions(folder: Path, index: Sequence[Any], labels: Sequence[str], probs: np.ndarray, names: Sequence[str]) -> None:
    """`predictions.csv`: index, true label, predicted label and each class's probability."""
    write_csv_atomic(
        folder / PREDICTIONS,
        ["index", "label", "predicted", *(f"p_{n}" for n in names)],
        [
            [i, label, names[int(row.argmax())], *(repr(float(v)) for v in row)]
            for i, label, row in zip(index, labels, probs, strict=True)
        ],
    )


def _make_parents(parent: Path) -> list[Path]:
    """Create `parent` and its missing ancestors; return those created, deepest first."""
    missing: list[Path] = []
    p = parent
    while not p.exists():
        missing.append(p)
        p = p.parent
    parent.mkdir(parents=True, exist_ok=True)
    return missing


def resume(
    path: str | os.PathLike[str],
    *,
    callbacks: Sequence[Callback] = (),
    verbose: int = 1,
    print_fn: Callable[[str], Any] | None = None,
) -> TrainResult:
    """Continue an interrupted run from its last finished epoch, to its planned epochs.

    The run's own options, vocabulary, label names and data split are used, and the model,
    optimizer and random generators are restored from its checkpoint.

    Raises:
        RunFolderError: if `path` is not a run, is already complete, or has no checkpoint.
        TrainingInterrupted: Ctrl-C again (the run can be resumed again).
    """
    from textrnn.runs.ensemble import is_ensemble, resume_ensemble

    if is_ensemble(path):
        return resume_ensemble(path, callbacks=callbacks, verbose=verbose, print_fn=print_fn)  # type: ignore[return-value]
    run = RunFolder(path)
    if run.status == "complete":
        raise RunFolderError(
            f"`{run.path}` is already complete ({run.epochs_done} of {run.config['options']['epochs']} epochs): "
            "nothing to resume. Start a new run with `textrnn train`."
        )
    done = checkpoint_epoch(run.checkpoint_dir)
    if done is None:
        raise RunFolderError(f"`{run.path}` has no {CHECKPOINT}/ to resume from. Train it again with `textrnn train`.")
    say = _say(verbose, print_fn)
    options = TrainOptions.from_dict(run.config["options"])
    meta = read_metadata(run.model_dir)
    vocabulary = Vocabulary.from_dict(meta["vocabulary"])
    data = prepare(
        options,
        vocabulary=vocabulary,
        label_names=list(meta["label_names"]),
        imdb_source=run.config.get("data", {}).get("path"),
    )
    model = build_model(options, vocabulary.input_dim, data.num_classes)
    load_checkpoint(run.checkpoint_dir, model, model.optimizer)
    history = dict(run.history)
    for key in ("epochs", *HISTORY_KEYS):
        history[key] = list(history.get(key, []))[:done]
    if history.get("best_epoch") is not None and history["best_epoch"] > done:
        history["best_epoch"], history["best_value"] = None, None
    history["status"], history["stop_reason"] = "running", None
    config = dict(run.config)
    config["resumed"] = [*config.get("resumed", []), datetime.now(timezone.utc).isoformat(timespec="seconds")]
    write_json_atomic(run.path / CONFIG, config)
    say(f"Resuming {run.path} after epoch {done} of {options.epochs}.")
    recorder = _RunRecorder(run.path, run.path, options, data, history, published=True)
    result = _fit_and_finish(model, options, data, recorder, done, callbacks, verbose)
    say(result.summary())
    return result


__all__ = ["TrainOptions", "TrainResult", "TrainingInterrupted", "command_line", "resume", "train"]
