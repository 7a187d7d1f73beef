"""Hyperparameter search (`textrnn tune`): Optuna trials, each a run folder, pruned on validation.

Every trial is a single run (`textrnn.runs.single`) in `TUNE/trials/N/` with the fixed options
(the preset, `fast` by default, and every option the user gave) plus the values the sampler
(Optuna's TPE, seeded) draws from `SPACE` for the options the user did not give. All trials share
the seed, so they train and validate on the same texts. After each epoch a callback reports the
validation loss to Optuna, and the median pruner stops a trial whose loss is worse than the
median of earlier trials at that epoch. The objective is the trial's lowest validation loss;
nothing looks at the test split. The search ends after `trials` trials or `minutes` minutes (a
trial running at the deadline stops after its current epoch); the best trial is kept as a
normal run folder, the tune folder reads as it (`textrnn predict/evaluate/serve TUNE`), and
`trials.csv` / `trials.json` hold a row per trial (`textrnn compare TUNE` reads them as runs).

Example:
    >>> result = tune(TrainOptions.from_preset("fast", data="reviews.csv"), "runs/tune",
    ...               minutes=30, trials=20)
    >>> result.best_path
    PosixPath('runs/tune/trials/7')
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textrnn import checks
from textrnn.callbacks import Callback
from textrnn.fileio import make_parents
from textrnn.runs.options import TrainOptions, flag_of
from textrnn.runs.run import SingleRun, TuneRun, tune_config
from textrnn.runs.settle import settle
from textrnn.runs.single import printer

# The search space as data: option name → ("choice", values) | ("int", low, high) |
# ("float", low, high) | ("log", low, high).
SPACE: dict[str, tuple[Any, ...]] = {
    "rnn": ("choice", ["gru", "lstm"]),
    "units": ("choice", [32, 64, 128]),
    "bidirectional": ("choice", [False, True]),
    "embedding_dim": ("choice", [32, 64, 128]),
    "ngrams": ("int", 1, 3),
    "spatial_dropout": ("float", 0.0, 0.5),
    "dropout": ("float", 0.0, 0.5),
    "learning_rate": ("log", 3e-4, 5e-3),
    "batch_size": ("choice", [32, 64, 128]),
}
DEFAULT_PRESET = "fast"
DEFAULT_MINUTES = 30.0
DEFAULT_TRIALS = 20
STARTUP_TRIALS = 2  # the pruner lets this many trials finish before comparing with them
COLUMNS = ("trial", "state", "val_loss", "val_acc", "epochs", "seconds")


@dataclass
class TuneResult:
    """What a search produced: the folder, the best trial's folder and values, the table."""

    path: Path
    best_trial: int | None
    best_path: Path | None
    best_params: dict[str, Any]
    best_val_loss: float | None
    rows: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        lines = [format_trials(self.rows), ""]
        if self.best_path is None:
            lines.append(f"No trial finished; nothing to keep. Tune folder: {self.path}")
            return "\n".join(lines)
        values = " ".join(f"{k}={_text(v)}" for k, v in self.best_params.items())
        lines.append(f"Best trial {self.best_trial}: validation loss {self.best_val_loss:.4f} ({values}).")
        lines.append(
            f'Kept as a run folder: {self.best_path} (`textrnn predict {self.path} "text"` '
            "uses it; `textrnn compare` reads every trial)."
        )
        return "\n".join(lines)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value).lower() if isinstance(value, bool) else str(value)


