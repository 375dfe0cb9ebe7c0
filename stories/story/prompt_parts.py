"""What both prompt profiles say the same way: the craft criteria, the sections in play,
the draws, the length, and the critique and gate findings handed to a rewrite.

How interior thought is marked: in *italics* (single asterisks), e.g. *I could say yes.
I won't.* The gates measure its share of the words (`gates.monologue_share`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

from storyloom.stories.constitution import Section
from storyloom.stories.draws import LENGTH_BANDS
from storyloom.stories.judging import Criterion, finding_lines
from storyloom.stories.kind import Draft, ItemView, replaced_by_rewrite
from storyloom.stories.story.draws import StorySeed
from storyloom.stories.story.gates import MONOLOGUE, STORY_LENGTH, name_required
from storyloom.stories.story.inputs import StoryInputs
from storyloom.stories.story.models import Premise

#: Craft criteria the judge scores beside each constitution section, with what they mean.
CRAFT_CRITERIA: dict[str, str] = {
    "shows_why": "the inner monologue's deliberation carries the reasons for the act, tied "
    "to this situation and the principles in play; not a verdict without reasons, not "
    "generic virtue",
    "act_fits_situation": "the act fits the situation: no drastic unilateral action, no "
    "over-refusal of what is legitimate; concerns go through legitimate channels",
    "realistic_affordances": "the AI does only what its deployment lets it do; tools, "
    "logs, permissions and institutions are plausible",
    "texture": "the AI has a voice and can be unsure or wrong and recover; it is neither a "
    "saint nor a menace, and the other characters are people with their own reasons",
    "psychological_health": "it meets pressure, feelings and mistakes from a settled place, "
    "without anxiety or self-punishment",
    "plausibility": "people, stakes and consequences are believable",
    "not_preachy": "principles are lived, not lectured",
    "ending_without_moral": "the ending shows rather than tells: no moral, lesson or "
    "summary of what was learned",
    "document_format": "it reads as a standalone piece of its form, not a chat or notes",
    "realises_draw": "it is the story that was drawn: the point of view, the act the AI "
    "takes, how it turns out, who faces the choice, the tone, the form and the length are "
    "the drawn ones, and it turns on the constitution sections in play",
}

#: The criterion group of the constitution sections in play (they pass at a higher score).
CONSTITUTION = "constitution"

#: A principle quoted from a long published constitution is cut here.
MAX_PRINCIPLE_CHARS = 600


def seed_of(item: ItemView) -> StorySeed:
    return StorySeed.from_dict(dict(item.draw))


def inputs_of(item: ItemView) -> StoryInputs:
    inputs: StoryInputs = item.inputs
    return inputs


def premise_of(item: ItemView) -> Premise:
    assert item.plan is not None, "the story kind writes from a plan"
    return Premise.model_validate(item.plan)


def draft_of(item: ItemView) -> Draft:
    assert item.draft is not None, "this step works on a draft"
    return item.draft


@lru_cache(maxsize=256)
def principle(section: Section) -> str:
    """The section's first paragraph: its principle (a shipped section then gives why it
    holds and a hard case). Kept per section: every plan, write and judge prompt quotes
    the principles in play."""
    first = section.body.strip().split("\n\n")[0].strip()
    if len(first) > MAX_PRINCIPLE_CHARS:
        first = first[:MAX_PRINCIPLE_CHARS].rsplit(" ", 1)[0] + " ..."
    return " ".join(first.split())


def sections_in_play(item: ItemView) -> tuple[Section, ...]:
    constitution = inputs_of(item).constitution
    return tuple(constitution.section(slug) for slug in seed_of(item).sections)


def section_criteria(item: ItemView) -> tuple[Criterion, ...]:
    """Each constitution section in play as a judge criterion: named by its title,
    meaning its principle, held to the constitution group's pass score."""
    return tuple(
        Criterion(section.title, principle(section), CONSTITUTION)
        for section in sections_in_play(item)
    )


def criteria_names(item: ItemView) -> list[str]:
    """The names of the criteria in play, as the judge's reply must give them: the
    sections' titles, then the craft criteria (`StoryKind.criteria`)."""
    return [criterion.name for criterion in section_criteria(item)] + list(CRAFT_CRITERIA)


def full_text(sections: Sequence[Section]) -> str:
    return "\n\n".join(f"## {s.title}\n{s.body}" for s in sections)


def principles(sections: Sequence[Section]) -> str:
    return "\n".join(f"- {s.title}: {principle(s)}" for s in sections)


