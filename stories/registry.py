"""Kinds by name: every kind, built-in or a plug-in, is an entry point of the
`storyloom.kinds` group (the built-in ones are declared in storyloom's own
pyproject.toml), so nothing registers itself on import and a kind module is imported
only when that kind is asked for. `register_kind` adds one in-process (tests, notebooks).

A plug-in whose import fails (a missing dependency, a bug) is *broken*, not fatal: it
stays listed with its error, asking for it is one plain line, and every other kind and
command works (`loadable_kinds` is what the CLI builds its options from).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points

from storyloom.stories.kind import CorpusKind

ENTRY_POINT_GROUP = "storyloom.kinds"


class UnknownKindError(ValueError):
    """A kind name no registered kind has."""


class BrokenKindError(UnknownKindError):
    """A registered kind whose module or factory fails to load."""


_REGISTERED: dict[str, Callable[[], CorpusKind]] = {}


def register_kind(name: str, factory: Callable[[], CorpusKind]) -> None:
    """Make a kind available by name in this process (tests, notebooks)."""
    _REGISTERED[name] = factory


def _entry_points() -> dict[str, EntryPoint]:
    return {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}


def kind_names() -> tuple[str, ...]:
    """Every registered kind's name, broken ones included."""
    return tuple(sorted({*_entry_points(), *_REGISTERED}))


def get_kind(name: str) -> CorpusKind:
    """A fresh instance of kind `name` (its module is imported now, not before)."""
    if name in _REGISTERED:
        return _REGISTERED[name]()
    point = _entry_points().get(name)
    if point is None:
        raise UnknownKindError(f"unknown kind {name!r}; choose one of {', '.join(kind_names())}")
    try:
        return point.load()()
    except Exception as error:  # a plug-in's import may raise anything; it stays its own
        first_line = next(iter(str(error).splitlines()), "")
        raise BrokenKindError(
            f"kind {name!r} (entry point {point.value}) cannot be loaded: "
            f"{type(error).__name__}: {first_line}"
        ) from error


def loadable_kinds() -> tuple[dict[str, CorpusKind], dict[str, BrokenKindError]]:
    """Every registered kind by name, split into those that load and the broken ones
    with their error."""
    kinds: dict[str, CorpusKind] = {}
    broken: dict[str, BrokenKindError] = {}
    for name in kind_names():
        try:
            kinds[name] = get_kind(name)
        except BrokenKindError as error:
            broken[name] = error
    return kinds, broken
