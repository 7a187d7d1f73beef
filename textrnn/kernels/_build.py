"""Build (once per machine) and load the C++ recurrence kernels.

The extension is compiled on first use with `torch.utils.cpp_extension.load` (which needs a C++
compiler and ninja) into `$TEXTRNN_HOME/kernels/<key>` or `~/.cache/textrnn/kernels/<key>`. The key
hashes everything the binary depends on: the C++ sources, the torch and Python versions, the
flags, and, because the first choice of flags tunes for this CPU
(`-march=native`), the CPU itself. A shared home folder on machines with different CPUs therefore
gets one build per CPU instead of a binary that crashes on the older one.

Later processes import the built module directly (no compiler or ninja involved). If no build
works, callers fall back to PyTorch's kernels.

A build holds `build.lock` in its folder, naming the builder's PID and host. PyTorch's own `lock`
file is only safe while its owner lives: a process killed mid-build leaves it, and every later
`cpp_extension.load` would wait for it forever. So a new builder takes `build.lock` first; one whose
owner is gone (or that is older than an hour on another host) is stale and taken over, and with it
held any PyTorch `lock` is a dead process's and is removed. A live builder is waited for at most
`$TEXTRNN_KERNEL_LOCK_TIMEOUT` seconds (default 900), after which the build attempt fails with a
message naming the lock and textrnn falls back to PyTorch's kernels.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.machinery
import importlib.util
import logging
import os
import platform
import shutil
import socket
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import torch

from textrnn.fileio import process_alive

logger = logging.getLogger("textrnn.kernels")

CSRC = Path(__file__).with_name("csrc")
MAIN_SOURCE = "recurrence.cpp"


@dataclass
class BuildResult:
    """What one attempt to provide the extension gave: the module, or why there is none."""

    module: ModuleType | None = None
    path: str | None = None
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0
    built: bool = False  # compiled in this process (False: loaded from the cache)
    error: str | None = None


def cache_root() -> Path:
    """Folder holding the builds: `$TEXTRNN_HOME/kernels` or `~/.cache/textrnn/kernels`."""
    home = os.environ.get("TEXTRNN_HOME")
    base = Path(home).expanduser() if home else Path.home() / ".cache" / "textrnn"
    return base / "kernels"


def _is_x86() -> bool:
    return platform.machine().lower() in {"x86_64", "amd64", "i686", "i386"}


def flag_attempts() -> list[tuple[list[str], list[str]]]:
    """(compile flags, link flags) to try in order: tuned and threaded, threaded, tuned, plain."""
    if sys.platform == "win32":
        return [(["/O2", "/openmp"], []), (["/O2"], [])]
    # -fno-trapping-math (as PyTorch builds) lets the compiler vectorise the selects in the
    # activation and gradient loops; without it they stay scalar on AVX2 (4x slower backward).
    base = ["-O3", "-fno-trapping-math", "-fno-math-errno"]
    tuned = [*base, "-march=native", "-fopenmp"]
    if _is_x86():
        # Elementwise loops profit from 512-bit vectors where the CPU has them; a no-op elsewhere.
        tuned.append("-mprefer-vector-width=512")
    # Without OpenMP (Apple's clang has none by default) the kernels run on one thread.
    no_omp = [f for f in tuned if f != "-fopenmp"]
    return [(tuned, ["-fopenmp"]), ([*base, "-fopenmp"], ["-fopenmp"]), (no_omp, []), (base, [])]


def _cpu_identity() -> str:
    """What `-march=native` depends on: the CPU model and its feature flags."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"{platform.machine()}|{platform.processor()}"
    wanted = ("model name", "flags", "Features", "CPU implementer", "CPU part")
    lines = sorted({ln.strip() for ln in text.splitlines() if ln.split(":")[0].strip() in wanted})
    return "\n".join(lines)


def _compiler() -> str:
    return os.environ.get("CXX") or ("cl" if sys.platform == "win32" else "c++")


def sources() -> list[Path]:
    return sorted(p for p in CSRC.iterdir() if p.suffix in {".cpp", ".h"})


def build_key(cflags: list[str], ldflags: list[str]) -> str:
    """Hex digest naming one build: sources, torch, Python, flags and (when tuned) the CPU."""
    h = hashlib.sha256()
    for path in sources():
        h.update(path.name.encode())
        h.update(path.read_bytes())
    # The compiler is left out on purpose: a build made earlier must still load where the
    # compiler has since been removed; the ABI that matters is torch's and Python's.
    parts = [
        torch.__version__,
        sys.implementation.cache_tag or "",
        sysconfig.get_platform(),
        " ".join(cflags),
        " ".join(ldflags),
    ]
    if any("native" in flag for flag in cflags):
        parts.append(_cpu_identity())
    h.update("\0".join(parts).encode())
    return h.hexdigest()[:16]


def compiler_missing() -> str | None:
    """Why no build can be tried here (no compiler, no ninja), or None."""
    from torch.utils import cpp_extension

    if shutil.which(_compiler().split()[0]) is None:
        return f"no C++ compiler found (looked for `{_compiler()}`; set CXX to choose one)"
    if not cpp_extension.is_ninja_available():
        return "ninja is not installed (`pip install ninja`)"
    return None


