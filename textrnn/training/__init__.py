"""Training: the `Trainer` (`trainer.py`) that gives `Sequential` compile / fit / evaluate /
predict, its loops, optimizers, losses and metrics by Keras name, batching (with length
bucketing), the progress bar and seeding."""

from textrnn.training.seed import set_random_seed

__all__ = ["set_random_seed"]
