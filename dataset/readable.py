"""A kind's free-form values (a draw, a plan, a review, a judgment's extra fields) as
labelled lines a person reads, never JSON: the one outline the terminal and the HTML
views of `inspect` both draw."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Line:
    """One line of an outline: its depth, a label (a field's name; empty for a list
    item) and its text; `bullet` opens a list item."""

    depth: int
    label: str
    text: str
    bullet: bool = False


def outline(value: Any, depth: int = 0) -> list[Line]:
    """`value` as lines: a mapping's fields by name, a list's items as bullets, nested
    values one level deeper; a field with nothing in it says "none"."""
    if isinstance(value, Mapping):
        lines = []
        for key, item in value.items():
            label = label_of(key)
            if _is_scalar(item) or _is_empty(item):
                lines.append(Line(depth, label, scalar(item)))
            else:
                lines.append(Line(depth, label, ""))
                lines += outline(item, depth + 1)
        return lines
    if isinstance(value, list):
        lines = []
        for item in value:
            inner = outline(item, depth) if not _is_scalar(item) else []
            if not inner:
                lines.append(Line(depth, "", scalar(item), bullet=True))
            else:
                first, *rest = inner  # the item's other lines align under its first
                lines.append(Line(first.depth, first.label, first.text, bullet=True))
                lines += [Line(r.depth + 1, r.label, r.text, r.bullet) for r in rest]
        return lines
    return [Line(depth, "", scalar(value))]


def label_of(key: Any) -> str:
    return str(key).replace("_", " ")


def scalar(value: Any) -> str:
    if value is None or _is_empty(value):
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, Mapping | list)


def _is_empty(value: Any) -> bool:
    return isinstance(value, Mapping | list) and not value
