"""Parameter types shared by the commands: every number a user types is checked when the
command line is parsed, so a value no run could use is one line, never a traceback, a
run that does nothing, or an allocation of terabytes."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import click

from storyloom.core.layout import overwrite_problem
from storyloom.core.report_files import replace_problem

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


def force_option(func: F) -> F:
    """`--force`, for the commands that write `--json`/`--html` reports."""
    return click.option(
        "--force",
        is_flag=True,
        help="Replace an existing --json/--html file of yours (one this tool did not write).",
    )(func)


def check_report_paths(
    paths: Iterable[Path | None], inputs: Iterable[Path], *, force: bool
) -> None:
    """Refuse, before any long work, a report path that would destroy something of the
    user's (an input, a run's file, a file no storyloom command wrote) or that cannot be
    written (no such folder, or not writable)."""
    sources = list(inputs)
    for path in paths:
        if path is None:
            continue
        if problem := overwrite_problem(path, sources) or replace_problem(path, force=force):
            raise click.ClickException(problem)
        folder = path.parent
        if not folder.is_dir():
            raise click.ClickException(f"{path}: cannot write (folder {folder} does not exist)")
        if not os.access(folder, os.W_OK):
            raise click.ClickException(f"{path}: cannot write (folder {folder} is not writable)")


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


class RedisUrl(click.ParamType):
    """A Redis URL checked when the command line is parsed: an empty one would silently
    mean no Redis, and a database that is not a number would be a run against the wrong
    one. Messages never repeat the URL, which may carry a password."""

    name = "redis url"
    schemes = ("redis", "rediss", "unix")

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not str(value).strip():
            self.fail("must not be empty (leave --redis out to run without Redis)", param, ctx)
        try:
            parts = urlsplit(str(value))
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            self.fail("is not a URL with a numeric port (redis://host:6379/0)", param, ctx)
        if parts.scheme not in self.schemes:
            self.fail("must be a redis://, rediss:// or unix:// URL", param, ctx)
        databases = parse_qs(parts.query).get("db", [])
        if parts.scheme != "unix" and parts.path.strip("/"):
            databases.append(parts.path.strip("/"))
        for database in databases:
            if not (database.isascii() and database.isdigit()):
                self.fail("the database must be a number, as in redis://host:6379/0", param, ctx)
        return value


REDIS_URL = RedisUrl()
