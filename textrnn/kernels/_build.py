"""Build (once per machine) and load the C++ recurrence kernels.

The extension is compiled on first use with `torch.utils.cpp_extension.load` (which needs a C++
compiler and ninja) into `$TEXTRNN_HOME/kernels/<key>` or `~/.cache/textrnn/kernels/<key>`. The key
hashes everything the binary depends on: the C++ sources, the torch and Python versions, the
flags, and, because the first choice of flags tunes for this CPU
(`-march=native`), the CPU itself. A shared home folder on machines with different CPUs therefore
gets one build per CPU instead of a binary that crashes on the older one.

Later processes import the built module directly (no compiler or ninja involved). If no build
works, callers fall back to PyTorch's kernels.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import logging
import os
import platform
import shutil
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import torch

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


def _import_built(name: str, folder: Path) -> ModuleType | None:
    """Import an already built module, or None if there is none complete in `folder`."""
    if (folder / "lock").exists():  # another process is building it now
        return None
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
        module = cpp_extension.load(
            name=name,
            sources=[str(CSRC / MAIN_SOURCE)],
            extra_cflags=cflags,
            extra_ldflags=ldflags,
            build_directory=str(folder),
            verbose=False,
        )
        built = True
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
            errors.append(
                f"{' '.join(cflags)}: {text.splitlines()[0] if text else type(exc).__name__}"
            )
            continue
        if result.built:
            logger.info("Built textrnn kernels in %.1f s (%s).", result.seconds, " ".join(cflags))
        return result
    return BuildResult(error="; ".join(errors) or "no build attempted")
