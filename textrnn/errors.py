"""The few exception types textrnn raises beyond ValueError and TypeError.

The CLI turns any `TextRNNError` (and ValueError/TypeError raised for user input) into one line on
stderr and a non-zero exit code.
"""

from __future__ import annotations


class TextRNNError(Exception):
    """Base class for textrnn's own errors."""


class NotCompiledError(TextRNNError, RuntimeError):
    """A model was trained or evaluated before `compile()`."""


class ModelFileError(TextRNNError, ValueError):
    """A saved model is missing, corrupted, foreign or does not match its config."""


class DatasetError(TextRNNError, ValueError):
    """A dataset could not be found, downloaded, verified or read."""


class RunFolderError(TextRNNError, ValueError):
    """A folder is not a textrnn run, or a run folder is incomplete."""


class KernelUnavailableError(TextRNNError, RuntimeError):
    """The native recurrence kernels were required but cannot be built or loaded here."""


class DiskFullError(TextRNNError, OSError):
    """A write ran out of disk space (or quota); nothing half-written was left behind."""