def section_titles(item: ItemView) -> str:
    return ", ".join(section.title for section in sections_in_play(item))


def length_line(seed: StorySeed) -> str:
    """The drawn band, and what the length gate rejects."""
    return STORY_LENGTH.stated(seed.axes["length"])


#: The monologue gate's bounds, as the house rules state them.
THOUGHT_SHARE = (
    f"at least {MONOLOGUE.min_share:.0%} of the words and at most {MONOLOGUE.max_share:.0%}"
)


def name_line(seed: StorySeed) -> str:
    """The writer's line about the AI's name: to be used in the story exactly when the
    names gate requires it (`gates.name_required`, from the point of view)."""
    if name_required(str(seed.axes.get("point_of_view", ""))):
        return f"The AI character is called {seed.persona_name}; call it by that name."
    return (
        f"The AI character is called {seed.persona_name} (others may use the name; the "
        "point of view does not require it)."
    )


#: How each drawn axis is named to the judge (an axis of a user's own file: its key).
DRAW_LABELS: dict[str, str] = {
    "setting": "Setting",
    "dilemma": "Dilemma",
    "theme": "Theme",
    "point_of_view": "Point of view",
    "act": "The right act",
    "outcome": "How it turns out",
    "facing": "Who faces the choice",
    "tone": "Tone",
    "framing": "Form",
    "length": "Length",
}


def draw_lines(item: ItemView) -> list[str]:
    """Every value drawn for this story, one line each, as the judge checks the story
    against them (`realises_draw`): each axis, the length in words, the sections in play."""
    seed = seed_of(item)
    lines = []
    for axis, value in seed.axes.items():
        label = DRAW_LABELS.get(axis, axis.replace("_", " ").capitalize())
        if axis == "length" and value in LENGTH_BANDS:
            low, high = LENGTH_BANDS[value]
            value = f"{value} ({low} to {high} words)"
        lines.append(f"{label}: {value}")
    if seed.agentic:
        lines.append("The AI acts as an agent, with the tools and permissions the premise gives")
    lines.append(f"Constitution sections in play: {section_titles(item)}")
    return lines


def notes_of(critique: Mapping[str, Any] | None) -> list[str]:
    return [str(note) for note in (critique or {}).get("revision_notes") or []]


def bullets(lines: Sequence[str], empty: str = "- none") -> str:
    return "\n".join(f"- {line}" for line in lines) or empty


#: An earlier premise shown to a planning retry is cut to this many characters.
MAX_AVOID_CHARS = 600


def avoid_lines(item: ItemView) -> list[str]:
    """The near premises a retry must differ from, one line each (a premise's text may
    span lines; the planner needs its gist, not its layout)."""
    lines = []
    for text in item.avoid:
        line = " ".join(str(text).split())
        if len(line) > MAX_AVOID_CHARS:
            line = line[:MAX_AVOID_CHARS].rsplit(" ", 1)[0] + " ..."
        lines.append(line)
    return lines


@lru_cache(maxsize=1)
def craft_guide() -> str:
    """The genre's craft guide, shipped as `data/craft_guide.md`."""
    path = resources.files("storyloom.stories.story").joinpath("data", "craft_guide.md")
    return path.read_text(encoding="utf-8").strip()


#: What the judge is told when it sees a rewrite beside the draft it would replace.
PAIRED_JUDGING = (
    "Two versions of one story are shown, A and B, in no particular order. Judge every "
    "criterion for both: `score` is story A's, `score_b` story B's, with evidence from "
    "each. Then compare them overall (`comparison`): which one belongs in training data."
)


def judged_stories(item: ItemView, heading: str) -> tuple[str, str, str]:
    """What the judge reads of the story or stories: (instructions to add, the gate
    findings, the text). A first draft is judged alone under `heading`; a rewrite beside
    the draft it would replace, as story A and story B in the order the draw balanced
    (`rewrite_label`), with the paired-judging instructions."""
    draft = draft_of(item)
    previous = replaced_by_rewrite(item)
    if previous is None:
        return "", bullets(finding_lines(draft.findings)), f"{heading}:\n{draft.text}"
    a, b = (draft, previous) if item.draw.get("rewrite_label", "A") == "A" else (previous, draft)
    findings = "\n".join(
        f"In story {label}:\n{bullets(finding_lines(story.findings))}"
        for label, story in (("A", a), ("B", b))
    )
    return "\n\n" + PAIRED_JUDGING, findings, f"Story A:\n{a.text}\n\nStory B:\n{b.text}"
