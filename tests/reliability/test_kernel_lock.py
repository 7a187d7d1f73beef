"""A kill during the first kernel build must not hang later commands (issue 14 item 1).

The compile step itself is replaced by a stub in the child process, so the test runs in seconds;
PyTorch's `cpp_extension.load` (and its FileBaton lock) runs for real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from textrnn.kernels import _build

pytestmark = pytest.mark.skipif(_build.compiler_missing() is not None, reason="no C++ toolchain")

CHILD = textwrap.dedent(
    """
    import json, sys
    from torch.utils import cpp_extension
    from textrnn.kernels import _build

    def no_compile(*args, **kwargs):
        raise RuntimeError("compile skipped in this test")

    cpp_extension._write_ninja_file_and_build_library = no_compile
    result = _build.load_extension()
    print(json.dumps({"error": result.error}))
    """
)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def first_folder(home: Path) -> Path:
    cflags, ldflags = _build.flag_attempts()[0]
    os.environ["TEXTRNN_HOME"] = str(home)
    try:
        return _build.cache_root() / _build.build_key(cflags, ldflags)
    finally:
        del os.environ["TEXTRNN_HOME"]


def run_child(home: Path, timeout: float = 120, **env: str):
    full = {**os.environ, "TEXTRNN_HOME": str(home), "PYTHONPATH": os.getcwd(), **env}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD], env=full, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


@pytest.mark.parametrize("ours", [False, True])
def test_a_stale_lock_left_by_a_killed_build_does_not_hang(tmp_path, ours):
    folder = first_folder(tmp_path)
    folder.mkdir(parents=True)
    (folder / "lock").write_text("")  # what PyTorch's FileBaton leaves when its process is killed
    if ours:
        (folder / "build.lock").write_text(f"{dead_pid()}@{_build.socket.gethostname()}")
    result, _ = run_child(tmp_path, timeout=60)  # before the fix: FileBaton.wait, forever
    assert "compile skipped in this test" in result["error"]
    assert not (folder / "lock").exists() and not (folder / "build.lock").exists()


def test_a_live_builder_is_waited_for_a_bounded_time(tmp_path):
    folder = first_folder(tmp_path)
    folder.mkdir(parents=True)
    (folder / "build.lock").write_text(f"{os.getpid()}@{_build.socket.gethostname()}")  # alive
    result, _ = run_child(tmp_path, timeout=60, TEXTRNN_KERNEL_LOCK_TIMEOUT="1")
    assert "another process has been building the kernels" in result["error"]
    assert str(folder / "build.lock") in result["error"]
    assert (folder / "build.lock").exists()  # a live builder's lock is left alone
