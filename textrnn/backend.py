"""Device, dtype and tensor conversion helpers shared by layers and models."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

FLOATX = torch.float32


def default_device() -> torch.device:
    """CUDA when available, CPU otherwise."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_tensor(x: Any, dtype: torch.dtype | None = None, device: torch.device | None = None) -> torch.Tensor:
    """Convert a NumPy array, list or tensor to a tensor (float32 unless the data is integral)."""
    if isinstance(x, torch.Tensor):
        t = x
    else:
        arr = np.asarray(x)
        if arr.dtype == object:
            raise TypeError(
                "Expected a numeric array, got an object array (ragged sequences?). "
                "Pad them first with `textrnn.preprocessing.sequence.pad_sequences`."
            )
        t = torch.from_numpy(np.ascontiguousarray(arr))
        if dtype is None and t.is_floating_point():
            t = t.to(FLOATX)
    if dtype is not None and t.dtype != dtype:
        t = t.to(dtype)
    if device is not None and t.device != device:
        t = t.to(device)
    return t


def to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()
