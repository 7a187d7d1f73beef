"""Crash-test harness: run `python -m textrnn train` in a subprocess and SIGKILL it at named points.

A point is what `textrnn.fileio.fault_point` matches (`$TEXTRNN_FAULT`): `WHEN:NAME[@N]`, e.g.
`after:history.json@2` (the second time history.json has been replaced). `random:SECONDS` kills
from outside after a delay instead. Everything runs on the CPU with PyTorch's kernels and a fixed
seed, so a resumed run can be compared exactly with an uninterrupted one.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from safetensors.torch import load_file

from textrnn.data.toy import toy_texts, write_toy_csv
from textrnn.fileio import read_json

ROOT = Path(__file__).resolve().parents[2]
# The tiny model of every reliability test, and how long to train it.
TINY = ["--units", "4", "--embedding-dim", "4", "--maxlen", "12", "--num-words", "100"]
TINY += ["--batch-size", "32"]
TINY += ["--no-linear"]  # a single run folder (the default recipe's linear model makes an ensemble)
TRAIN = [
    *TINY,
    "--seed",
    "5",
    "--epochs",
    "3",
    "--learning-rate",
    "0.01",
    "--monitor",
    "loss",
]  # the training loss falls every epoch: every epoch saves model/


def env(fault: str | None = None) -> dict[str, str]:
    out = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TEXTRNN_KERNELS": "torch",
        "OMP_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "",
    }
    out.pop("TEXTRNN_FAULT", None)
    if fault:
        out["TEXTRNN_FAULT"] = fault
    return out


def make_data(folder: Path) -> Path:
    texts, labels = toy_texts(60, seed=2)
    return write_toy_csv(folder / "reviews.csv", texts, labels)


def train(
    data: Path, out: Path, *, fault: str | None = None, resume: bool = False, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """One `textrnn train` (or `--resume`); with `fault`, expected to die by SIGKILL there."""
    args = ["--resume", str(out)] if resume else ["--data", str(data), *TRAIN, "--out", str(out)]
    cmd = [sys.executable, "-m", "textrnn", "train", *args]
    if fault and fault.startswith("random:"):
        proc = subprocess.Popen(cmd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(float(fault.split(":", 1)[1]))
        proc.send_signal(signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    return subprocess.run(cmd, env=env(fault), capture_output=True, text=True, timeout=timeout)


def outcome(run: Path) -> tuple[dict, dict]:
    """(history without timings, the final model's tensors) of a finished run."""
    history = read_json(run / "history.json")
    history.pop("seconds", None)
    return history, load_file(str(run / "model" / "model.safetensors"))


def kill_and_resume(data: Path, out: Path, fault: str) -> tuple[bool, subprocess.CompletedProcess[str]]:
    """Kill a run at `fault`, then resume until it finishes; (was it killed, the last process).

    A kill after the last write of a finished run leaves nothing to resume: `--resume` then says
    "already complete (3 of 3 epochs)" and exits 1, which counts as success here (the caller still
    compares the folder with an uninterrupted run).
    """
    first = train(data, out, fault=fault)
    killed = first.returncode == -signal.SIGKILL
    if not killed:
        return False, first
    if not (out / "config.json").exists():  # killed before the run folder was published
        return True, train(data, out)
    last = train(data, out, resume=True)
    if last.returncode == 1 and re.search(r"already complete \((\d+) of \1 epochs\)", last.stderr):
        last = subprocess.CompletedProcess(last.args, 0, last.stdout, last.stderr)
    return True, last
