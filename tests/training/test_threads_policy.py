"""textrnn.training.threads_policy: the adaptive thread count's decisions (a fake clock), where it
stays off, and the property that makes it safe: training gives the same bits at any thread count."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textrnn import _threads, kernels, layers
from textrnn.models import Sequential
from textrnn.training import threads_policy
from textrnn.training.threads_policy import ThreadController
from textrnn.utils import set_random_seed


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _controller(full: int = 2, **kwargs) -> tuple[ThreadController, FakeClock, list[int]]:
    clock, applied = FakeClock(), []
    controller = ThreadController(full, applied.append, clock, **kwargs)
    controller.start()
    return controller, clock, applied


def _run(controller: ThreadController, clock: FakeClock, cost: dict[int, float], batches: int) -> list[int]:
    """`batches` batches, each taking `cost[threads it ran at]` seconds; the counts they ran at."""
    ran = []
    for _ in range(batches):
        ran.append(controller.threads)
        clock.now += cost[controller.threads]
        controller.tick(1.0)
    return ran


def test_idle_machine_stays_at_the_full_count_and_probes_ever_more_rarely():
    controller, clock, _ = _controller()
    ran = _run(controller, clock, {2: 1.0, 1: 1.7}, 3000)
    assert controller.current == 2
    assert controller.decisions and not any(switched for _, _, switched in controller.decisions)
    assert ran.count(1) / len(ran) < 0.03  # the probes' cost, bounded by the doubling gaps
    assert controller.period == controller.max_period


def test_a_clearly_slower_probe_ends_early():
    controller, clock, _ = _controller()
    ran = _run(controller, clock, {2: 1.0, 1: 1.7}, controller.base_period + 20)
    assert ran.count(1) == 1 + controller.early  # the warm-up batch and two measured ones
    assert controller.decisions == [(2, 1, False)]


def test_slower_at_the_full_count_drops_to_fewer_threads():
    controller, clock, applied = _controller()
    ran = _run(controller, clock, {2: 2.3, 1: 1.0}, 200)
    assert controller.current == 1 and applied[-1] == 1
    assert ran.index(1) <= controller.base_period + 2  # the first probe
    assert ran[-50:].count(1) >= 45


def test_comes_back_to_the_full_count_when_the_other_process_ends():
    controller, clock, _ = _controller()
    _run(controller, clock, {2: 2.3, 1: 1.0}, 200)
    assert controller.current == 1
    ran = _run(controller, clock, {2: 1.0, 1: 1.7}, 200)
    assert controller.current == 2
    assert ran[-50:].count(2) >= 40  # (a probe at 1 thread, 30 batches after the change)


def test_noise_within_the_margin_does_not_switch():
    controller, clock, _ = _controller(margin=0.9)
    _run(controller, clock, {2: 1.0, 1: 0.95}, 500)  # 5% faster: not worth a change
    assert controller.current == 2


def test_work_normalises_batches_of_different_widths():
    """Wide buckets at one count and narrow ones at the other must not look like a speed-up."""
    controller, clock, _ = _controller()
    for _ in range(400):
        width = 10.0 if controller.threads == 2 else 2.0  # the probes hit narrow batches
        clock.now += width * (1.0 if controller.threads == 2 else 1.5)
        controller.tick(width)
    assert controller.current == 2


def test_more_cores_probe_one_fewer_and_one_more():
    controller, clock, _ = _controller(full=4)
    cost = {4: 3.0, 3: 1.0, 2: 1.5, 1: 2.0}  # one busy process beside four threads
    _run(controller, clock, cost, 600)
    assert controller.current == 3
    assert {tried for _, tried, _ in controller.decisions} >= {2, 3, 4}


def test_a_pass_restarts_at_the_chosen_count():
    controller, clock, applied = _controller()
    _run(controller, clock, {2: 2.3, 1: 1.0}, 100)
    controller.finish()
    controller.start()
    assert applied[-1] == 1 and controller.threads == 1


def test_full_count_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        ThreadController(0, lambda n: None)


# ------------------------------------------------------------------------ where it stays off


def _tutorial(kind: str = "lstm", mask_zero: bool = False, **rnn_kwargs) -> Sequential:
    rnn = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[kind]
    model = Sequential(
        [
            layers.Embedding(500, 16, mask_zero=mask_zero),
            rnn(8, **rnn_kwargs),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    model.build_for(torch.zeros(2, 5, dtype=torch.long))
    return model


@pytest.fixture
def two_threads(monkeypatch):
    """Two threads as this machine's default (the suite runs at one, see conftest.py)."""
    if not kernels.available():
        pytest.skip("the native kernels do not build here")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    monkeypatch.setattr(_threads, "available_cpus", lambda: 2)
    monkeypatch.delenv(threads_policy.ENV, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    yield
    torch.set_num_threads(before)


CPU = torch.device("cpu")


def test_default_settings_give_a_controller_kept_across_fits(two_threads):
    model = _tutorial()
    controller = threads_policy.controller_for(model, CPU)
    assert controller is not None and controller.full == 2
    assert threads_policy.controller_for(model, CPU) is controller


def test_off_switch(two_threads, monkeypatch):
    monkeypatch.setenv(threads_policy.ENV, "0")
    assert threads_policy.controller_for(_tutorial(), CPU) is None
    monkeypatch.setenv(threads_policy.ENV, "yes")
    with pytest.raises(ValueError, match="TEXTRNN_ADAPTIVE_THREADS"):
        threads_policy.controller_for(_tutorial(), CPU)


def test_a_count_the_user_set_is_kept(two_threads, monkeypatch):
    torch.set_num_threads(1)  # torch.set_num_threads by the user: another count than the default
    assert threads_policy.controller_for(_tutorial(), CPU) is None
    torch.set_num_threads(2)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # set by the user (not by textrnn._threads)
    monkeypatch.setattr(_threads, "set_by_textrnn", {})
    assert threads_policy.controller_for(_tutorial(), CPU) is None
    monkeypatch.setattr(_threads, "set_by_textrnn", {"OMP_NUM_THREADS": "2"})  # textrnn's quota
    assert threads_policy.controller_for(_tutorial(), CPU) is not None


def test_pinned_as_runs_do_for_threads_option(two_threads):
    with threads_policy.pinned():
        assert threads_policy.controller_for(_tutorial(), CPU) is None
    assert threads_policy.controller_for(_tutorial(), CPU) is not None


def test_models_outside_the_invariant_layers_keep_their_count(two_threads):
    assert threads_policy.controller_for(_tutorial(dropout=0.2), CPU) is None
    assert threads_policy.controller_for(_tutorial("simple_rnn", activation="relu"), CPU) is None
    conv = Sequential([layers.Embedding(500, 16), layers.Conv1D(4, 3), layers.GlobalMaxPooling1D()])
    conv.compile(optimizer="rmsprop", loss="mse")
    conv.build_for(torch.zeros(2, 5, dtype=torch.long))
    assert threads_policy.controller_for(conv, CPU) is None
    assert threads_policy.controller_for(_tutorial(), torch.device("meta")) is None


def test_a_fit_restores_the_full_count(two_threads):
    model = _tutorial()
    x, y = _data(mask_zero=False)
    model.fit(x, y, epochs=1, batch_size=256, verbose=0)
    assert torch.get_num_threads() == 2
    assert not kernels.products_invariant()


# ----------------------------------------------------- the same bits at any thread count


def _data(mask_zero: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.integers(1, 500, size=(512, 40))
    if mask_zero:  # padded reviews of different lengths, for length buckets
        for i, n in enumerate(rng.integers(3, 40, size=len(x))):
            x[i, n:] = 0
    return x, rng.integers(0, 2, size=len(x)).astype("float32")


def _train(kind: str, fast: bool, threads: int) -> list[torch.Tensor]:
    torch.set_num_threads(threads)
    set_random_seed(0)
    model = _tutorial(kind, mask_zero=fast)
    x, y = _data(fast)
    # batches of 256: Dense's weight gradient sums 256 rows, which MKL splits by the thread count
    model.fit(x, y, epochs=2, batch_size=256, verbose=0, bucket_by_length=fast)
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("fast", [False, True], ids=["exact", "mask_zero+buckets"])
@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
def test_training_gives_the_same_weights_at_one_and_two_threads(two_threads, monkeypatch, kind, fast):
    monkeypatch.setenv(threads_policy.ENV, "0")  # fixed counts here, products as under the controller
    with kernels.invariant_products():
        one = _train(kind, fast, 1)
        two = _train(kind, fast, 2)
    for a, b in zip(one, two, strict=True):
        assert torch.equal(a, b), float((a - b).abs().max())


@pytest.mark.parametrize("fast", [False, True], ids=["exact", "mask_zero+buckets"])
@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
def test_the_recurrence_reading_a_tutorial_sized_table_gives_the_same_weights_at_one_and_two_threads(
    two_threads, monkeypatch, kind, fast
):
    # 16 units fill whole vector registers (`kernels.embedded_rnn` reads the table itself), and a
    # 10,000-row table is the size at which MKL's products could split differently by thread count
    monkeypatch.setenv(threads_policy.ENV, "0")
    rng = np.random.default_rng(1)
    x = rng.integers(1, 10_000, size=(256, 100))
    if fast:
        for i, n in enumerate(rng.integers(3, 100, size=len(x))):
            x[i, : 100 - n] = 0
    y = rng.integers(0, 2, size=len(x)).astype("float32")
    rnn = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[kind]
    weights = []
    with kernels.invariant_products():
        for threads in (1, 2):
            torch.set_num_threads(threads)
            set_random_seed(0)
            model = Sequential(
                [layers.Embedding(10_000, 32, mask_zero=fast), rnn(16), layers.Dense(1, activation="sigmoid")]
            )
            model.compile(optimizer="rmsprop", loss="binary_crossentropy")
            model.fit(x, y, epochs=1, batch_size=128, verbose=0, bucket_by_length=fast)
            weights.append([p.detach().clone() for p in model.parameters()])
    for a, b in zip(*weights, strict=True):
        assert torch.equal(a, b), float((a - b).abs().max())


class _Flipping(ThreadController):
    """Changes the thread count after every batch (what a loaded machine may make it do)."""

    def tick(self, work: float = 1.0) -> None:
        self.set_threads(1 if torch.get_num_threads() == 2 else 2)
        self.flips = getattr(self, "flips", 0) + 1


def test_thread_changes_within_an_epoch_leave_the_weights_alike(two_threads, monkeypatch):
    monkeypatch.setenv(threads_policy.ENV, "0")
    with kernels.invariant_products():
        fixed = _train("lstm", True, 2)
    monkeypatch.setenv(threads_policy.ENV, "1")
    made: list[_Flipping] = []

    def flipping(model, device):
        made.append(_Flipping(2, torch.set_num_threads))
        return made[-1]

    monkeypatch.setattr(threads_policy, "controller_for", flipping)
    flipped = _train("lstm", True, 2)
    assert made and sum(getattr(c, "flips", 0) for c in made) >= 2
    for a, b in zip(fixed, flipped, strict=True):
        assert torch.equal(a, b), float((a - b).abs().max())
