"""Datasets with Keras's conventions: `textrnn.datasets.imdb`."""

from textrnn.datasets import imdb

__all__ = ["imdb"]
