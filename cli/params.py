"""Parameter types shared by the commands: every number a user types is checked when the
command line is parsed, so a value no run could use is one line, never a traceback, a
run that does nothing, or an allocation of terabytes."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class FiniteFloatRange(click.FloatRange):
    """click's FloatRange that also refuses `nan` and `inf`: `nan` passes every range
    comparison (they are all false), so `--max-cost nan` would otherwise be a budget
    nothing exceeds and `--timeout nan` a timeout every call misses."""

    name = "finite float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def output_file_option(flag: str, name: str, help: str, **settings: Any) -> Callable[[F], F]:
    """An option naming a file the command writes: a folder there is refused when the
    command line is parsed."""
    path = click.Path(dir_okay=False, path_type=Path)
    return click.option(flag, name, type=path, help=help, **settings)


#: A run seed: any 64-bit signed integer (it is hashed, never used as a size).
SEED = click.IntRange(-(2**63), 2**63 - 1)

#: Seconds: a week is longer than any call or batch should take.
WEEK = 7 * 24 * 3600.0


class OptionError(click.ClickException):
    """Options that cannot go together, found after parsing: one line, exit 2 like a
    parse error (without the usage lines, which would not say what is wrong)."""

    exit_code = 2


def option_with_default(*decls: str, default: Any, help: str, **settings: Any) -> Callable[[F], F]:
    """An option with a fixed default, which `--help` shows (an option whose default is
    decided at run time says what it is in its help instead)."""
    return click.option(*decls, default=default, show_default=True, help=help, **settings)
