"""The run folder (`textrnn.runs.run`): its two kinds behind `open_run`, and what a kill leaves.

The kill tests run `textrnn.runs.train` in a subprocess and SIGKILL it at a named point of a
write (`kill_during_train.py`), then check what readers see and that `resume` finishes the run
exactly as an uninterrupted one (same seed, CPU, one thread).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import textrnn
from textrnn.callbacks import Callback
from textrnn.data.toy import toy_texts, write_toy_csv
from textrnn.errors import RunFolderError
from textrnn.fileio import FolderLock
from textrnn.runs import EnsembleRun, RunFolder, SingleRun, TrainOptions, open_run, resume, train

CHILD = Path(__file__).with_name("kill_during_train.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def options(tmp_path_factory):
    texts, labels = toy_texts(40, seed=2)
    data = write_toy_csv(tmp_path_factory.mktemp("d") / "toy.csv", texts, labels)
    return TrainOptions(
        data=str(data), units=4, embedding_dim=4, maxlen=12, num_words=60, batch_size=16,
        epochs=3, seed=5,
        learning_rate=0.01, monitor="loss",  # a new best model every epoch: a model swap each time
    )  # fmt: skip


@pytest.fixture(scope="module")
def straight(options, tmp_path_factory):
    return train(options, tmp_path_factory.mktemp("s") / "straight", verbose=0)


def kill_at(point: str, n: int, options: TrainOptions, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    args = [
        sys.executable,
        str(CHILD),
        point,
        str(n),
        json.dumps(dataclasses.asdict(options)),
        str(out),
    ]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*"))


def assert_same_run(path: Path, straight) -> None:
    run = SingleRun(path)
    assert run.status == "complete" and run.history["epochs"] == [1, 2, 3]
    for key in ("loss", "acc", "val_loss", "val_acc"):
        np.testing.assert_allclose(run.history[key], straight.history[key], rtol=1e-5, err_msg=key)
    assert run.best_epoch == straight.best_epoch
    metrics = run.metrics
    assert metrics is not None and metrics["accuracy"] == pytest.approx(straight.metrics["accuracy"])
    assert len((path / "history.csv").read_text().splitlines()) == 4
    assert not (path / "checkpoint").exists() and hidden(path) == []


# ----------------------------------------------------------------------------------- kinds
def test_open_run_decides_the_kind(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "config.json").write_text('{"format": "textrnn.run", "format_version": 1}')
    (tmp_path / "many").mkdir()
    config = {
        "format": "textrnn.ensemble",
        "format_version": 1,
        "members": [{"path": "members/1", "seed": 1}],
    }
    (tmp_path / "many" / "config.json").write_text(json.dumps(config))
    single, ensemble = open_run(tmp_path / "one"), open_run(tmp_path / "many")
    assert isinstance(single, SingleRun) and single.kind == "run" and single.status == "running"
    assert isinstance(ensemble, EnsembleRun) and ensemble.kind == "ensemble" and ensemble.status == "running"
    assert ensemble.member_paths == [tmp_path / "many" / "members" / "1"] and ensemble.members() == []
    with pytest.raises(RunFolderError, match="has not finished training all its members"):
        ensemble.model_dirs()
    with pytest.raises(RunFolderError, match="is an ensemble"):
        RunFolder(tmp_path / "many")
    with pytest.raises(RunFolderError, match="not a textrnn run: it has no config.json"):
        open_run(tmp_path)


@pytest.mark.parametrize("member", ["/etc", "../elsewhere", "members/../../x", ""])
def test_an_ensemble_member_outside_the_folder_is_refused(tmp_path, member):
    # issue 14 item 9: a crafted config must not point a reader anywhere on the disk
    config = {"format": "textrnn.ensemble", "format_version": 1, "members": [{"path": member, "seed": 1}]}
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(RunFolderError, match="not a folder inside the ensemble"):
        open_run(tmp_path)


@pytest.mark.parametrize(
    ("fmt", "version"), [("textrnn.run", 2), ("textrnn.run", "1"), ("textrnn.ensemble", 2)]
)
def test_format_version_is_honoured(tmp_path, fmt, version):
    (tmp_path / "config.json").write_text(
        json.dumps({"format": fmt, "format_version": version, "members": []})
    )
    with pytest.raises(RunFolderError, match="format.version|Upgrade textrnn"):
        open_run(tmp_path)


# ----------------------------------------------------------------------------------- kills
def test_a_kill_between_checkpoint_and_history_neither_skips_nor_repeats_an_epoch(
    tmp_path, options, straight
):
    out = tmp_path / "run"
    kill_at("checkpoint", 2, options, out)
    run = SingleRun(out)
    assert run.history["epochs"] == [1] and run.checkpoint_epoch() == 2  # history one behind its checkpoint
    assert len(textrnn.load(out).predict(["great"])) == 1
    resume(out, verbose=0)
    assert_same_run(out, straight)


def test_a_kill_before_the_history_is_written(tmp_path, options, straight):
    out = tmp_path / "run"
    kill_at("history", 3, options, out)  # epoch 3's checkpoint and model in place, not its history
    resume(out, verbose=0)
    assert_same_run(out, straight)


def test_a_kill_in_the_middle_of_a_model_swap_is_recovered(tmp_path, options, straight):
    out = tmp_path / "run"
    assert straight.history["best_epoch"] == 3  # epochs 2 and 3 each swapped a new model/ in
    kill_at("model-swap", 1, options, out)
    assert not (out / "model").exists() and any(n.startswith(".model.old-") for n in hidden(out))
    run = SingleRun(out)
    assert run.model_dir.name.startswith(".model.old-")
    assert len(textrnn.load(out).predict(["great", "awful"])) == 2  # readers use the previous model
    resume(out, verbose=0)
    assert_same_run(out, straight)
    assert (out / "model" / "config.json").is_file()


def test_a_kill_in_the_first_epoch_leaves_a_hidden_folder_the_next_run_removes(tmp_path, options):
    out = tmp_path / "runs" / "x"
    kill_at("checkpoint", 1, options, out)
    assert not out.exists()
    [stale] = [p for p in (tmp_path / "runs").iterdir()]
    assert stale.name.startswith(".x.incomplete-")
    live = tmp_path / "runs" / ".y.incomplete-0123abcd"  # a run another process is training
    live.mkdir()
    with FolderLock.try_acquire(live) as lock:
        assert lock is not None and FolderLock.try_acquire(live) is None
        train(dataclasses.replace(options, epochs=1), out, verbose=0)
        assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [live.name, "x"]
    assert hidden(out) == []


def test_resume_cleans_stale_temporary_files_and_refuses_a_run_in_training(tmp_path, options, straight):
    out = tmp_path / "run"
    kill_at("checkpoint", 2, options, out)
    junk = [
        out / ".history.json.abcd1234.tmp",
        out / ".model.tmp-0badf00d",
        out / "checkpoint" / ".state.json.x.tmp",
    ]
    junk[0].write_text("{")
    junk[1].mkdir()
    junk[2].write_text("{")
    (out / "checkpoint" / "epoch-0001.safetensors").write_bytes(b"old")
    with FolderLock.try_acquire(out):
        with pytest.raises(RunFolderError, match="being trained by another process"):
            resume(out, verbose=0)
    resume(out, verbose=0)
    assert_same_run(out, straight)


# ----------------------------------------------------------------------------------- --out
def test_out_that_is_a_file_is_a_clear_error(tmp_path, options):
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    with pytest.raises(RunFolderError, match="is a file, not a folder") as info:
        train(options, taken, verbose=0)
    assert "--resume" not in str(info.value) and taken.read_text() == "mine"


def test_a_target_that_appears_during_the_first_epoch(tmp_path, options):
    out = tmp_path / "race"

    class Rival(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            out.mkdir(exist_ok=True)
            (out / "theirs.txt").write_text("theirs")

    with pytest.raises(RunFolderError) as info:
        train(dataclasses.replace(options, epochs=1), out, verbose=0, callbacks=[Rival()])
    message = str(info.value)
    assert f"`{out}` was created by something else" in message and "discarded" in message
    assert ".incomplete-" not in message  # it names no folder it then deletes
    assert (
        sorted(p.name for p in tmp_path.iterdir()) == ["race"]
        and (out / "theirs.txt").read_text() == "theirs"
    )


def test_every_file_gets_the_umask_mode(straight):
    expected = 0o666 & ~_umask()
    for path in Path(straight.path).rglob("*"):
        if path.is_file():
            assert path.stat().st_mode & 0o777 == expected, path


def test_the_checkpoint_gets_the_umask_mode(tmp_path, options):
    out = tmp_path / "run"
    kill_at("checkpoint", 1, dataclasses.replace(options, epochs=2), out)
    [folder] = list(tmp_path.iterdir())
    for path in (folder / "checkpoint").iterdir():
        assert path.stat().st_mode & 0o777 == 0o666 & ~_umask(), path
    shutil.rmtree(folder)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_kill_after_early_stopping_resumes_without_training_on(tmp_path, options):
    stopping = dataclasses.replace(options, monitor="val_loss", early_stopping=1, epochs=5)
    straight = train(stopping, tmp_path / "straight", verbose=0)
    assert straight.stop_reason == "early_stopping" and straight.epochs_done < 5
    out = tmp_path / "run"
    kill_at("checkpoint", straight.epochs_done, stopping, out)  # the epoch that stopped it
    resumed = resume(out, verbose=0)
    assert resumed.stop_reason == "early_stopping" and resumed.history["epochs"] == straight.history["epochs"]
    np.testing.assert_allclose(resumed.history["val_loss"], straight.history["val_loss"], rtol=1e-5)
    assert resumed.best_epoch == straight.best_epoch
    assert resumed.metrics is not None and straight.metrics is not None
    assert resumed.metrics["accuracy"] == pytest.approx(straight.metrics["accuracy"])
