"""Kinds by name: every kind, built-in or a plug-in, is an entry point of the
`storyloom.kinds` group (the built-in ones are declared in storyloom's own
pyproject.toml), so nothing registers itself on import and a kind module is imported
only when that kind is asked for. `register_kind` adds one in-process (tests, notebooks).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

from storyloom.stories.kind import CorpusKind

ENTRY_POINT_GROUP = "storyloom.kinds"


class UnknownKindError(ValueError):
    """A kind name no registered kind has."""


_REGISTERED: dict[str, Callable[[], CorpusKind]] = {}


def register_kind(name: str, factory: Callable[[], CorpusKind]) -> None:
    """Make a kind available by name in this process (tests, notebooks)."""
    _REGISTERED[name] = factory


def _entry_points() -> dict[str, object]:
    return {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}


def kind_names() -> tuple[str, ...]:
    return tuple(sorted({*_entry_points(), *_REGISTERED}))


def get_kind(name: str) -> CorpusKind:
    """A fresh instance of kind `name` (its module is imported now, not before)."""
    if name in _REGISTERED:
        return _REGISTERED[name]()
    point = _entry_points().get(name)
    if point is None:
        raise UnknownKindError(f"unknown kind {name!r}; choose one of {', '.join(kind_names())}")
    factory = point.load()  # type: ignore[attr-defined]
    return factory()
