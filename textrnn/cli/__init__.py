"""The `textrnn` command line: one module per command, each a thin call into the library.

Every user mistake (a bad option, a missing file, a folder that is not a run, ...) ends as one
line on stderr, `Error: ...`, and a non-zero exit code: 2 for command-line usage, 1 for
everything else, 130 for Ctrl-C. Set `TEXTRNN_DEBUG=1` to see the traceback instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

try:  # typer >= 0.20 ships its own copy of click
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # pragma: no cover - older typer, on click itself
    from click.exceptions import ClickException, UsageError  # type: ignore[no-redef,assignment]

from textrnn.errors import TextRNNError

# Errors that describe the user's input; anything else is a bug and keeps its traceback.
USER_ERRORS = (TextRNNError, ValueError, TypeError, OSError)


def error(message: str) -> None:
    """Print `Error: message` as one line on stderr."""
    typer.echo("Error: " + " ".join(str(message).split()), err=True)


class _Group(TyperGroup):
    """A typer group whose `main` turns every error into one line on stderr."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        debug = os.environ.get("TEXTRNN_DEBUG", "") not in ("", "0")
        argv = list(args) if args is not None else sys.argv[1:]
        extra.setdefault("obj", {"argv": ["textrnn", *argv]})
        try:
            rv = super().main(
                args=argv,
                prog_name=prog_name or "textrnn",
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
            code = rv if isinstance(rv, int) else 0
        except UsageError as e:
            if type(e).__name__ == "NoArgsIsHelpError":  # help was printed: `textrnn` alone
                code = 0
                if standalone_mode:
                    sys.exit(code)
                return code
            hint = f" (see `{e.ctx.command_path} --help`)" if e.ctx is not None else ""
            error(e.format_message() + hint)
            code = 2
        except ClickException as e:
            error(e.format_message())
            code = e.exit_code
        except (KeyboardInterrupt, typer.Abort):
            error("interrupted.")
            code = 130
        except USER_ERRORS as e:
            if debug:
                raise
            error(str(e) or type(e).__name__)
            code = 1
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=_Group,
    name="textrnn",
    help="Train RNN text classifiers on IMDB or your own texts, and use them on raw text.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _register() -> None:
    from textrnn.cli import (
        compare,
        data,
        evaluate,
        explain,
        export,
        predict,
        serve,
        summary,
        train,
        tune,
    )

    app.command("train")(train.train)
    app.command("evaluate")(evaluate.evaluate)
    app.command("predict")(predict.predict)
    app.command("summary")(summary.summary)
    app.command("compare")(compare.compare)
    app.command("serve")(serve.serve)
    app.command("explain")(explain.explain)
    app.command("export")(export.export)
    app.command("tune")(tune.tune)
    app.add_typer(data.app, name="data")


_register()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default `sys.argv[1:]`) and return the exit code."""
    command = typer.main.get_command(app)
    return int(
        command.main(
            args=list(argv) if argv is not None else None, prog_name="textrnn", standalone_mode=False
        )
    )


__all__ = ["app", "main"]
