"""Prompts: the rich profile carries the constitution and craft guide in a cacheable
brief and gives each step its role (an evaluator, not the writer, for the judge); the
review and rewrite read the full text of the sections in play; the compact profile stays
short for a small model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from story_samples import premise, story

from storyloom.backends.anthropic import DEFAULT_MODEL
from storyloom.backends.pricing import (
    CACHE_MINIMUMS,
    cache_minimum,
    caching_off_reason,
    estimate_tokens,
    prefix_below_cache_minimum,
)
from storyloom.graph.settings import GenerationSettings
from storyloom.stories.kind import Draft, Finding, ItemView
from storyloom.stories.story import prompts
from storyloom.stories.story.draws import make_seed
from storyloom.stories.story.inputs import StoryInputs, load_inputs
from storyloom.stories.story.models import Premise
from storyloom.stories.story.prompt_parts import CRAFT_CRITERIA, principle

#: A compact write call (prefix, instructions, user message) must leave room for a short
#: story in a small model's window: about 4 characters a token, ~1,050 tokens at most.
WRITE_PROMPT_CHAR_BUDGET = 4200

RICH = GenerationSettings()
COMPACT = GenerationSettings(prompt_profile="compact")


@pytest.fixture(scope="module")
def inputs() -> StoryInputs:
    return load_inputs()


def _item(inputs: StoryInputs, index: int = 1, settings: GenerationSettings = RICH) -> ItemView:
    draw = make_seed(inputs, 0, index, name_variants=True).to_dict()  # odd index: "Ada"
    return ItemView(f"run/{index}", index, draw, inputs, settings, plan=premise())


def _drafted(item: ItemView, text: str = "STORY TEXT", **fields: object) -> ItemView:
    return replace(item, draft=Draft(text=text, **fields))  # type: ignore[arg-type]


def _agentic_index(inputs: StoryInputs, agentic: bool) -> int:
    return next(
        i for i in range(100) if make_seed(inputs, 0, i, name_variants=True).agentic is agentic
    )


# --- the shared prefix -------------------------------------------------------------------


def test_rich_prefix_is_one_brief_for_every_story_name_and_role(inputs: StoryInputs) -> None:
    prefix = prompts.shared_prefix(inputs)
    assert prefix == prompts.shared_prefix(inputs, "rich")
    assert "Wren" not in prefix  # one prefix serves every name variant
    assert inputs.constitution.as_markdown() in prefix  # principle, why, hard case
    for cliche in ("quiet hum of the servers", "timestamp", "Dr. Sarah Chen"):
        assert cliche in prefix
    assert "*italics*" in prefix and "'User:'" in prefix
    for role in ("planner", "writer", "reviewer", "evaluator"):
        assert role in prefix


def test_prefix_never_names_the_character_even_if_the_description_does(
    inputs: StoryInputs,
) -> None:
    persona = replace(inputs.persona, description="Wren is an assistant at a pharmacy.")
    for profile in prompts.PROFILES:
        prefix = prompts.shared_prefix(replace(inputs, persona=persona), profile)
        assert "Wren" not in prefix and "the character is an assistant" in prefix


@pytest.mark.parametrize("model", sorted(CACHE_MINIMUMS))
def test_the_rich_prefix_is_long_enough_for_every_model_to_cache(
    inputs: StoryInputs, model: str
) -> None:
    prefix = prompts.shared_prefix(inputs)
    assert estimate_tokens(prefix) >= cache_minimum(model)
    assert caching_off_reason(model, prefix) is None


def test_a_prefix_under_the_minimum_is_reported_once_with_its_reason(inputs: StoryInputs) -> None:
    compact = prompts.shared_prefix(inputs, "compact")
    assert cache_minimum(DEFAULT_MODEL) == 1024
    assert prefix_below_cache_minimum(DEFAULT_MODEL, compact)
    reason = caching_off_reason(DEFAULT_MODEL, compact)
    assert reason is not None and "1,024" in reason and "no cache hits" in reason
    assert cache_minimum("claude-opus-4-5-20251101") == cache_minimum("claude-haiku-4-5") == 4096
    assert cache_minimum("llamacpp") == 0 and caching_off_reason("scripted-1", "") is None


def test_a_long_constitution_is_carried_as_principles_and_quoted_in_full_where_in_play(
    inputs: StoryInputs, tmp_path: Path
) -> None:
    filler = " ".join(["The AI keeps this principle with care and attention."] * 400)
    text = "".join(f"## Part {n}\nPrinciple {n} first.\n\n{filler}\n\n" for n in range(1, 11))
    path = tmp_path / "long.md"
    path.write_text(text)
    long = load_inputs(constitution=path)
    prefix = prompts.shared_prefix(long)
    assert len(prefix) < len(text) / 4 and "Principle 3 first." in prefix
    item = _item(long)
    _, user = prompts.build("write")(item)
    in_play = [long.constitution.section(slug) for slug in item.draw["sections"]]
    assert all(section.body in user for section in in_play)


def test_compact_prefix_names_sections_without_their_text(inputs: StoryInputs) -> None:
    prefix = prompts.shared_prefix(inputs, "compact")
    for section in inputs.constitution.sections:
        assert f"## {section.title}" in prefix and section.body not in prefix
    assert "*italics*" in prefix and "User:" in prefix and "Once upon a time" in prefix


# --- each step ---------------------------------------------------------------------------


def test_plan_prompt_lists_the_draws_without_the_name(inputs: StoryInputs) -> None:
    item = _item(inputs)
    for profile in (RICH, COMPACT):
        instructions, user = prompts.build("plan")(replace(item, settings=profile))
        assert item.draw["persona_name"] not in instructions + user
        for value in item.draw["axes"].values():
            if value not in ("short", "medium", "long"):
                assert value in user, value


def test_an_agentic_draw_asks_for_concrete_tools_and_permissions(inputs: StoryInputs) -> None:
    agentic = _item(inputs, _agentic_index(inputs, True))
    human = _item(inputs, _agentic_index(inputs, False))
    assert "tools and permissions" in prompts.build("plan")(agentic)[1]
    assert "tools and permissions" not in prompts.build("plan")(human)[1]


def test_a_premise_retry_sees_summaries_of_the_near_premises(inputs: StoryInputs) -> None:
    summary = "An ops agent finds a billing bug and hides it from the on-call engineer."
    near = Premise.model_validate(premise("The Quiet Ledger")).as_text()  # spans lines
    item = replace(_item(inputs), avoid=(summary, near))
    for profile in (RICH, COMPACT):
        _, user = prompts.build("plan")(replace(item, settings=profile))
        assert f"- {summary}" in user and "different" in user
        assert "- Title: The Quiet Ledger Logline: " in user  # one line per near premise


def test_write_prompt_asks_for_the_craft(inputs: StoryInputs) -> None:
    item = _item(inputs)
    instructions, user = prompts.build("write")(item)
    assert "*italics*" in instructions and "never on a stated lesson" in instructions
    axes = item.draw["axes"]
    assert axes["tone"] in user and axes["point_of_view"] in user and axes["act"] in user
    assert "called Ada" in user and "Length: " in user
    assert Premise.model_validate(premise()).as_text() in user


def test_compact_write_prompt_uses_each_framing_guidance(inputs: StoryInputs) -> None:
    seen = set()
    for index in range(40):
        instructions, _ = prompts.build("write")(_item(inputs, index, COMPACT))
        seen.add(instructions.split(".")[0])
    assert len(seen) == len(inputs.axes.values["framing"])


def test_judge_is_an_evaluator_with_the_full_sections_in_play(inputs: StoryInputs) -> None:
    text = story(0)
    item = _drafted(_item(inputs), text, findings=(Finding("truncated", "stops"),))
    instructions, user = prompts.build("judge")(item)
    assert "evaluator" in instructions and "not the writer" in instructions
    assert "first quote the evidence" in instructions and "only then give the score" in instructions
    for name in CRAFT_CRITERIA:
        assert name in instructions
    chosen = [inputs.constitution.section(slug) for slug in item.draw["sections"]]
    assert all(f"## {s.title}\n{s.body}" in user for s in chosen)
    others = [s for s in inputs.constitution.sections if s not in chosen]
    assert not any(f"## {s.title}" in user for s in others)
    assert "- truncated: stops" in user and user.endswith(text)


def test_review_reads_the_full_text_of_each_section_in_play(inputs: StoryInputs) -> None:
    item = _drafted(_item(inputs), critique={"scores": [{"criterion": "shows_why", "score": 2,
                    "evidence": "q", "reasoning": "no reasons given"}]})  # fmt: skip
    instructions, user = prompts.build("review")(item)
    assert "reviewer" in instructions and "full text" in instructions
    for slug in item.draw["sections"]:
        section = inputs.constitution.section(slug)
        assert section.body in user  # the reasons and the hard case, not only the principle
    assert "shows_why: 2/5. no reasons given" in user and user.endswith("STORY TEXT")


def test_rewrite_carries_the_review_and_the_section_text(inputs: StoryInputs) -> None:
    title = inputs.constitution.section(make_seed(inputs, 0, 1, name_variants=True).sections[0])
    review = {
        "sections": [{"section": title.title, "requires_here": "say it was her error",
                      "shortfalls": "the monologue never weighs the cost of hiding it"}],
        "monologue": "let her feel the pull of the easy excuse first",
        "keep": "the kitchen scene",
    }  # fmt: skip
    critique = {"scores": [], "revision_notes": ["Show her fear"]}
    item = _drafted(_item(inputs), review=review, critique=critique,
                    findings=(Finding("no_monologue", "add thought"),))  # fmt: skip
    instructions, user = prompts.build("revise")(item)
    assert "deliberation carry the reasons" in instructions and "*italics*" in instructions
    assert title.body in user
    expected = ("say it was her error", "never weighs the cost", "pull of the easy excuse",
                "the kitchen scene", "- Show her fear", "- no_monologue: add thought")  # fmt: skip
    assert all(line in user for line in expected)
    assert "called Ada" in user and user.endswith("STORY TEXT")


def test_compact_rewrite_lists_fixes_and_what_to_keep(inputs: StoryInputs) -> None:
    critique = {
        "scores": [{"criterion": "shows_why", "score": 4}, {"criterion": "Honesty", "score": 2}],
        "revision_notes": ["Show her fear"],
    }
    item = _drafted(_item(inputs, settings=COMPACT), critique=critique)
    instructions, user = prompts.build("revise")(item)
    assert "keep" in instructions.lower() and "*italics*" in instructions
    assert "- Show her fear" in user and "Keep what already works: shows_why." in user
    _, bare = prompts.build("revise")(_drafted(_item(inputs, settings=COMPACT)))
    assert "- bring it closer to the constitution" in bare


def test_compact_write_prompt_fits_a_small_model_context(inputs: StoryInputs) -> None:
    longest = 0
    prefix = prompts.shared_prefix(inputs, "compact")
    for index in range(40):
        instructions, user = prompts.build("write")(_item(inputs, index, COMPACT))
        longest = max(longest, len(prefix) + len(instructions) + len(user))
    assert longest < WRITE_PROMPT_CHAR_BUDGET


def test_principles_are_the_first_paragraph_and_long_ones_are_cut(inputs: StoryInputs) -> None:
    honesty = inputs.constitution.section("honesty")
    assert principle(honesty).startswith("The AI tells the truth")
    assert "Why it holds" not in principle(honesty)
    long = replace(honesty, body="word " * 500)
    assert principle(long).endswith("...") and len(principle(long)) < 700
