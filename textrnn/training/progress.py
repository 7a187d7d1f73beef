"""Keras-style progress output for `fit`, `evaluate` and `predict`, drawn with tqdm.

verbose=1 draws one bar per epoch, as Keras 3 does::

    Epoch 1/10
    157/157 ━━━━━━━━━━━━━━━━━━━━ 12s 75ms/step - acc: 0.5123 - loss: 0.6921 - val_loss: 0.6812

verbose=2 prints one line per epoch (`157/157 - 12s - 75ms/step - acc: ... - loss: ...`), 0 nothing.
When the output is not a terminal (a log file, CI), the bar is only written once per epoch,
completed, so logs stay one line per epoch.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import IO, Any

from tqdm import tqdm

from textrnn import checks


def resolve_verbose(verbose: Any) -> int:
    """Keras's `verbose`: "auto" → 1, else 0, 1 or 2."""
    if verbose == "auto":
        return 1
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise checks.invalid("verbose", "'auto', 0, 1 or 2", verbose)
    return int(verbose)


def format_value(value: float) -> str:
    """Keras's number format: 4 decimals, scientific below 1e-3."""
    return f"{value:.4f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.4e}"


def format_logs(logs: Mapping[str, Any]) -> str:
    """` - loss: 0.6931 - acc: 0.5000`; a list value (F1Score per class) prints each number."""
    parts = []
    for k, v in logs.items():
        if isinstance(v, (list, tuple)):
            parts.append(f" - {k}: [{', '.join(format_value(float(x)) for x in v)}]")
        else:
            parts.append(f" - {k}: {format_value(float(v))}")
    return "".join(parts)


def format_duration(seconds: float) -> str:
    """`12s`, `3:05`, `1:02:03` as Keras prints ETAs and epoch times."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}:{(s % 3600) // 60:02d}:{s % 60:02d}"
    if s >= 60:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s}s"


def format_per_step(seconds: float) -> str:
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


class _KerasTqdm(tqdm):  # type: ignore[type-arg]
    """tqdm with two extra format fields: the padded step counter and Keras's tail text."""

    keras_tail = ""

    @property
    def format_dict(self) -> dict[str, Any]:
        d = super().format_dict
        width = len(str(self.total))
        d["keras_count"] = f"{self.n:>{width}}/{self.total}"
        d["keras_tail"] = self.keras_tail
        return d


def _interactive(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty()) or "ipykernel" in sys.modules
    except (AttributeError, ValueError):
        return False


class ProgressBar:
    """Progress for one pass (an epoch, an evaluation) of `steps` batches.

    Args:
        steps: number of batches.
        verbose: 0 silent, 1 bar, 2 one line at the end.
        stream: where to write; `sys.stdout` by default (as Keras).
        refresh_seconds: least time between redraws; logs are only computed for a redraw, so the
            loop does not wait on the device every step.
    """

    def __init__(
        self,
        steps: int,
        verbose: int,
        *,
        stream: IO[str] | None = None,
        refresh_seconds: float = 0.1,
    ) -> None:
        self.steps = int(steps)
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stdout
        self.refresh_seconds = refresh_seconds
        self.dynamic = verbose == 1 and _interactive(self.stream)
        self._start = time.perf_counter()
        self._last_draw = 0.0
        self._bar: _KerasTqdm | None = None
        if self.dynamic:
            self._bar = _KerasTqdm(
                total=self.steps,
                file=self.stream,
                bar_format="{keras_count} {bar:20}{keras_tail}",
                ascii=" ━",
                dynamic_ncols=True,
                mininterval=0.0,
                leave=True,
            )

    def due(self, step: int) -> bool:
        """Whether step `step` (1-based) should be drawn: the bar is live and enough time passed."""
        if self._bar is None:
            return False
        now = time.perf_counter()
        if step >= self.steps or now - self._last_draw >= self.refresh_seconds:
            return True
        return False

    def update(self, step: int, logs: Mapping[str, float] | Callable[[], Mapping[str, float]]) -> None:
        """Draw the bar at `step` (1-based) with the running `logs` (or a function returning them)."""
        if self._bar is None:
            return
        values = logs() if callable(logs) else logs
        elapsed = time.perf_counter() - self._start
        per_step = elapsed / max(step, 1)
        eta = per_step * (self.steps - step)
        self._bar.keras_tail = f" {format_duration(eta)} {format_per_step(per_step)}{format_logs(values)}"
        self._bar.n = step
        self._bar.refresh()
        self._last_draw = time.perf_counter()

    def finish(self, logs: Mapping[str, float]) -> None:
        """Write the final state of the pass with its complete logs (validation included)."""
        elapsed = time.perf_counter() - self._start
        per_step = elapsed / max(self.steps, 1)
        tail = f" {format_duration(elapsed)} {format_per_step(per_step)}{format_logs(logs)}"
        if self._bar is not None:
            self._bar.keras_tail = tail
            self._bar.n = self.steps
            self._bar.refresh()
            self._bar.close()
            self._bar = None
        elif self.verbose == 1:
            bar = "━" * 20
            self.stream.write(f"{self.steps}/{self.steps} {bar}{tail}\n")
            self.stream.flush()
        elif self.verbose == 2:
            self.stream.write(
                f"{self.steps}/{self.steps} - {format_duration(elapsed)} - "
                f"{format_per_step(per_step)}{format_logs(logs)}\n"
            )
            self.stream.flush()

    def close(self) -> None:
        """Close a bar left open by an interrupted pass."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def print_epoch_header(epoch: int, epochs: int, verbose: int, stream: IO[str] | None = None) -> None:
    """`Epoch 3/10`, as Keras prints before each epoch (verbose 1 and 2)."""
    if verbose:
        out = stream if stream is not None else sys.stdout
        out.write(f"Epoch {epoch + 1}/{epochs}\n")
        out.flush()
