"""Helpers for the distributed tests: each starts its own processes on 127.0.0.1 and stops them.

The machine may have only 2 cores, so the models are tiny and every job has 2 processes.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from textrnn.data.toy import toy_texts, write_toy_csv

#: seconds any one job of these tests may take before it is stopped (and the test fails)
JOB_TIMEOUT = 180

#: a tiny run: 192 training texts (160 train / 32 validation), no dropout
TINY_RUN = [
    "--units", "8", "--embedding-dim", "8", "--maxlen", "20", "--num-words", "200",
    "--batch-size", "16", "--seed", "4", "--mask-zero", "--bucket-by-length",
]  # fmt: skip


@pytest.fixture(scope="session")
def toy_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    texts, labels = toy_texts(120, seed=1)
    return write_toy_csv(tmp_path_factory.mktemp("dist-data") / "toy.csv", texts, labels)


def textrnn(*args: str, timeout: float = JOB_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """`python -m textrnn ARGS`, its output captured; fails the test if it outlives `timeout`."""
    return subprocess.run(
        [sys.executable, "-m", "textrnn", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def history(run: Path) -> dict:
    return json.loads((run / "history.json").read_text(encoding="utf-8"))
