import torch

from textrnn.training.batching import Batcher, BucketBatcher, padding_spans
from textrnn.training.seed import set_random_seed


def _rows(plan):
    return torch.cat([plan.order[s:e] for s, e in plan.batches])


def test_batcher_covers_every_row_once_with_a_partial_last_batch():
    plan = Batcher(10, 4, shuffle=True).plan()
    assert [e - s for s, e in plan.batches] == [4, 4, 2]
    assert sorted(_rows(plan).tolist()) == list(range(10))
    assert plan.columns is None


def test_batcher_without_shuffle_keeps_order():
    plan = Batcher(5, 2, shuffle=False).plan()
    assert plan.order.tolist() == [0, 1, 2, 3, 4]
    assert len(Batcher(5, 2, shuffle=False)) == 3


def test_shuffle_follows_the_seed():
    set_random_seed(3)
    a = Batcher(50, 8).plan().order
    set_random_seed(3)
    b = Batcher(50, 8).plan().order
    c = Batcher(50, 8).plan().order
    assert torch.equal(a, b)
    assert not torch.equal(b, c)


def test_padding_spans_pre_and_post():
    x = torch.tensor(
        [
            [0, 0, 3, 4],  # pre-padded
            [5, 6, 0, 0],  # post-padded
            [0, 0, 0, 0],  # empty
            [1, 0, 2, 3],  # interior zero
        ]
    )
    first, end = padding_spans(x)
    assert first.tolist() == [2, 0, 4, 0]
    assert end.tolist() == [4, 2, 0, 4]


def test_bucket_batcher_trims_to_the_non_padding_window():
    # pre-padded rows of lengths 1..8 in 10 columns
    x = torch.zeros(8, 10, dtype=torch.long)
    for i in range(8):
        x[i, 10 - (i + 1) :] = 1
    b = BucketBatcher(*padding_spans(x), batch_size=2, shuffle=False)
    plan = b.plan()
    assert sorted(_rows(plan).tolist()) == list(range(8))
    for (s, e), (lo, hi) in zip(plan.batches, plan.columns, strict=True):
        rows = plan.order[s:e]
        assert hi == 10
        # the window holds every token of the batch and no all-padding column at its left edge
        assert (x[rows][:, :lo] == 0).all()
        assert (x[rows][:, lo] != 0).any()
    # sorted by length without shuffle: the first batch is the two shortest rows
    assert plan.columns[0] == (8, 10)


def test_bucket_batcher_groups_similar_lengths_and_shuffles_batches():
    set_random_seed(0)
    lengths = torch.randint(1, 50, (400,))
    first = 50 - lengths
    end = torch.full((400,), 50)
    b = BucketBatcher(first, end, batch_size=16, shuffle=True, chunk_batches=25)
    plan = b.plan()
    assert sorted(_rows(plan).tolist()) == list(range(400))
    assert [e - s for s, e in plan.batches].count(16) == 25
    spread = [int(lengths[plan.order[s:e]].max() - lengths[plan.order[s:e]].min()) for s, e in plan.batches]
    assert sum(spread) / len(spread) < 10  # random batches would spread ~45
    widths = [hi - lo for lo, hi in plan.columns]
    assert widths != sorted(widths)  # batch order is shuffled


def test_all_padding_batch_keeps_one_column():
    x = torch.zeros(3, 5, dtype=torch.long)
    plan = BucketBatcher(*padding_spans(x), batch_size=3, shuffle=False).plan()
    assert plan.columns == [(0, 1)]
