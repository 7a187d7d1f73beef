"""What a training job returns: `TrainResult` (a run) or `EnsembleResult`, with their summaries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textrnn.runs.run import CURVES, HISTORY_CSV, MEMBERS, METRICS, MODEL, PREDICTIONS, SUMMARY


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run after at least one finished epoch; `result` describes what was kept."""

    def __init__(self, result: Any) -> None:
        done = getattr(result, "epochs_done", None)
        super().__init__(
            f"Training interrupted after epoch {done}." if done is not None else "Training interrupted."
        )
        self.result = result  # a TrainResult, or an EnsembleResult for `--ensemble`


def metrics_line(m: dict[str, Any]) -> str:
    """Test metrics in one line: accuracy, loss, macro F1, ROC AUC (two classes), sample count."""
    extra = f", ROC AUC {m['roc_auc']:.4f}" if m.get("roc_auc") is not None else ""
    return (
        f"accuracy {m['accuracy']:.4f}, loss {m['loss']:.4f}, "
        f"macro F1 {m['macro']['f1']:.4f}{extra} "
        f"({m['samples']:,} texts)."
    )


def baseline_line(m: dict[str, Any]) -> str:
    """The baseline beside the model, by test accuracy, and what to try when it is better."""
    b = m["baseline"]
    ours, theirs = float(m["accuracy"]), float(b["accuracy"])
    seconds = f" ({b['seconds']:.0f} s)" if b.get("seconds") is not None else ""
    text = f"Bag-of-words baseline{seconds} {theirs:.4f}, this model {ours:.4f}: "
    if theirs > ours:
        return text + "the baseline is better on this data — try --preset best."
    if theirs == ours:
        return text + "as good as each other on this data."
    return text + "this model is better on this data."


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

    @classmethod
    def of(
        cls,
        path: Path,
        epochs_planned: int,
        history: dict[str, Any],
        metrics: dict[str, Any] | None,
    ) -> TrainResult:
        """The result a run's history and metrics describe."""
        return cls(
            path=path,
            status=history["status"],
            epochs_done=len(history["epochs"]),
            epochs_planned=epochs_planned,
            best_epoch=history.get("best_epoch"),
            history=history,
            metrics=metrics,
            stop_reason=history.get("stop_reason"),
        )

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
            keys = ("val_acc", "val_loss", "acc", "loss")
            parts = [f"{k} {h[k][i]:.4f}" for k in keys if h.get(k) and h[k][i] is not None]
            lines.append(f"Best epoch: {self.best_epoch} by {h.get('monitor')} ({', '.join(parts[:2])}).")
        if self.metrics is not None:
            lines.append(f"Test: {metrics_line(self.metrics)}")
            if self.metrics.get("baseline"):
                lines.append(baseline_line(self.metrics))
        lines.append(f"Run folder: {self.path}")
        if self.status == "complete":
            lines.append(
                f"  {CURVES}, {METRICS}, {HISTORY_CSV}, {SUMMARY}, {MODEL}/ "
                f'(predict with `textrnn predict {self.path} "text"`)'
            )
        else:
            lines.append(
                f"  best model so far in {MODEL}/; continue with `textrnn train --resume {self.path}`"
            )
        return "\n".join(lines)


@dataclass
class EnsembleResult:
    """What an ensemble run produced.

    Attributes:
        path: the ensemble folder.
        status: `complete` or `interrupted`.
        members: each finished (or interrupted) member's `TrainResult`, in order.
        metrics: the test metrics of the mean probability, None until every member finished.
    """

    path: Path
    status: str
    members: list[Any]
    metrics: dict[str, Any] | None = None

    def summary(self) -> str:
        """A few lines for the end of `textrnn train --ensemble K`."""
        lines = []
        for i, member in enumerate(self.members, start=1):
            m = member.metrics
            test = f", test accuracy {m['accuracy']:.4f}" if m is not None else ""
            lines.append(f"Member {i}: {member.status}, best epoch {member.best_epoch}{test}.")
        if self.metrics is not None:
            lines.append(
                f"Ensemble of {len(self.members)} (mean probability) on the test set: "
                f"{metrics_line(self.metrics)}"
            )
        lines.append(f"Ensemble folder: {self.path}")
        if self.status == "complete":
            lines.append(
                f"  {METRICS}, {PREDICTIONS}, {MEMBERS}/1..{len(self.members)} "
                f'(predict with `textrnn predict {self.path} "text"`)'
            )
        else:
            lines.append(f"  continue with `textrnn train --resume {self.path}`")
        return "\n".join(lines)


__all__ = ["EnsembleResult", "TrainResult", "TrainingInterrupted", "baseline_line", "metrics_line"]
