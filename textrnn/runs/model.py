"""The model a run trains: Embedding → recurrent layers → Dense, built from `TrainOptions`."""

from __future__ import annotations

from textrnn import optimizers
from textrnn.layers import GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, Layer, SimpleRNN
from textrnn.models import Sequential
from textrnn.runs.options import TrainOptions


def build_model(options: TrainOptions, input_dim: int, num_classes: int = 2) -> Sequential:
    """A compiled `Sequential` for `options`, built for `(None, maxlen)` integer input.

    Layers: `Embedding(input_dim, embedding_dim, mask_zero)`, then `layers` recurrent layers of
    `units` (each but the last with `return_sequences=True`, each wrapped in `Bidirectional` if
    asked, each followed by `Dropout(dropout)` if `dropout > 0`), then `Dense(1, "sigmoid")` with
    binary cross-entropy for two classes, or `Dense(num_classes, "softmax")` with sparse
    categorical cross-entropy for more. Metrics: `["acc"]`. Layer names are fixed
    (`embedding`, `simple_rnn`, `simple_rnn_1`, ..., `dense`), whatever else the process built.

    Example:
        >>> build_model(TrainOptions(), input_dim=10000).count_params()
        322113
    """
    if num_classes < 2:
        raise ValueError(f"Received an invalid value for argument `num_classes`, expected at least 2, got {num_classes}.")
    rnn_class = {"simple_rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}[options.rnn]
    layers: list[Layer] = [Embedding(input_dim, options.embedding_dim, mask_zero=options.mask_zero, name="embedding")]
    for i in range(options.layers):
        suffix = f"_{i}" if i else ""
        rnn = rnn_class(options.units, return_sequences=i < options.layers - 1, name=f"{options.rnn}{suffix}")
        layers.append(Bidirectional(rnn, name=f"bidirectional{suffix}") if options.bidirectional else rnn)
        if options.dropout > 0:
            layers.append(Dropout(options.dropout, name=f"dropout{suffix}"))
    if num_classes == 2:
        layers.append(Dense(1, activation="sigmoid", name="dense"))
        loss = "binary_crossentropy"
    else:
        layers.append(Dense(num_classes, activation="softmax", name="dense"))
        loss = "sparse_categorical_crossentropy"
    model = Sequential(layers, name="sequential")
    model.build((None, options.maxlen))
    optimizer = optimizers.get(options.optimizer)
    if options.learning_rate is not None:
        optimizer.learning_rate = float(options.learning_rate)
    model.compile(optimizer=optimizer, loss=loss, metrics=["acc"])
    return model
