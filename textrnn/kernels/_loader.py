"""Loading the native extension once per process, and the `TEXTRNN_KERNELS` switch.

`textrnn.kernels` re-exports `mode`, `available`, `build_info` and `empty_cache` from here;
`textrnn.kernels._functions` takes the loaded module from `extension()`, so neither needs the other.
"""

from __future__ import annotations

import os
import threading
import warnings
from types import ModuleType
from typing import Any

from textrnn import _threads
from textrnn.errors import KernelUnavailableError
from textrnn.kernels._build import BuildResult, load_extension

MODES = ("auto", "native", "torch")

_lock = threading.Lock()
_result: BuildResult | None = None


def threads_chosen_by_user() -> bool:
    """Whether PyTorch's thread count in effect is the user's choice rather than the default:
    `OMP_NUM_THREADS` set by the user (not by `textrnn._threads` from a CPU quota), or
    `torch.get_num_threads()` other than `textrnn._threads.available_cpus()`."""
    import torch

    if "OMP_NUM_THREADS" in os.environ and "OMP_NUM_THREADS" not in _threads.set_by_textrnn:
        return True
    return torch.get_num_threads() != _threads.available_cpus()


_last_mode: list[Any] = [None, "auto"]  # the last value of TEXTRNN_KERNELS read, and its mode


def mode() -> str:
    """The kernel choice from `TEXTRNN_KERNELS`: "auto" (unset), "native" or "torch".

    Raises:
        ValueError: if the variable holds anything else.
    """
    raw = os.environ.get("TEXTRNN_KERNELS")
    if raw == _last_mode[0]:  # read at every call (tests and users change it), parsed once
        return _last_mode[1]
    value = (raw or "").strip().lower() or "auto"
    if value not in MODES:
        raise ValueError(
            "Received an invalid value for environment variable `TEXTRNN_KERNELS`, expected one "
            f"of 'auto', 'native' or 'torch', got {os.environ.get('TEXTRNN_KERNELS')!r}. Unset "
            "it to use the native kernels where they build."
        )
    _last_mode[:] = [raw, value]
    return value


def _load() -> BuildResult:
    global _result
    with _lock:
        if _result is None:
            _threads.cap_torch_threads()
            _result = load_extension()
            if _result.module is None:
                warnings.warn(
                    "textrnn: the native recurrence kernels could not be built or loaded "
                    f"({_result.error}); using PyTorch's kernels, which are slower on CPU. Set "
                    "TEXTRNN_KERNELS=torch to skip this attempt.",
                    RuntimeWarning,
                    stacklevel=3,
                )
        return _result


def available() -> bool:
    """Whether the native kernels can run here, building or loading them on the first call.

    The result of the build is kept for the process; `TEXTRNN_KERNELS` is read at every call.
    A failed build issues one `RuntimeWarning` and returns False (in "auto" mode).

    Returns:
        True if `simple_rnn`, `lstm` and `gru` can be called (on CPU tensors).

    Raises:
        KernelUnavailableError: if `TEXTRNN_KERNELS=native` and the kernels cannot be built.
        ValueError: if `TEXTRNN_KERNELS` holds an unknown value.
    """
    choice = mode()
    if choice == "torch":
        return False
    result = _load()
    if result.module is None and choice == "native":
        raise KernelUnavailableError(
            f"TEXTRNN_KERNELS=native but the native kernels cannot be built: {result.error}. "
            "Install a C++ compiler and ninja, or unset TEXTRNN_KERNELS to fall back to "
            "PyTorch's kernels."
        )
    return result.module is not None


def extension() -> ModuleType | None:
    """The loaded extension module (building it on the first call), or None where it cannot be."""
    return _load().module


def build_info() -> dict[str, Any]:
    """How the kernels were provided in this process (builds them if not done yet).

    Returns:
        A dict with `mode`, `available`, `path` (the loaded module), `flags`, `built` (compiled
        in this process), `seconds` (to build or load) and `error`.
    """
    choice = mode()
    if choice == "torch":
        return {
            "mode": choice,
            "available": False,
            "path": None,
            "flags": [],
            "built": False,
            "seconds": 0.0,
            "error": "disabled by TEXTRNN_KERNELS=torch",
        }
    result = _load()
    return {
        "mode": choice,
        "available": result.module is not None,
        "path": result.path,
        "flags": result.flags,
        "built": result.built,
        "seconds": result.seconds,
        "error": result.error,
    }


def empty_cache() -> int:
    """Free the large buffers the kernels keep for reuse (those not held by a live tensor).

    The kernels recycle their big outputs and saved activations between calls (up to 1 GiB),
    because freshly allocated memory costs more page faults than the recurrence itself. Call this
    after training to hand that memory back, as `torch.cuda.empty_cache()` does on GPUs.

    Returns:
        The number of bytes freed (0 if the kernels were never loaded).
    """
    if _result is None or _result.module is None:
        return 0
    return int(_result.module.release_buffers())
