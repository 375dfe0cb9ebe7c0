"""How evenly a list of seeds covers the axis values, constitution sections and names.

Used by `storyloom plan` and the balance tests: every count is set against its fair
share (the count a perfectly even draw would give), so a glance shows what is over- or
under-represented. Where a draw depends on another (sections on the dilemma, a point of
view on the framing), the fair share is what an even draw among the values each seed
could take would give.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from storyloom.stories.inputs import StoryInputs
from storyloom.stories.seeds import StorySeed, allowed_values, section_candidates

SECTIONS = "constitution section"
PERSONA = "persona name"
AGENTIC = "agentic setting"


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


def _expected_rows(
    dimension: str,
    values: tuple[str, ...],
    counts: Counter[str],
    shares: list[tuple[tuple[str, ...], float]],
) -> list[CoverageRow]:
    """Rows whose fair share sums, over seeds, `weight / len(options)` for each value in
    that seed's `options` (what an even draw among them would give)."""
    fair: Counter[str] = Counter()
    for options, weight in shares:
        for value in options:
            fair[value] += weight / len(options)
    return [CoverageRow(dimension, value, counts[value], fair[value]) for value in values]


def coverage(
    seeds: list[StorySeed], inputs: StoryInputs, names: tuple[str, ...]
) -> list[CoverageRow]:
    """One row per axis value, constitution section, persona name and agentic yes/no,
    in file order."""
    rows: list[CoverageRow] = []
    for axis, values in inputs.axes.values.items():
        counts = Counter(seed.axes[axis] for seed in seeds)
        shares = [(allowed_values(inputs, axis, seed.axes), 1.0) for seed in seeds]
        rows.extend(_expected_rows(axis, values, counts, shares))
    section_counts = Counter(slug for seed in seeds for slug in seed.sections)
    per_story = float(inputs.axes.sections_per_story)
    section_shares = [
        (section_candidates(inputs, seed.axes["dilemma"]), per_story) for seed in seeds
    ]
    rows.extend(_expected_rows(SECTIONS, inputs.constitution.slugs, section_counts, section_shares))
    rows.extend(_rows(PERSONA, names, Counter(seed.persona_name for seed in seeds), len(seeds)))
    if inputs.axes.agentic:
        settings = inputs.axes.values["setting"]
        agentic_share = len(inputs.axes.agentic) / len(settings)
        agentic = sum(seed.agentic for seed in seeds)
        rows.append(CoverageRow(AGENTIC, "yes", agentic, len(seeds) * agentic_share))
        rows.append(
            CoverageRow(AGENTIC, "no", len(seeds) - agentic, len(seeds) * (1 - agentic_share))
        )
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
