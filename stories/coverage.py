"""How evenly a list of seeds covers the axis values, constitution sections and names.

Used by `storyloom plan` and the balance tests: every count is set against its fair
share (the count a perfectly even draw would give), so a glance shows what is over- or
under-represented.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from storyloom.stories.inputs import StoryInputs
from storyloom.stories.seeds import StorySeed

SECTIONS = "constitution section"
PERSONA = "persona name"


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


def _rows(
    dimension: str, values: tuple[str, ...], counts: Counter[str], draws: int
) -> list[CoverageRow]:
    fair = draws / len(values)
    return [CoverageRow(dimension, value, counts[value], fair) for value in values]


def coverage(
    seeds: list[StorySeed], inputs: StoryInputs, names: tuple[str, ...]
) -> list[CoverageRow]:
    """One row per axis value, constitution section and persona name, in file order."""
    rows: list[CoverageRow] = []
    for axis, values in inputs.axes.values.items():
        counts = Counter(seed.axes[axis] for seed in seeds)
        rows.extend(_rows(axis, values, counts, len(seeds)))
    section_counts = Counter(slug for seed in seeds for slug in seed.sections)
    drawn = len(seeds) * inputs.axes.sections_per_story
    rows.extend(_rows(SECTIONS, inputs.constitution.slugs, section_counts, drawn))
    rows.extend(_rows(PERSONA, names, Counter(seed.persona_name for seed in seeds), len(seeds)))
    return rows


def worst_deviation(rows: list[CoverageRow]) -> dict[str, float]:
    """The largest |count - fair share| per dimension."""
    worst: dict[str, float] = {}
    for row in rows:
        worst[row.dimension] = max(worst.get(row.dimension, 0.0), abs(row.deviation))
    return worst


def distinct_premises(seeds: list[StorySeed]) -> int:
    """How many seeds differ in their draws (axes and sections), ignoring names."""
    return len({(tuple(sorted(seed.axes.items())), seed.sections) for seed in seeds})
