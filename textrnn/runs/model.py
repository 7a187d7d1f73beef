"""The model a run trains: Embedding → recurrent layers → Dense, built from `TrainOptions`."""

from __future__ import annotations

from typing import Any

import numpy as np

from textrnn import checks, optimizers
from textrnn.layers import (
    GRU,
    LSTM,
    Bidirectional,
    Dense,
    Dropout,
    Embedding,
    GlobalMaxAvgPooling1D,
    Layer,
    NGramEmbedding,
    SimpleRNN,
    SpatialDropout1D,
)
from textrnn.models import Sequential
from textrnn.preprocessing.text import Vocabulary
from textrnn.runs.options import TrainOptions


def build_model(options: TrainOptions, input_dim: int, num_classes: int = 2) -> Sequential:
    """A compiled `Sequential` for `options`, built for `(None, maxlen)` integer input.

    Layers: `Embedding(input_dim, embedding_dim, mask_zero)` (an `NGramEmbedding` when
    `ngrams > 1`), then `layers` recurrent layers of
    `units` (each but the last with `return_sequences=True`, each wrapped in `Bidirectional` if
    asked, each followed by `Dropout(dropout)` if `dropout > 0`), then `Dense(1, "sigmoid")` with
    binary cross-entropy for two classes, or `Dense(num_classes, "softmax")` with sparse
    categorical cross-entropy for more. With `spatial_dropout > 0` a `SpatialDropout1D` follows the
    `Embedding`; with `pooling="max_avg"` the last recurrent layer returns its sequence and a
    `GlobalMaxAvgPooling1D` pools it. `clipnorm` and `ema` go to the optimizer. Metrics: `["acc"]`.
    Layer names are fixed (`embedding`, `simple_rnn`, `simple_rnn_1`, ..., `dense`), whatever else
    the process built.

    Example:
        >>> build_model(TrainOptions(), input_dim=10000).count_params()
        322113
    """
    if num_classes < 2:
        raise checks.invalid("num_classes", "at least 2", num_classes, got=str(num_classes))
    rnn_class = {"simple_rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}[options.rnn]
    embedding = (
        NGramEmbedding(
            input_dim,
            options.embedding_dim,
            ngrams=options.ngrams,
            buckets=options.ngram_buckets,
            mask_zero=options.mask_zero,
            name="embedding",
        )
        if options.ngrams > 1
        else Embedding(input_dim, options.embedding_dim, mask_zero=options.mask_zero, name="embedding")
    )
    layers: list[Layer] = [embedding]
    if options.spatial_dropout > 0:
        layers.append(SpatialDropout1D(options.spatial_dropout, name="spatial_dropout1d"))
    pooled = options.pooling == "max_avg"
    for i in range(options.layers):
        suffix = f"_{i}" if i else ""
        sequences = pooled or i < options.layers - 1
        rnn = rnn_class(options.units, return_sequences=sequences, name=f"{options.rnn}{suffix}")
        layers.append(Bidirectional(rnn, name=f"bidirectional{suffix}") if options.bidirectional else rnn)
        if pooled and i == options.layers - 1:
            layers.append(GlobalMaxAvgPooling1D(name="global_max_avg_pooling1d"))
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
    if options.clipnorm is not None:
        optimizer.clipnorm = float(options.clipnorm)
    if options.ema is not None:
        # the trainer sets ema_overwrite_frequency to the steps per epoch (trainer._AverageEachEpoch)
        optimizer.use_ema, optimizer.ema_momentum = True, float(options.ema)
    model.compile(optimizer=optimizer, loss=loss, metrics=["acc"])
    return model


def pretrain_embedding(
    model: Sequential,
    options: TrainOptions,
    x_train: np.ndarray,
    vocabulary: Vocabulary,
    *,
    imdb_source: str | None = None,
) -> int:
    """Start the model's `Embedding` from PPMI + SVD word vectors (`options.word_vectors="ppmi"`).

    The vectors are learned from the encoded training texts `x_train` (their labels are not
    used) and, when the run trains on IMDB, from its 50,000 unlabelled reviews encoded with the
    run's `vocabulary`. Words without a vector keep their random start. Returns how many rows were set.
    """
    from textrnn.datasets import imdb
    from textrnn.preprocessing.word_vectors import ppmi_svd_vectors

    embedding = model.layers[0]
    if not isinstance(embedding, Embedding):
        raise TypeError(
            f"pretrain_embedding needs a model that starts with an Embedding, got {type(embedding).__name__}."
        )
    sequences: list[Any] = [row[row != 0] for row in np.asarray(x_train)]
    if options.data is None:
        texts, _ = imdb.load_texts(imdb_source, subset="unsup")
        sequences += vocabulary.encode(texts)
    vectors = ppmi_svd_vectors(
        sequences, embedding.input_dim, embedding.output_dim, min_index=3, seed=options.seed or 0
    )
    weights = embedding.get_weights()
    found = np.abs(vectors).sum(axis=1) > 0
    weights[0][found] = vectors[found]  # the word vectors; an NGramEmbedding's n-gram tables stay as they are
    embedding.set_weights(weights)
    return int(found.sum())


def uses_vector_file(options: TrainOptions) -> bool:
    """Whether `--word-vectors` names a file (anything but `random` and `ppmi`)."""
    return options.word_vectors not in ("random", "ppmi")


def load_word_vectors(model: Sequential, options: TrainOptions, vocabulary: Vocabulary) -> str:
    """Start the model's word vectors from the file `options.word_vectors`; returns the coverage
    line (`WordVectors.describe`).

    The file's dimension must be `embedding_dim`. Only the vocabulary's rows are kept, so the
    saved model holds nothing else of the file.

    Raises:
        DatasetError: the file is missing or malformed, or its vectors have another dimension.
    """
    from textrnn.errors import DatasetError
    from textrnn.preprocessing.vector_files import read_word_vectors

    embedding = model.layers[0]
    if not isinstance(embedding, Embedding):
        raise TypeError(
            f"load_word_vectors needs a model that starts with an Embedding, got {type(embedding).__name__}."
        )
    vectors = read_word_vectors(options.word_vectors, vocabulary, seed=options.seed or 0)
    if vectors.dim != embedding.output_dim:
        raise DatasetError(
            f"The vectors in `{options.word_vectors}` have {vectors.dim} dimensions but the "
            f"Embedding has {embedding.output_dim}. Pass --embedding-dim {vectors.dim}."
        )
    if vectors.matrix.shape[0] != embedding.input_dim:
        raise DatasetError(
            f"Expected {embedding.input_dim} rows of word vectors, got {vectors.matrix.shape[0]}."
        )
    weights = embedding.get_weights()
    weights[0] = vectors.matrix.astype(weights[0].dtype)
    embedding.set_weights(weights)
    return vectors.describe()


def freeze_word_vectors(model: Sequential) -> None:
    """Keep the word vectors (the Embedding's first table) fixed; n-gram tables still train."""
    embedding = model.layers[0]
    if not isinstance(embedding, Embedding):
        raise TypeError(
            "freeze_word_vectors needs a model that starts with an Embedding, "
            f"got {type(embedding).__name__}."
        )
    embedding.embeddings.requires_grad_(False)
