"""Thread settings for a shared machine, chosen before PyTorch loads its OpenMP runtime.

Imported by `textrnn/__init__.py` and free of PyTorch on purpose: OpenMP reads its environment once,
when the runtime loads with `import torch`, so these defaults only take effect if textrnn is
imported first (they are left alone when torch is already loaded, and whatever the user set wins).

- Waiting. By default GNU OpenMP (PyTorch's on Linux) lets a thread that has finished its part of
  a parallel region spin for up to ~300,000 pauses (milliseconds) waiting for the next region, and
  LLVM/Intel OpenMP for 200 ms. On an idle machine that only costs power; beside another busy
  process every spinning thread takes CPU from the threads doing the work (this process's and the
  other's), and a training step of hundreds of small parallel regions spends much of its time so.
  textrnn shortens the spin to ~0.1 ms (`GOMP_SPINCOUNT=10000`, `KMP_BLOCKTIME=1`, in ms), long
  enough to catch back-to-back regions, after which a waiting thread sleeps.
- Thread count. PyTorch starts one thread per CPU in the affinity mask; a container's CPU quota
  (cgroup `cpu.max`, or `cpu.cfs_quota_us` in cgroup v1) can allow fewer, and threads beyond it
  only queue for the quota. `OMP_NUM_THREADS` is then set to the quota (rounded up).

Set `OMP_WAIT_POLICY`, `GOMP_SPINCOUNT`, `KMP_BLOCKTIME` or `OMP_NUM_THREADS` yourself to override.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

SPIN_DEFAULTS = {"GOMP_SPINCOUNT": "10000", "KMP_BLOCKTIME": "1"}

# The variables textrnn set in this process (benchmarks hand other libraries an environment
# without them).
set_by_textrnn: dict[str, str] = {}


def _cgroup_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs allowed by this process's cgroup CPU quota, or None when there is no quota."""
    v1 = [root / "cpu", root / "cpu,cpuacct"]
    candidates: list[tuple[Path, Path | None]] = [
        (root / "cpu.max", None),  # cgroup v2: "max 100000" or "200000 100000"
        *[(d / "cpu.cfs_quota_us", d / "cpu.cfs_period_us") for d in v1],
    ]
    for quota_path, period_path in candidates:
        try:
            if period_path is None:
                quota, period = quota_path.read_text().split()[:2]
            else:
                quota, period = quota_path.read_text().strip(), period_path.read_text().strip()
        except (OSError, ValueError):
            continue
        if quota in ("max", "-1"):
            return None
        try:
            q, p = float(quota), float(period)
        except ValueError:
            return None
        return q / p if q > 0 and p > 0 else None
    return None


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup CPU quota (at least 1)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def configure() -> None:
    """Set the defaults above in `os.environ`, if PyTorch has not loaded OpenMP yet."""
    if "torch" in sys.modules:
        return
    env = os.environ
    if "OMP_WAIT_POLICY" not in env:
        for name, value in SPIN_DEFAULTS.items():
            if name not in env:
                env[name] = set_by_textrnn[name] = value
    if "OMP_NUM_THREADS" not in env:
        cpus = available_cpus()
        try:
            affinity = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            affinity = os.cpu_count() or 1
        if cpus < affinity:
            env["OMP_NUM_THREADS"] = set_by_textrnn["OMP_NUM_THREADS"] = str(cpus)


def cap_torch_threads() -> None:
    """Where torch was loaded before textrnn (so `configure` could not act) and no thread count
    was chosen, lower torch's intra-op threads to `available_cpus()` (a cgroup quota)."""
    if "OMP_NUM_THREADS" in os.environ and "OMP_NUM_THREADS" not in set_by_textrnn:
        return
    import torch

    cpus = available_cpus()
    if torch.get_num_threads() > cpus:
        torch.set_num_threads(cpus)
