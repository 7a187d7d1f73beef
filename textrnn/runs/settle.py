"""A new run's choices, settled before anything is written: valid options, a seed, a folder."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from textrnn.errors import RunFolderError
from textrnn.runs.options import TrainOptions
from textrnn.runs.run import name_taken

DEFAULT_RUNS_DIR = "runs"


def fresh_seed() -> int:
    """A random seed in [0, 2**31), for a run that was given none."""
    return int.from_bytes(os.urandom(4), "little") % 2**31


def fresh_run_path(options: TrainOptions, runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR) -> Path:
    """`runs/<data>-<rnn>-<YYYYmmdd-HHMMSS>`, with `-2`, `-3`, ... if that name is taken."""
    data = "imdb" if options.data is None else Path(options.data).stem or "data"
    base = Path(runs_dir) / f"{data}-{options.rnn}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while name_taken(path):
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def settle(options: TrainOptions, out: str | os.PathLike[str] | None) -> tuple[TrainOptions, Path]:
    """Validated options with a seed drawn and absolute data paths, and the new folder to create.

    Raises:
        ValueError: for a bad option; RunFolderError if `out` already exists.
    """
    options.validate()
    if options.seed is None:
        options = options.replace(seed=fresh_seed())
    # Absolute data paths, so `--resume` and reproductions work from any folder.
    for key in ("data", "test_data"):
        value = getattr(options, key)
        if value is not None:
            options = options.replace(**{key: str(Path(value).expanduser().resolve())})
    target = Path(out) if out is not None else fresh_run_path(options)
    if target.exists() and not target.is_dir():
        raise RunFolderError(
            f"--out `{target}` is a file, not a folder. Pass the path of a new folder for the run."
        )
    if target.exists():
        raise RunFolderError(
            f"`{target}` already exists. Choose another --out, "
            f"or continue it with `textrnn train --resume {target}`."
        )
    return options, target


__all__ = ["DEFAULT_RUNS_DIR", "fresh_run_path", "fresh_seed", "settle"]
