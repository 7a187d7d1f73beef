import numpy as np
import pytest
import torch

from textrnn import losses
from textrnn.training import metrics
from textrnn.training.losses import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    MeanSquaredError,
    SparseCategoricalCrossentropy,
    get,
)


def test_binary_crossentropy_matches_reference_and_logits_agree():
    y = torch.tensor([[1.0], [0.0], [1.0]])
    z = torch.tensor([[2.0], [-1.0], [-0.5]])
    p = torch.sigmoid(z)
    ref = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean(-1)
    torch.testing.assert_close(losses.binary_crossentropy(y, p), ref)
    torch.testing.assert_close(losses.binary_crossentropy(y, z, from_logits=True), ref)


def test_binary_crossentropy_clips_probabilities_like_keras():
    y = torch.tensor([[1.0]])
    got = losses.binary_crossentropy(y, torch.tensor([[0.0]]))
    assert got.item() == pytest.approx(-np.log(1e-7), rel=1e-3)
    assert torch.isfinite(got).all()


def test_categorical_and_sparse_agree():
    z = torch.tensor([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0]])
    ids = torch.tensor([1, 2])
    onehot = torch.nn.functional.one_hot(ids, 3).float()
    ref = -torch.log_softmax(z, -1)[torch.arange(2), ids]
    torch.testing.assert_close(losses.categorical_crossentropy(onehot, z, from_logits=True), ref)
    torch.testing.assert_close(losses.sparse_categorical_crossentropy(ids, z, from_logits=True), ref)
    p = torch.softmax(z, -1)
    torch.testing.assert_close(losses.categorical_crossentropy(onehot, p), ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(losses.sparse_categorical_crossentropy(ids, p), ref, rtol=1e-5, atol=1e-6)


def test_mse_and_mae():
    y = torch.tensor([[1.0, 2.0]])
    p = torch.tensor([[2.0, 4.0]])
    assert losses.mse(y, p).item() == pytest.approx(2.5)
    assert losses.mae(y, p).item() == pytest.approx(1.5)
    assert isinstance(get("mse"), MeanSquaredError)


@pytest.mark.parametrize(
    "loss,y,units,message",
    [
        (BinaryCrossentropy(), np.array([0, 1, 2]), 1, "labels in [0, 1]"),
        (BinaryCrossentropy(), np.array([[0, 1], [1, 0]]), 1, "shape (samples,) or (samples, 1)"),
        (BinaryCrossentropy(), np.array([0.0, np.nan]), 1, "NaN or infinite"),
        (SparseCategoricalCrossentropy(), np.array([0, 3]), 3, "class ids in [0, 3)"),
        (SparseCategoricalCrossentropy(), np.array([0, 1]), 1, "cannot hold two classes"),
        (SparseCategoricalCrossentropy(), np.array([0.5, 1.0]), 3, "integer class ids"),
        (SparseCategoricalCrossentropy(), np.eye(3), 3, "use `loss='categorical_crossentropy'`"),
        (CategoricalCrossentropy(), np.array([0, 2, 1]), 3, "use `loss='sparse_categorical_crossentropy'`"),
        (CategoricalCrossentropy(), np.eye(4), 3, "shape (samples, 3)"),
    ],
)
def test_label_checks(loss, y, units, message):
    with pytest.raises(ValueError) as err:
        loss.check_labels(y, units)
    assert message in str(err.value)
    assert "`y`" in str(err.value)


def test_prepare_labels_layouts():
    assert tuple(BinaryCrossentropy().prepare_labels(np.array([0, 1]), 1).shape) == (2, 1)
    sparse = SparseCategoricalCrossentropy().prepare_labels(np.array([[2], [0]]), 3)
    assert sparse.dtype == torch.int64 and tuple(sparse.shape) == (2,)


def test_get_loss_errors():
    with pytest.raises(ValueError, match="no value for argument `loss`"):
        get(None)
    with pytest.raises(ValueError, match="binary_crossentropy"):
        get("binary_cross_entropy")
    with pytest.raises(TypeError, match="`loss`"):
        get(3)


@pytest.mark.parametrize(
    "loss,units,expected",
    [
        ("binary_crossentropy", 1, "binary_accuracy"),
        ("binary_crossentropy", 4, "binary_accuracy"),
        ("categorical_crossentropy", 3, "categorical_accuracy"),
        ("sparse_categorical_crossentropy", 3, "sparse_categorical_accuracy"),
        ("mse", 1, "binary_accuracy"),
        ("mse", 3, "categorical_accuracy"),
    ],
)
@pytest.mark.parametrize("name", ["acc", "accuracy"])
def test_accuracy_is_chosen_by_loss_and_keeps_its_name(loss, units, expected, name):
    metric = metrics.get(name, get(loss), units)
    assert metric.name == name
    assert metric.fn is getattr(metrics, expected)
    assert metric.direction == "up"


def test_accuracy_values():
    y = torch.tensor([[1.0], [0.0], [1.0], [0.0]])
    p = torch.tensor([[0.9], [0.2], [0.4], [0.6]])
    assert metrics.binary_accuracy(y, p).mean().item() == pytest.approx(0.5)
    ids = torch.tensor([2, 0])
    probs = torch.tensor([[0.1, 0.2, 0.7], [0.3, 0.6, 0.1]])
    assert metrics.sparse_categorical_accuracy(ids, probs).tolist() == [1.0, 0.0]
    onehot = torch.nn.functional.one_hot(ids, 3).float()
    assert metrics.categorical_accuracy(onehot, probs).tolist() == [1.0, 0.0]


def test_unknown_metric():
    with pytest.raises(ValueError, match="'roc_area'"):
        metrics.get("roc_area", get("binary_crossentropy"), 1)
    with pytest.raises(TypeError, match="`metrics`"):
        metrics.get(1, get("binary_crossentropy"), 1)
