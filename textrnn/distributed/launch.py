"""Starting N worker processes on this machine, watching them, and stopping them together.

`run_workers(commands, ...)` starts one process per rank with the environment `torchrun` would
give it (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1, a free
MASTER_PORT, OMP_NUM_THREADS = max(1, cores // N)), then polls them. When one ends with an error
(or is killed), the others are stopped at once (SIGTERM, then SIGKILL after a grace period) and
`DistributedError` names the rank that failed first: one line, no hang. On Linux each worker is
also told to die with its launcher (`PR_SET_PDEATHSIG`), so a killed launcher leaves nothing
behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence

from textrnn.distributed.group import DistributedError, threads_per_process

POLL_S = 0.05
GRACE_S = 5.0
#: set in the workers this launcher starts (so a worker that loses its job leaves the report to it)
LAUNCHER_ENV = "TEXTRNN_LAUNCHER"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` right now (for MASTER_PORT)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def worker_env(rank: int, nproc: int, port: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of local worker `rank` of `nproc` (torchrun's variables)."""
    env = dict(os.environ if base is None else base)
    threads = str(threads_per_process(nproc))
    env.update({
        "RANK": str(rank), "WORLD_SIZE": str(nproc), "LOCAL_RANK": str(rank),
        "LOCAL_WORLD_SIZE": str(nproc), "GROUP_RANK": "0",
        "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
        "OMP_NUM_THREADS": env.get("OMP_NUM_THREADS", threads),
        LAUNCHER_ENV: "textrnn",  # the launcher reports a failure; its workers stay quiet
    })  # fmt: skip
    return env


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def describe_exit(code: int) -> str:
    """`exited with code 3`, or `was killed by SIGKILL` for a negative (signal) return code."""
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _stop(procs: Sequence[subprocess.Popen[bytes]], grace: float) -> None:
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(OSError):
                p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                p.kill()
            p.wait()


def run_workers(
    commands: Sequence[Sequence[str]],
    *,
    timeout: float | None = None,
    grace: float = GRACE_S,
) -> None:
    """Run one command per rank (rank = its index) as a local data-parallel job, until all end.

    Args:
        commands: each rank's argv (usually the same `python -m textrnn ...` for all).
        timeout: seconds after which the whole job is stopped; default none.
        grace: seconds the others get between SIGTERM and SIGKILL once one has failed.

    Raises:
        DistributedError: one line naming the first rank that failed and how (the others
            are stopped first).
        KeyboardInterrupt: Ctrl-C (the workers get it too; they are given `grace` seconds).
    """
    nproc = len(commands)
    port = free_port()
    procs: list[subprocess.Popen[bytes]] = []
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    try:
        for rank, argv in enumerate(commands):
            procs.append(subprocess.Popen(list(argv), env=worker_env(rank, nproc, port), preexec_fn=preexec))
        start = time.monotonic()
        while True:
            codes = [p.poll() for p in procs]
            failed = [r for r, c in enumerate(codes) if c is not None and c != 0]
            if failed:
                # of ranks found dead together, name one killed by a signal first: the others
                # usually fail because it went away
                first = min(failed, key=lambda r: (int(codes[r] or 0) > 0, r))
                _stop(procs, grace)
                others = "the other process" if nproc == 2 else f"the other {nproc - 1} processes"
                raise DistributedError(
                    f"rank {first} of {nproc} (pid {procs[first].pid}) "
                    f"{describe_exit(int(codes[first] or 0))}; stopped {others}."
                )
            if all(c == 0 for c in codes):
                return
            if timeout is not None and time.monotonic() - start > timeout:
                _stop(procs, grace)
                raise DistributedError(
                    f"the {nproc} workers did not finish within {timeout:g} s; stopped them all."
                )
            time.sleep(POLL_S)
    except BaseException:
        _stop(procs, grace)
        raise


def python_command(*args: str) -> list[str]:
    """`python -m textrnn ARGS` with this interpreter."""
    return [sys.executable, "-m", "textrnn", *args]


__all__ = ["describe_exit", "free_port", "python_command", "run_workers", "worker_env"]
