"""Fused CPU recurrence kernels (C++/OpenMP) for SimpleRNN, LSTM and GRU, plus the Embedding
gradient and the RMSprop update that the tutorial's training step spends much of its time in.

PyTorch's CPU RNN kernels pay dispatcher and autograd overhead at each of hundreds of tiny steps
(a `(128, 32) @ (32, 32)` product per step for the IMDB tutorial). These kernels run the whole
recurrence, forward and hand-written backward, in one C++ call per direction: batch rows are cut
into chunks that the threads take from a shared counter and run for all steps (a thread that
loses its core to another process takes fewer), the per-step products keep their accumulators in
registers, and the recurrent kernel's gradient is one large GEMM at the end.

`recurrent_mask` adds Keras's recurrent dropout (a mask per row, and per gate for LSTM and GRU,
fixed for the sequence) to the fused recurrences; `lstm_last` is the inference-only LSTM that
returns the final states without saving or writing anything per step.

They take the input projection `xw = x @ kernel + bias` (one big matmul done outside) and Keras's
weight layout, and support left-aligned variable `lengths` (rows stop early, their state frozen),
which is what the masked/bucketed fast path needs. `xw` may be batch-major or time-major (a
`(batch, steps, .)` view of `(steps, batch, .)` memory, faster: each step's rows sit together);
outputs follow its layout. Large outputs and saved activations are recycled between calls
(`empty_cache()` frees them).

The extension is compiled on first use (a C++ compiler and ninja are needed once per machine; see
`textrnn.kernels._build`). Where it cannot be built, `available()` returns False after one warning
and the recurrent layers keep PyTorch's kernels. The kernels are CPU-only: on CUDA the layers use
cuDNN whatever `available()` says.

OpenMP's waiting and thread count are chosen for a shared machine when textrnn is imported
before torch (`textrnn._threads`).

Environment:
    TEXTRNN_KERNELS: `auto` (default: native when it builds), `native` (required: failing to build
        raises `KernelUnavailableError`), or `torch` (never build; PyTorch's kernels).
    TEXTRNN_HOME: where builds are cached (`$TEXTRNN_HOME/kernels`, else
        `~/.cache/textrnn/kernels`).

Example:
>>> import torch, textrnn.kernels as K
>>> if K.available():
...     out, h = K.simple_rnn(torch.randn(4, 10, 8), torch.zeros(4, 8), torch.eye(8) * 0.5)
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
from textrnn.kernels._functions import (
    embedding_backward,
    gru,
    lstm,
    lstm_last,
    project,
    rmsprop_update_,
    simple_rnn,
)

__all__ = [
    "available",
    "build_info",
    "embedding_backward",
    "empty_cache",
    "gru",
    "lstm",
    "lstm_last",
    "mode",
    "project",
    "rmsprop_update_",
    "simple_rnn",
]

MODES = ("auto", "native", "torch")

_lock = threading.Lock()
_result: BuildResult | None = None


def mode() -> str:
    """The kernel choice from `TEXTRNN_KERNELS`: "auto" (unset), "native" or "torch".

    Raises:
        ValueError: if the variable holds anything else.
    """
    value = os.environ.get("TEXTRNN_KERNELS", "").strip().lower() or "auto"
    if value not in MODES:
        raise ValueError(
            "Received an invalid value for environment variable `TEXTRNN_KERNELS`, expected one "
            f"of 'auto', 'native' or 'torch', got {os.environ.get('TEXTRNN_KERNELS')!r}. Unset "
            "it to use the native kernels where they build."
        )
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


def _extension() -> ModuleType | None:
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
