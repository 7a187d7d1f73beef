import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from safetensors import safe_open

from textrnn.callbacks import BackupAndRestore, Callback, EarlyStopping
from textrnn.layers import LSTM, Dense, Dropout, Embedding
from textrnn.models import Sequential
from textrnn.optimizers import Adam
from textrnn.utils import set_random_seed

X = np.random.default_rng(0).integers(1, 10, size=(40, 6))
Y = (X[:, 0] > 5).astype(int)
FIT = {"batch_size": 8, "validation_split": 0.25, "verbose": 0}


def model():
    # dropout and shuffling draw from the random generators, Adam has slots and a step count
    m = Sequential([Embedding(10, 4), LSTM(5), Dropout(0.3), Dense(1, activation="sigmoid")])
    m.compile(optimizer=Adam(learning_rate=0.02), loss="binary_crossentropy", metrics=["acc"])
    return m


class Interrupt(Callback):
    def __init__(self, epoch=None, batch=None):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch
        if self.batch is None and epoch == self.epoch:
            raise RuntimeError("Interrupting!")

    def on_train_batch_end(self, batch, logs=None):
        if self.batch is not None and (self.current, batch) == (self.epoch, self.batch):
            raise RuntimeError("Interrupting!")


def uninterrupted(epochs=4):
    set_random_seed(3)
    m = model()
    h = m.fit(X, Y, epochs=epochs, **FIT)
    return m, h.history


def same(a, b):
    for x, y in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(x, y)


def joined(*histories):
    return {k: sum((h[k] for h in histories), []) for k in histories[0]}


@pytest.mark.parametrize("double", [False, True])
def test_interrupted_fit_resumes_as_if_never_interrupted(tmp_path, double):
    ref, ref_history = uninterrupted()
    backup = BackupAndRestore(tmp_path / "backup", double_checkpoint=double)
    set_random_seed(3)
    m = model()
    with pytest.raises(RuntimeError, match="Interrupting"):
        m.fit(X, Y, epochs=4, callbacks=[backup, Interrupt(epoch=2)], **FIT)
    first = m.history.history
    assert len(first["loss"]) == 2
    assert (tmp_path / "backup" / "latest").is_dir()
    assert (tmp_path / "backup" / "previous").is_dir() == double
    set_random_seed(99)  # a new process seeds again: the backup's generators win
    m2 = model()
    h = m2.fit(X, Y, epochs=4, callbacks=[backup], **FIT)
    assert h.epoch == [2, 3]
    assert joined(first, h.history) == ref_history
    same(m2, ref)
    assert m2.optimizer.iterations == ref.optimizer.iterations
    assert not (tmp_path / "backup").exists()


def test_keep_checkpoint_and_nothing_left_to_run(tmp_path):
    backup = BackupAndRestore(tmp_path, delete_checkpoint=False)
    ref, _ = uninterrupted(3)
    set_random_seed(3)
    m = model()
    m.fit(X, Y, epochs=3, callbacks=[backup], **FIT)
    path = tmp_path / "latest"
    state = json.loads((path / "state.json").read_text())
    assert state["epoch"] == 3
    with safe_open(str(path / state["file"]), framework="pt") as f:
        meta = json.loads(f.metadata()["textrnn_checkpoint"])
    assert meta["extra"] == {"epoch": 3, "batch": 0}
    m2 = model()
    h = m2.fit(X, Y, epochs=3, callbacks=[backup], **FIT)  # restored at epoch 3 of 3: nothing to run
    assert h.epoch == []
    same(m2, ref)


class Weights(Callback):
    """The weights and step count at the start of training and after every batch."""

    def on_train_begin(self, logs=None):
        self.start = (self.model.get_weights(), int(self.model.optimizer.iterations))
        self.batches = []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(self.model.get_weights())


def test_batch_save_freq_restarts_the_epoch_like_keras(tmp_path):
    backup = BackupAndRestore(tmp_path / "b", save_freq=2)
    set_random_seed(3)
    m = model()
    seen = Weights()
    with pytest.raises(RuntimeError):
        # 30 training rows in batches of 8: 4 batches an epoch; saves after global batches 2, 4, 6
        m.fit(X, Y, epochs=4, callbacks=[seen, backup, Interrupt(epoch=1, batch=2)], **FIT)
    assert len(seen.batches) == 7
    path = tmp_path / "b" / "latest"
    state = json.loads((path / "state.json").read_text())
    with safe_open(str(path / state["file"]), framework="pt") as f:
        meta = json.loads(f.metadata()["textrnn_checkpoint"])
    assert meta["extra"] == {"epoch": 1, "batch": 1}  # the 6th batch: epoch 1's second
    assert meta["iterations"] == 6
    resumed = Weights()
    h = model().fit(X, Y, epochs=2, callbacks=[backup, resumed], **FIT)
    # the weights after the 6th batch, and epoch 1 run again from its first batch
    assert resumed.start[1] == 6
    for got, want in zip(resumed.start[0], seen.batches[5], strict=True):
        np.testing.assert_array_equal(got, want)
    assert h.epoch == [1]
    assert len(resumed.batches) == 4


