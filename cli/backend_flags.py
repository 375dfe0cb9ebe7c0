"""The CLI's options that come from the backends: `--backend`, the flags users' scripts
already pass (`--model`, `--timeout`, ...), each one an option of the backends' options
models, and `--backend-option KEY=VALUE` for any option by name. A flag's type, range
and help are read from the models, so they say what the backends check.

They are gathered into one `backend` argument, a `BackendSpec` checked before the
command runs: an option the backend does not take, or a value it cannot use, is one
line naming it (exit 2, like any other misuse of the command line).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic.fields import FieldInfo

from storyloom.backends.registry import (
    BACKEND_NAMES,
    BACKENDS,
    BackendOptionError,
    backend_spec,
    default_backend_name,
)
from storyloom.cli.kind_options import pairs
from storyloom.cli.params import FiniteFloatRange, OptionError

F = TypeVar("F", bound=Callable[..., Any])

#: The flags that predate `--backend-option`, by the option each one sets.
FLAGS = {
    "model": "--model",
    "model_path": "--model-path",
    "base_url": "--base-url",
    "price_in": "--price-in",
    "price_out": "--price-out",
    "timeout": "--timeout",
    "batch": "--batch",
}


def backend_flags(*keys: str) -> Callable[[F], F]:
    """`--backend`, the flags of `keys` (default: all of `FLAGS`) and `--backend-option`,
    gathered into a `backend: BackendSpec` argument."""
    flags = {key: FLAGS[key] for key in keys or FLAGS}

    def decorate(function: F) -> F:
        options = [
            click.option(
                "--backend",
                type=click.Choice(BACKEND_NAMES),
                default=None,
                help="LLM backend [default: anthropic if ANTHROPIC_API_KEY is set, else llamacpp].",
            ),
            *(_flag(key, flag) for key, flag in flags.items()),
            click.option(
                "--backend-option",
                "backend_option_values",
                multiple=True,
                metavar="KEY=VALUE",
                help=f"An option of the backend by name ({_unflagged()}; every flag above is "
                "one too, e.g. model_path); repeatable.",
            ),
        ]
        for option in reversed(options):
            function = option(function)
        wrapped = function

        def gather(*args: Any, **kwargs: Any) -> Any:
            name = kwargs.pop("backend") or default_backend_name()
            given = {key: kwargs.pop(f"backend_{key}") for key in flags}
            values = {key: value for key, value in given.items() if value not in (None, False)}
            labels = {key: flags[key] for key in values}
            named = pairs(kwargs.pop("backend_option_values"), "--backend-option")
            for key, value in named.items():
                if key in values:
                    raise OptionError(f"{flags[key]} and --backend-option {key} both given")
                values[key] = value
            try:
                spec = backend_spec(name, values, labels=labels)
            except BackendOptionError as error:
                raise OptionError(str(error)) from None
            return wrapped(*args, backend=spec, **kwargs)

        gather.__name__ = function.__name__
        gather.__doc__ = function.__doc__
        gather.__click_params__ = function.__click_params__  # type: ignore[attr-defined]
        return gather  # type: ignore[return-value]

    return decorate


def _flag(key: str, flag: str) -> Callable[[F], F]:
    takers = [entry for entry in BACKENDS.values() if key in entry.options.model_fields]
    fields = [entry.options.model_fields[key] for entry in takers]
    description = (fields[0].description or key).rstrip(".")
    head, bracket, tail = description.partition(" [default")
    text = f"{head} ({', '.join(entry.name for entry in takers)}){bracket}{tail}"
    if len({repr(field.default) for field in fields}) > 1:
        each = zip(takers, fields, strict=True)
        text += f" [default: {', '.join(f'{f.default:g} for {e.name}' for e, f in each)}]"
    if fields[0].annotation is bool:
        return click.option(flag, f"backend_{key}", is_flag=True, help=f"{text}.")
    return click.option(
        flag, f"backend_{key}", type=_click_type(fields[0]), default=None, help=f"{text}."
    )


def _click_type(field: FieldInfo) -> click.ParamType | None:
    """The field's type and range as click checks them when the command line is parsed
    (so a value out of range is click's one line, like every other number)."""
    base = next(
        (arg for arg in typing.get_args(field.annotation) if arg is not types.NoneType),
        field.annotation,
    )
    if base is Path:
        return click.Path(path_type=Path)
    if base not in (int, float):
        return None
    bounds: dict[str, Any] = {}
    for rule in field.metadata:  # annotated_types' Ge, Gt, Le, Lt
        for attribute, bound, is_open in (
            ("ge", "min", False),
            ("gt", "min", True),
            ("le", "max", False),
            ("lt", "max", True),
        ):
            if hasattr(rule, attribute):
                bounds[bound] = getattr(rule, attribute)
                if is_open:
                    bounds[f"{bound}_open"] = True
    return FiniteFloatRange(**bounds) if base is float else click.IntRange(**bounds)


def _unflagged() -> str:
    """Per backend, the options that have no flag of their own."""
    parts = []
    for entry in BACKENDS.values():
        keys = [key for key in entry.options.model_fields if key not in FLAGS]
        if keys:
            parts.append(f"{entry.name}: {', '.join(keys)}")
    return "; ".join(parts)
