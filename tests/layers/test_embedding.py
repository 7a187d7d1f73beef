import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from textrnn.layers import Embedding


def test_param_count_and_output_shape():
    layer = Embedding(10000, 32)
    assert layer.count_params() == 320_000
    assert layer.compute_output_shape((None, 500)) == (None, 500, 32)
    out = layer(np.array([[1, 2, 3]]))
    assert tuple(out.shape) == (1, 3, 32)


def test_default_initializer_is_uniform_005():
    w = Embedding(2000, 16).get_weights()[0]
    assert np.abs(w).max() <= 0.05
    assert w.std() > 0.02  # spread over the interval, not constant


def test_lookup_and_gradient_match_pytorch_embedding():
    layer = Embedding(50, 4)
    ids = torch.randint(0, 50, (6, 9))
    ids[0, :3] = 7  # repeated indices must accumulate
    grad = torch.randn(6, 9, 4)
    out = layer(ids)
    out.backward(grad)
    ours = layer.embeddings.grad.clone()

    weight = layer.embeddings.detach().clone().requires_grad_(True)
    ref = F.embedding(ids, weight)
    ref.backward(grad)
    torch.testing.assert_close(out.detach(), ref.detach())
    torch.testing.assert_close(ours, weight.grad)


def test_mask_zero():
    layer = Embedding(10, 2, mask_zero=True)
    x = torch.tensor([[0, 0, 3, 4]])
    assert layer.compute_mask(x).tolist() == [[False, False, True, True]]
    assert Embedding(10, 2).compute_mask(x) is None


@pytest.mark.parametrize("bad", [10, 11, -1])
def test_index_out_of_range_names_the_fix(bad):
    layer = Embedding(10, 2)
    with pytest.raises(ValueError, match=r"input_dim=10.*num_words=10"):
        layer(torch.tensor([[1, bad]]))


def test_bad_arguments():
    with pytest.raises(ValueError, match="input_dim"):
        Embedding(0, 2)
    with pytest.raises(ValueError, match="output_dim"):
        Embedding(3, -1)


def test_config_round_trip():
    layer = Embedding(20, 3, mask_zero=True, name="emb")
    config = json.loads(json.dumps(layer.get_config()))
    twin = Embedding.from_config(config)
    twin.set_weights(layer.get_weights())
    x = torch.tensor([[0, 5, 19]])
    torch.testing.assert_close(twin(x), layer(x))
    assert twin.mask_zero and twin.name == "emb"
