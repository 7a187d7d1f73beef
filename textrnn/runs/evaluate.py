"""Evaluating a run on its own test split or on another labelled dataset."""

from __future__ import annotations

import os
from typing import Any

from textrnn.data.readers import DataSource
from textrnn.runs.predictor import PREDICT_BATCH_SIZE, for_run
from textrnn.runs.prepare import read_splits
from textrnn.runs.run import open_run
from textrnn.runs.streamed import is_shard_folder, read_all


def evaluate_run(
    path: str | os.PathLike[str],
    data: str | os.PathLike[str] | None = None,
    *,
    data_format: str | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    encoding: str | None = None,
    batch_size: int = PREDICT_BATCH_SIZE,
) -> dict[str, Any]:
    """Metrics of a run's model (its best epoch) on its test split or on `data`.

    Args:
        path: the run folder, or an ensemble folder (`textrnn train --ensemble K`).
        data: a labelled dataset to evaluate on (file or folder tree; a tree's `test/` folder is
            used when it has one); None re-reads the run's own test split.
        data_format, text_column, label_column, encoding: how to read `data`; each defaults to
            the run's own choice.
        batch_size: texts per forward pass.

    Returns:
        `{"run", "data", **classification_metrics}` (accuracy, loss, per_class, macro,
        confusion_matrix, roc_auc, ...).

    Raises:
        RunFolderError: `path` is not a run, or has no model yet.
        DatasetError: the data is missing, unreadable, or has labels the model does not know.

    Example:
        >>> evaluate_run("runs/imdb")["accuracy"]
        0.85
    """
    run = open_run(path)
    predictor = for_run(run)
    options = run.train_options()
    shown = str(run.path)
    if data is None:
        source = run.data_config.get("path")
        _, _, texts, labels, _, _ = read_splits(options, imdb_source=source, test_only=True)
        where = "test split"
    elif is_shard_folder(str(data)):
        texts, labels = read_all(str(data), options)
        where = str(data)
    else:
        source = DataSource(
            path=str(data),
            format=data_format
            if data_format is not None
            else (options.data_format if options.data else None),
            text_column=text_column or options.text_column,
            label_column=label_column or options.label_column,
            encoding=encoding or options.encoding,
        )
        subset = "test" if source.has_test_subset() else "train"
        texts, labels = source.read(subset)
        where = str(data) + ("/test" if subset == "test" else "")
    metrics = predictor.evaluate(texts, labels, batch_size=batch_size)
    return {"run": shown, "data": where, **metrics}
