"""The CLI's options that come from the corpus kinds: `--kind`, one `--<input>` per named
input of any registered kind (plus `--input NAME=PATH` for a kind's input without a flag
of its own), and `KEY=VALUE` pairs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from storyloom.stories.registry import UnknownKindError, get_kind, loadable_kinds

F = TypeVar("F", bound=Callable[..., Any])


def _check_kind(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        get_kind(value)
    except UnknownKindError as error:
        raise click.BadParameter(str(error)) from None
    return value


def kind_option(function: F) -> F:
    """`--kind NAME`; None means the kind of the run being continued, else `story`."""
    return click.option(
        "--kind",
        default=None,
        callback=_check_kind,
        help="Corpus kind (`storyloom kinds` lists them) [default: the run's, else story].",
    )(function)


def _input_help() -> dict[str, str]:
    """Every named input of every kind that loads, with which kinds take it (a broken
    plug-in adds no flags; asking for it says why)."""
    described: dict[str, tuple[str, list[str], bool]] = {}
    for name, kind in loadable_kinds()[0].items():
        for spec in kind.input_specs:
            text, kinds, sampled = described.get(spec.name, (spec.description, [], True))
            described[spec.name] = (text, [*kinds, name], sampled and spec.sample is not None)
    return {
        input_name: f"{text} (kind {', '.join(kinds)}) "
        + ("[default: the bundled sample]" if sampled else "[required]")
        for input_name, (text, kinds, sampled) in sorted(described.items())
    }


def input_options(function: F) -> F:
    """One `--<input>` path option per named input of the registered kinds, gathered with
    `--input NAME=PATH` into one `inputs` argument: {name: path or None}."""
    helps = _input_help()
    for input_name, text in reversed(list(helps.items())):
        function = click.option(
            f"--{input_name.replace('_', '-')}",
            f"input_{input_name}",
            type=click.Path(path_type=Path),
            default=None,
            help=text,
        )(function)
    function = click.option(
        "--input",
        "input_pairs",
        multiple=True,
        metavar="NAME=PATH",
        help="An input of the kind by name (for kinds whose inputs have no flag).",
    )(function)
    wrapped = function

    def gather(*args: Any, **kwargs: Any) -> Any:
        inputs: dict[str, Path | None] = {}
        for input_name in helps:
            value = kwargs.pop(f"input_{input_name}")
            if value is not None:
                inputs[input_name] = value
        for input_name, value in pairs(kwargs.pop("input_pairs"), "--input").items():
            inputs[input_name] = Path(value)
        return wrapped(*args, inputs=inputs, **kwargs)

    gather.__name__ = function.__name__
    gather.__doc__ = function.__doc__
    gather.__click_params__ = function.__click_params__  # type: ignore[attr-defined]
    return gather  # type: ignore[return-value]


def pairs(values: tuple[str, ...], flag: str) -> dict[str, Any]:
    """`KEY=VALUE` strings as a dict; a value that reads as JSON (a number, true) is that."""
    import json

    result: dict[str, Any] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint=f"'{flag}'")
        try:
            result[key.strip()] = json.loads(raw)
        except ValueError:
            result[key.strip()] = raw
    return result
