"""Availability, the TEXTRNN_KERNELS switch, the build cache, and argument checking."""

from __future__ import annotations

import warnings

import pytest
import torch

import textrnn.kernels as K
from textrnn.errors import KernelUnavailableError
from textrnn.kernels import _build, _loader


@pytest.fixture
def fresh(monkeypatch):
    """Forget this process's build result for one test (restored afterwards)."""
    monkeypatch.setattr(_loader, "_result", None)
    monkeypatch.delenv("TEXTRNN_KERNELS", raising=False)
    return monkeypatch


def test_no_compiler_falls_back_with_one_warning(fresh, tmp_path):
    fresh.setenv("TEXTRNN_HOME", str(tmp_path))
    fresh.setenv("CXX", str(tmp_path / "no-such-compiler"))
    with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler found"):
        assert K.available() is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second call warns no more
        assert K.available() is False
    info = K.build_info()
    assert info["available"] is False and "no-such-compiler" in info["error"]
    with pytest.raises(KernelUnavailableError, match="not available here"):
        K.simple_rnn(torch.zeros(1, 1, 2), torch.zeros(1, 2), torch.zeros(2, 2))


def test_native_mode_raises_when_the_build_fails(fresh, tmp_path):
    fresh.setenv("TEXTRNN_HOME", str(tmp_path))
    fresh.setenv("CXX", str(tmp_path / "no-such-compiler"))
    fresh.setenv("TEXTRNN_KERNELS", "native")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(KernelUnavailableError, match="TEXTRNN_KERNELS=native"):
            K.available()


def test_torch_mode_never_builds(fresh):
    fresh.setenv("TEXTRNN_KERNELS", "torch")

    def no_build():
        raise AssertionError("TEXTRNN_KERNELS=torch must not build")

    fresh.setattr(_loader, "load_extension", no_build)
    assert K.available() is False
    assert K.mode() == "torch"
    assert "TEXTRNN_KERNELS=torch" in K.build_info()["error"]


def test_invalid_mode_names_the_variable(fresh):
    fresh.setenv("TEXTRNN_KERNELS", "fast")
    with pytest.raises(ValueError, match="`TEXTRNN_KERNELS`.*'auto', 'native' or 'torch'.*'fast'"):
        K.available()


def test_failing_compiler_is_reported_and_all_flag_sets_tried(monkeypatch, tmp_path):
    monkeypatch.setenv("TEXTRNN_HOME", str(tmp_path))
    monkeypatch.setattr(_build, "compiler_missing", lambda: None)
    tried = []

    def failing(cflags, ldflags):
        tried.append(cflags)
        raise RuntimeError(f"Error building extension: flags {cflags[-1]}\nmore output")

    monkeypatch.setattr(_build, "_load_with", failing)
    result = _build.load_extension()
    assert result.module is None
    assert len(tried) == len(_build.flag_attempts()) >= 2
    assert "Error building extension" in result.error and "more output" not in result.error


def test_build_key_follows_flags_and_cpu_only_when_tuned(monkeypatch):
    native = ["-O3", "-march=native"]
    plain = ["-O3"]
    keys = {f: _build.build_key(f, []) for f in (tuple(native), tuple(plain))}
    assert keys[tuple(native)] != keys[tuple(plain)]
    monkeypatch.setattr(_build, "_cpu_identity", lambda: "some other cpu")
    assert _build.build_key(native, []) != keys[tuple(native)]
    assert _build.build_key(plain, []) == keys[tuple(plain)]


def test_cache_root_follows_textrnn_home(monkeypatch, tmp_path):
    monkeypatch.setenv("TEXTRNN_HOME", str(tmp_path))
    assert _build.cache_root() == tmp_path / "kernels"
    monkeypatch.delenv("TEXTRNN_HOME")
    assert _build.cache_root().parts[-3:] == (".cache", "textrnn", "kernels")


def test_cached_build_loads_without_a_compiler(monkeypatch):
    if not K.available():
        pytest.skip(f"native kernels unavailable: {K.build_info()['error']}")
    monkeypatch.setenv("CXX", "/no/such/compiler")
    result = _build.load_extension()
    assert result.module is not None and result.built is False


