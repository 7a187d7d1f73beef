"""`textrnn train --ema M`: the optimizer's weight average goes into the model at every epoch's end."""

import numpy as np
import pytest
import torch

from textrnn.callbacks import Callback
from textrnn.data.toy import toy_texts, write_toy_csv
from textrnn.runs.options import TrainOptions
from textrnn.runs.trainer import TrainingInterrupted, resume, train

TINY = {
    "units": 4,
    "embedding_dim": 4,
    "maxlen": 16,
    "num_words": 120,
    "batch_size": 16,
    "epochs": 2,
    "ema": 0.9,
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    texts, labels = toy_texts(80, seed=2)
    return write_toy_csv(tmp_path_factory.mktemp("d") / "reviews.csv", texts, labels)


class Watch(Callback):
    """Records, at each epoch's end (after validation), the weights and the optimizer's average."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        opt = self.model.optimizer
        self.seen.append(
            (
                opt.ema_overwrite_frequency,
                opt.iterations,
                self.params["steps"],
                [p.detach().clone() for p in self.model.weights],
                [a.clone() for a in opt.average],
            )
        )


def test_ema_run_validates_and_saves_the_average(tmp_path, data):
    watch = Watch()
    result = train(
        TrainOptions(data=str(data), seed=1, **TINY), tmp_path / "run", verbose=0, callbacks=[watch]
    )
    assert result.status == "complete" and len(watch.seen) == 2
    for epoch, (frequency, iterations, steps, weights, average) in enumerate(watch.seen, start=1):
        assert frequency == steps and iterations == epoch * steps
        for w, a in zip(weights, average, strict=True):
            assert torch.equal(w, a)  # what validation and the checkpoint saw is the average
    from textrnn.models import load_model

    saved = load_model(tmp_path / "run" / "model").get_weights()
    best = watch.seen[result.best_epoch - 1][3]
    for s, b in zip(saved, best, strict=True):
        np.testing.assert_array_equal(s, b.numpy())


def test_an_interrupted_ema_run_resumes_with_its_average(tmp_path, data):
    options = TrainOptions(data=str(data), seed=4, **TINY)
    reference = Watch()
    train(options, tmp_path / "ref", verbose=0, callbacks=[reference])

    class StopAfterFirstEpoch(Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted):
        train(options, tmp_path / "cut", verbose=0, callbacks=[StopAfterFirstEpoch()])
    again = Watch()
    resume(tmp_path / "cut", verbose=0, callbacks=[again])
    for w, a in zip(reference.seen[1][3], again.seen[0][3], strict=True):
        # resumed from the saved average; restarting the average from the weights instead moves them by ~1e-3
        torch.testing.assert_close(a, w, rtol=1e-5, atol=1e-7)


def test_ema_option_is_checked():
    with pytest.raises(ValueError, match="`ema`.*between 0 and 1"):
        TrainOptions(ema=1.0)
    with pytest.raises(ValueError, match="`ema`"):
        TrainOptions(ema=True)