def format_trials(rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of the trials (the rows of `trials.json`)."""
    if not rows:
        return "(no trials)"
    params = [k for k in SPACE if any(k in r for r in rows)]
    columns = [*COLUMNS, *params]
    body = [
        ["-" if r.get(c) is None else
         f"{r[c]:.4f}" if c in ("val_loss", "val_acc") else
         f"{r[c]:.0f}" if c == "seconds" else _text(r[c]) for c in columns]
        for r in rows
    ]  # fmt: skip
    widths = [max(len(x) for x in [c, *(b[i] for b in body)]) for i, c in enumerate(columns)]
    return "\n".join(
        "  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)).rstrip()
        for line in [columns, ["-" * w for w in widths], *body]
    )


def search_space(given: Sequence[str] = ()) -> dict[str, tuple[Any, ...]]:
    """`SPACE` without the options the user fixed."""
    return {k: v for k, v in SPACE.items() if k not in set(given)}


def _suggest(trial: Any, space: dict[str, tuple[Any, ...]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, (kind, *args) in space.items():
        if kind == "choice":
            values[name] = trial.suggest_categorical(name, list(args[0]))
        elif kind == "int":
            values[name] = trial.suggest_int(name, int(args[0]), int(args[1]))
        else:
            values[name] = trial.suggest_float(name, args[0], args[1], log=kind == "log")
    return values


class _Report(Callback):
    """Reports each epoch's validation loss to the Optuna trial; stops a pruned trial, and any
    trial at the deadline, after its current epoch."""

    def __init__(self, trial: Any, deadline: float) -> None:
        super().__init__()
        self.trial = trial
        self.deadline = deadline
        self.pruned = False
        self.cut = False

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("val_loss")
        if loss is not None and math.isfinite(float(loss)):
            self.trial.report(float(loss), epoch)
            if self.trial.should_prune():
                self.pruned = True
        if time.monotonic() >= self.deadline:
            self.cut = True
        if (self.pruned or self.cut) and self.model is not None:
            self.model.stop_training = True


def _check_base(options: TrainOptions) -> None:
    if options.ensemble != 1 or options.linear:
        raise checks.invalid(
            "ensemble", "1 (a trial is one model)", options.ensemble,
            "Tune without --ensemble and --linear; train the best trial's options with them.",
            flag=flag_of("ensemble"),
        )  # fmt: skip
    if options.validation_split <= 0:
        raise checks.invalid(
            "validation_split", "above 0: trials are compared on validation data",
            options.validation_split, flag=flag_of("validation_split"),
        )  # fmt: skip


def tune(
    options: TrainOptions,
    out: str | os.PathLike[str] | None = None,
    *,
    minutes: float = DEFAULT_MINUTES,
    trials: int = DEFAULT_TRIALS,
    given: Sequence[str] = (),
    verbose: int = 1,
    print_fn: Callable[[str], Any] | None = None,
    command: Sequence[str] | None = None,
) -> TuneResult:
    """Search `SPACE` (less the `given` option names) around `options` into the new folder `out`.

    Args:
        options: the fixed options of every trial (a missing seed is drawn, as for `train`).
        out: the tune folder to create; default a fresh `runs/<data>-tune-<time>`.
        minutes: no trial starts after this, and a running one stops after its epoch.
        trials: the most trials to run.
        given: option names the user fixed, left out of the search.
        verbose: 0 silent, 1 a line per trial and the table (default).
        print_fn: where messages go; default `print`.
        command: the command line, recorded in `config.json`.

    Raises:
        ValueError: for bad options or bounds; RunFolderError if `out` exists.
    """
    import optuna

    if not isinstance(minutes, (int, float)) or isinstance(minutes, bool) or minutes <= 0:
        raise checks.invalid("minutes", "a number of minutes above 0", minutes, flag="--minutes")
    if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1:
        raise checks.invalid("trials", "an integer of at least 1", trials, flag="--trials")
    _check_base(options)
    say = printer(verbose, print_fn)
    if out is None:
        options, default = settle(options, None)
        target = default.with_name(default.name.replace(f"-{options.rnn}-", "-tune-", 1))
    else:
        options, target = settle(options, out)
    space = search_space(given)
    config = tune_config(
        name=target.name, command=command, options=options,
        space={k: list(v) for k, v in space.items()}, minutes=float(minutes), trials=trials,
    )  # fmt: skip
    make_parents(target.parent)
    run = TuneRun.create(target, config)
    start = time.monotonic()
    deadline = start + 60.0 * float(minutes)
    rows: list[dict[str, Any]] = []
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=int(options.seed or 0)),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=STARTUP_TRIALS, n_warmup_steps=0),
    )
    say(
        f"Tuning {', '.join(space) or 'nothing (every option is fixed)'} for at most {trials} "
        f"trials or {minutes:g} minutes, on validation loss (seed {options.seed}): {target}"
    )

    def objective(trial: Any) -> float:
        from textrnn.runs.trainer import train

        number = trial.number + 1
        values = _suggest(trial, space)
        report = _Report(trial, deadline)
        t0 = time.monotonic()
        path = run.trial_path(number)
        train(options.replace(**values), path, callbacks=[report], verbose=0,
              print_fn=lambda s: None, command=command)  # fmt: skip
        history = SingleRun(path).history
        losses = [float(v) for v in history.get("val_loss", []) if v is not None]
        accs = [float(v) for v in history.get("val_acc", []) if v is not None]
        epochs = len(history.get("epochs", []))
        pruned = report.pruned and epochs < options.epochs
        best = min(losses) if losses else math.inf
        state = "pruned" if pruned else "cut" if report.cut and epochs < options.epochs else "complete"
        row = {
            "trial": number, "state": state, "val_loss": best if losses else None,
            "val_acc": max(accs) if accs else None, "epochs": epochs,
            "seconds": round(time.monotonic() - t0, 1), **values,
            "path": str(Path("trials") / str(number)),
        }  # fmt: skip
        rows.append(row)
        run.write_trials(rows, [*COLUMNS, *space, "path"])
        shown = " ".join(f"{k}={_text(v)}" for k, v in values.items())
        loss_text = f"{best:.4f}" if losses else "-"
        say(f"  trial {number}: {state}, best val_loss {loss_text}, {epochs} epoch(s) ({shown})")
        if pruned:
            raise optuna.TrialPruned()
        return best

    def out_of_time(study: Any, trial: Any) -> None:
        if time.monotonic() >= deadline:
            study.stop()

    try:
        study.optimize(objective, n_trials=trials, callbacks=[out_of_time], catch=())
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        finite = [t for t in done if t.value is not None and math.isfinite(t.value)]
        best_trial = min(finite, key=lambda t: float(t.value or 0.0)) if finite else None
        best: dict[str, Any] | None = None
        if best_trial is not None:
            number = best_trial.number + 1
            best = {
                "trial": number,
                "path": str(Path("trials") / str(number)),
                "val_loss": best_trial.value,
                "params": dict(best_trial.params),
            }
        run.update(status="complete", best=best, seconds=round(time.monotonic() - start, 1))
    finally:
        run.close()
    result = TuneResult(
        run.path,
        best["trial"] if best else None,
        run.trial_path(best["trial"]) if best else None,
        dict(best["params"]) if best else {},
        float(best["val_loss"]) if best else None,
        rows,
    )
    say(result.summary())
    return result


__all__ = ["SPACE", "TuneResult", "format_trials", "search_space", "tune"]
