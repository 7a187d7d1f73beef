"""Keras's 1-D window arithmetic shared by Conv1D and the pooling layers."""

from __future__ import annotations

import math
import warnings
from typing import Any

from textrnn import checks

DATA_FORMATS = ("channels_last", "channels_first")


def one_int(name: str, value: Any) -> int:
    """A positive integer, or a tuple/list of one (Keras stores `(3,)` and JSON gives `[3]`)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise checks.invalid(name, "an integer or a tuple of 1 integer", value)
        value = value[0]
    return checks.positive_int(name, value)


def padding_arg(value: Any, *, allow_causal: bool) -> str:
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    if not isinstance(value, str) or value.lower() not in allowed:
        raise checks.invalid("padding", "one of " + ", ".join(repr(a) for a in allowed), value)
    return value.lower()


def data_format_arg(value: Any) -> str:
    return str(checks.choice("data_format", "channels_last" if value is None else value, DATA_FORMATS))


def output_length(steps: int | None, window: int, stride: int, padding: str, dilation: int = 1) -> int | None:
    """Output steps for `steps` inputs (None stays None); a negative length is Keras's error."""
    if steps is None:
        return None
    span = (window - 1) * dilation + 1
    if padding == "same":
        return math.ceil(steps / stride)
    if padding == "causal":
        steps += span - 1
    out = (steps - span) // stride + 1
    if out <= 0:
        raise ValueError(
            f"The input has {steps} steps, fewer than the window of {span} steps, with "
            f"padding='{padding}': the output would be empty. Use padding='same' or longer inputs."
        )
    return out


def pads(steps: int, window: int, stride: int, padding: str, dilation: int = 1) -> tuple[int, int]:
    """(left, right) zero padding: TensorFlow's 'same' rule (extra step on the right), 'causal'
    all on the left."""
    span = (window - 1) * dilation + 1
    if padding == "causal":
        return span - 1, 0
    if padding == "same":
        total = max((math.ceil(steps / stride) - 1) * stride + span - steps, 0)
        return total // 2, total - total // 2
    return 0, 0


def warn_mask_dropped(layer: Any) -> None:
    """Keras's warning when a layer that does not support masking receives a mask."""
    warnings.warn(
        f"Layer '{layer.name}' (of type {type(layer).__name__}) was passed an input with a mask "
        "attached to it. However, this layer does not support masking and will therefore destroy "
        "the mask information. Downstream layers will not see the mask.",
        stacklevel=3,
    )
