import json
import sys

import numpy as np
import pytest

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from textrnn.callbacks import Callback, LearningRateScheduler, TensorBoard  # noqa: E402
from textrnn.layers import Dense, Dropout, Embedding, GlobalAveragePooling1D  # noqa: E402
from textrnn.models import Sequential  # noqa: E402
from textrnn.optimizers import RMSprop  # noqa: E402
from textrnn.utils import set_random_seed  # noqa: E402

X = np.random.default_rng(0).integers(1, 10, size=(40, 5))
Y = (X[:, 0] > 5).astype(int)


def model():
    m = Sequential(
        [Embedding(10, 4, name="emb"), GlobalAveragePooling1D(), Dropout(0.2), Dense(1, activation="sigmoid")]
    )
    m.compile(optimizer=RMSprop(learning_rate=0.05), loss="binary_crossentropy", metrics=["acc"])
    return m


def events(folder):
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    return acc


def scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_epoch_scalars_match_history(tmp_path):
    set_random_seed(1)
    m = model()
    tb = TensorBoard(tmp_path / "logs")
    # a halving schedule, so the logged learning rate changes from epoch to epoch
    lr = LearningRateScheduler(lambda epoch, rate: 0.05 / 2**epoch)
    h = m.fit(X, Y, epochs=3, batch_size=8, validation_split=0.25, callbacks=[lr, tb], verbose=0)
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["train", "validation"]
    train = events(tmp_path / "logs" / "train")
    val = events(tmp_path / "logs" / "validation")
    assert set(train.Tags()["scalars"]) == {"epoch_loss", "epoch_acc", "epoch_learning_rate"}
    assert set(val.Tags()["scalars"]) == {
        "epoch_loss",
        "epoch_acc",
        "evaluation_loss_vs_iterations",
        "evaluation_acc_vs_iterations",
    }
    for key in ("loss", "acc"):
        got = scalars(train, f"epoch_{key}")
        assert [s for s, _ in got] == [0, 1, 2]
        np.testing.assert_allclose([v for _, v in got], h.history[key], rtol=1e-6)
        got = scalars(val, f"epoch_{key}")
        assert [s for s, _ in got] == [0, 1, 2]
        np.testing.assert_allclose([v for _, v in got], h.history[f"val_{key}"], rtol=1e-6)
    np.testing.assert_allclose(
        [v for _, v in scalars(train, "epoch_learning_rate")], [0.05, 0.025, 0.0125], rtol=1e-6
    )
    # 30 training rows in batches of 8: 4 steps an epoch
    assert [s for s, _ in scalars(val, "evaluation_loss_vs_iterations")] == [4, 8, 12]
    np.testing.assert_allclose(
        [v for _, v in scalars(val, "evaluation_loss_vs_iterations")], h.history["val_loss"], rtol=1e-6
    )
    # write_graph: the model's config as JSON
    (text,) = train.Tensors("keras/text_summary")
    config = json.loads(text.tensor_proto.string_val[0].decode())
    assert config["class_name"] == "Sequential"


class BatchLogs(Callback):
    def __init__(self):
        super().__init__()
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append(dict(logs))


@pytest.mark.parametrize("update_freq, every", [("batch", 1), (3, 3)])
def test_batch_scalars(tmp_path, update_freq, every):
    m = model()
    rec = BatchLogs()
    tb = TensorBoard(tmp_path, update_freq=update_freq, write_graph=False, write_steps_per_second=True)
    m.fit(X, Y, epochs=2, batch_size=8, callbacks=[rec, tb], verbose=0)
    train = events(tmp_path / "train")
    steps = list(range(every, 11, every))  # 5 batches an epoch, 2 epochs: global batches 1..10
    got = scalars(train, "batch_loss")
    assert [s for s, _ in got] == steps
    np.testing.assert_allclose([v for _, v in got], [rec.logs[s - 1]["loss"] for s in steps], rtol=1e-6)
    assert [s for s, _ in scalars(train, "batch_acc")] == steps
    assert [s for s, _ in scalars(train, "batch_steps_per_second")] == steps
    assert all(v > 0 for _, v in scalars(train, "epoch_steps_per_second"))
    assert not (tmp_path / "validation").exists()


def test_epoch_only_writes_no_batch_scalars(tmp_path):
    m = model()
    m.fit(X, Y, epochs=1, batch_size=8, callbacks=[TensorBoard(tmp_path)], verbose=0)
    tags = events(tmp_path / "train").Tags()["scalars"]
    assert not [t for t in tags if t.startswith("batch_")]
    assert "epoch_steps_per_second" not in tags


def test_histograms(tmp_path):
    m = model()
    m.fit(X, Y, epochs=3, batch_size=8, callbacks=[TensorBoard(tmp_path, histogram_freq=2)], verbose=0)
    train = events(tmp_path / "train")
    tags = train.Tags()["histograms"]
    assert f"{m.name}/emb/embeddings/histogram" in tags
    n_weights = sum(1 for _ in m.parameters())
    assert len(tags) == n_weights
    for tag in tags:
        assert [e.step for e in train.Histograms(tag)] == [0, 2]
    emb = f"{m.name}/emb/embeddings/histogram"
    last = train.Histograms(emb)[-1].histogram_value
    w = m.get_weights()[0]
    assert last.num == w.size
    np.testing.assert_allclose([last.min, last.max], [w.min(), w.max()], rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"update_freq": "step"}, "update_freq"),
        ({"update_freq": 0}, "update_freq"),
        ({"histogram_freq": -1}, "histogram_freq"),
        ({"profile_batch": 2}, "profile_batch"),
        ({"profile_batch": "10,20"}, "profile_batch"),
        ({"write_images": True}, "write_images"),
        ({"embeddings_freq": 1}, "embeddings_freq"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        TensorBoard(**kwargs)


def test_missing_tensorboard_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    m = model()
    with pytest.raises(ImportError, match=r"pip install 'textrnn\[tensorboard\]'"):
        m.fit(X, Y, epochs=1, batch_size=8, callbacks=[TensorBoard(tmp_path)], verbose=0)


def test_epoch_logging_skips_the_batch_hooks(tmp_path):
    from textrnn.callbacks import CallbackList

    m = model()
    quiet = CallbackList([TensorBoard(tmp_path)], m, {})
    assert not quiet.wants("on_train_batch_begin") and not quiet.wants("on_train_batch_end")
    busy = CallbackList([TensorBoard(tmp_path, update_freq=2)], m, {})
    assert busy.wants("on_train_batch_begin") and busy.wants("on_train_batch_end")


def test_evaluate_writes_evaluation_scalars(tmp_path):
    m = model()
    m.fit(X, Y, epochs=2, batch_size=8, verbose=0)
    loss, acc = m.evaluate(X, Y, batch_size=8, verbose=0, callbacks=[TensorBoard(tmp_path)])
    val = events(tmp_path / "validation")
    assert scalars(val, "evaluation_loss_vs_iterations") == [(10, pytest.approx(loss, rel=1e-6))]
    assert scalars(val, "evaluation_acc_vs_iterations") == [(10, pytest.approx(acc, rel=1e-6))]
