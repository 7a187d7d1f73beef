"""Training internals used by `Sequential`: optimizers, losses and metrics by Keras name, batching
(with length bucketing), the progress bar, seeding and atomic writes."""

from textrnn.training.seed import set_random_seed

__all__ = ["set_random_seed"]
