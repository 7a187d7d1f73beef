"""Data-parallel training over several processes and machines, on `torch.distributed`.

From the command line, `textrnn train --nproc N` starts N processes on this machine, and
`torchrun --nnodes M --nproc-per-node N -m textrnn train ...` runs across machines (see
docs/distributed.md). From Python, a script run by `torchrun` (or started N times by
`textrnn.distributed.spawn`) trains its model with every process's share of each batch:

    import textrnn.distributed as distributed

    def main():
        model = ...                                  # the same model on every rank
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
        with distributed.strategy(model) as ddp:     # DistributedDataParallel over the job
            model.fit(x, y, batch_size=128, epochs=3, validation_split=0.2)
        if distributed.is_main():                    # rank 0 alone writes files
            model.save("model")

    if __name__ == "__main__":
        distributed.spawn(main, nproc=2)             # or: torchrun --nproc-per-node 2 script.py

Inside `strategy`, `fit` trains on this rank's slice of every global batch (the batch plan of
one process, length bucketing kept) with gradients averaged by DistributedDataParallel (gloo on
CPUs, NCCL on GPUs), shows progress on rank 0 only, and returns the same history on every rank:
the same figures as one process with that global batch, within float rounding. Outside a job
(WORLD_SIZE unset), `strategy` does nothing, so the script also runs as one process.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from textrnn.distributed.group import (
    DistributedError,
    Group,
    current,
    init,
    launched,
    shutdown,
    threads_per_process,
)
from textrnn.distributed.launch import run_workers
from textrnn.distributed.strategy import DataParallel


def rank() -> int:
    """This process's rank in the job (0 outside one)."""
    group = current()
    return group.rank if group is not None else 0


def world_size() -> int:
    """The number of processes in the job (1 outside one)."""
    group = current()
    return group.world_size if group is not None else 1


def is_main() -> bool:
    """Whether this is rank 0 (or a single process): the one that writes files and prints."""
    return rank() == 0


@contextlib.contextmanager
def strategy(model: Any, group: Group | None = None) -> Iterator[DataParallel | None]:
    """Train `model` data-parallel over the job inside the `with` block.

    Joins the job described by the environment (torchrun's RANK, WORLD_SIZE, MASTER_ADDR,
    MASTER_PORT) if this process has not yet, and attaches a `DataParallel` as
    `model.distribution`, which `fit` uses; it is removed at the end of the block. Outside a
    job it yields None and changes nothing.

    Args:
        model: a compiled textrnn model (the same architecture and seed on every rank; rank 0's
            weights are broadcast to the others when training starts).
        group: a joined group; default `textrnn.distributed.current()`.

    Example:
        >>> with textrnn.distributed.strategy(model):
        ...     history = model.fit(x_train, y_train, batch_size=128, epochs=2)
    """
    group = group if group is not None else current()
    if group is None or group.world_size == 1:
        yield None
        return
    if getattr(model, "distribution", None) is not None:
        raise ValueError(f"Model `{model.name}` is already inside `distributed.strategy`.")
    ddp = DataParallel(model, group)
    model.distribution = ddp
    try:
        yield ddp
    finally:
        model.distribution = None
        ddp.close()


def _target(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", "")
    if not module or not name or "<" in name:
        raise TypeError(
            f"`spawn` runs a top-level function of a module or script, got {fn!r}; define it "
            "with `def` at the top level."
        )
    path = getattr(sys.modules.get(module), "__file__", None)
    if module == "__main__" and path is None:
        raise TypeError("`spawn` cannot start a function defined in an interactive session.")
    if "." not in module and path is not None:
        # a script, or a top-level module found through this process's sys.path: by its file
        return f"{os.path.abspath(path)}:{name}"
    return f"{module}:{name}"


def spawn(
    fn: Callable[..., Any],
    nproc: int,
    args: Sequence[Any] = (),
    *,
    timeout: float | None = None,
) -> None:
    """Run `fn(*args)` in `nproc` processes on this machine, as one job on 127.0.0.1.

    Each process gets torchrun's environment (so `strategy` joins the job) and max(1,
    cores // nproc) threads. When one fails the others are stopped and `DistributedError`
    names it.

    Args:
        fn: a top-level function of a package module, or of a script or top-level module
            (loaded by its file, so it must start the job under `if __name__ == "__main__":`).
        nproc: the number of processes.
        args: JSON-serialisable arguments for `fn`.
        timeout: stop the job after this many seconds; default none.

    Raises:
        DistributedError: if a process fails (one line, naming its rank).
    """
    from textrnn import checks

    nproc = checks.positive_int("nproc", nproc)
    payload = json.dumps(list(args))
    command = [sys.executable, "-m", "textrnn.distributed", _target(fn), payload]
    run_workers([command] * nproc, timeout=timeout)


__all__ = [
    "DataParallel",
    "DistributedError",
    "Group",
    "current",
    "init",
    "is_main",
    "launched",
    "rank",
    "run_workers",
    "shutdown",
    "spawn",
    "strategy",
    "threads_per_process",
    "world_size",
]
