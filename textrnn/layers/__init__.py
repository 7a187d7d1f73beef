"""textrnn layers, with Keras's names, arguments and weight layouts."""

from textrnn.layers.activation import Activation
from textrnn.layers.base import Layer
from textrnn.layers.bidirectional import Bidirectional
from textrnn.layers.conv1d import Conv1D
from textrnn.layers.dense import Dense
from textrnn.layers.dropout import Dropout, SpatialDropout1D
from textrnn.layers.embedding import Embedding
from textrnn.layers.flatten import Flatten
from textrnn.layers.global_max_avg_pooling import GlobalMaxAvgPooling1D
from textrnn.layers.gru import GRU
from textrnn.layers.input_layer import Input, InputLayer
from textrnn.layers.lstm import LSTM
from textrnn.layers.masking import Masking
from textrnn.layers.merging import (
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    maximum,
    minimum,
    multiply,
    subtract,
)
from textrnn.layers.ngram_embedding import NGramEmbedding
from textrnn.layers.normalization import BatchNormalization, LayerNormalization
from textrnn.layers.pooling import GlobalAveragePooling1D, GlobalMaxPooling1D
from textrnn.layers.pooling1d import AveragePooling1D, MaxPooling1D
from textrnn.layers.simple_rnn import SimpleRNN
from textrnn.layers.text_vectorization import TextVectorization

# Keras's alias names (the same classes, so a config naming either loads).
Convolution1D = Conv1D
MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalAvgPool1D = GlobalAveragePooling1D

__all__ = [
    "Layer",
    "Input",
    "InputLayer",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Concatenate",
    "add",
    "subtract",
    "multiply",
    "average",
    "maximum",
    "minimum",
    "concatenate",
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
    "Conv1D",
    "MaxPooling1D",
    "AveragePooling1D",
    "Flatten",
    "Activation",
    "Masking",
    "LayerNormalization",
    "BatchNormalization",
    "TextVectorization",
    "Convolution1D",
    "MaxPool1D",
    "AvgPool1D",
    "GlobalMaxPool1D",
    "GlobalAvgPool1D",
]
