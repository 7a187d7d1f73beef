"""textrnn layers, with Keras's names, arguments and weight layouts."""

from textrnn.layers.base import Layer
from textrnn.layers.dense import Dense
from textrnn.layers.dropout import Dropout, SpatialDropout1D
from textrnn.layers.embedding import Embedding

__all__ = ["Layer", "Dense", "Dropout", "SpatialDropout1D", "Embedding"]
