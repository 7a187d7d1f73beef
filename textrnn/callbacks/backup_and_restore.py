"""`BackupAndRestore`: back up the training state as it goes, so that an interrupted `fit` resumes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from textrnn import checks
from textrnn.callbacks.callback import Callback, Logs
from textrnn.errors import RunFolderError
from textrnn.runs.checkpoint import STATE, clean_checkpoint, load_checkpoint, save_checkpoint

LATEST = "latest"
PREVIOUS = "previous"


class BackupAndRestore(Callback):
    """Back up the training state after each epoch (or every `save_freq` batches) and restore it
    when `fit` is run again after an interruption, as Keras does.

    The backup holds the model's weights and buffers, the optimizer's state (slots, step count,
    hyper-parameters, the moving average of `use_ema`), PyTorch's, NumPy's and Python's random
    generators, and the number of finished epochs (and, with an integer `save_freq`, the last
    batch seen), in one safetensors file written atomically (no pickle): `backup_dir/latest`.
    A `fit` that starts with a backup there loads it in `on_train_begin` and starts at the epoch
    after the last one backed up, so a run interrupted at an epoch's end (an exception, a killed
    process) and run again with the same data, model and `compile` gives the weights and epoch
    logs of a run that was never interrupted (on CPU: CUDA's own random generator, which dropout
    on a GPU draws from, is not backed up). A `fit` that finishes deletes `backup_dir` (with
    `delete_checkpoint=True`); `History` holds only the epochs run by the call that returns it.

    With an integer `save_freq`, as in Keras, the backup written mid-epoch restores its weights
    and optimizer state but training restarts that epoch at its first batch, so the resumed run
    is not identical to an uninterrupted one (Keras's `"batch"` is saved but not used either).

    Args:
        backup_dir: the folder for the backup; no other callback or run may use it.
        save_freq: `"epoch"` (default) backs up after every epoch; a positive integer `N` after
            every `N` training batches (counted across epochs), not at epoch ends.
        double_checkpoint: keep the previous backup too (`backup_dir/previous`), and restore it
            when the latest cannot be read; default False.
        delete_checkpoint: delete `backup_dir` when `fit` finishes, default True.

    Raises:
        ValueError: at `on_train_begin`, when the backup is damaged (and there is no readable
            previous one) or does not match the model.

    Example:
        >>> backup = BackupAndRestore(backup_dir="/tmp/backup")
        >>> model.fit(x, y, epochs=10, callbacks=[backup])  # interrupted at epoch 4 ...
        >>> history = model.fit(x, y, epochs=10, callbacks=[backup])  # ... runs epochs 4 to 9
        >>> len(history.history["loss"])
        6
    """

    def __init__(
        self,
        backup_dir: str | os.PathLike[str],
        save_freq: str | int = "epoch",
        double_checkpoint: bool = False,
        delete_checkpoint: bool = True,
    ) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        self.backup_dir = Path(checks.path("backup_dir", backup_dir))
        if save_freq != "epoch":
            fix = "Pass 'epoch' or a positive number of batches (preemption checkpointing is not supported)."
            if isinstance(save_freq, bool):
                raise checks.invalid("save_freq", "'epoch' or a positive integer", save_freq, fix)
            save_freq = checks.positive_int("save_freq", save_freq, fix)
        self.save_freq: str | int = save_freq
        if save_freq == "epoch":
            self._idle_hooks = frozenset({"on_train_batch_end"})
        self.double_checkpoint = checks.boolean("double_checkpoint", double_checkpoint)
        self.delete_checkpoint = checks.boolean("delete_checkpoint", delete_checkpoint)
        self._current_epoch = 0
        self._last_batch_seen = 0
        self._batches_since_save = 0

    def on_train_begin(self, logs: Logs | None = None) -> None:
        model = self._require_model()
        self._batches_since_save = 0
        self._current_epoch = model._initial_epoch
        candidates = [self.backup_dir / LATEST]
        if self.double_checkpoint:
            candidates.append(self.backup_dir / PREVIOUS)
        candidates = [c for c in candidates if (c / STATE).is_file()]
        for i, folder in enumerate(candidates):
            try:
                clean_checkpoint(folder)
                epoch = load_checkpoint(folder, model, model.optimizer)
            except (RunFolderError, OSError) as e:
                if i + 1 < len(candidates):
                    continue  # the latest is unreadable: fall back on the previous one
                raise RunFolderError(
                    f"BackupAndRestore cannot restore the backup in `{self.backup_dir}`: {e} "
                    f"Delete `{self.backup_dir}` to train from the start."
                ) from None
            model._initial_epoch = epoch
            self._current_epoch = epoch
            return

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save()

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self.save_freq == "epoch":
            return
        self._last_batch_seen = batch
        self._batches_since_save += 1
        if self._batches_since_save >= int(self.save_freq):
            self._batches_since_save = 0
            self._save()

    def _save(self) -> None:
        model = self._require_model()
        latest = self.backup_dir / LATEST
        if self.double_checkpoint and (latest / STATE).is_file():
            # A kill between the two steps leaves `previous` alone, which is then restored.
            previous = self.backup_dir / PREVIOUS
            shutil.rmtree(previous, ignore_errors=True)
            latest.replace(previous)
        extra: dict[str, Any] = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        save_checkpoint(latest, self._current_epoch, model, model.optimizer, extra=extra)

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.delete_checkpoint and self.backup_dir.exists():
            shutil.rmtree(self.backup_dir)
