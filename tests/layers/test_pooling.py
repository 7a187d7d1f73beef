"""GlobalMaxPooling1D and GlobalAveragePooling1D, with and without masks."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from textrnn.layers import GlobalAveragePooling1D, GlobalMaxPooling1D

X = np.array(
    [
        [[1.0, -2.0], [5.0, -1.0], [2.0, -7.0]],
        [[-3.0, 4.0], [-1.0, 0.5], [9.0, 3.0]],
        [[0.5, 0.5], [0.25, 0.75], [1.0, 1.0]],
    ],
    dtype="float32",
)
MASK = np.array([[True, False, True], [True, True, False], [False, False, False]])


def test_unmasked_pooling_is_max_and_mean():
    np.testing.assert_allclose(GlobalMaxPooling1D()(X).numpy(), X.max(axis=1))
    np.testing.assert_allclose(GlobalAveragePooling1D()(X).numpy(), X.mean(axis=1), rtol=1e-6)


def test_masked_steps_are_excluded():
    got_max = GlobalMaxPooling1D()(X, mask=MASK).numpy()
    got_avg = GlobalAveragePooling1D()(X, mask=MASK).numpy()
    np.testing.assert_allclose(got_max[0], [2.0, -2.0])  # 5.0 and -1.0 are masked
    np.testing.assert_allclose(got_max[1], [-1.0, 4.0])  # 9.0 is masked
    np.testing.assert_allclose(got_avg[0], [1.5, -4.5])
    np.testing.assert_allclose(got_avg[1], [-2.0, 2.25])
    np.testing.assert_array_equal(got_max[2], [0.0, 0.0])  # nothing left: zeros, not -inf or NaN
    np.testing.assert_array_equal(got_avg[2], [0.0, 0.0])


@pytest.mark.parametrize("cls", [GlobalMaxPooling1D, GlobalAveragePooling1D])
def test_keepdims_channels_first_shapes_and_mask_consumed(cls):
    assert cls().compute_output_shape((None, 7, 4)) == (None, 4)
    assert cls(keepdims=True).compute_output_shape((None, 7, 4)) == (None, 1, 4)
    assert cls(data_format="channels_first").compute_output_shape((None, 4, 7)) == (None, 4)
    out = cls(keepdims=True)(X, mask=MASK)
    assert tuple(out.shape) == (3, 1, 2)
    xt = np.transpose(X, (0, 2, 1))
    torch.testing.assert_close(cls(data_format="channels_first")(xt, mask=MASK), cls()(X, mask=MASK))
    assert cls().compute_mask(torch.tensor(X), torch.tensor(MASK)) is None


@pytest.mark.parametrize("cls", [GlobalMaxPooling1D, GlobalAveragePooling1D])
def test_gradients_skip_masked_steps(cls):
    x = torch.tensor(X, requires_grad=True)
    cls()(x, mask=MASK).sum().backward()
    assert torch.all(x.grad[torch.tensor(~MASK)] == 0)
    assert x.grad.abs().sum() > 0


@pytest.mark.parametrize("cls", [GlobalMaxPooling1D, GlobalAveragePooling1D])
def test_config_and_names(cls):
    layer = cls(data_format="channels_first", keepdims=True)
    config = json.loads(json.dumps(layer.get_config()))
    assert cls.from_config(config).get_config() == config
    assert cls().name.startswith(
        {GlobalMaxPooling1D: "global_max_pooling1d", GlobalAveragePooling1D: "global_average_pooling1d"}[cls]
    )


@pytest.mark.parametrize("cls", [GlobalMaxPooling1D, GlobalAveragePooling1D])
def test_errors(cls):
    with pytest.raises(ValueError, match="`data_format`.*got 'NHWC'"):
        cls(data_format="NHWC")
    with pytest.raises(TypeError, match="`keepdims`"):
        cls(keepdims=1)
    with pytest.raises(ValueError, match="rank 3"):
        cls()(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"mask .* \(batch, steps\) = \(3, 3\), got \(3, 2\)"):
        cls()(X, mask=MASK[:, :2])
