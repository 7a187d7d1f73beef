"""The distributed batch plan: every rank's share of every batch, length bucketing kept."""

import pytest
import torch

from textrnn.training.batching import (
    Batcher,
    BucketBatcher,
    EpochPlan,
    ShardedPlanner,
    padding_spans,
    shard_plan,
)


@pytest.mark.parametrize("world", [1, 2, 3, 4])
@pytest.mark.parametrize("n,batch", [(10, 4), (9, 4), (13, 1), (5, 8)])
def test_shares_make_up_each_batch(world, n, batch):
    torch.manual_seed(0)
    plan = Batcher(n, batch, shuffle=True).plan()
    shares = [shard_plan(plan, r, world) for r in range(world)]
    for share in shares:
        assert len(share) == len(plan)
    for i, (s, e) in enumerate(plan.batches):
        parts = [sh.order[a:b] for sh, (a, b) in ((sh, sh.batches[i]) for sh in shares)]
        assert torch.equal(torch.cat(parts), plan.order[s:e])  # in order, nothing lost or doubled
        sizes = [len(p) for p in parts]
        assert max(sizes) - min(sizes) <= 1
    covered = torch.cat([sh.order for sh in shares]).sort().values
    assert torch.equal(covered, torch.arange(n))


def test_a_batch_smaller_than_the_ranks_leaves_empty_slices():
    plan = EpochPlan(torch.arange(5), [(0, 4), (4, 5)])
    assert shard_plan(plan, 0, 2).batches == [(0, 2), (2, 2)]  # rank 0's share of the last: none
    assert shard_plan(plan, 1, 2).order.tolist() == [2, 3, 4]
    with pytest.raises(ValueError, match="rank 2 of 2"):
        shard_plan(plan, 2, 2)


def test_bucketed_shares_keep_the_batch_and_its_columns():
    torch.manual_seed(1)
    x = torch.zeros(60, 12, dtype=torch.long)
    for i in range(60):
        x[i, i % 12 :] = 1 + i  # pre-padded rows of lengths 1..12
    batcher = BucketBatcher(*padding_spans(x), 8, shuffle=True, chunk_batches=2)
    plan = batcher.plan()
    share = shard_plan(plan, 1, 2)
    assert share.columns == plan.columns
    first, end = padding_spans(x)
    for (a, b), (lo, hi) in zip(share.batches, share.columns, strict=True):
        rows = share.order[a:b]
        assert bool((first[rows] >= lo).all()) and bool((end[rows] <= hi).all())


def test_sharded_planner_uses_rank_0s_plan():
    torch.manual_seed(2)
    sent = []

    def share(plan):  # rank 1 gets the plan rank 0 made; its own planner is never asked
        assert plan is None
        return sent[-1]

    sent.append(Batcher(10, 4, shuffle=True).plan())

    class Refuse:
        def __len__(self):
            return 3

        def plan(self):
            raise AssertionError("rank 1 must not plan")

    planner = ShardedPlanner(Refuse(), 1, 2, share)
    assert len(planner) == 3
    local = planner.plan()
    assert planner.global_sizes == [4, 4, 2]
    assert planner.local_rows == 5 == len(local.order)
    assert (
        local.order.tolist()
        == torch.cat([sent[0].order[2:4], sent[0].order[6:8], sent[0].order[9:10]]).tolist()
    )
