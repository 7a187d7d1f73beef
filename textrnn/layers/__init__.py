"""textrnn layers, with Keras's names, arguments and weight layouts."""

from textrnn.layers.base import Layer
from textrnn.layers.bidirectional import Bidirectional
from textrnn.layers.dense import Dense
from textrnn.layers.dropout import Dropout, SpatialDropout1D
from textrnn.layers.embedding import Embedding
from textrnn.layers.global_max_avg_pooling import GlobalMaxAvgPooling1D
from textrnn.layers.gru import GRU
from textrnn.layers.lstm import LSTM
from textrnn.layers.ngram_embedding import NGramEmbedding
from textrnn.layers.pooling import GlobalAveragePooling1D, GlobalMaxPooling1D
from textrnn.layers.simple_rnn import SimpleRNN

__all__ = [
    "Layer",
    "Dense",
    "Dropout",
    "SpatialDropout1D",
    "Embedding",
    "NGramEmbedding",
    "SimpleRNN",
    "LSTM",
    "GRU",
    "Bidirectional",
    "GlobalMaxPooling1D",
    "GlobalAveragePooling1D",
    "GlobalMaxAvgPooling1D",
]