def test_damaged_latest_falls_back_on_previous(tmp_path):
    backup = BackupAndRestore(tmp_path, double_checkpoint=True)
    set_random_seed(3)
    m = model()
    with pytest.raises(RuntimeError):
        m.fit(X, Y, epochs=4, callbacks=[backup, Interrupt(epoch=2)], **FIT)
    latest = tmp_path / "latest"
    name = json.loads((latest / "state.json").read_text())["file"]
    (latest / name).write_bytes(b"not a checkpoint")
    h = model().fit(X, Y, epochs=4, callbacks=[backup], **FIT)
    assert h.epoch == [1, 2, 3]  # the previous backup: after epoch 1


def test_damaged_backup_without_previous_says_what_to_do(tmp_path):
    backup = BackupAndRestore(tmp_path)
    m = model()
    with pytest.raises(RuntimeError):
        m.fit(X, Y, epochs=4, callbacks=[backup, Interrupt(epoch=1)], **FIT)
    latest = tmp_path / "latest"
    name = json.loads((latest / "state.json").read_text())["file"]
    (latest / name).write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="Delete .* to train from the start"):
        model().fit(X, Y, epochs=4, callbacks=[backup], **FIT)


def test_backup_of_another_model_is_refused(tmp_path):
    backup = BackupAndRestore(tmp_path)
    with pytest.raises(RuntimeError):
        model().fit(X, Y, epochs=4, callbacks=[backup, Interrupt(epoch=1)], **FIT)
    other = Sequential([Embedding(10, 3), LSTM(5), Dense(1, activation="sigmoid")])
    other.compile(optimizer="adam", loss="binary_crossentropy")
    with pytest.raises(ValueError, match="does not match"):
        other.fit(X, Y, epochs=4, callbacks=[backup], **FIT)


def test_early_stopping_end_deletes_backup(tmp_path):
    backup = BackupAndRestore(tmp_path / "b")
    model().fit(X, Y, epochs=5, callbacks=[backup, EarlyStopping(monitor="loss", patience=0)], **FIT)
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"save_freq": "batch"}, "save_freq"),
        ({"save_freq": 0}, "save_freq"),
        ({"save_freq": False}, "save_freq"),
        ({"double_checkpoint": "yes"}, "double_checkpoint"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, name):
    with pytest.raises((ValueError, TypeError), match=f"`{name}`"):
        BackupAndRestore(tmp_path, **kwargs)


def test_empty_backup_dir():
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        BackupAndRestore("")


SCRIPT = textwrap.dedent(
    """
    import os, sys, json
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_backup_and_restore import FIT, X, Y, model
    from textrnn.callbacks import BackupAndRestore, Callback
    from textrnn.utils import set_random_seed

    class Kill(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == int(sys.argv[2]):
                os._exit(9)  # no cleanup, no on_train_end: as a killed process

    set_random_seed(3)
    m = model()
    h = m.fit(X, Y, epochs=4, callbacks=[BackupAndRestore(sys.argv[1]), Kill()], **FIT)
    json.dump({{"history": h.history, "weights": [w.tolist() for w in m.get_weights()]}}, sys.stdout)
    """
)


def test_killed_process_resumes(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(tests=os.path.dirname(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    backup = str(tmp_path / "backup")
    killed = subprocess.run([sys.executable, str(script), backup, "2"], env=env, capture_output=True)
    assert killed.returncode == 9, killed.stderr.decode()
    assert os.path.isdir(backup)
    done = subprocess.run([sys.executable, str(script), backup, "-1"], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    out = json.loads(done.stdout)
    ref, ref_history = uninterrupted()
    assert out["history"] == {k: v[2:] for k, v in ref_history.items()}
    for got, want in zip(out["weights"], ref.get_weights(), strict=True):
        np.testing.assert_array_equal(np.asarray(got, dtype=np.float32), want)
    assert not os.path.isdir(backup)


def test_epoch_backups_skip_the_batch_hook(tmp_path):
    from textrnn.callbacks import CallbackList

    m = model()
    assert not CallbackList([BackupAndRestore(tmp_path)], m, {}).wants("on_train_batch_end")
    assert CallbackList([BackupAndRestore(tmp_path, save_freq=3)], m, {}).wants("on_train_batch_end")
