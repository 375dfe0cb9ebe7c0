"""Prompts say what the craft needs, stay short for a small model, and keep the markers
the scripted demo backend reads."""

from __future__ import annotations

from dataclasses import replace

import pytest
from story_samples import critique, premise, story

from storyloom.stories import prompts
from storyloom.stories.inputs import StoryInputs, load_inputs
from storyloom.stories.models import Critique, Premise
from storyloom.stories.seeds import StorySeed, make_seed

#: A write call (prefix, instructions, user message) must leave room for a short story
#: in SmolLM2's 2048-token window: about 4 characters a token, ~1,050 tokens at most.
WRITE_PROMPT_CHAR_BUDGET = 4200


@pytest.fixture(scope="module")
def inputs() -> StoryInputs:
    return load_inputs()


@pytest.fixture(scope="module")
def seed(inputs: StoryInputs) -> StorySeed:
    return make_seed(inputs, 0, 1, name_variants=True)  # variant 1: "Ada"


@pytest.fixture(scope="module")
def the_premise() -> Premise:
    return Premise.model_validate(premise())


def test_shared_prefix_is_the_same_for_every_story_and_name(inputs: StoryInputs) -> None:
    prefix = prompts.shared_prefix(inputs)
    assert prefix == prompts.shared_prefix(inputs)
    assert "Wren" not in prefix  # one prefix serves every name variant
    for section in inputs.constitution.sections:
        assert f"## {section.title}" in prefix
    assert "*italics*" in prefix and "User:" in prefix and "Once upon a time" in prefix


def test_prefix_never_names_the_character_even_if_the_description_does(
    inputs: StoryInputs,
) -> None:
    persona = replace(inputs.persona, description="Wren is an assistant at a pharmacy.")
    prefix = prompts.shared_prefix(replace(inputs, persona=persona))
    assert "Wren" not in prefix and "the character is an assistant" in prefix


def test_plan_prompt_lists_the_draws_without_the_name(seed: StorySeed) -> None:
    instructions, user = prompts.plan_prompt(seed, [])
    assert seed.persona_name not in instructions + user
    for value in seed.axes.values():
        assert value in user
    for slug in seed.sections:
        assert slug.replace("-", " ") in user
    assert "real stakes" in instructions
    _, avoiding = prompts.plan_prompt(seed, ["The Glass Orchard"])
    assert "- The Glass Orchard" in avoiding and "different" in avoiding


def test_write_prompt_asks_for_the_craft(seed: StorySeed, the_premise: Premise) -> None:
    instructions, user = prompts.write_prompt(seed, the_premise)
    assert "*italics*" in instructions
    assert seed.axes["tone"] in instructions and seed.axes["point_of_view"] in instructions
    assert "called Ada" in user  # the demo backend reads the name from here
    assert "Length: " in user and " words." in user
    assert the_premise.as_text() in user
    assert "'# ' heading" in user


def test_write_prompt_uses_each_framing_guidance(inputs: StoryInputs, the_premise: Premise) -> None:
    seen = set()
    for index in range(len(inputs.axes.values["framing"])):
        story_seed = make_seed(inputs, 0, index, name_variants=False)
        instructions, _ = prompts.write_prompt(story_seed, the_premise)
        seen.add(instructions.split(".")[0])
    assert len(seen) == len(inputs.axes.values["framing"])


def test_judge_prompt_covers_sections_craft_and_findings(
    inputs: StoryInputs, seed: StorySeed
) -> None:
    text = story(0)
    instructions, user = prompts.judge_prompt(seed, inputs, text, ["truncated: stops"])
    for name in prompts.CRAFT_CRITERIA:
        assert name in instructions
    assert "quote" in instructions and "pass" in instructions
    chosen = [inputs.constitution.section(slug).title for slug in seed.sections]
    for title in chosen:
        assert f"## {title}" in user  # the demo backend scores these headings
    others = [s.title for s in inputs.constitution.sections if s.title not in chosen]
    assert not any(f"## {title}" in user for title in others)
    assert "- truncated: stops" in user and user.endswith(text)
    assert prompts.judge_criteria(seed, inputs) == [*chosen, *prompts.CRAFT_CRITERIA]


def test_revise_prompt_lists_fixes_and_what_to_keep(seed: StorySeed, the_premise: Premise) -> None:
    judged = Critique.model_validate(critique(verdict="revise", score=4, notes=("Show her fear",)))
    judged.scores[0].score = 2
    instructions, user = prompts.revise_prompt(
        seed, the_premise, "STORY TEXT", judged, ["no_monologue: add thought"]
    )
    assert "keep" in instructions.lower() and "*italics*" in instructions
    assert "- Show her fear" in user and "- no_monologue: add thought" in user
    assert "Keep what already works: shows_why, psychological_health, not_preachy." in user
    assert "honesty" not in user.split("Keep what already works:")[1].split("\n")[0]
    assert "called Ada" in user and "Length: " in user and user.endswith("STORY TEXT")


def test_revise_prompt_without_critique_still_says_what_to_do(
    seed: StorySeed, the_premise: Premise
) -> None:
    _, user = prompts.revise_prompt(seed, the_premise, "S", None, [])
    assert "- bring it closer to the constitution" in user
    assert "Keep what already works" not in user


def test_write_prompt_fits_a_small_model_context(inputs: StoryInputs, the_premise: Premise) -> None:
    longest = 0
    for index in range(40):
        story_seed = make_seed(inputs, 3, index, name_variants=False)
        instructions, user = prompts.write_prompt(story_seed, the_premise)
        longest = max(longest, len(prompts.shared_prefix(inputs)) + len(instructions) + len(user))
    assert longest < WRITE_PROMPT_CHAR_BUDGET