# ---------------------------------------------------------------------------- arguments
@pytest.fixture
def native():
    if not K.available():
        pytest.skip(f"native kernels unavailable: {K.build_info()['error']}")


def _rnn_args(batch=2, steps=5, units=3):
    return torch.zeros(batch, steps, units), torch.zeros(batch, units), torch.zeros(units, units)


@pytest.mark.usefixtures("native")
class TestArguments:
    def test_not_a_tensor(self):
        xw, h0, u = _rnn_args()
        with pytest.raises(TypeError, match="`h0` must be a torch.Tensor, got list"):
            K.simple_rnn(xw, [[0.0]], u)

    def test_xw_rank(self):
        with pytest.raises(ValueError, match=r"`xw`.*\(batch, steps, units\).*got shape \(2, 3\)"):
            K.simple_rnn(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(3, 3))

    def test_xw_gates(self):
        with pytest.raises(ValueError, match=r"\(batch, steps, 4 \* units\).*\(2, 5, 6\)"):
            K.lstm(torch.zeros(2, 5, 6), torch.zeros(2, 1), torch.zeros(2, 1), torch.zeros(1, 4))

    def test_integer_xw(self):
        with pytest.raises(TypeError, match="float32 or float64, got torch.int64"):
            K.simple_rnn(torch.zeros(2, 5, 3, dtype=torch.int64), torch.zeros(2, 3), torch.zeros(3, 3))

    def test_state_shape(self):
        xw, _, u = _rnn_args()
        with pytest.raises(ValueError, match=r"`h0`.*shape \(2, 3\), got \(3, 3\)"):
            K.simple_rnn(xw, torch.zeros(3, 3), u)

    def test_mixed_dtypes(self):
        xw, h0, u = _rnn_args()
        with pytest.raises(TypeError, match="`recurrent_kernel`.*torch.float32.*got torch.float64"):
            K.simple_rnn(xw, h0, u.double())

    def test_gru_recurrent_bias_shape(self):
        with pytest.raises(ValueError, match=r"`recurrent_bias`.*\(6,\), got \(2, 6\)"):
            K.gru(torch.zeros(1, 4, 6), torch.zeros(1, 2), torch.zeros(2, 6), torch.zeros(2, 6))

    def test_lengths_dtype(self):
        with pytest.raises(TypeError, match="`lengths`.*integer tensor, got torch.float32"):
            K.simple_rnn(*_rnn_args(), lengths=torch.tensor([1.0, 2.0]))

    def test_lengths_shape(self):
        with pytest.raises(ValueError, match=r"`lengths`.*\(2,\).*got \(3,\)"):
            K.simple_rnn(*_rnn_args(), lengths=torch.tensor([1, 2, 3]))

    def test_lengths_range(self):
        with pytest.raises(ValueError, match=r"`lengths`.*\[0, 5\].*from 1 to 6"):
            K.simple_rnn(*_rnn_args(), lengths=torch.tensor([1, 6]))

    def test_starts_need_lengths(self):
        with pytest.raises(ValueError, match="`starts`.*needs `lengths`"):
            K.simple_rnn(*_rnn_args(), starts=torch.tensor([0, 1]))

    def test_starts_within_steps(self):
        with pytest.raises(ValueError, match=r"\[0, 5\].*starts from 0 to 3"):
            K.simple_rnn(*_rnn_args(), lengths=torch.tensor([2, 3]), starts=torch.tensor([0, 3]))

    def test_int32_lengths_accepted(self):
        out, h = K.simple_rnn(*_rnn_args(), lengths=torch.tensor([0, 5], dtype=torch.int32))
        assert out.shape == (2, 5, 3) and h.shape == (2, 3)

    def test_cpu_only(self):
        xw = torch.zeros(2, 5, 3, device="meta")
        with pytest.raises(ValueError, match="CPU tensors only.*cuDNN"):
            K.simple_rnn(xw, torch.zeros(2, 3), torch.zeros(3, 3))
