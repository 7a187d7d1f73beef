"""The recurrent layers run the native kernels on CPU, and agree with PyTorch's kernels."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import torch

import textrnn.kernels as K
from textrnn.kernels import _functions
from textrnn.layers import GRU, LSTM, SimpleRNN, rnn_kernels

BATCH, STEPS, FEATURES, UNITS = 6, 9, 5, 16


@pytest.fixture
def calls(monkeypatch):
    """Counts the native kernel calls by cell ("lstm", "lstm+starts", "lstm+lengths", ...)."""
    counter: collections.Counter[str] = collections.Counter()
    for name, cls in (
        ("simple_rnn", _functions._SimpleRNN),
        ("lstm", _functions._LSTM),
        ("gru", _functions._GRU),
    ):
        original = cls.apply

        def counted(*args, _original=original, _name=name):
            lengths, starts = args[-3], args[-2]  # then the recurrent dropout mask
            tag = "+starts" if starts is not None else "+lengths" if lengths is not None else ""
            counter[_name + tag] += 1
            return _original(*args)

        monkeypatch.setattr(cls, "apply", counted)
    return counter


def _layer(cls, **kwargs):
    layer = cls(UNITS, **kwargs)
    layer.build((None, None, FEATURES))
    rng = np.random.default_rng(5)
    layer.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in layer.get_weights()])
    return layer


def _masks():
    lengths = np.array([9, 4, 0, 1, 7, 9])
    post = np.arange(STEPS)[None, :] < lengths[:, None]
    pre = post[:, ::-1].copy()
    gaps = post.copy()
    gaps[4, 2] = False  # not one run of steps: left-aligned instead
    return {"none": None, "pre": pre, "post": post, "gaps": gaps}


def _run(layer, x, mask):
    x = x.clone().requires_grad_()
    out = layer(x, mask=None if mask is None else torch.from_numpy(mask), training=True)
    outputs = out if isinstance(out, (list, tuple)) else [out]
    loss = sum((o * torch.linspace(-1, 1, o.numel()).view_as(o)).sum() for o in outputs)
    grads = torch.autograd.grad(loss, [x, *layer.parameters()])
    return [o.detach() for o in outputs], grads


@pytest.mark.parametrize("mask_name", ["none", "pre", "post", "gaps"])
@pytest.mark.parametrize(
    "flags", [{}, {"return_sequences": True}, {"return_sequences": True, "return_state": True}]
)
@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU], ids=lambda c: c.__name__)
def test_layers_match_pytorch_kernels(cls, flags, mask_name, calls, monkeypatch):
    if not K.available():
        pytest.skip(f"native kernels unavailable: {K.build_info()['error']}")
    layer = _layer(cls, **flags)
    x = torch.from_numpy(np.random.default_rng(6).normal(size=(BATCH, STEPS, FEATURES)).astype("float32"))
    mask = _masks()[mask_name]
    native_out, native_grads = _run(layer, x, mask)
    assert sum(calls.values()) == 1
    expected_tag = {"none": "", "pre": "+starts", "post": "+starts", "gaps": "+lengths"}[mask_name]
    assert list(calls) == [
        {"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}[cls.__name__] + expected_tag
    ]
    monkeypatch.setenv("TEXTRNN_KERNELS", "torch")
    torch_out, torch_grads = _run(layer, x, mask)
    assert sum(calls.values()) == 1  # PyTorch's kernels this time
    for a, b in zip(native_out, torch_out, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    for a, b in zip(native_grads, torch_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_cells_without_a_native_kernel_keep_pytorch(calls):
    layer = _layer(SimpleRNN, activation="relu")
    layer(torch.zeros(2, 3, FEATURES))
    assert not calls


def test_non_cpu_tensors_keep_pytorch():
    spec = _layer(LSTM).cell_spec()
    inputs = torch.zeros(2, 3, FEATURES, device="meta")
    assert rnn_kernels._use_native(spec, inputs, [torch.zeros(2, UNITS)] * 2) is False
