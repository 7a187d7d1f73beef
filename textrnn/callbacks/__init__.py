"""Callbacks for `fit`, with Keras's names and semantics."""

from textrnn.callbacks.backup_and_restore import BackupAndRestore
from textrnn.callbacks.callback import Callback, CallbackList
from textrnn.callbacks.cosine_decay import CosineDecay
from textrnn.callbacks.csv_logger import CSVLogger
from textrnn.callbacks.early_stopping import EarlyStopping
from textrnn.callbacks.history import History
from textrnn.callbacks.learning_rate_scheduler import LearningRateScheduler
from textrnn.callbacks.model_checkpoint import ModelCheckpoint
from textrnn.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from textrnn.callbacks.tensorboard import TensorBoard

__all__ = [
    "BackupAndRestore",
    "Callback",
    "CallbackList",
    "CosineDecay",
    "CSVLogger",
    "EarlyStopping",
    "History",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "TensorBoard",
]
