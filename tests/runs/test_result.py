"""`textrnn.runs.result`: what a training job returns and the lines it ends with."""

from __future__ import annotations

from pathlib import Path

from textrnn.runs.result import EnsembleResult, TrainingInterrupted, TrainResult, metrics_line

METRICS = {
    "accuracy": 0.875,
    "loss": 0.31234,
    "macro": {"f1": 0.8712},
    "roc_auc": 0.93,
    "samples": 1200,
}
HISTORY = {
    "status": "complete",
    "stop_reason": "early_stopping",
    "monitor": "val_loss",
    "best_epoch": 2,
    "epochs": [1, 2, 3],
    "val_acc": [0.7, 0.8, 0.79],
    "val_loss": [0.6, 0.5, 0.55],
    "acc": [0.7, 0.8, 0.85],
    "loss": [0.6, 0.4, 0.3],
}


def test_metrics_line():
    assert metrics_line(METRICS) == (
        "accuracy 0.8750, loss 0.3123, macro F1 0.8712, ROC AUC 0.9300 (1,200 texts)."
    )
    assert "ROC AUC" not in metrics_line({**METRICS, "roc_auc": None})


def test_train_result_of_a_history_and_its_summary():
    result = TrainResult.of(Path("runs/x"), 10, HISTORY, METRICS)
    assert (result.status, result.epochs_done, result.best_epoch) == ("complete", 3, 2)
    lines = result.summary().splitlines()
    assert lines[0] == "Finished 3 of 10 epochs (early stopping)."
    assert lines[1] == "Best epoch: 2 by val_loss (val_acc 0.8000, val_loss 0.5000)."
    assert lines[2].startswith("Test: accuracy 0.8750") and lines[3] == "Run folder: runs/x"
    assert "textrnn predict runs/x" in lines[4]
    cut = TrainResult.of(Path("runs/x"), 10, {**HISTORY, "status": "interrupted"}, None)
    assert cut.summary().splitlines()[0] == "Interrupted after 3 of 10 epochs."
    assert "textrnn train --resume runs/x" in cut.summary()
    assert str(TrainingInterrupted(cut)) == "Training interrupted after epoch 3."


def test_ensemble_result_summary():
    member = TrainResult.of(Path("runs/e/members/1"), 10, HISTORY, METRICS)
    done = EnsembleResult(Path("runs/e"), "complete", [member, member], METRICS)
    lines = done.summary().splitlines()
    expected = [f"Member {i}: complete, best epoch 2, test accuracy 0.8750." for i in (1, 2)]
    assert lines[:2] == expected
    assert lines[2].startswith("Ensemble of 2 (mean probability) on the test set: accuracy 0.8750")
    assert "members/1..2" in lines[4]
    cut = EnsembleResult(Path("runs/e"), "interrupted", [member])
    assert "textrnn train --resume runs/e" in cut.summary()
    assert str(TrainingInterrupted(cut)) == "Training interrupted."
