"""Keras's optimizers (`textrnn.optimizers.RMSprop`, ... as `keras.optimizers.RMSprop`)."""

from textrnn.training.optimizers import SGD, Adam, Optimizer, RMSprop, get, serialize

__all__ = ["Adam", "Optimizer", "RMSprop", "SGD", "get", "serialize"]
