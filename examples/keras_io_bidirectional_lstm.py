"""keras-io's "Bidirectional LSTM on IMDB" (fchollet), with only its imports changed to textrnn.

Two stacked bidirectional LSTMs over 128-dimensional word vectors, built with the functional API
(`keras.Input`, layers called on tensors, `keras.Model`), trained on IMDB:

    TEXTRNN_IMDB=../shared/data/aclImdb_v1.tar.gz python examples/keras_io_bidirectional_lstm.py

Without TEXTRNN_IMDB, `imdb.load_data` reads Keras's own imdb.npz where Keras cached it, else
downloads the official tarball once. The test suite runs it on a few hundred generated reviews
with `TEXTRNN_EXAMPLE_MAXLEN` and `TEXTRNN_EXAMPLE_EPOCHS` set (shorter reviews, fewer epochs);
these two lines are the only other change.
"""

import os

import numpy as np  # noqa: F401 - the original imports it

import textrnn as keras
from textrnn import layers

max_features = 20000  # Only consider the top 20k words
maxlen = int(os.environ.get("TEXTRNN_EXAMPLE_MAXLEN", 200))  # Only consider the first 200 words
epochs = int(os.environ.get("TEXTRNN_EXAMPLE_EPOCHS", 2))

"""
## Build the model
"""

# Input for variable-length sequences of integers
inputs = keras.Input(shape=(None,), dtype="int32")
# Embed each integer in a 128-dimensional vector
x = layers.Embedding(max_features, 128)(inputs)
# Add 2 bidirectional LSTMs
x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
x = layers.Bidirectional(layers.LSTM(64))(x)
# Add a classifier
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.summary()

"""
## Load the IMDB movie review sentiment data
"""

(x_train, y_train), (x_val, y_val) = keras.datasets.imdb.load_data(num_words=max_features)
print(len(x_train), "Training sequences")
print(len(x_val), "Validation sequences")
# Use pad_sequence to standardize sequence length:
# this will truncate sequences longer than 200 words and zero-pad sequences shorter than 200 words.
x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
x_val = keras.utils.pad_sequences(x_val, maxlen=maxlen)

"""
## Train and evaluate the model
"""

model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_data=(x_val, y_val))
