"""How evenly a list of seeds covers the axis values, constitution sections and names.

Used by `storyloom plan` and the balance tests: every count is set against its fair
share (the count a perfectly even draw would give), so a glance shows what is over- or
under-represented. Where a draw depends on another (sections on the dilemma, a point of
view on the framing), the fair share is what an even draw among the values each seed
could take would give.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np

from storyloom.stories.coverage import SECTIONS, CoverageRow, fair_rows
from storyloom.stories.distinct import DistinctCounter
from storyloom.stories.story.draws import (
    StorySeed,
    allowed_values,
    make_seed,
    persona_names,
    section_candidates,
)
from storyloom.stories.story.inputs import StoryInputs

PERSONA = "persona name"
AGENTIC = "agentic setting"
#: Premises drawn between two progress reports while counting distinct ones.
BLOCK = 1 << 16


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
    seeds: Iterable[StorySeed], inputs: StoryInputs, names: tuple[str, ...]
) -> list[CoverageRow]:
    """One row per axis value, constitution section, persona name and agentic yes/no,
    in file order. One pass over `seeds`, kept nowhere: memory is flat in their number."""
    axes = inputs.axes.values
    counts: dict[str, Counter[str]] = {axis: Counter() for axis in axes}
    fair: dict[str, Counter[str]] = {axis: Counter() for axis in axes}
    section_counts: Counter[str] = Counter()
    section_fair: Counter[str] = Counter()
    name_counts: Counter[str] = Counter()
    per_story = float(inputs.axes.sections_per_story)
    total = agentic = 0
    for seed in seeds:
        total += 1
        agentic += seed.agentic
        name_counts[seed.persona_name] += 1
        for axis in axes:
            counts[axis][seed.axes[axis]] += 1
            options = allowed_values(inputs, axis, seed.axes)
            for value in options:
                fair[axis][value] += 1.0 / len(options)
        section_counts.update(seed.sections)
        candidates = section_candidates(inputs, seed.axes["dilemma"])
        for slug in candidates:
            section_fair[slug] += per_story / len(candidates)
    rows: list[CoverageRow] = []
    for axis, values in axes.items():
        rows.extend(CoverageRow(axis, v, counts[axis][v], fair[axis][v]) for v in values)
    rows.extend(
        CoverageRow(SECTIONS, slug, section_counts[slug], section_fair[slug])
        for slug in inputs.constitution.slugs
    )
    rows.extend(fair_rows(PERSONA, names, name_counts, total))
    if inputs.axes.agentic:
        share = len(inputs.axes.agentic) / len(axes["setting"])
        rows.append(CoverageRow(AGENTIC, "yes", agentic, total * share))
        rows.append(CoverageRow(AGENTIC, "no", total - agentic, total * (1 - share)))
    return rows


def planned_coverage(
    inputs: StoryInputs, run_seed: int, count: int, names: tuple[str, ...]
) -> list[CoverageRow]:
    """`coverage` of the first `count` seeds of a run, drawn one at a time and counted as
    they come: memory stays flat in `count`."""
    seeds = (
        make_seed(inputs, run_seed, index, name_variants=len(names) > 1) for index in range(count)
    )
    return coverage(seeds, inputs, names)


def count_distinct_premises(
    inputs: StoryInputs,
    run_seed: int,
    count: int,
    *,
    name_variants: bool,
    on_progress: Callable[[int], None] | None = None,
) -> DistinctCounter:
    """How many of the first `count` seeds differ in their draws, in constant memory
    (exact up to 65,536 distinct premises, a close estimate beyond). Name variants of one
    group share their draws, so each group is drawn once. `on_progress` gets the seeds
    covered so far, after every BLOCK groups."""
    width = len(persona_names(inputs, name_variants=name_variants))
    groups = -(-count // width)  # a partial last group still draws its premise
    axes = inputs.axes.values
    slugs = inputs.constitution.slugs
    distinct = DistinctCounter()
    for start in range(0, groups, BLOCK):
        stop = min(start + BLOCK, groups)
        rows = []
        for group in range(start, stop):
            seed = make_seed(inputs, run_seed, group * width, name_variants=name_variants)
            rows.append(
                [values.index(seed.axes[axis]) for axis, values in axes.items()]
                + [slugs.index(slug) for slug in seed.sections]
            )
        distinct.add_rows(np.array(rows, dtype=np.int64))
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
