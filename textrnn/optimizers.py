"""Keras's optimizers (`textrnn.optimizers.RMSprop`, ... as `keras.optimizers.RMSprop`)."""

from textrnn.training.optimizers import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    Nadam,
    Optimizer,
    RMSprop,
    get,
    serialize,
)

__all__ = ["Adagrad", "Adam", "AdamW", "Nadam", "Optimizer", "RMSprop", "SGD", "get", "serialize"]
