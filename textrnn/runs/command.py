"""The `textrnn train` command line that reproduces a set of options (recorded in `config.json`)."""

from __future__ import annotations

from pathlib import Path

from textrnn.runs.options import TrainOptions, flag_of


def command_line(options: TrainOptions, out: Path | None = None) -> str:
    """The `textrnn train` command that reproduces `options` (every option spelled out)."""
    args = ["textrnn", "train"]
    for name, value in options.to_dict().items():
        if value is None:
            continue
        flag = flag_of("format" if name == "data_format" else name)
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + flag[2:])
        else:
            text = str(value)
            args += [flag, text if text and all(c.isalnum() or c in "._-/:" for c in text) else repr(text)]
    if out is not None:
        args += ["--out", str(out)]
    return " ".join(args)


__all__ = ["command_line"]
