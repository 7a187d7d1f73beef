"""textrnn._threads: OpenMP defaults set before torch loads, never over the user's choice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from textrnn import _threads

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("GOMP_SPINCOUNT", "KMP_BLOCKTIME", "OMP_WAIT_POLICY", "OMP_NUM_THREADS")


def _env_after_import(extra: dict[str, str], code: str = "import textrnn") -> dict[str, str | None]:
    env = {k: v for k, v in os.environ.items() if k not in NAMES}
    env.update(extra, PYTHONPATH=str(ROOT))
    show = f"; import os; print([os.environ.get(n) for n in {NAMES!r}])"
    out = subprocess.run(
        [sys.executable, "-c", code + show], env=env, capture_output=True, text=True, check=True
    )
    import ast

    return dict(zip(NAMES, ast.literal_eval(out.stdout.strip()), strict=True))


def test_short_spin_set_when_textrnn_comes_first():
    got = _env_after_import({})
    assert got["GOMP_SPINCOUNT"] == "10000"
    assert got["KMP_BLOCKTIME"] == "1"


def test_user_settings_win():
    got = _env_after_import({"GOMP_SPINCOUNT": "5"})
    assert got["GOMP_SPINCOUNT"] == "5" and got["KMP_BLOCKTIME"] == "1"
    got = _env_after_import({"OMP_WAIT_POLICY": "active"})
    assert got["GOMP_SPINCOUNT"] is None and got["KMP_BLOCKTIME"] is None


def test_nothing_set_once_torch_is_loaded():
    got = _env_after_import({}, code="import torch, textrnn")
    assert got["GOMP_SPINCOUNT"] is None


@pytest.mark.parametrize(
    "files,expected",
    [
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu.max": "150000 100000\n"}, 1.5),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2.0),
        ({}, None),
    ],
)
def test_cgroup_quota(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert _threads._cgroup_quota(tmp_path) == expected


def test_available_cpus_respects_affinity_and_quota(monkeypatch):
    monkeypatch.setattr(_threads, "_cgroup_quota", lambda: 1.2)
    assert _threads.available_cpus() == min(2, len(os.sched_getaffinity(0)))
    monkeypatch.setattr(_threads, "_cgroup_quota", lambda: None)
    assert _threads.available_cpus() == len(os.sched_getaffinity(0))
