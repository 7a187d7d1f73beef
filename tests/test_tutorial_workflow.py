"""The Keras IMDB SimpleRNN tutorial, with only its imports changed, on a tiny synthetic dataset."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from textrnn.layers import Dense, Embedding, SimpleRNN  # noqa: E402
from textrnn.models import Sequential  # noqa: E402
from textrnn.plot import plot_history  # noqa: E402
from textrnn.preprocessing.sequence import pad_sequences  # noqa: E402


def tiny_imdb(n, max_features, seed):
    """Ragged lists of word ids (1 = start, 2 = OOV, as `imdb.load_data`), label 1 when word 7 occurs."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        words = [1, *rng.integers(8, max_features, size=rng.integers(3, 30)).tolist()]
        label = int(rng.integers(0, 2))
        if label:
            words.insert(int(rng.integers(1, len(words) + 1)), 7)
        texts.append(words)
        labels.append(label)
    return texts, np.array(labels)


def test_keras_tutorial_runs_with_only_imports_changed(tmp_path, capsys):
    max_features = 200
    maxlen = 40
    batch_size = 16

    input_train, y_train = tiny_imdb(160, max_features, seed=0)
    input_test, y_test = tiny_imdb(40, max_features, seed=1)
    input_train = pad_sequences(input_train, maxlen=maxlen)
    input_test = pad_sequences(input_test, maxlen=maxlen)
    assert input_train.shape == (160, maxlen)

    model = Sequential()
    model.add(Embedding(max_features, 32))
    model.add(SimpleRNN(32))
    model.add(Dense(1, activation="sigmoid"))

    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
    history = model.fit(input_train, y_train, epochs=2, batch_size=batch_size, validation_split=0.2)

    assert list(history.history) == ["acc", "loss", "val_acc", "val_loss"]
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and "8/8 ━━━━━━━━━━━━━━━━━━━━" in out  # 128 training rows / 16

    acc = history.history["acc"]
    val_acc = history.history["val_acc"]
    loss = history.history["loss"]
    val_loss = history.history["val_loss"]
    epochs = range(1, len(acc) + 1)

    plt.plot(epochs, acc, "bo", label="Training acc")
    plt.plot(epochs, val_acc, "b", label="Validation acc")
    plt.title("Training and validation accuracy")
    plt.legend()
    plt.figure()
    plt.plot(epochs, loss, "bo", label="Training loss")
    plt.plot(epochs, val_loss, "b", label="Validation loss")
    plt.title("Training and validation loss")
    plt.legend()
    plt.savefig(tmp_path / "loss.png")
    plt.close("all")

    fig = plot_history(history, tmp_path / "curves.png")
    assert len(fig.axes) == 2 and (tmp_path / "curves.png").stat().st_size > 0

    test_loss, test_acc = model.evaluate(input_test, y_test, verbose=0)
    assert 0.0 <= test_acc <= 1.0 and np.isfinite(test_loss)
    assert model.predict(input_test[:5], verbose=0).shape == (5, 1)
