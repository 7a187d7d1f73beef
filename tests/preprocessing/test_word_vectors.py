import numpy as np
import pytest
import torch

from textrnn.preprocessing.word_vectors import cooccurrence_counts, ppmi_svd_vectors


def test_counts_match_a_brute_force_reference():
    rng = np.random.default_rng(0)
    seqs = [list(rng.integers(0, 12, size=n)) for n in (7, 1, 9, 4)]
    got = cooccurrence_counts(seqs, 10, window=3, min_index=2).to_dense().numpy()
    ref = np.zeros((10, 10))
    for s in seqs:
        for i, a in enumerate(s):
            for j, b in enumerate(s):
                d = abs(i - j)
                if 1 <= d <= 3 and 2 <= a < 10 and 2 <= b < 10:
                    ref[a, b] += 1.0 / d
    np.testing.assert_allclose(got, ref)


def test_words_used_alike_get_close_vectors():
    # words 3 and 4 share their contexts (5-9), words 10 and 11 theirs (12-16)
    rng = np.random.default_rng(1)
    seqs = []
    for _ in range(400):
        left = [int(rng.choice([3, 4])), *rng.integers(5, 10, size=3).tolist()]
        right = [int(rng.choice([10, 11])), *rng.integers(12, 17, size=3).tolist()]
        seqs += [list(rng.permutation(left)), list(rng.permutation(right))]
    v = ppmi_svd_vectors(seqs, 20, 4, window=2, min_index=3)
    assert v.shape == (20, 4) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v[3:17], axis=1), 1.0, rtol=1e-5)
    assert not v[:3].any() and not v[17:].any()  # ignored and unseen indices stay zero
    assert v[3] @ v[4] > 0.9 and v[10] @ v[11] > 0.9
    assert abs(v[3] @ v[10]) < 0.5


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"output_dim": 0}, "`output_dim`"),
        ({"output_dim": 20}, "fewer dimensions"),
        ({"context_smoothing": 0}, "`context_smoothing`"),
        ({"window": 0}, "`window`"),
    ],
)
def test_invalid_arguments_raise(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        ppmi_svd_vectors([[3, 4, 5]], 20, **{"output_dim": 4, **kwargs})


def test_counts_are_coalesced_and_do_not_depend_on_the_texts_order():
    rng = np.random.default_rng(2)
    seqs = [rng.integers(0, 50, size=n).tolist() for n in rng.integers(0, 40, size=60)]
    a = cooccurrence_counts(seqs, 40, window=4, min_index=1)
    b = cooccurrence_counts([seqs[i] for i in rng.permutation(len(seqs))], 40, window=4, min_index=1)
    assert a.is_coalesced()
    keys = a.indices()[0] * 40 + a.indices()[1]
    assert bool((keys[1:] > keys[:-1]).all())  # sorted row-major, no repeats: what coalesce gives
    assert torch.equal(a.indices(), b.indices()) and torch.equal(a.values(), b.values())
    dense = a.to_dense()
    assert torch.equal(dense, dense.t())


def test_counts_of_no_pairs_are_empty():
    got = cooccurrence_counts([[], [5], [1, 2]], 10, window=2, min_index=3)
    assert got.shape == (10, 10) and got._nnz() == 0
