"""Command-line flags generated from the `TrainOptions` declaration (`textrnn.runs.options`).

`with_options(names)` gives a command function one typer option per declared training option:
the declared flag (`--bool/--no-bool` for a switch), type, help text with every preset's default
and `--help` group. Each flag defaults to None, "not given", so that the preset's value applies;
`given(values)` keeps the ones the user gave, in the form `TrainOptions.from_preset` takes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

import typer

from textrnn.runs.options import Option, TrainOptions

F = TypeVar("F", bound=Callable[..., Any])


def declared(names: Iterable[str] | None = None) -> tuple[Option, ...]:
    """The declared options called `names` (every one when None), in declaration order."""
    if names is None:
        return TrainOptions.OPTIONS
    wanted = set(names)
    unknown = wanted - {o.name for o in TrainOptions.OPTIONS}
    if unknown:
        raise ValueError(f"Unknown training option(s) {sorted(unknown)}.")
    return tuple(o for o in TrainOptions.OPTIONS if o.name in wanted)


def parameter(option: Option) -> inspect.Parameter:
    """The typer parameter of one declared option; its value is None unless given."""
    flag = f"{option.flag}/--no-{option.flag[2:]}" if option.type is bool else option.flag
    info = typer.Option(
        flag, help=option.help_with_defaults(), rich_help_panel=option.group, metavar=option.metavar
    )
    annotation = Annotated[option.type | None, info]  # type: ignore[name-defined]
    return inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                             annotation=annotation)  # fmt: skip


def with_options(names: Iterable[str] | None = None) -> Callable[[F], F]:
    """Give a command function the flags of the declared options `names` (all when None).

    The function takes them as `**options`; its own parameters keep their place around them:
    positional ones before, keyword-only ones (such as `--out`) after.
    """

    def decorate(func: F) -> F:
        own = inspect.signature(func, eval_str=True).parameters.values()
        before = [p for p in own if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        after = [p for p in own if p.kind is inspect.Parameter.KEYWORD_ONLY]
        command: Any = func
        command.__signature__ = inspect.Signature([*before, *(parameter(o) for o in declared(names)), *after])
        return func

    return decorate


def given(values: dict[str, Any]) -> dict[str, Any]:
    """The options the user gave (not None), with their aliases resolved."""
    by_name = {o.name: o for o in TrainOptions.OPTIONS}
    return {k: by_name[k].parse(v) for k, v in values.items() if v is not None}
