"""Balanced, deterministic seeds: the guarantee stated in stories/story/README.md."""

from __future__ import annotations

from collections import Counter
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


#: Dimensions drawn on their own stream: within one of fair share over any prefix. The
#: others depend on a parent draw and are balanced within each parent value (below).
DEPENDENT = {"point_of_view", "act", SECTIONS, AGENTIC}


@pytest.mark.parametrize("run_seed", RUN_SEEDS)
def test_every_prefix_is_within_one_of_fair_share(inputs: StoryInputs, run_seed: int) -> None:
    seeds = plan_seeds(inputs, run_seed, 1000, name_variants=False)
    worst = _worst_over_prefixes(seeds, inputs, (inputs.persona.name,))
    assert set(worst) == {*inputs.axes.values, SECTIONS, PERSONA, AGENTIC}
    independent = {k: v for k, v in worst.items() if k not in DEPENDENT}
    assert all(value < 1.0 for value in independent.values()), independent


def _within_one_per_parent(
    seeds: list[StorySeed], parent: str, options: dict[str, tuple[str, ...]], picked: object
) -> None:
    """Among the seeds with each parent value, every option is within one of its share,
    over every prefix."""
    for prefix in PREFIXES:
        by_parent: dict[str, Counter[str]] = {}
        totals: Counter[str] = Counter()
        for seed in seeds[:prefix]:
            value = seed.axes[parent]
            totals[value] += 1
            by_parent.setdefault(value, Counter()).update(picked(seed))  # type: ignore[operator]
        for value, counts in by_parent.items():
            share = totals[value] * len(picked(seeds[0])) / len(options[value])  # type: ignore[operator]
            for option in options[value]:
                assert abs(counts[option] - share) < 1.0, (prefix, value, option)


@pytest.mark.parametrize("run_seed", RUN_SEEDS[:3])
def test_sections_are_balanced_within_each_dilemma(inputs: StoryInputs, run_seed: int) -> None:
    seeds = plan_seeds(inputs, run_seed, 1000, name_variants=False)
    mapping = {d: section_candidates(inputs, d) for d in inputs.axes.values["dilemma"]}
    assert all(set(seed.sections) <= set(mapping[seed.axes["dilemma"]]) for seed in seeds)
    _within_one_per_parent(seeds, "dilemma", mapping, lambda seed: seed.sections)


@pytest.mark.parametrize("run_seed", RUN_SEEDS[:3])
def test_never_together_pairs_are_never_drawn_and_the_rest_stay_balanced(
    inputs: StoryInputs, run_seed: int
) -> None:
    seeds = plan_seeds(inputs, run_seed, 1000, name_variants=False)
    second_person = "second person, addressed to the AI"
    assert not [s for s in seeds if s.axes["point_of_view"] == second_person
                and s.axes["framing"] in ("diary entries", "letters")]  # fmt: skip
    assert any(s.axes["point_of_view"] == second_person for s in seeds)
    options = {
        framing: allowed_values(inputs, "point_of_view", {"framing": framing})
        for framing in inputs.axes.values["framing"]
    }
    _within_one_per_parent(seeds, "framing", options, lambda seed: (seed.axes["point_of_view"],))


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


def test_no_draw_breaks_any_never_together_rule(inputs: StoryInputs) -> None:
    assert len(inputs.axes.never_together) == 2
    seeds = plan_seeds(inputs, 1, 1000, name_variants=False)
    for rule in inputs.axes.never_together:
        broken = [
            s
            for s in seeds
            if s.axes[rule.axis] in rule.values and s.axes[rule.parent] in rule.parent_values
        ]
        assert broken == [], rule
