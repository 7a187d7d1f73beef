"""grad_tn (a^T b for weight gradients) and dense_product: right, and the same bits at any thread
count (MKL's threaded GEMM is not: it splits the sum by the thread count)."""

from __future__ import annotations

import pytest
import torch

from textrnn import kernels
from textrnn.kernels._loader import extension

pytestmark = pytest.mark.skipif(not kernels.available(), reason="the native kernels do not build here")


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


SHAPES = [(0, 3, 5), (1, 1, 1), (100, 33, 128), (513, 8, 32), (5000, 33, 40), (12345, 32, 129), (3000, 9, 1)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("k", "m", "n"), SHAPES)
def test_grad_tn_is_a_transposed_product_alike_at_one_and_two_threads(restore_threads, dtype, k, m, n):
    g = torch.Generator().manual_seed(k + m + n)
    a = torch.randn(k, m, generator=g, dtype=dtype)
    b = torch.randn(k, n, generator=g, dtype=dtype)
    got = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        got[threads] = extension().grad_tn(a, b)
    assert torch.equal(got[1], got[2])
    ref = a.double().t() @ b.double()
    tol = 1e-4 * (k**0.5 + 1) if dtype == torch.float32 else 1e-10
    assert got[1].dtype == dtype and got[1].shape == (m, n)
    torch.testing.assert_close(got[1].double(), ref, atol=tol, rtol=0)


def test_grad_tn_takes_views_and_refuses_mismatched_rows():
    a = torch.randn(64, 10).t()  # (10, 64), not contiguous
    b = torch.randn(10, 3)
    torch.testing.assert_close(extension().grad_tn(a, b), a.t() @ b, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="grad_tn takes"):
        extension().grad_tn(torch.randn(4, 2), torch.randn(5, 2))


def test_grad_tn_reads_column_slices_in_place_with_the_same_bits():
    # a GRU's gradient for its z and r columns: the first 2u of 3u columns, rows 3u apart
    wide = torch.randn(3000, 96)
    a = torch.randn(3000, 40)[:, 5:37]
    b = wide[:, :64]
    assert not b.is_contiguous() and b.stride() == (96, 1)
    got = extension().grad_tn(a, b)
    assert torch.equal(got, extension().grad_tn(a.contiguous(), b.contiguous()))
    torch.testing.assert_close(got, a.t() @ b, atol=1e-3, rtol=1e-5)
    rows = torch.randn(10, 1).expand(10, 4)  # zero column stride: copied first
    torch.testing.assert_close(extension().grad_tn(rows, b[:10]), rows.t() @ b[:10], atol=1e-4, rtol=1e-5)


def test_dense_product_matches_and_its_gradients_are_alike_at_any_thread_count(restore_threads):
    x0 = torch.randn(300, 5, 40, dtype=torch.float64)
    w0 = torch.randn(40, 3, dtype=torch.float64)
    b0 = torch.randn(3, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        kernels.dense_product,
        (x0[:2, :2].clone().requires_grad_(), w0.clone().requires_grad_(), b0.clone().requires_grad_()),
    )
    got = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        x, w, b = (t.float().requires_grad_() for t in (x0, w0, b0))
        out = kernels.dense_product(x, w, b)
        (out**2).sum().backward()
        got[threads] = (out.detach(), x.grad, w.grad, b.grad)
        torch.testing.assert_close(out, x @ w + b, atol=1e-4, rtol=0)
    for one, two in zip(got[1], got[2], strict=True):
        assert torch.equal(one, two)


def test_invariant_products_switch_nests_and_restores():
    assert not kernels.products_invariant()
    with kernels.invariant_products():
        assert kernels.products_invariant()
        with kernels.invariant_products(False):
            assert not kernels.products_invariant()
        assert kernels.products_invariant()
    assert not kernels.products_invariant()
