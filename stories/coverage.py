"""How evenly a list of seeds covers the axis values, constitution sections and names.

Used by `storyloom plan` and the balance tests: every count is set against its fair
share (the count a perfectly even draw would give), so a glance shows what is over- or
under-represented.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from storyloom.stories.distinct import DistinctCounter
from storyloom.stories.inputs import StoryInputs
from storyloom.stories.seeds import (
    StorySeed,
    balanced_counts,
    balanced_pick,
    premise_indices,
    section_counts,
)

SECTIONS = "constitution section"
#: Premises drawn and hashed together when counting distinct ones.
BLOCK = 1 << 16
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


def planned_coverage(
    inputs: StoryInputs, run_seed: int, count: int, names: tuple[str, ...]
) -> list[CoverageRow]:
    """`coverage` of the first `count` seeds of a run, computed from the layout of the
    balanced streams instead of drawing the seeds: the same rows in O(values) time and
    memory, so `plan -n 10000000` answers at once. Seeds of one name group share their
    draws, so every group counts once per name; the last group may be partial."""
    width = len(names)
    groups, partial = divmod(count, width)
    rows: list[CoverageRow] = []
    for axis, values in inputs.axes.values.items():
        counts = [n * width for n in balanced_counts(run_seed, axis, groups, len(values))]
        if partial:
            counts[balanced_pick(run_seed, axis, groups, len(values))] += partial
        rows.extend(_rows(axis, values, Counter(dict(zip(values, counts, strict=True))), count))
    slugs, per_story = inputs.constitution.slugs, inputs.axes.sections_per_story
    drawn = [n * width for n in section_counts(run_seed, groups, len(slugs), per_story)]
    if partial:
        extra = section_counts(run_seed, groups + 1, len(slugs), per_story)
        drawn = [d + partial * (after - before) for d, after, before in zip(
            drawn, extra, section_counts(run_seed, groups, len(slugs), per_story), strict=True
        )]  # fmt: skip
    sections = Counter(dict(zip(slugs, drawn, strict=True)))
    rows.extend(_rows(SECTIONS, slugs, sections, count * per_story))
    name_counts = Counter(
        {name: groups + (variant < partial) for variant, name in enumerate(names)}
    )
    rows.extend(_rows(PERSONA, names, name_counts, count))
    return rows


def count_distinct_premises(
    inputs: StoryInputs,
    run_seed: int,
    count: int,
    *,
    name_variants: bool,
    on_progress: Callable[[int], None] | None = None,
) -> DistinctCounter:
    """How many of the first `count` seeds differ in their draws, in constant memory
    (exact up to 65,536 distinct premises, a close estimate beyond). `on_progress` gets
    the seeds covered so far, after every BLOCK draws."""
    width = len(inputs.persona.names) if name_variants else 1
    groups = -(-count // width)  # a partial last group still draws its premise
    distinct = DistinctCounter()
    for start in range(0, groups, BLOCK):
        stop = min(start + BLOCK, groups)
        distinct.add_rows(premise_indices(inputs, run_seed, start, stop))
        if on_progress is not None:
            on_progress(min(stop * width, count))
    return distinct


def worst_deviation(rows: list[CoverageRow]) -> dict[str, float]:
    """The largest |count - fair share| per dimension."""
    worst: dict[str, float] = {}
    for row in rows:
        worst[row.dimension] = max(worst.get(row.dimension, 0.0), abs(row.deviation))
    return worst


def distinct_premises(seeds: list[StorySeed]) -> int:
    """How many seeds differ in their draws (axes and sections), ignoring names."""
    return len({(tuple(sorted(seed.axes.items())), seed.sections) for seed in seeds})
