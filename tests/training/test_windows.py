"""Windowed epoch plans (`textrnn.training.windows`) and labels kept memory-mapped (`LazyRows`):
every row once per epoch, bucketing within a window, the seed decides, a resumed generator
gives the same batches, sharding, and `fit` on mapped labels equal to `fit` on arrays."""

import pickle

import numpy as np
import pytest
import torch

from textrnn.layers import Dense, Embedding, SimpleRNN
from textrnn.models import Sequential
from textrnn.optimizers import RMSprop
from textrnn.training.batching import Batcher, ShardedPlanner, padding_spans
from textrnn.training.multi_io import LazyRows
from textrnn.training.seed import set_random_seed
from textrnn.training.windows import WindowedBatcher, WindowedPlan, windowed_batcher

CPU = torch.device("cpu")


def padded(n=203, steps=12, seed=0):
    """Pre-padded token rows of random lengths 0..steps."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 30, size=(n, steps)).astype(np.int32)
    lengths = rng.integers(0, steps + 1, size=n)
    for i, k in enumerate(lengths):
        x[i, : steps - k] = 0
    return torch.from_numpy(x)


def batches(plan):
    return [(idx.tolist(), cols) for idx, cols in plan.each(CPU)]


def windows_of(b, plan):
    """Each row's window in `plan`'s epoch."""
    return {int(r): w for w in range(b.windows) for r in b.members(w, plan.seed)}


@pytest.mark.parametrize("bucket", [False, True])
@pytest.mark.parametrize("shuffle", [True, False])
def test_every_row_once_per_epoch_each_batch_in_one_window(bucket, shuffle):
    x = padded()
    b = WindowedBatcher(x, 8, shuffle=shuffle, bucket_by_length=bucket, window_rows=30, chunk_batches=2)
    assert b.window_rows == 32  # rounded up to whole batches
    plan = b.plan()
    got = batches(plan)
    assert len(got) == len(b) == len(plan) == 26  # 6 windows of 4 full batches, then 11 rows: 8 + 3
    rows = [r for idx, _ in got for r in idx]
    assert sorted(rows) == list(range(203))
    window_of = windows_of(b, plan)
    assert all(len({window_of[r] for r in idx}) == 1 for idx, _ in got)  # a batch never spans windows
    assert [len(idx) for idx, _ in got] == list(plan.batch_sizes())
    if not shuffle and not bucket:  # in order, as Batcher(shuffle=False)
        plain = Batcher(203, 8, shuffle=False).plan()
        assert rows == plain.order.tolist() and [len(i) for i, _ in got] == [e - s for s, e in plain.batches]


def test_bucketing_within_a_window_sorts_lengths_and_trims_columns():
    x = padded(n=160, seed=3)
    first, end = padding_spans(x)
    lengths = (end - first).clamp(min=0)
    b = WindowedBatcher(x, 8, bucket_by_length=True, window_rows=64, chunk_batches=8)  # chunk = window
    plan = b.plan()
    window_of = windows_of(b, plan)
    by_window = {}
    for idx, cols in batches(plan):
        lo, hi = int(first[idx].min()), int(end[idx].max())
        assert cols == ((lo, hi) if hi > lo else (0, 1))  # each batch keeps its non-padding columns
        by_window.setdefault(window_of[idx[0]], []).append(sorted(int(lengths[i]) for i in idx))
    assert sorted(by_window) == [0, 1, 2]
    for groups in by_window.values():  # the window's rows sorted by length, cut into batches
        groups.sort()
        assert all(a[-1] <= c[0] for a, c in zip(groups, groups[1:], strict=False))


def test_windows_mix_rows_from_all_over_the_data():
    # rows sorted by class (the first half one class): every full window gets each class's share
    b = WindowedBatcher(padded(n=1000), 10, window_rows=100)
    set_random_seed(0)
    plans = [b.plan() for _ in range(2)]
    for plan in plans:
        for w in range(b.windows):
            members = b.members(w, plan.seed)
            assert 0.4 <= float((members < 500).float().mean()) <= 0.6
    # and another epoch groups the rows differently
    assert not torch.equal(b.members(0, plans[0].seed), b.members(0, plans[1].seed))
    unshuffled = WindowedBatcher(padded(n=1000), 10, shuffle=False, window_rows=100)
    assert unshuffled.members(2, 0).tolist() == list(range(200, 300))


@pytest.mark.parametrize("bucket", [False, True])
def test_the_seed_decides_and_a_restored_generator_gives_the_same_batches(bucket):
    x = padded()
    b = WindowedBatcher(x, 8, bucket_by_length=bucket, window_rows=32)
    set_random_seed(4)
    one = batches(b.plan())
    set_random_seed(4)
    state = torch.get_rng_state()
    again = batches(b.plan())
    second_epoch = batches(b.plan())
    assert one == again and second_epoch != one
    torch.set_rng_state(state)  # what a resumed run's checkpoint restores
    assert batches(b.plan()) == one and batches(b.plan()) == second_epoch
    set_random_seed(5)
    assert batches(b.plan()) != one
    # a plan is made lazily: planning a window twice, or in another process, gives the same rows
    set_random_seed(5)
    plan = pickle.loads(pickle.dumps(b.plan())).bind(b)
    set_random_seed(5)
    assert batches(plan) == batches(b.plan())


def test_first_batches_and_sizes():
    b = WindowedBatcher(padded(), 8, bucket_by_length=True, window_rows=32)
    plan = b.plan()
    head = plan.first(5)
    assert len(head) == 5 and batches(head) == batches(plan)[:5]
    assert list(head.batch_sizes()) == [len(i) for i, _ in batches(head)]
    assert list(plan.batch_sizes()) == [len(i) for i, _ in batches(plan)]
    assert plan.rows() == 203 and head.rows() == sum(len(i) for i, _ in batches(head))


@pytest.mark.parametrize("bucket", [False, True])
def test_sharded_ranks_together_run_the_global_batches(bucket):
    x = padded()
    b = WindowedBatcher(x, 8, bucket_by_length=bucket, window_rows=32)
    set_random_seed(1)
    sent = pickle.dumps(b.plan())  # rank 0's plan, as the process group sends it
    assert len(sent) < 2000  # the seed and the settings, never the rows
    global_plan = pickle.loads(sent).bind(b)
    expected = batches(global_plan)
    ranks = []
    for rank in range(3):
        sharded = ShardedPlanner(b, rank, 3, share=lambda plan, sent=sent: pickle.loads(sent))
        local = sharded.plan()
        ranks.append(batches(local))
        assert sharded.global_sizes == [len(i) for i, _ in expected]
        assert sharded.local_rows == sum(len(i) for i, _ in ranks[-1])
    for k, (idx, cols) in enumerate(expected):
        assert [r for rank in ranks for r in rank[k][0]] == idx
        assert all(rank[k][1] == cols for rank in ranks)


def test_a_plan_sent_without_its_data_says_so():
    b = WindowedBatcher(padded(), 8, bucket_by_length=True, window_rows=32)
    plan = pickle.loads(pickle.dumps(b.plan()))
    with pytest.raises(RuntimeError, match="bind"):
        batches(plan)
    with pytest.raises(TypeError, match="WindowedBatcher"):
        plan.bind(Batcher(10, 2))
    assert isinstance(plan.bind(b), WindowedPlan)


def mapped(tmp_path, name, array):
    path = tmp_path / f"{name}.npy"
    np.save(path, array)
    return np.load(path, mmap_mode="c")


def rnn_model():
    model = Sequential([Embedding(30, 8, mask_zero=True), SimpleRNN(4), Dense(1, activation="sigmoid")])
    model.compile(optimizer=RMSprop(learning_rate=0.01), loss="binary_crossentropy", metrics=["acc"])
    return model


@pytest.mark.parametrize("class_weight", [None, {0: 1.0, 1: 2.5}])
def test_fit_on_mapped_labels_equals_fit_on_arrays(tmp_path, class_weight):
    x = padded(n=120).numpy()
    y = (x == 7).any(axis=1).astype(np.int64)
    histories, weights = [], []
    for labels in (y.astype(np.float32), mapped(tmp_path, "y", y)):
        set_random_seed(0)
        model = rnn_model()
        h = model.fit(x, labels, batch_size=16, epochs=2, validation_split=0.2, verbose=0,
                      class_weight=class_weight, bucket_by_length=True)  # fmt: skip
        histories.append(h.history)
        weights.append([w.copy() for w in model.get_weights()])
        evaluated = model.evaluate(x, labels, batch_size=32, verbose=0)
        histories[-1]["evaluated"] = evaluated
    assert histories[0] == histories[1]
    assert all(np.array_equal(a, b) for a, b in zip(*weights, strict=True))


def test_mapped_labels_are_checked_and_stay_a_view(tmp_path):
    x = padded(n=40).numpy()
    model = rnn_model()
    with pytest.raises(ValueError, match=r"labels in \[0, 1\]"):
        model.fit(x, mapped(tmp_path, "bad", np.full(40, 3, dtype=np.int64)), epochs=1, verbose=0)
    ys = mapped(tmp_path, "y", np.arange(40) % 2)
    checked = model._targets(ys, 40)
    assert isinstance(checked, LazyRows) and checked.raw.data_ptr() == torch.from_numpy(ys).data_ptr()
    batch = checked.index_select(0, torch.tensor([1, 2]))
    assert batch.dtype == torch.float32 and batch.tolist() == [[1.0], [0.0]]


def test_a_windowed_model_trains_evaluates_and_predicts_in_row_order(tmp_path):
    x = padded(n=150).numpy()
    y = (x == 7).any(axis=1).astype(np.int64)
    set_random_seed(0)
    model = rnn_model()
    model.batcher_factory = windowed_batcher
    history = model.fit(x, mapped(tmp_path, "y", y), batch_size=16, epochs=2, validation_split=0.2,
                        verbose=0, bucket_by_length=True)  # fmt: skip
    assert len(history.history["loss"]) == 2 and "val_acc" in history.history
    windowed = model.predict(x, batch_size=32, verbose=0, bucket_by_length=True)
    model.batcher_factory = None
    assert np.allclose(windowed, model.predict(x, batch_size=32, verbose=0), atol=1e-6)
    assert model.evaluate(x, y.astype(np.float32), verbose=0) == pytest.approx(
        model.evaluate(x, mapped(tmp_path, "y2", y), verbose=0), abs=1e-6
    )


@pytest.mark.parametrize("n", [1, 2, 3, 64, 1000, 1024])
def test_the_epoch_bijection_covers_every_row_for_any_count(n):
    b = WindowedBatcher(torch.ones(n, 2, dtype=torch.int32), 4, window_rows=8)
    set_random_seed(n)
    for _ in range(3):
        plan = b.plan()
        members = torch.cat([b.members(w, plan.seed) for w in range(b.windows)])
        assert sorted(members.tolist()) == list(range(n))
        assert sorted(r for idx, _ in batches(plan) for r in idx) == list(range(n))