def _import_built(name: str, folder: Path, *, check_locks: bool = True) -> ModuleType | None:
    """Import an already built module, or None if there is none complete in `folder`."""
    if check_locks and ((folder / TORCH_LOCK_FILE).exists() or (folder / LOCK_FILE).exists()):
        return None  # being built now, or a build was killed: _load_with sorts out which
    for suffix in importlib.machinery.EXTENSION_SUFFIXES + [".so", ".pyd"]:
        path = folder / f"{name}{suffix}"
        if path.is_file():
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                return None
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except ImportError:
                return None
            return module
    return None


LOCK_FILE = "build.lock"
TORCH_LOCK_FILE = "lock"  # torch.utils.cpp_extension's FileBaton
LOCK_TIMEOUT_ENV = "TEXTRNN_KERNEL_LOCK_TIMEOUT"
_FOREIGN_LOCK_AGE = 3600.0  # seconds after which a lock from another host counts as stale


def _lock_is_stale(lock: Path) -> bool:
    """True if the builder that wrote `lock` is gone (or the file says nothing usable)."""
    try:
        text = lock.read_text(encoding="utf-8", errors="replace").strip()
        age = time.time() - lock.stat().st_mtime
    except FileNotFoundError:
        return False  # released meanwhile: try again
    except OSError:
        return True
    pid_text, _, host = text.partition("@")
    if not pid_text.isdigit():
        return age > 5.0  # being written this instant, or garbage
    if host and host != socket.gethostname():
        return age > _FOREIGN_LOCK_AGE
    return not process_alive(int(pid_text))


def _lock_timeout() -> float:
    try:
        return float(os.environ.get(LOCK_TIMEOUT_ENV, "900"))
    except ValueError:
        return 900.0


def _acquire_build_lock(folder: Path) -> Path:
    """Take `folder/build.lock` (waiting a bounded time for a live builder); clear stale locks."""
    lock = folder / LOCK_FILE
    deadline = time.monotonic() + _lock_timeout()
    told = False
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if _lock_is_stale(lock):
                logger.info("Removing the stale kernel build lock %s (its process is gone).", lock)
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()
                continue
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "another process has been building the kernels for over "
                    f"{_lock_timeout():.0f} s "
                    f"(lock {lock}); remove that file if no build is running"
                ) from None
            if not told:
                logger.warning("Waiting for another process to build the kernels (%s).", lock)
                told = True
            time.sleep(0.2)
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"{os.getpid()}@{socket.gethostname()}")
        # Holding build.lock, no live textrnn process builds here: a PyTorch lock is a dead one's.
        with contextlib.suppress(FileNotFoundError):
            (folder / TORCH_LOCK_FILE).unlink()
        return lock


def _load_with(cflags: list[str], ldflags: list[str]) -> BuildResult:
    from torch.utils import cpp_extension

    key = build_key(cflags, ldflags)
    name = f"textrnn_kernels_{key}"
    folder = cache_root() / key
    start = time.perf_counter()
    module = _import_built(name, folder)
    built = False
    if module is None:
        folder.mkdir(parents=True, exist_ok=True)
        lock = _acquire_build_lock(folder)
        try:
            # Finished by the process just waited for?
            module = _import_built(name, folder, check_locks=False)
            if module is None:
                module = cpp_extension.load(
                    name=name,
                    sources=[str(CSRC / MAIN_SOURCE)],
                    extra_cflags=cflags,
                    extra_ldflags=ldflags,
                    build_directory=str(folder),
                    verbose=False,
                )
                built = True
        finally:
            with contextlib.suppress(OSError):
                lock.unlink()
    return BuildResult(
        module=module,
        path=getattr(module, "__file__", None),
        flags=list(cflags),
        seconds=time.perf_counter() - start,
        built=built,
    )


def load_extension() -> BuildResult:
    """Load a cached build, or compile one trying each set of flags in turn."""
    attempts = flag_attempts()
    for cflags, ldflags in attempts:  # a build made earlier needs no compiler
        key = build_key(cflags, ldflags)
        start = time.perf_counter()
        module = _import_built(f"textrnn_kernels_{key}", cache_root() / key)
        if module is not None:
            return BuildResult(
                module=module,
                path=module.__file__,
                flags=list(cflags),
                seconds=time.perf_counter() - start,
            )
    missing = compiler_missing()
    if missing is not None:
        return BuildResult(error=missing)
    errors: list[str] = []
    for cflags, ldflags in attempts:
        try:
            result = _load_with(cflags, ldflags)
        except Exception as exc:  # a compiler error, a linker error, a broken toolchain
            logger.debug("Building textrnn kernels with %s failed:\n%s", cflags, exc)
            text = str(exc).strip()
            errors.append(f"{' '.join(cflags)}: {text.splitlines()[0] if text else type(exc).__name__}")
            continue
        if result.built:
            logger.info("Built textrnn kernels in %.1f s (%s).", result.seconds, " ".join(cflags))
        return result
    return BuildResult(error="; ".join(errors) or "no build attempted")
