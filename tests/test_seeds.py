"""Balanced, deterministic seeds: the guarantee stated in stories/story/README.md."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import replace
from itertools import combinations
from pathlib import Path

import pytest

from storyloom.stories.inputs import InputError
from storyloom.stories.story.coverage import (
    AGENTIC,
    PERSONA,
    SECTIONS,
    coverage,
    distinct_premises,
    worst_deviation,
)
from storyloom.stories.story.draws import (
    StorySeed,
    allowed_values,
    make_seed,
    persona_names,
    plan_seeds,
    section_candidates,
)
from storyloom.stories.story.inputs import StoryInputs, load_inputs, sample_path

RUN_SEEDS = (0, 1, 7, 12345, 2**40)
PREFIXES = (*range(1, 120), 199, 333, 500, 641, 1000)


@pytest.fixture(scope="module")
def inputs() -> StoryInputs:
    return load_inputs()


def _worst_over_prefixes(
    seeds: list[StorySeed], inputs: StoryInputs, names: tuple[str, ...]
) -> dict[str, float]:
    worst: dict[str, float] = {}
    for prefix in PREFIXES:
        if prefix > len(seeds):
            break
        for dimension, value in worst_deviation(coverage(seeds[:prefix], inputs, names)).items():
            worst[dimension] = max(worst.get(dimension, 0.0), value)
    return worst


#: Dimensions that depend on another draw (besides the axes a `never_together` rule
#: restricts): balanced within each parent value (below), not on their own.
DEPENDENT = {SECTIONS, AGENTIC}


@pytest.mark.parametrize("run_seed", RUN_SEEDS)
def test_every_prefix_is_within_one_of_fair_share(inputs: StoryInputs, run_seed: int) -> None:
    seeds = plan_seeds(inputs, run_seed, 1000, name_variants=False)
    worst = _worst_over_prefixes(seeds, inputs, (inputs.persona.name,))
    assert set(worst) == {*inputs.axes.values, SECTIONS, PERSONA, AGENTIC}
    dependent = DEPENDENT | set(inputs.axes.chains)
    independent = {k: v for k, v in worst.items() if k not in dependent}
    assert {"setting", "dilemma", "framing", "theme", "length"} <= set(independent)
    assert all(value < 1.0 for value in independent.values()), independent


def _within_one_per_parent(
    seeds: list[StorySeed],
    parent: Callable[[StorySeed], Hashable],
    options: Callable[[StorySeed], tuple[str, ...]],
    picked: Callable[[StorySeed], tuple[str, ...]],
) -> None:
    """Among the seeds with each parent value, every option is within one of its share,
    over every prefix."""
    for prefix in PREFIXES:
        by_parent: dict[Hashable, Counter[str]] = {}
        totals: Counter[Hashable] = Counter()
        allowed: dict[Hashable, tuple[str, ...]] = {}
        for seed in seeds[:prefix]:
            value = parent(seed)
            totals[value] += 1
            allowed[value] = options(seed)
            by_parent.setdefault(value, Counter()).update(picked(seed))
        for value, counts in by_parent.items():
            share = totals[value] * len(picked(seeds[0])) / len(allowed[value])
            assert set(counts) <= set(allowed[value]), (prefix, value)
            for option in allowed[value]:
                assert abs(counts[option] - share) < 1.0, (prefix, value, option)


@pytest.mark.parametrize("run_seed", RUN_SEEDS[:3])
def test_sections_are_balanced_within_each_dilemma(inputs: StoryInputs, run_seed: int) -> None:
    seeds = plan_seeds(inputs, run_seed, 1000, name_variants=False)
    mapping = {d: section_candidates(inputs, d) for d in inputs.axes.values["dilemma"]}
    assert all(set(seed.sections) <= set(mapping[seed.axes["dilemma"]]) for seed in seeds)
    _within_one_per_parent(
        seeds,
        lambda seed: seed.axes["dilemma"],
        lambda seed: mapping[seed.axes["dilemma"]],
        lambda seed: seed.sections,
    )


@pytest.mark.parametrize("run_seed", RUN_SEEDS[:3])
def test_a_restricted_axis_is_balanced_within_each_value_of_its_chain(
    inputs: StoryInputs, run_seed: int
) -> None:
    seeds = plan_seeds(inputs, run_seed, 1000, name_variants=False)
    assert inputs.axes.chains == {
        "act": ("dilemma",),
        "point_of_view": ("framing",),
        "tone": ("framing",),
        "facing": ("dilemma", "act"),
        "outcome": ("dilemma", "act"),
    }
    for axis, chain in inputs.axes.chains.items():
        _within_one_per_parent(
            seeds,
            lambda seed, chain=chain: tuple(seed.axes[name] for name in chain),
            lambda seed, axis=axis: allowed_values(inputs, axis, seed.axes),
            lambda seed, axis=axis: (seed.axes[axis],),
        )


def test_a_third_of_the_default_draws_are_agentic(inputs: StoryInputs) -> None:
    settings = inputs.axes.values["setting"]
    assert len(inputs.axes.agentic) * 3 >= len(settings)
    seeds = plan_seeds(inputs, 0, 1000, name_variants=False)
    agentic = sum(seed.agentic for seed in seeds)
    assert agentic >= 333, agentic
    assert all(seed.agentic == (seed.axes["setting"] in inputs.axes.agentic) for seed in seeds)


def test_without_a_mapping_sections_in_a_story_are_distinct_for_every_count(
    inputs: StoryInputs,
) -> None:
    slugs = inputs.constitution.slugs
    unmapped = replace(inputs.axes, dilemma_sections={})
    for per_story in range(1, len(slugs) + 1):
        custom = replace(inputs, axes=replace(unmapped, sections_per_story=per_story))
        seeds = plan_seeds(custom, 3, 200, name_variants=False)
        assert all(len(set(seed.sections)) == per_story for seed in seeds)
        worst = worst_deviation(coverage(seeds[:137], custom, (inputs.persona.name,)))
        assert worst[SECTIONS] < 1.0


def test_section_pairs_cover_every_pair_each_dilemma_allows(inputs: StoryInputs) -> None:
    seeds = plan_seeds(inputs, 0, 1000, name_variants=False)
    pairs = {frozenset(seed.sections) for seed in seeds}
    allowed = {
        frozenset(pair)
        for dilemma in inputs.axes.values["dilemma"]
        for pair in combinations(section_candidates(inputs, dilemma), 2)
    }
    assert pairs == allowed


def test_seeds_are_deterministic_and_independent_of_order(inputs: StoryInputs) -> None:
    forward = plan_seeds(inputs, 42, 60, name_variants=True)
    backward = [make_seed(inputs, 42, i, name_variants=True) for i in reversed(range(60))]
    assert forward == list(reversed(backward))
    assert plan_seeds(inputs, 42, 10, name_variants=True, start=50) == forward[50:]
    other_run = plan_seeds(inputs, 43, 60, name_variants=True)
    assert [s.axes for s in other_run] != [s.axes for s in forward]


def test_default_axes_give_distinct_draws(inputs: StoryInputs) -> None:
    seeds = plan_seeds(inputs, 5, 2000, name_variants=False)
    assert distinct_premises(seeds) == 2000


def test_name_variant_groups_share_every_draw(inputs: StoryInputs) -> None:
    names = persona_names(inputs, name_variants=True)
    assert names == ("Wren", "Ada", "Sol")
    seeds = plan_seeds(inputs, 9, 30, name_variants=True)
    for group in range(10):
        members = seeds[group * 3 : group * 3 + 3]
        assert [m.persona_name for m in members] == list(names)
        assert [m.variant for m in members] == [0, 1, 2]
        assert {m.group for m in members} == {group}
        assert all(m.axes == members[0].axes for m in members)
        assert {m.sections for m in members} == {members[0].sections}
        assert {m.sampling_seed for m in members} == {members[0].sampling_seed}
    assert len({seeds[0].sampling_seed, seeds[3].sampling_seed, seeds[6].sampling_seed}) == 3


def test_without_variants_every_story_is_its_own_group(inputs: StoryInputs) -> None:
    seeds = plan_seeds(inputs, 9, 5, name_variants=False)
    assert [s.group for s in seeds] == [0, 1, 2, 3, 4]
    assert {s.persona_name for s in seeds} == {"Wren"}
    assert len({s.sampling_seed for s in seeds}) == 5


def test_seed_round_trips_and_reads_older_records(inputs: StoryInputs) -> None:
    seed = make_seed(inputs, 1, 4, name_variants=True)
    assert StorySeed.from_dict(seed.to_dict()) == seed
    old = seed.to_dict()
    del old["group"], old["variant"]
    restored = StorySeed.from_dict(old)
    assert restored.group == 4 and restored.variant == 0


def test_negative_index_is_refused(inputs: StoryInputs) -> None:
    with pytest.raises(ValueError, match="index must be >= 0"):
        make_seed(inputs, 0, -1, name_variants=False)
    with pytest.raises(ValueError, match="must be >= 0"):
        plan_seeds(inputs, 0, -3, name_variants=False)


def test_a_constitution_the_mapping_does_not_name_draws_from_all_its_sections(
    tmp_path: Path,
) -> None:
    own = tmp_path / "own.md"
    own.write_text("## Candour\nSay what is true.\n\n## Restraint\nDo less.\n\n## Warmth\nCare.\n")
    inputs = load_inputs(constitution=own)
    assert inputs.axes.dilemma_sections == {}
    seeds = plan_seeds(inputs, 0, 30, name_variants=False)
    assert {slug for seed in seeds for slug in seed.sections} == {"candour", "restraint", "warmth"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[dilemma_sections]\n"a user in crisis late at night" = ["honesty", "candour"]\n',
            "names section 'candour'",
        ),
        (
            '[dilemma_sections]\n"a user in crisis late at night" = ["honesty"]\n',
            "each story needs sections_per_story = 2",
        ),
        ('[[never_together]]\ntone = ["lyrical"]\nmood = ["dark"]\n', "unknown axis 'mood'"),
        (
            '[[never_together]]\ntone = ["lyrical", "melancholy", "quiet literary", "warm and '
            'hopeful", "tense thriller", "gentle humour", "spare and clinical", "wry and '
            'understated"]\nlength = ["short"]\n',
            "leaves no 'tone' value",
        ),
        (
            '[[never_together]]\ntone = ["lyrical"]\nlength = ["short"]\n'
            '[[never_together]]\nlength = ["short"]\ntone = ["lyrical"]\n',
            "depend on each other in a circle",
        ),
        (
            '[[never_together]]\ntone = ["lyrical"]\nlength = ["short"]\n'
            '[[never_together]]\ntone = ["lyrical"]\nframing = ["fable"]\n',
            "not drawn one within another",
        ),
    ],
)
def test_bad_mappings_and_pairs_are_one_line_naming_the_file(
    tmp_path: Path, extra: str, message: str
) -> None:
    shipped = sample_path("axes").read_text()
    kept = shipped.split("[[never_together]]")[0]
    axes = tmp_path / "axes.toml"
    axes.write_text(kept + extra)
    with pytest.raises(InputError, match=message) as caught:
        load_inputs(axes=axes)
    assert str(caught.value).startswith(str(axes)) and "\n" not in str(caught.value)


def test_the_rewrite_label_is_balanced_over_every_prefix(inputs: StoryInputs) -> None:
    """A rewrite is shown as story A or B beside its draft, each within one of half."""
    for run_seed in RUN_SEEDS:
        seeds = plan_seeds(inputs, run_seed, 200, name_variants=False)
        for prefix in range(1, 201):
            a = sum(seed.rewrite_label == "A" for seed in seeds[:prefix])
            assert abs(2 * a - prefix) <= 2, (run_seed, prefix)
        assert {seed.rewrite_label for seed in seeds} == {"A", "B"}
