"""The few exception types textrnn raises beyond ValueError and TypeError.

The CLI turns any `TextRNNError` (and ValueError/TypeError raised for user input) into one line on
stderr and a non-zero exit code.
"""

from __future__ import annotations

from collections.abc import Iterable


class TextRNNError(Exception):
    """Base class for textrnn's own errors."""


class NotCompiledError(TextRNNError, RuntimeError):
    """A model was trained or evaluated before `compile()`."""


class ModelFileError(TextRNNError, ValueError):
    """A saved model is missing, corrupted, foreign or does not match its config."""

    @staticmethod
    def check_keys(expected: Iterable[str], found: Iterable[str], source: object, *, show: int = 8) -> None:
        """Raise if the weight names `found` in `source` are not those the model `expected`,
        naming up to `show` missing and unexpected ones."""
        want, have = list(expected), list(found)
        want_set, have_set = set(want), set(have)
        missing = [k for k in want if k not in have_set]
        unexpected = [k for k in have if k not in want_set]
        if not (missing or unexpected):
            return
        parts = [
            f"{what} keys: {', '.join(keys[:show])}{' ...' if len(keys) > show else ''}"
            for what, keys in (("missing", missing), ("unexpected", unexpected))
            if keys
        ]
        raise ModelFileError(
            f"The weights in {source} do not match the model ({'; '.join(parts)}). They were saved "
            "from another architecture: load them into the model they were saved from, or re-save."
        )


class DatasetError(TextRNNError, ValueError):
    """A dataset could not be found, downloaded, verified or read."""


class RunFolderError(TextRNNError, ValueError):
    """A folder is not a textrnn run, or a run folder is incomplete."""


class KernelUnavailableError(TextRNNError, RuntimeError):
    """The native recurrence kernels were required but cannot be built or loaded here."""


class DiskFullError(TextRNNError, OSError):
    """A write ran out of disk space (or quota); nothing half-written was left behind."""
