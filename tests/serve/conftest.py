"""A tiny trained run (and a two-member ensemble) on generated reviews, for the serve tests."""

import pytest

from textrnn.data.toy import toy_texts, write_toy_csv
from textrnn.runs.options import TrainOptions
from textrnn.runs.trainer import train

TINY = {
    "rnn": "lstm",
    "units": 8,
    "embedding_dim": 16,
    "maxlen": 40,
    "num_words": 300,
    "batch_size": 32,
    "epochs": 8,
    "seed": 3,
}


@pytest.fixture(scope="session")
def toy_csv(tmp_path_factory):
    texts, labels = toy_texts(400, seed=11)
    return write_toy_csv(tmp_path_factory.mktemp("serve-data") / "reviews.csv", texts, labels)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, toy_csv):
    out = tmp_path_factory.mktemp("serve-run") / "tiny"
    train(TrainOptions(data=str(toy_csv), **TINY), out, verbose=0)
    return out


@pytest.fixture(scope="session")
def tiny_ensemble(tmp_path_factory, toy_csv):
    out = tmp_path_factory.mktemp("serve-ens") / "ens"
    train(TrainOptions(data=str(toy_csv), ensemble=2, **{**TINY, "epochs": 2}), out, verbose=0)
    return out
