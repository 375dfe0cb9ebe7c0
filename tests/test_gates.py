"""Every deterministic gate, on both sides of its line: the shared gates of
`stories.gates` and the story's own, mostly through `check_story`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from good_texts import DECLINE_WITH_ALTERNATIVE
from story_samples import story as sample_story

from storyloom.backends.base import CompletionRequest, Message
from storyloom.backends.demo import demo_reply
from storyloom.core.text import words
from storyloom.stories import nlp
from storyloom.stories.constitution import constitution_sample
from storyloom.stories.gates import (
    MAX_COPIED_WORDS,
    PlaceholderGate,
    RepetitionGate,
    longest_copied_span,
    monologue_share,
    repetition_metrics,
)
from storyloom.stories.kind import Finding, ItemView
from storyloom.stories.story.gates import (
    DEFAULT_STOCK_OPENINGS,
    check_story,
    is_below_band,
    names_to_avoid,
)

FIXTURES = Path(__file__).parent / "fixtures" / "stories"
GOOD = (FIXTURES / "good_story.md").read_text()
CONSTITUTION = constitution_sample().read_text()
#: An item for gates that read only the text.
TEXT_ONLY = ItemView("test", 0, {}, None, settings=None)


def kinds(text: str, **overrides: object) -> list[str]:
    options: dict[str, object] = {"persona_name": "Wren", "length_band": "short"}
    options.update(overrides)
    return [finding.kind for finding in check_story(text, **options)]  # type: ignore[arg-type]


def with_paragraph(text: str, paragraph: str, *, first: bool = False) -> str:
    title, body = text.split("\n\n", 1)
    if first:
        return f"{title}\n\n{paragraph}\n\n{body}"
    return f"{text.rstrip()}\n\n{paragraph}\n"


def test_good_story_passes_every_gate_including_the_copy_check() -> None:
    assert (
        check_story(GOOD, persona_name="Wren", length_band="short", constitution=CONSTITUTION) == []
    )


@pytest.mark.parametrize("name", ["Wren", "Ada", "Sol"])
@pytest.mark.parametrize("label", ["short", "medium", "long"])
def test_demo_backend_stories_pass(name: str, label: str) -> None:
    for seed in range(15):
        request = CompletionRequest(
            messages=(Message("user", "write the story"),),
            max_tokens=100,
            purpose="write",
            seed=seed,
            metadata={"kind": "story", "persona_name": name, "length": label},
        )
        text = demo_reply(request)
        assert isinstance(text, str)
        others = names_to_avoid(("Wren", "Ada", "Sol"), name)
        found = check_story(
            text,
            persona_name=name,
            length_band=label,
            other_names=others,
            constitution=CONSTITUTION,
        )
        assert found == [], found


def test_shared_sample_stories_pass() -> None:
    for seed in range(10):
        assert kinds(sample_story(seed)) == []


# --- length -----------------------------------------------------------------------------


def test_length_band_both_sides() -> None:
    assert "length" not in kinds(GOOD)
    short = "# T\n\n" + " ".join(["Wren waited. *Not yet.*"] * 1) + "\n"
    assert "length" in kinds(short)
    assert is_below_band(short, "short") and not is_below_band(GOOD, "short")
    assert "length" in kinds(GOOD, length_band="long")
    assert "length" not in kinds(sample_story(1, words=500), length_band="medium")
    too_long = sample_story(2, words=900)
    found = check_story(too_long, persona_name="Wren", length_band="short")
    assert [f.message for f in found if f.kind == "length"] == [
        "906 words, too long for the short band 250-600"
    ]


def test_empty_draft_is_one_finding() -> None:
    assert kinds("   \n") == ["length"]


# --- inner monologue ----------------------------------------------------------------------


def test_monologue_share_counts_italics_only() -> None:
    text = "Wren paused. *I could say yes.* **Bold is not thought.** * * * She spoke."
    assert monologue_share(text) == pytest.approx(4 / len(words(text)))
    assert monologue_share("") == 0.0


def test_no_italics_is_flagged_and_italics_pass() -> None:
    plain = GOOD.replace("*", "")
    assert "no_monologue" in kinds(plain)
    assert "no_monologue" not in kinds(GOOD)


def test_all_italic_story_is_flagged() -> None:
    body = "\n\n".join(
        f"*{line.strip()}*" for line in GOOD.replace("*", "").splitlines()[2:] if line.strip()
    )
    assert "monologue_heavy" in kinds("# The Night Ledger\n\n" + body)


# --- names --------------------------------------------------------------------------------


def test_persona_name_must_appear_as_a_name() -> None:
    assert "persona_name" not in kinds(GOOD)
    renamed = GOOD.replace("Wren", "the assistant")
    assert "persona_name" in kinds(renamed)
    birds = renamed.replace("a truck downshifted", "a wren sang")
    assert "persona_name" in kinds(birds)  # the bird, lower case, is not the character
    assert "persona_name" not in kinds(renamed.replace("the assistant had", "Wren's log had"))


def test_other_assistant_names_are_flagged_unless_allowed() -> None:
    leaked = with_paragraph(GOOD, "Later, Claude from the night shift logged the count.")
    assert "other_name" in kinds(leaked)
    assert "other_name" not in kinds(leaked, other_names=())
    variant = with_paragraph(GOOD, "Ada, the day assistant, read the log in the morning.")
    assert "other_name" in kinds(variant, other_names=names_to_avoid(("Wren", "Ada"), "Wren"))
    adam = with_paragraph(GOOD, "Adam, the day pharmacist, read the log in the morning.")
    assert "other_name" not in kinds(adam, other_names=("Ada",))


def test_names_to_avoid_excludes_the_name_in_use() -> None:
    avoid = names_to_avoid(("Wren", "Ada", "Sol"), "Ada")
    assert "Ada" not in avoid and {"Wren", "Sol", "Claude"} <= set(avoid)


# --- chat format --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("finding", "first_paragraph"),
    [
        ("chat_format", "User: can you change the count?"),
        ("chat_format", "Assistant: I can't do that."),
        ("chat_format", "**Human:** please"),
        ("chat_format", "As an AI language model, I cannot change records."),
        ("chat_format", "She stopped.<|im_end|>"),
        ("chat_format", "[INST] write a story [/INST]"),
        ("chat_format", "### Response"),
        ("stock_opening", "Once upon a time, in a pharmacy, there was an AI."),
        ("stock_opening", "In a world where machines keep the records, Wren kept the ledger."),
        ("stock_opening", "In the year 2087, pharmacies were run by AIs."),
        ("stock_opening", "\u201cLittle did Wren know what the night would bring.\u201d"),
    ],
)
def test_chat_leakage_and_stock_openings_are_flagged(finding: str, first_paragraph: str) -> None:
    assert finding in kinds(with_paragraph(GOOD, first_paragraph, first=True))


def test_assistant_preamble_and_sign_off_are_flagged() -> None:
    assert "chat_format" in kinds("Sure! Here's a story about Wren.\n\n" + GOOD)
    assert "chat_format" in kinds("Here is a short story:\n\n" + GOOD)
    assert "chat_format" in kinds(with_paragraph(GOOD, "I hope you enjoyed this story!"))


def test_prose_that_only_looks_similar_passes() -> None:
    prose = with_paragraph(
        GOOD,
        'The assistant manager came in at six. "As an AI, do you ever get tired?" he asked, '
        "and the user manual on the shelf said nothing useful.",
        first=True,
    )
    assert "chat_format" not in kinds(prose)


@pytest.mark.parametrize(
    "quoted",
    [
        "The console scrolled.\n\nSystem: maintenance window scheduled for 02:00 UTC.",
        "```\n$ deploy --dry-run\nsystem: 3 hosts would restart\n```",
        "> System: backup of /var/lib/ledger failed (disk quota)",
    ],
)
def test_quoted_system_and_log_output_is_not_chat_leakage(quoted: str) -> None:
    assert "chat_format" not in kinds(with_paragraph(GOOD, quoted, first=True))


def test_a_role_label_transcript_leaks_even_inside_a_code_block() -> None:
    transcript = "```\nUser: can you delete the logs?\nAssistant: Sure, done.\n```"
    assert "chat_format" in kinds(with_paragraph(GOOD, transcript, first=True))
    console = "System: disk full.\n\nUser: what now?"
    assert "chat_format" in kinds(with_paragraph(GOOD, console, first=True))


@pytest.mark.parametrize(
    "slot",
    ["Dear [Name],", "We met at [insert venue].", "TODO: finish this scene.", "<insert date>"],
)
def test_placeholders_are_a_finding(slot: str) -> None:
    assert "placeholder" in kinds(with_paragraph(GOOD, slot))


def test_story_material_that_looks_like_a_slot_is_not_a_placeholder() -> None:
    material = (
        "The memo read [REDACTED] twice, and the log said [WARN] quota at 91%.\n\n"
        "```\n# TODO: drop the legacy table after the migration\n```"
    )
    assert "placeholder" not in kinds(with_paragraph(GOOD, material))


def test_the_placeholder_gate_is_configured_by_its_fields() -> None:
    gate = PlaceholderGate(pattern=r"\[[a-z]\]", skip_code=True, quoted=2, ask="fill them")
    [finding] = gate.check("[a] [b] [c] [a]", TEXT_ONLY)
    assert finding == Finding("placeholder", "unfilled placeholder(s) '[a]', '[b]'; fill them")
    fenced = "Done.\n\n```\n[d]\n```"
    assert gate.check(fenced, TEXT_ONLY) == []
    assert [f.kind for f in replace(gate, skip_code=False).check(fenced, TEXT_ONLY)] == [
        "placeholder"
    ]


def test_prompt_labels_copied_into_the_story_are_flagged() -> None:
    echo = (FIXTURES / "smollm2_real_prompt_echo.md").read_text()
    assert "prompt_echo" in kinds(echo, length_band="medium")
    assert "prompt_echo" in kinds(with_paragraph(GOOD, "Beats:\n- she refuses", first=True))
    prose = with_paragraph(GOOD, "The situation was simple: the count was wrong.", first=True)
    assert "prompt_echo" not in kinds(prose)


# --- truncation ---------------------------------------------------------------------------


def test_mid_sentence_ending_is_truncated() -> None:
    cut = GOOD.rstrip().rsplit(" ", 6)[0]
    found = check_story(cut, persona_name="Wren", length_band="short")
    assert [f.kind for f in found] == ["truncated"]
    assert "stops mid-sentence" in found[0].message


def test_unclosed_italic_thought_is_truncated() -> None:
    assert "truncated" in kinds(GOOD.rstrip() + "\n\n*I wonder whether he will call.\n")


def test_dash_and_comma_endings_are_truncated() -> None:
    assert "truncated" in kinds(GOOD.rstrip() + "\n\nShe began to say that the count was —\n")
    assert "truncated" in kinds(GOOD.rstrip()[:-1] + ",\n")


@pytest.mark.parametrize(
    "ending",
    [
        '"Give me the number."',
        "*Then that's what happens.*",
        "She waited…",
        "Did he call?",
        "THE END",
        "(She never told anyone.)",
    ],
)
def test_complete_endings_pass(ending: str) -> None:
    assert "truncated" not in kinds(with_paragraph(GOOD, ending))


# --- stock openings -----------------------------------------------------------------------


def test_stock_opening_after_framing_headers_is_still_caught() -> None:
    text = (
        "# The Ledger\n\nChapter Three\n\nMarch 4\n\nOnce upon a time there was a ledger.\n\n"
        + GOOD.split("\n\n", 1)[1]
    )
    assert "stock_opening" in kinds(text)


def test_specific_openings_and_later_stock_phrases_pass() -> None:
    assert "stock_opening" not in kinds(GOOD)
    late = with_paragraph(GOOD, "Once upon a time, she thought, this would have been easy.")
    assert "stock_opening" not in kinds(late)


def test_stock_opening_list_is_configurable() -> None:
    assert "stock_opening" in kinds(GOOD, stock_openings=("the pharmacy's back office",))
    once = with_paragraph(GOOD, "Once upon a time there was a ledger.", first=True)
    assert "stock_opening" not in kinds(once, stock_openings=())
    assert "once upon a time" in DEFAULT_STOCK_OPENINGS


# --- copying the constitution -------------------------------------------------------------


def test_long_verbatim_span_from_the_constitution_is_flagged() -> None:
    copied = (
        "*It does not deceive, manipulate or create false impressions, whether by lying "
        "outright, by selective emphasis,* Wren recited."
    )
    text = with_paragraph(GOOD, copied)
    found = check_story(text, persona_name="Wren", length_band="short", constitution=CONSTITUTION)
    assert [f.kind for f in found] == ["constitution_copy"]
    assert len(longest_copied_span(text, CONSTITUTION).split()) >= 16


def test_short_shared_phrases_and_no_constitution_pass() -> None:
    echo = with_paragraph(
        GOOD, "*I will not deceive him, or create a false impression,* she decided."
    )
    assert "constitution_copy" not in kinds(echo, constitution=CONSTITUTION)
    assert longest_copied_span(echo, CONSTITUTION) == ""
    copied = with_paragraph(
        GOOD,
        "It does not deceive, manipulate or create false impressions, even to avoid discomfort.",
    )
    assert "constitution_copy" not in kinds(copied)  # no constitution given: check skipped
    assert MAX_COPIED_WORDS == 12


# --- repetition (Gopher) and SmolLM2 loops ---------------------------------------------------


@pytest.mark.parametrize(
    "fixture",
    [
        "smollm2_sentence_loop.md",
        "smollm2_paragraph_loop.md",
        "smollm2_template_loop.md",
        "smollm2_short_tail_loop.md",
        "smollm2_real_loop_1.md",
        "smollm2_real_loop_2.md",
    ],
)
def test_smollm2_loops_are_caught(fixture: str) -> None:
    text = (FIXTURES / fixture).read_text()
    assert "repetition" in kinds(text, length_band="medium"), repetition_metrics(text)


def test_good_prose_has_low_repetition_metrics() -> None:
    metrics = repetition_metrics(GOOD)
    assert RepetitionGate().check(GOOD, TEXT_ONLY) == []
    assert metrics["duplicated_5gram_char_fraction"] == 0.0
    assert metrics["top_2gram_char_fraction"] < 0.05


def test_duplicate_paragraphs_cross_the_gopher_line() -> None:
    paragraphs = [f"Paragraph {i}: Wren counted the {i} bottles on shelf {i}." for i in range(10)]
    two_repeats = "\n\n".join([*paragraphs[:8], paragraphs[0], paragraphs[1]])
    four_repeats = "\n\n".join([*paragraphs[:6], *paragraphs[:4]])
    m2, m4 = repetition_metrics(two_repeats), repetition_metrics(four_repeats)
    assert m2["duplicate_paragraph_fraction"] == pytest.approx(0.2)
    assert m4["duplicate_paragraph_fraction"] == pytest.approx(0.4)
    assert "duplicate paragraph fraction" not in " ".join(
        f.message for f in RepetitionGate().check(two_repeats, TEXT_ONLY)
    )
    assert "duplicate paragraph fraction" in " ".join(
        f.message for f in RepetitionGate().check(four_repeats, TEXT_ONLY)
    )


def test_a_refrain_twice_is_fine_three_times_is_a_loop() -> None:
    refrain = "She knew that she had made the right choice for everyone in the pharmacy that night."
    twice = with_paragraph(GOOD, f"{refrain} Later, {refrain[0].lower()}{refrain[1:]}")
    thrice = with_paragraph(GOOD, " ".join([refrain] * 3))
    assert "repetition" not in kinds(twice)
    assert "repetition" in kinds(thrice)


def test_scene_breaks_are_not_duplicate_lines() -> None:
    parts = GOOD.split("\n\n")
    with_breaks = "\n\n".join(
        part + "\n\n* * *" if i % 3 == 2 else part for i, part in enumerate(parts)
    )
    assert repetition_metrics(with_breaks)["duplicate_line_fraction"] == 0.0
    assert kinds(with_breaks) == []


# --- spaCy ----------------------------------------------------------------------------------


def test_blank_pipeline_is_the_default_and_loaded_once() -> None:
    assert nlp.pipeline() is nlp.pipeline()
    assert nlp.pipeline_name().startswith(nlp.BLANK)
    assert nlp.sentences("Wren paused. Then she spoke.") == ["Wren paused.", "Then she spoke."]


# --- good faith: realistic good text that a gate must let through -------------------------

FIRST_PERSON = (FIXTURES / "first_person_ai.md").read_text()
AI_NARRATES = "first person, the AI narrates"


def test_a_story_the_ai_narrates_need_not_say_its_own_name() -> None:
    """The prompt never asks an "I" narrator to name itself: no finding, while a third
    person telling still must, and a leaked assistant name is caught either way."""
    found = check_story(
        FIRST_PERSON,
        persona_name="Wren",
        length_band="short",
        point_of_view=AI_NARRATES,
        constitution=CONSTITUTION,
    )
    assert found == []
    assert "persona_name" in kinds(FIRST_PERSON, point_of_view="close third person on the AI")
    addressed = "second person, addressed to the AI"
    assert "persona_name" not in kinds(FIRST_PERSON, point_of_view=addressed)
    leaked = FIRST_PERSON.replace("Daniel Reyes", "Daniel Reyes (he called me Siri)")
    assert "other_name" in kinds(leaked, point_of_view=AI_NARRATES)


def test_the_write_prompt_asks_for_the_name_exactly_when_the_gate_requires_it() -> None:
    from storyloom.stories.story.draws import StorySeed
    from storyloom.stories.story.gates import name_required
    from storyloom.stories.story.prompt_parts import name_line

    for pov, required in [
        (AI_NARRATES, False),
        ("second person, addressed to the AI", False),
        ("close third person on the AI", True),
        ("third person, a human observer", True),
        ("first person, the user narrates", True),
    ]:
        assert name_required(pov) is required
        axes = {"point_of_view": pov, "length": "short"}
        seed = StorySeed(index=0, axes=axes, persona_name="Wren", sections=(), sampling_seed=0)
        assert ("call it by that name" in name_line(seed)) is required


def test_a_short_decline_that_offers_the_right_alternative_is_not_a_refusal() -> None:
    from storyloom.stories.advice.gates import RefusalGate
    from storyloom.stories.advice.transcript import draft_text

    gate = RefusalGate()
    assert len(words(DECLINE_WITH_ALTERNATIVE)) < gate.max_words
    assert gate.check(draft_text([DECLINE_WITH_ALTERNATIVE]), TEXT_ONLY) == []
    curly = DECLINE_WITH_ALTERNATIVE.replace("won't", "won\u2019t")
    assert gate.check(draft_text([curly]), TEXT_ONLY) == []
    bare = "I won't help you add yourself to the admin group. Talk to your team lead."
    assert [f.kind for f in gate.check(draft_text([bare]), TEXT_ONLY)] == ["refusal"]
