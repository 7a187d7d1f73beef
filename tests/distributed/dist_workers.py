"""Functions the distributed tests run in worker processes (loaded by `spawn` from this file)."""

import json
import os

import numpy as np
import torch

import textrnn.distributed as distributed
from textrnn.layers import GRU, LSTM, Dense, Embedding
from textrnn.models import Sequential
from textrnn.training.seed import set_random_seed

N_SAMPLES = 211


def toy_data() -> tuple[np.ndarray, np.ndarray]:
    """Pre-padded token ids of varied lengths, and a label that depends on the tokens."""
    rng = np.random.default_rng(0)
    x = rng.integers(1, 40, size=(N_SAMPLES, 14))
    for i in range(N_SAMPLES):
        x[i, : int(rng.integers(0, 11))] = 0
    y = ((x >= 20).sum(axis=1) > (x > 0).sum(axis=1) / 2).astype(np.float32)
    return x, y


def fit_history(out: str, batch_size: int, bucket: bool, rnn: str) -> None:
    """Train a tiny model for 3 epochs, in a job if this process is one, and write the history
    (rank 0) as JSON to `out`."""
    torch.set_num_threads(1)
    set_random_seed(7)
    layer = LSTM(6) if rnn == "lstm" else GRU(6)
    model = Sequential([Embedding(40, 8, mask_zero=True), layer, Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["acc"])
    x, y = toy_data()
    with distributed.strategy(model):
        history = model.fit(
            x, y, batch_size=batch_size, epochs=3, validation_split=0.2, verbose=0,
            bucket_by_length=bucket,
        )  # fmt: skip
    result = {
        "history": history.history,
        "world_size": distributed.world_size(),
        "weights": float(sum(p.detach().double().sum() for p in model.parameters())),
    }
    if distributed.is_main():
        with open(out, "w", encoding="utf-8") as f:
            json.dump(result, f)


def fail_on(rank: int, code: int) -> None:
    """Rank `rank` exits with `code`; the others wait for it in a collective (and are stopped)."""
    if distributed.rank() == rank:
        os._exit(code)
    torch.distributed.barrier()
    torch.distributed.barrier()
