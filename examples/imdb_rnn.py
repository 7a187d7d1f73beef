"""The classic Keras IMDB RNN tutorial, with only its imports changed to textrnn.

SimpleRNN first, then LSTM, on the real data (25,000 training reviews, 10,000 most frequent words,
reviews cut or padded to 500 words), each followed by the tutorial's figures: training and validation
accuracy, training and validation loss.

    TEXTRNN_IMDB=../shared/data/aclImdb_v1.tar.gz python examples/imdb_rnn.py
    python examples/imdb_rnn.py --epochs 2 --out figures/     # a quicker look

On a user's machine without TEXTRNN_IMDB, `imdb.load_data` reads Keras's own imdb.npz where Keras
cached it, else downloads the official tarball once.
"""

import argparse
from pathlib import Path

from textrnn.datasets import imdb
from textrnn.layers import LSTM, Dense, Embedding, SimpleRNN
from textrnn.models import Sequential
from textrnn.plot import plot_history
from textrnn.preprocessing.sequence import pad_sequences

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--out", type=Path, default=Path("figures"), help="folder for the PNG figures")
args = parser.parse_args()

max_features = 10000  # number of words to consider as features
maxlen = 500  # cut texts after this number of words (among top max_features most common words)

print("Loading data...")
(input_train, y_train), (input_test, y_test) = imdb.load_data(num_words=max_features)
print(len(input_train), "train sequences")
print(len(input_test), "test sequences")

print("Pad sequences (samples x time)")
input_train = pad_sequences(input_train, maxlen=maxlen)
input_test = pad_sequences(input_test, maxlen=maxlen)
print("input_train shape:", input_train.shape)
print("input_test shape:", input_test.shape)

args.out.mkdir(parents=True, exist_ok=True)
for name, rnn in (("simple_rnn", SimpleRNN), ("lstm", LSTM)):
    model = Sequential()
    model.add(Embedding(max_features, 32))
    model.add(rnn(32))
    model.add(Dense(1, activation="sigmoid"))
    model.summary(explain=True)

    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
    history = model.fit(input_train, y_train, epochs=args.epochs, batch_size=128, validation_split=0.2)

    test_loss, test_acc = model.evaluate(input_test, y_test, verbose=0)
    print(
        f"{name}: test accuracy {test_acc:.4f}, best validation accuracy "
        f"{max(history.history['val_acc']):.4f}"
    )
    figure = args.out / f"{name}.png"
    plot_history(history, figure)
    print("figures written to", figure)
