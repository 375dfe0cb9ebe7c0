"""How evenly any kind's draws cover its dimensions and constitution sections, streamed:
draws are counted as they are made, so memory is flat in the number of draws.

The universes come from the kind (`dimensions()`) and, where its inputs hold a
constitution, from its sections, so a value never drawn shows as a gap. A kind that draws
a dimension within another one's value (`allowed_values(inputs, dimension, axes)`) gets
the fair share an even draw among each draw's allowed values would give.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from storyloom.stories.kind import CorpusKind

SECTIONS = "constitution section"


@dataclass(frozen=True)
class CoverageRow:
    dimension: str
    value: str
    count: int
    fair_share: float

    @property
    def deviation(self) -> float:
        return self.count - self.fair_share

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "deviation": round(self.deviation, 4)}


def fair_rows(
    dimension: str, values: tuple[str, ...], counts: Counter[str], draws: int
) -> list[CoverageRow]:
    fair = draws / len(values)
    return [CoverageRow(dimension, value, counts[value], fair) for value in values]


def kind_coverage(
    kind: CorpusKind,
    inputs: Any,
    settings: Any,
    count: int,
    *,
    on_draw: Callable[[int, dict[str, Any]], None] | None = None,
) -> list[CoverageRow]:
    """One row per value of each dimension, then per constitution section."""
    universes = kind.dimensions(inputs, settings)
    allowed: Callable[[Any, str, dict[str, Any]], tuple[str, ...]] | None = getattr(
        kind, "allowed_values", None
    )
    counts: dict[str, Counter[str]] = {name: Counter() for name in universes}
    fair: dict[str, Counter[str]] = {}
    sections: Counter[str] = Counter()
    for index in range(count):
        draw = kind.draw(inputs, settings.seed, index, settings)
        axes = draw.get("axes") or {}
        for name, value in axes.items():
            counts.setdefault(name, Counter())[str(value)] += 1
            if allowed is not None and name in universes:
                options = allowed(inputs, name, axes)
                for option in options:
                    fair.setdefault(name, Counter())[option] += 1.0 / len(options)
        sections.update(str(slug) for slug in draw.get("sections") or ())
        if on_draw is not None:
            on_draw(index, draw)
    rows: list[CoverageRow] = []
    for name, counter in counts.items():
        values = universes.get(name) or tuple(sorted(counter))
        shares = fair.get(name) or Counter({v: count / len(values) for v in values})
        rows.extend(CoverageRow(name, v, counter[v], shares[v]) for v in values)
    constitution = getattr(inputs, "constitution", None)
    slugs = tuple(constitution.slugs) if constitution is not None else tuple(sorted(sections))
    drawn = sum(sections.values())
    if slugs and drawn:
        rows.extend(CoverageRow(SECTIONS, s, sections[s], drawn / len(slugs)) for s in slugs)
    return rows
