"""An adaptive thread count for CPU training on a shared machine.

With one more runnable thread than cores (this process's threads plus another busy process), every
parallel region of a training step waits for the thread that lost its core; one thread fewer gets
whole cores. `ThreadController` finds out by measuring: every so often it trains a few batches at a
neighbouring thread count and keeps whichever gives the lower median time per unit of work (a
batch's input elements, so that length buckets of different widths compare). On an idle machine
the probes lose and it stays at the full count, probing ever more rarely (the gap doubles after
each probe that confirms the count, up to `max_period` batches, and a probe that is clearly
slower ends after two batches); beside a busy process it drops,
and it climbs back when the other process ends.

Changing the thread count must not change the results: while the controller runs, the weight
gradients of the recurrences and the products of `Dense` are summed in fixed pieces whatever the
thread count (`textrnn.kernels.invariant_products`; MKL's threaded GEMM splits its sums by the
thread count), so a seed gives the same weights on a busy machine as on an idle one. Models with
other layers (or dropout, or mixed precision) keep the thread count fixed.

It stays off where the user chose a thread count: `OMP_NUM_THREADS` set by the user,
`torch.set_num_threads` called with another count than the default, `--threads` /
`TrainOptions.threads` (`textrnn.runs`, through `pinned()`), or `TEXTRNN_ADAPTIVE_THREADS=0`.

`ThreadController` is free of PyTorch (its clock and thread setter are given), so that its
decisions can be tested with a fake clock; `controller_for` builds one for a model.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

ENV = "TEXTRNN_ADAPTIVE_THREADS"

# Depth of `pinned()` contexts: while above 0, no controller is made.
_pins = [0]


def enabled_by_env() -> bool:
    """Whether `TEXTRNN_ADAPTIVE_THREADS` allows the controller: unset, "1" (on) or "0" (off).

    Raises:
        ValueError: for any other value.
    """
    value = os.environ.get(ENV, "").strip()
    if value in ("", "1"):
        return True
    if value == "0":
        return False
    raise ValueError(
        f"Received an invalid value for environment variable `{ENV}`, expected '0' (a fixed thread "
        f"count) or '1' (adapt it to the machine's load), got {os.environ.get(ENV)!r}."
    )


@contextlib.contextmanager
def pinned() -> Iterator[None]:
    """No adaptive thread count while inside (the caller chose the count, e.g. `--threads`)."""
    _pins[0] += 1
    try:
        yield
    finally:
        _pins[0] -= 1


class ThreadController:
    """Chooses the thread count batch by batch from measured times.

    Call `start()` before a pass's first batch and `tick(work)` after each batch (`work`: the
    batch's size, in any unit proportional to its cost); `set_threads` is called with each new
    count. `finish()` ends a pass (a later `start()` resumes at the chosen count).

    Args:
        full: the thread count to start at and the most it may use.
        set_threads: applies a thread count.
        clock: seconds, monotonic (`time.perf_counter` by default; a fake one in tests).
        period: batches at the current count before the first probe (and after a change).
        trial: batches measured at each count in a comparison (medians of these are compared).
        max_period: the longest gap between probes, in batches.
        margin: a probe's median must be below `margin` times the current one to switch.
        early: a probe ends after this many batches when all were slower than the current median
            divided by `margin`.
    """

    def __init__(
        self,
        full: int,
        set_threads: Callable[[int], None],
        clock: Callable[[], float] = time.perf_counter,
        *,
        period: int = 30,
        trial: int = 5,
        max_period: int = 960,
        margin: float = 0.9,
        early: int = 2,
    ) -> None:
        if full < 1:
            raise ValueError(f"`full` must be at least 1, got {full}.")
        self.full = full
        self.set_threads = set_threads
        self.clock = clock
        self.base_period = period
        self.period = period
        self.trial = trial
        self.max_period = max_period
        self.margin = margin
        self.early = early
        self.current = full
        self.probing: int | None = None  # the count being tried, or None
        self.recent: list[float] = []  # seconds per unit of work at `current`
        self.tried: list[float] = []  # the same at `probing`
        self.since = 0  # batches at `current` since the last probe or change
        self.skip = 0  # batches not measured (the first after a change warms the threads up)
        self.up = False  # the direction of the next probe when both are possible
        self.decisions: list[tuple[int, int, bool]] = []  # (from, tried, switched)
        self._last: float | None = None

    @property
    def threads(self) -> int:
        """The count the next batch runs at."""
        return self.probing if self.probing is not None else self.current

    def start(self) -> None:
        """A pass begins: apply the current count and start timing."""
        self.probing, self.tried = None, []
        self.set_threads(self.current)
        self.skip = 1
        self._last = self.clock()

    def finish(self) -> None:
        """A pass ends (a probe in progress is dropped)."""
        self.probing, self.tried = None, []
        self._last = None

    def _candidate(self) -> int | None:
        down = self.current - 1 if self.current > 1 else None
        up = self.current + 1 if self.current < self.full else None
        if down is not None and up is not None:
            self.up = not self.up
            return up if self.up else down
        return down if down is not None else up

    def _switch(self, threads: int) -> None:
        self.set_threads(threads)
        self.skip = 1

    def tick(self, work: float = 1.0) -> None:
        """One batch of `work` finished (its time runs from the previous tick or `start()`)."""
        now = self.clock()
        last, self._last = self._last, now
        if last is None:
            return
        if self.skip:
            self.skip -= 1
            return
        sample = (now - last) / max(work, 1e-12)
        if self.probing is None:
            self.recent = [*self.recent, sample][-self.trial :]
            self.since += 1
            if self.since >= self.period and len(self.recent) >= self.trial:
                candidate = self._candidate()
                if candidate is not None:
                    self.probing, self.tried = candidate, []
                    self._switch(candidate)
            return
        self.tried.append(sample)
        now_median = statistics.median(self.recent)
        # a probe that is clearly slower ends early (an idle machine then pays 1 + `early` batches)
        losing = len(self.tried) >= self.early and min(self.tried) * self.margin > now_median
        if len(self.tried) < self.trial and not losing:
            return
        tried = self.probing
        better = not losing and statistics.median(self.tried) < self.margin * now_median
        self.decisions.append((self.current, tried, better))
        self.probing, self.since = None, 0
        if better:
            self.current, self.recent = tried, list(self.tried)
            self.period = self.base_period
            self.skip = 0  # the probe's threads are already running
        else:
            self.period = min(self.period * 2, self.max_period)
            self.recent = []
            self._switch(self.current)


def _model_invariant(model: torch.nn.Module) -> bool:
    """Whether every layer of `model` trains to the same bits at any thread count (the layers the
    invariance test covers: Embedding, SimpleRNN / LSTM / GRU in the native kernels without
    dropout, Dense)."""
    from textrnn.layers.base import Layer
    from textrnn.layers.dense import Dense
    from textrnn.layers.embedding import Embedding
    from textrnn.layers.input_layer import InputLayer
    from textrnn.layers.recurrent import BaseRNN
    from textrnn.layers.rnn_kernels import has_fused_kernel

    for module in model.modules():
        if module is model or isinstance(module, (Embedding, Dense, InputLayer)):
            continue
        if isinstance(module, BaseRNN):
            if module.dropout or module.recurrent_dropout or not module.built:
                return False
            spec = module.cell_spec()  # the native kernels' cells (else a step loop of GEMMs)
            if not has_fused_kernel(spec) or (spec.kind == "simple_rnn" and spec.activation_name != "tanh"):
                return False
            continue
        if isinstance(module, Layer) or not isinstance(module, torch_container_types()):
            return False
    return all(p.dtype in _float_types() for p in model.parameters())


def torch_container_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.ModuleList, nn.ModuleDict, nn.Sequential)


def _float_types() -> tuple[Any, ...]:
    import torch

    return (torch.float32, torch.float64)


def controller_for(model: Any, device: torch.device) -> ThreadController | None:
    """The model's controller (kept on it across `fit` calls), or None where the thread count stays
    as it is: another device, no native kernels, one thread, mixed precision, a layer outside
    `_model_invariant`, a count the user chose, or `TEXTRNN_ADAPTIVE_THREADS=0`."""
    if device.type != "cpu" or _pins[0] or not enabled_by_env():
        return None
    import torch

    from textrnn import kernels

    existing = getattr(model, "_thread_controller", None)
    if isinstance(existing, ThreadController):
        if torch.get_num_threads() == existing.full:
            return existing
    if getattr(model, "mixed_precision", False) or kernels.threads_chosen_by_user():
        return None
    full = torch.get_num_threads()
    if full < 2 or not kernels.available() or not _model_invariant(model):
        return None
    controller = ThreadController(full, torch.set_num_threads)
    model._thread_controller = controller
    return controller


@contextlib.contextmanager
def adapting(controller: ThreadController | None) -> Iterator[ThreadController | None]:
    """A training pass under `controller` (nothing when None): invariant products on, and the full
    thread count back at the end."""
    if controller is None:
        yield None
        return
    from textrnn import kernels

    with kernels.invariant_products():
        controller.start()
        try:
            yield controller
        finally:
            controller.finish()
            controller.set_threads(controller.full)
