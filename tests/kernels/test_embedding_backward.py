"""The native Embedding gradient against a zero matrix plus one sequential `index_add_`."""

from __future__ import annotations

import pytest
import torch

import textrnn.kernels as K
from textrnn.layers import Embedding


@pytest.fixture(autouse=True)
def native() -> None:
    if not K.available():
        pytest.skip(f"native kernels unavailable: {K.build_info()['error']}")


def reference(grad: torch.Tensor, ids: torch.Tensor, rows: int) -> torch.Tensor:
    out = grad.new_zeros(rows, grad.shape[-1])
    return out.index_add_(0, ids.reshape(-1), grad.reshape(-1, grad.shape[-1]))


def zipf_ids(batch: int, steps: int, rows: int, seed: int) -> torch.Tensor:
    """Ids as in text: a few rows (low indices) take most of the hits; 0 is padding."""
    g = torch.Generator().manual_seed(seed)
    weights = 1.0 / torch.arange(1, rows + 1, dtype=torch.float64)
    ids = torch.multinomial(weights, batch * steps, replacement=True, generator=g).view(batch, steps)
    ids[:, : steps // 3] = 0  # leading padding, repeated many times
    return ids


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(1, 1, 3), (4, 7, 5), (64, 300, 32)])
def test_bit_identical_to_index_add(dtype, shape):
    batch, steps, dim = shape
    rows = 1000
    ids = zipf_ids(batch, steps, rows, seed=batch + steps)
    grad = torch.randn(batch, steps, dim, dtype=dtype)
    got = K.embedding_backward(grad, ids, rows)
    assert got.dtype == dtype and got.shape == (rows, dim)
    assert torch.equal(got, reference(grad, ids, rows))


def test_repeated_indices_accumulate_in_order():
    # Sums whose value depends on the order of the additions in float32.
    grad = torch.tensor([1e8, 1.0, -1e8, 1.0, 3.0], dtype=torch.float32).view(1, 5, 1)
    ids = torch.tensor([[2, 2, 2, 2, 0]])
    got = K.embedding_backward(grad, ids, 3)
    assert torch.equal(got, reference(grad, ids, 3))
    assert got[2, 0].item() == 1.0  # ((1e8 + 1) - 1e8) + 1 in float32
    assert got[1, 0].item() == 0.0 and got[0, 0].item() == 3.0


def test_same_results_with_one_or_two_threads():
    ids = zipf_ids(128, 400, 10000, seed=1)  # large enough to use two threads
    grad = torch.randn(128, 400, 32)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = K.embedding_backward(grad, ids, 10000)
        torch.set_num_threads(2)
        two = K.embedding_backward(grad, ids, 10000)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one, two)
    assert torch.equal(one, reference(grad, ids, 10000))


def test_strided_grad_and_ids():
    ids = zipf_ids(16, 50, 200, seed=3)
    grad_tm = torch.randn(50, 16, 8)  # time-major memory, as the recurrent kernels return it
    grad = grad_tm.transpose(0, 1)
    ids_tm = ids.t().contiguous().t()
    got = K.embedding_backward(grad, ids_tm, 200)
    assert torch.equal(got, reference(grad.contiguous(), ids, 200))
    wide = torch.randn(16, 50, 16)[..., ::2]  # last dimension strided: copied first
    assert torch.equal(K.embedding_backward(wide, ids, 200), reference(wide.contiguous(), ids, 200))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_steps_first_adds_in_step_major_order(dtype):
    ids = zipf_ids(32, 120, 500, seed=11)
    grad_tm = torch.randn(120, 32, 16, dtype=dtype)  # time-major memory, read as one stream
    grad = grad_tm.transpose(0, 1)
    got = K.embedding_backward(grad, ids, 500, steps_first=True)
    assert torch.equal(got, reference(grad_tm, ids.t(), 500))  # the sum over (t, b), in order
    assert torch.equal(K.embedding_backward(grad, ids, 500), reference(grad, ids, 500))
    order = torch.tensor([1e8, 1.0, -1e8, 1.0], dtype=torch.float32)  # order-dependent sums
    g = order.view(2, 2, 1)  # (batch 2, steps 2): batch-major 1e8, 1, -1e8, 1; step-major 1e8, -1e8, 1, 1
    same = torch.zeros(2, 2, dtype=torch.long)
    assert K.embedding_backward(g, same, 1)[0, 0].item() == 1.0
    assert K.embedding_backward(g, same, 1, steps_first=True)[0, 0].item() == 2.0
    with pytest.raises(IndexError, match="out of range"):
        K.embedding_backward(grad, torch.full((32, 120), 500), 500, steps_first=True)


def test_rows_never_hit_are_zero_and_empty_batch():
    ids = torch.tensor([[3, 3]])
    got = K.embedding_backward(torch.ones(1, 2, 4), ids, 6)
    assert torch.equal(got[3], torch.full((4,), 2.0))
    assert int(torch.count_nonzero(got[[0, 1, 2, 4, 5]])) == 0
    empty = K.embedding_backward(torch.ones(0, 5, 4), torch.zeros(0, 5, dtype=torch.long), 6)
    assert torch.equal(empty, torch.zeros(6, 4))


def test_bad_arguments():
    grad = torch.randn(2, 3, 4)
    ids = torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(IndexError, match="out of range for 5 embedding rows"):
        K.embedding_backward(grad, torch.full((2, 3), 5), 5)
    with pytest.raises(IndexError, match="index -1"):
        K.embedding_backward(grad, torch.full((2, 3), -1), 5)
    with pytest.raises(ValueError, match="must be `grad` \\(batch, steps, dim\\)"):
        K.embedding_backward(grad, ids[:, :2], 5)
    with pytest.raises(TypeError, match="integer tensor"):
        K.embedding_backward(grad, ids.float(), 5)
    with pytest.raises(TypeError, match="float32 or float64"):
        K.embedding_backward(grad.half(), ids, 5)
    with pytest.raises(ValueError, match="`rows`"):
        K.embedding_backward(grad, ids, -1)


def test_layer_gradient_same_with_native_or_torch_kernels(monkeypatch):
    layer = Embedding(300, 8, mask_zero=True)
    ids = zipf_ids(32, 40, 300, seed=5)
    grad = torch.randn(32, 40, 8)
    grads = []
    for mode in ("native", "torch"):
        monkeypatch.setenv("TEXTRNN_KERNELS", mode)
        layer.embeddings.grad = None
        layer(ids).backward(grad)
        grads.append(layer.embeddings.grad.clone())
    assert torch.equal(grads[0], grads[1])
    assert torch.equal(grads[0], reference(grad, ids, 300))
