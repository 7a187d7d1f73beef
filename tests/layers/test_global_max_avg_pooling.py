import json

import numpy as np
import pytest
import torch

from textrnn.layers import GlobalMaxAvgPooling1D
from textrnn.models.registry import layer_from_config


def test_output_is_max_then_mean_and_skips_masked_steps():
    x = torch.randn(3, 6, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]], dtype=torch.bool)
    out = GlobalMaxAvgPooling1D()(x, mask=mask)
    assert out.shape == (3, 8)
    # independent reference: pool the unmasked steps of each row by hand
    torch.testing.assert_close(out[0], torch.cat([x[0, :3].max(0).values, x[0, :3].mean(0)]))
    torch.testing.assert_close(out[1], torch.cat([x[1].max(0).values, x[1].mean(0)]))
    torch.testing.assert_close(out[2], torch.zeros(8))
    torch.testing.assert_close(GlobalMaxAvgPooling1D()(x), torch.cat([x.amax(1), x.mean(1)], dim=1))


@pytest.mark.parametrize(
    ("data_format", "keepdims", "shape", "expected"),
    [
        ("channels_last", False, (2, 5, 3), (2, 6)),
        ("channels_last", True, (2, 5, 3), (2, 1, 6)),
        ("channels_first", False, (2, 3, 5), (2, 6)),
        ("channels_first", True, (2, 3, 5), (2, 6, 1)),
    ],
)
def test_shapes(data_format, keepdims, shape, expected):
    layer = GlobalMaxAvgPooling1D(data_format=data_format, keepdims=keepdims)
    assert tuple(layer(np.ones(shape, "float32")).shape) == expected
    assert layer.compute_output_shape((None, *shape[1:])) == (None, *expected[1:])


def test_config_survives_json_and_registry():
    layer = GlobalMaxAvgPooling1D(data_format="channels_first", keepdims=True, name="pool")
    entry = json.loads(json.dumps({"class_name": "GlobalMaxAvgPooling1D", "config": layer.get_config()}))
    again = layer_from_config(entry)
    assert isinstance(again, GlobalMaxAvgPooling1D)
    assert again.get_config() == layer.get_config()
    assert layer.count_params() == 0


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="`data_format`"):
        GlobalMaxAvgPooling1D(data_format="nhwc")
    with pytest.raises(TypeError, match="`keepdims`"):
        GlobalMaxAvgPooling1D(keepdims=1)
    with pytest.raises(ValueError, match="rank 3"):
        GlobalMaxAvgPooling1D()(torch.zeros(2, 3))
