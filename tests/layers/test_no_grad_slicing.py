"""Without gradients, the native kernels run large batches in row slices: same numbers."""

import pytest
import torch

from textrnn import kernels
from textrnn.layers import GRU, LSTM, SimpleRNN, rnn_kernels

pytestmark = pytest.mark.skipif(not kernels.available(), reason="native kernels unavailable")


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_sliced_no_grad_matches_one_call(cls, return_sequences, masked):
    rows = rnn_kernels._NO_GRAD_ROWS * 2 + 7  # three slices, the last one short
    torch.manual_seed(0)
    x = torch.randn(rows, 12, 5)
    mask = None
    if masked:
        mask = torch.ones(rows, 12, dtype=torch.bool)
        mask[:, :4] = False  # pre-padding
        mask[3, :] = False  # an empty row
    layer = cls(4, return_sequences=return_sequences, return_state=True)
    with torch.enable_grad():
        expected = layer(x, mask=mask)
    with torch.no_grad():
        got = layer(x, mask=mask)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e.detach(), rtol=1e-5, atol=1e-6)


def test_lstm_last_state_without_gradients_matches_training_path():
    """Inference (no gradient, no sequence output) runs `lstm_last`: the same numbers."""
    if not kernels.available():
        pytest.skip("native kernels unavailable")
    layer = LSTM(16)
    x = torch.randn(300, 7, 5)
    mask = torch.arange(7)[None, :] < torch.randint(0, 8, (300, 1))
    for m in (None, mask, mask.flip(1)):
        want = layer(x, mask=m)
        with torch.no_grad():
            got = layer(x, mask=m)
        torch.testing.assert_close(got, want.detach(), atol=1e-6, rtol=1e-6)
