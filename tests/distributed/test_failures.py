"""A job whose process dies ends at once with one line naming it, and `--resume` continues it.

Every job here is bounded by a timeout: a hang fails the test instead of stalling the suite.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import JOB_TIMEOUT, TINY_RUN, history, textrnn

import textrnn.distributed as distributed
from textrnn.runs import TrainOptions

sys.path.insert(0, str(Path(__file__).parent))
import dist_workers  # noqa: E402

linux_only = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")


def _children(pid: int) -> dict[int, int]:
    """`{rank: pid}` of the workers of launcher `pid`, read from /proc."""
    found = {}
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            env = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for item in env:
            if item.startswith(b"RANK="):
                found[int(item[5:])] = int(child)
    return found


@linux_only
@pytest.mark.parametrize("rank", [1, 0])
def test_killed_rank_ends_the_job_with_one_line_and_resume_finishes_it(tmp_path, toy_csv, rank):
    out = tmp_path / "run"
    args = ["train", "--data", str(toy_csv), *TINY_RUN, "--epochs", "12", "--preset", "tutorial"]
    job = subprocess.Popen(
        [sys.executable, "-m", "textrnn", *args, "--nproc", "2", "--verbose", "0",
         "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + JOB_TIMEOUT
        while not (out / "checkpoint" / "state.json").exists():  # the first epoch is committed
            assert job.poll() is None, job.communicate()
            assert time.monotonic() < deadline, "the job did not finish an epoch in time"
            time.sleep(0.01)
        workers = _children(job.pid)
        victim, other = workers[rank], workers[1 - rank]
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        stdout, stderr = job.communicate(timeout=60)  # a hang fails here
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
    assert time.monotonic() - killed_at < 30
    assert job.returncode == 1
    lines = stderr.strip().splitlines()
    assert lines == [
        f"Error: rank {rank} of 2 (pid {victim}) was killed by SIGKILL; stopped the other process."
    ], stderr
    assert "Traceback" not in stdout + stderr
    assert not Path(f"/proc/{other}").exists()  # the launcher stopped the other rank and reaped it

    done = history(out)
    assert done["status"] != "complete"
    resumed = textrnn("train", "--resume", str(out), "--verbose", "0")
    assert resumed.returncode == 0, resumed.stderr
    h = history(out)
    assert h["status"] == "complete" and h["epochs"] == list(range(1, 13))
    # the resumed job is the uninterrupted one: a single process gives the same figures
    single = textrnn(*args, "--verbose", "0", "--out", str(tmp_path / "one"))
    assert single.returncode == 0, single.stderr
    for key in ("loss", "val_loss", "val_acc"):
        assert h[key] == pytest.approx(history(tmp_path / "one")[key], rel=1e-5, abs=1e-6), key


def test_a_failing_rank_is_named_and_the_waiting_one_stopped():
    start = time.monotonic()
    with pytest.raises(distributed.DistributedError) as e:
        distributed.spawn(dist_workers.fail_on, 2, [1, 3], timeout=JOB_TIMEOUT)
    assert time.monotonic() - start < JOB_TIMEOUT
    message = str(e.value)
    assert message.startswith("rank 1 of 2 (pid ") and "exited with code 3" in message
    assert "\n" not in message


def test_init_outside_a_job_says_how_to_start_one(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert distributed.current() is None and distributed.world_size() == 1
    with pytest.raises(distributed.DistributedError, match="torchrun"):
        distributed.init()


def test_strategy_outside_a_job_changes_nothing():
    from textrnn.layers import Dense
    from textrnn.models import Sequential

    model = Sequential([Dense(1)])
    with distributed.strategy(model) as ddp:
        assert ddp is None and model.distribution is None


def test_nproc_and_its_checks():
    assert TrainOptions().nproc == 1
    with pytest.raises(ValueError, match="--nproc"):
        TrainOptions(nproc=0)
    with pytest.raises(ValueError, match="ensemble"):
        TrainOptions(nproc=2, ensemble=3)
    assert "--nproc 2" in TrainOptions(nproc=2, seed=1).command_line()


def test_callbacks_cannot_cross_into_workers(tmp_path, toy_csv):
    from textrnn.callbacks import Callback
    from textrnn.runs import train

    options = TrainOptions(data=str(toy_csv), nproc=2, epochs=1, seed=1)
    with pytest.raises(ValueError, match="distributed.strategy"):
        train(options, tmp_path / "r", callbacks=[Callback()], verbose=0)
    assert not (tmp_path / "r").exists()


def test_threads_per_process():
    assert distributed.threads_per_process(2, cores=2) == 1
    assert distributed.threads_per_process(3, cores=16) == 5
    assert distributed.threads_per_process(8, cores=4) == 1


def test_worker_env_is_torchruns():
    from textrnn.distributed.launch import worker_env

    env = worker_env(1, 2, 12345, base={})
    assert (env["RANK"], env["WORLD_SIZE"], env["LOCAL_RANK"], env["MASTER_PORT"]) == ("1", "2", "1", "12345")
    assert env["MASTER_ADDR"] == "127.0.0.1" and env["OMP_NUM_THREADS"].isdigit()
