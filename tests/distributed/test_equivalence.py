"""Two CPU processes on gloo train exactly what one process does with the same global batch.

Each test starts its own 2-process job on 127.0.0.1 (`spawn`, `textrnn train --nproc 2`,
`torchrun`) and compares it with the same training in one process: histories within float
rounding (the gradient is averaged over differently sized matrix products).
"""

import json
import sys
from pathlib import Path

import pytest
from conftest import JOB_TIMEOUT, TINY_RUN, history, textrnn

import textrnn.distributed as distributed

sys.path.insert(0, str(Path(__file__).parent))
import dist_workers  # noqa: E402

TOL = {"rel": 1e-5, "abs": 1e-6}


def _close(a: dict, b: dict, keys=("loss", "acc", "val_loss", "val_acc")) -> None:
    for key in keys:
        assert a[key] == pytest.approx(b[key], **TOL), key


@pytest.mark.parametrize(
    "batch_size,bucket,rnn",
    [
        (16, True, "lstm"),  # 168 training rows: a last batch of 8, shared 4 + 4
        (167, False, "gru"),  # a last batch of one row: rank 0's slice of it is empty
    ],
)
def test_spawned_job_matches_one_process(tmp_path, batch_size, bucket, rnn):
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    dist_workers.fit_history(str(one), batch_size, bucket, rnn)
    distributed.spawn(dist_workers.fit_history, 2, [str(two), batch_size, bucket, rnn],
                      timeout=JOB_TIMEOUT)  # fmt: skip
    a, b = json.loads(one.read_text()), json.loads(two.read_text())
    assert (a["world_size"], b["world_size"]) == (1, 2)
    _close(a["history"], b["history"])
    assert a["weights"] == pytest.approx(b["weights"], rel=1e-5)


def test_cli_nproc_2_matches_one_process(tmp_path, toy_csv):
    # The tutorial's model has no dropout: dropout masks are drawn per rank, so a model with
    # dropout (the `fast` preset, `--preset auto`) matches one process in distribution only.
    args = ["train", "--data", str(toy_csv), *TINY_RUN, "--epochs", "3", "--verbose", "2"]
    args += ["--preset", "tutorial"]
    single = textrnn(*args, "--out", str(tmp_path / "one"))
    assert single.returncode == 0, single.stderr
    job = textrnn(*args, "--nproc", "2", "--out", str(tmp_path / "two"))
    assert job.returncode == 0, job.stderr
    _close(history(tmp_path / "one"), history(tmp_path / "two"))
    m1 = json.loads((tmp_path / "one" / "metrics.json").read_text())
    m2 = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert m1["accuracy"] == pytest.approx(m2["accuracy"], abs=1e-9)
    # rank 0 alone reports and writes: one line per epoch, one run folder, nothing hidden left
    assert job.stdout.count("Epoch 1/3") == 1 and job.stdout.count("Run folder:") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "two"]
    config = json.loads((tmp_path / "two" / "config.json").read_text())
    assert config["device"] == "cpu × 2 processes (gloo)"
    assert "--nproc 2" in config["reproduce"]


def test_cli_nproc_2_on_streamed_data_matches_one_process(tmp_path, toy_csv):
    # streamed: labels memory-mapped, epochs planned window by window (rank 0 sends the seed)
    args = ["train", "--data", str(toy_csv), "--stream", "on", *TINY_RUN, "--epochs", "2"]
    args += ["--preset", "tutorial", "--verbose", "0", "--bucket-by-length"]
    single = textrnn(*args, "--out", str(tmp_path / "one"))
    assert single.returncode == 0, single.stderr
    job = textrnn(*args, "--nproc", "2", "--out", str(tmp_path / "two"))
    assert job.returncode == 0, job.stderr
    assert json.loads((tmp_path / "two" / "config.json").read_text())["data"]["kind"] == "stream"
    _close(history(tmp_path / "one"), history(tmp_path / "two"))


def test_torchrun_workers_share_rank_0s_seed_and_folder(tmp_path, toy_csv):
    pytest.importorskip("torch.distributed.run")
    from textrnn.distributed.launch import free_port

    args = [*TINY_RUN, "--preset", "tutorial"]  # no dropout: see test_cli_nproc_2_matches_one_process
    del args[args.index("--seed") : args.index("--seed") + 2]  # each rank would draw its own
    run = subprocess_torchrun(
        free_port(), "train", "--data", str(toy_csv), *args, "--epochs", "2", "--verbose", "0",
        "--out", str(tmp_path / "tr"),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    config = json.loads((tmp_path / "tr" / "config.json").read_text())
    seed = config["options"]["seed"]
    single = textrnn("train", "--data", str(toy_csv), *args, "--seed", str(seed), "--epochs", "2",
                     "--verbose", "0", "--out", str(tmp_path / "one"))  # fmt: skip
    assert single.returncode == 0, single.stderr
    _close(history(tmp_path / "one"), history(tmp_path / "tr"))


def subprocess_torchrun(port: int, *args: str):
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
         "--master-addr", "127.0.0.1", "--master-port", str(port), "-m", "textrnn", *args],
        capture_output=True, text=True, timeout=JOB_TIMEOUT, check=False,
    )  # fmt: skip
