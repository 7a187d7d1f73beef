"""The process group of a data-parallel job: who this process is, and the few collectives used.

A worker learns its place from the environment that `torchrun` (or `textrnn train --nproc N`,
or `textrnn.distributed.spawn`) sets: `RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `LOCAL_WORLD_SIZE`,
`MASTER_ADDR` and `MASTER_PORT`. The group uses gloo on CPUs and NCCL on GPUs, with a timeout
(`TEXTRNN_DIST_TIMEOUT` seconds, default 600) on every collective, so a process whose peer hangs
gives up instead of waiting forever; a peer that dies closes its connections, which ends the
survivors' collectives at once.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

import torch
import torch.distributed as dist

from textrnn.errors import TextRNNError

DEFAULT_TIMEOUT_S = 600.0
_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


class DistributedError(TextRNNError, RuntimeError):
    """A data-parallel job could not start, or one of its processes failed."""


@dataclass(frozen=True)
class Group:
    """This process's place in an initialised process group.

    Attributes:
        rank: this process's rank, 0 to `world_size - 1`; rank 0 is the main process.
        world_size: the number of processes.
        local_rank: the rank among the processes on this machine (its GPU, with CUDA).
        local_world_size: the processes on this machine.
        backend: `gloo` or `nccl`.
        device: where this process computes (`cpu`, or `cuda:LOCAL_RANK`).
    """

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    backend: str
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def share(self, value: Any) -> Any:
        """Rank 0's `value` on every rank (a small Python object, sent by `broadcast_object_list`
        between the job's own processes)."""
        box = [value if self.rank == 0 else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """The element-wise sum of `values` over the ranks (float64 on the CPU, or the device)."""
        out = values.detach().to(self.device, torch.float64).clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out.cpu()

    def any(self, flag: bool) -> bool:
        """Whether `flag` is True on any rank."""
        return bool(self.sum(torch.tensor([1.0 if flag else 0.0]))[0] > 0)


_group: Group | None = None


def launched() -> bool:
    """Whether this process was started as a worker of a job of more than one process."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        return False


def _env_int(name: str, default: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        if default is None:
            raise DistributedError(
                f"`{name}` is not set: start the workers with `torchrun` or "
                "`textrnn train --nproc N`, which set RANK, WORLD_SIZE, MASTER_ADDR and "
                "MASTER_PORT."
            )
        return default
    try:
        return int(raw)
    except ValueError:
        raise DistributedError(f"`{name}` must be an integer, got {raw!r}.") from None


def threads_per_process(local_world_size: int, cores: int | None = None) -> int:
    """OpenMP threads for each of `local_world_size` processes on `cores` cores: max(1, C // N)."""
    cores = cores if cores is not None else (os.cpu_count() or 1)
    return max(1, cores // max(1, local_world_size))


def timeout_seconds() -> float:
    raw = os.environ.get("TEXTRNN_DIST_TIMEOUT", "")
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        raise DistributedError(f"TEXTRNN_DIST_TIMEOUT must be a number of seconds, got {raw!r}.") from None
    if value <= 0:
        raise DistributedError(f"TEXTRNN_DIST_TIMEOUT must be positive, got {raw!r}.")
    return value


def init(backend: str | None = None) -> Group:
    """Join the process group described by the environment (once; later calls return it).

    Sets this process's threads to max(1, cores // LOCAL_WORLD_SIZE) (`TEXTRNN_THREADS`
    overrides), and with CUDA its GPU to `LOCAL_RANK`.

    Args:
        backend: `gloo` or `nccl`; default NCCL when CUDA is available, else gloo.

    Raises:
        DistributedError: if the environment does not describe a job, or joining fails.
    """
    global _group
    if _group is not None:
        return _group
    missing = [name for name in _ENV if name not in os.environ]
    if missing:
        raise DistributedError(
            f"{', '.join(missing)} not set: start the workers with `torchrun` or `textrnn train --nproc N`."
        )
    rank, world = _env_int("RANK"), _env_int("WORLD_SIZE")
    local_rank = _env_int("LOCAL_RANK", 0)
    local_world = _env_int("LOCAL_WORLD_SIZE", world)
    cuda = torch.cuda.is_available()
    backend = backend or ("nccl" if cuda else "gloo")
    if backend not in ("gloo", "nccl"):
        raise DistributedError(f"Expected backend `gloo` or `nccl`, got {backend!r}.")
    threads = _env_int("TEXTRNN_THREADS", threads_per_process(local_world))
    torch.set_num_threads(max(1, threads))
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if not dist.is_initialized():
        try:
            dist.init_process_group(
                backend, rank=rank, world_size=world,
                timeout=timedelta(seconds=timeout_seconds()),
            )  # fmt: skip
        except (RuntimeError, ValueError) as e:
            raise DistributedError(
                f"Rank {rank} could not join the job at {os.environ['MASTER_ADDR']}:"
                f"{os.environ['MASTER_PORT']}: {' '.join(str(e).split())}"
            ) from None
    _group = Group(rank, world, local_rank, local_world, backend, device)
    return _group


def current() -> Group | None:
    """The group this process has joined; a worker launched with WORLD_SIZE > 1 joins it here on
    first use. None for a plain single process."""
    if _group is None and launched():
        return init()
    return _group


def finish() -> NoReturn:
    """End a worker whose job finished: wait until every rank is done, then leave at once.

    The interpreter's teardown is skipped on purpose: gloo's threads can abort it ("terminate
    called without an active exception", about 1 run in 10 here), which a launcher would report as
    a failed rank although every rank finished.
    """
    if dist.is_initialized():
        try:
            dist.barrier()
        except RuntimeError:  # another rank has gone already; the launcher decides what happened
            pass
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def shutdown() -> None:
    """Leave the process group (at the end of a worker)."""
    global _group
    if dist.is_initialized():
        dist.destroy_process_group()
    _group = None


__all__ = [
    "DistributedError",
    "Group",
    "current",
    "finish",
    "init",
    "launched",
    "shutdown",
    "threads_per_process",
]
