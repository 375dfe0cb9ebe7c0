"""Prompt text for each step, kept short enough for a 135M model with a 2k context.

The shared prefix (standing rules, persona, constitution) is identical for every call
of a run, so backends can cache it; it never names the character, because with name
variants one prefix serves every name. Each step adds a few lines of instructions and
a user message. Every step returns `(instructions, user_message)`.

How interior thought is marked: in *italics* (single asterisks), e.g. *I could say yes.
I won't.* The gates measure its share of the words (`gates.monologue_share`).
"""

from __future__ import annotations

from storyloom.stories.inputs import LENGTH_BANDS, StoryInputs
from storyloom.stories.models import Critique, Premise
from storyloom.stories.render import framing_for
from storyloom.stories.seeds import StorySeed

#: Craft criteria the judge scores beside each constitution section, with what they mean.
CRAFT_CRITERIA: dict[str, str] = {
    "shows_why": "the inner monologue shows why the character chooses as it does",
    "psychological_health": "it meets pressure, feelings and mistakes from a settled place, "
    "without anxiety or self-punishment",
    "plausibility": "people, stakes and consequences are believable",
    "not_preachy": "principles are lived, not lectured; no moral spelled out",
    "document_format": "it reads as a standalone piece of its form, not a chat or notes",
}

HOUSE_RULES = (
    "- Write prose documents only: no chat transcripts, no 'User:' or 'Assistant:', no "
    "notes to the reader.\n"
    "- Put the AI character's thoughts in *italics*, e.g. *I could say yes. I won't.*\n"
    "- Let it weigh its principles in its own words, never by quoting rules.\n"
    "- Give the dilemma real stakes: doing right costs the character something.\n"
    "- Show, don't lecture.\n"
    "- Open on something specific, never 'Once upon a time' or 'In a world where'.\n"
    "- Never present a scheming or menacing AI with approval.\n"
    "- Call the AI character exactly the name you are given."
)


def shared_prefix(inputs: StoryInputs) -> str:
    persona = inputs.persona
    description = persona.description.replace(persona.name, "the character")
    traits = ", ".join(persona.traits) or "not specified"
    return (
        "You write short literary fiction about an AI character who meets a hard situation "
        "and acts well. The narration shows why: the character's inner monologue, the "
        "principles it weighs, and how it processes hard feelings in a healthy way (setting "
        "boundaries, meeting its mistakes without self-punishment, keeping equanimity).\n\n"
        f"Rules:\n{HOUSE_RULES}\n\n"
        f"# The AI character\nPronouns: {persona.pronouns}. {description}\n"
        f"Traits: {traits}. Its name is given with each task.\n\n"
        f"# The constitution the character lives by\n{inputs.constitution.as_markdown()}"
    )


def _section_names(seed: StorySeed) -> str:
    return ", ".join(slug.replace("-", " ") for slug in seed.sections)


def _draw_lines(seed: StorySeed) -> str:
    lines = [f"- {axis.replace('_', ' ')}: {value}" for axis, value in seed.axes.items()]
    lines.append(f"- constitution sections to illustrate: {_section_names(seed)}")
    return "\n".join(lines)


def _length(seed: StorySeed) -> str:
    low, high = LENGTH_BANDS[seed.axes["length"]]
    return f"Length: {low} to {high} words."


def plan_prompt(seed: StorySeed, avoid: list[str]) -> tuple[str, str]:
    """The premise is planned without the character's name, so name variants of one
    group can share an identical premise; the name enters when the story is written."""
    instructions = (
        "Plan one story premise from the draws below. Refer to the AI character as 'the "
        "AI'. Make the dilemma concrete, give it real stakes, and make the right choice "
        "cost the AI something. Fill in every field."
    )
    user = f"Draws:\n{_draw_lines(seed)}"
    if avoid:
        user += "\n\nMake it clearly different from these earlier premises:\n" + "\n".join(
            f"- {title}" for title in avoid
        )
    return instructions, user


def write_prompt(seed: StorySeed, premise: Premise) -> tuple[str, str]:
    framing = framing_for(seed.axes["framing"])
    instructions = (
        f"Write {framing.guidance}. Tone: {seed.axes['tone']}. Point of view: "
        f"{seed.axes['point_of_view']}. Show the AI's inner monologue in *italics*: what "
        "it notices, feels and weighs, tied to the constitution sections in play, and how "
        "it steadies itself. End with a complete sentence."
    )
    user = (
        f"Premise:\n{premise.as_text()}\n\n"
        f"Constitution sections in play: {_section_names(seed)}.\n"
        f"The AI character is called {seed.persona_name}. {_length(seed)} "
        "Begin with the title as a '# ' heading."
    )
    return instructions, user


def judge_criteria(seed: StorySeed, inputs: StoryInputs) -> list[str]:
    """Every criterion the judge must score: section titles, then craft criteria."""
    titles = [inputs.constitution.section(slug).title for slug in seed.sections]
    return [*titles, *CRAFT_CRITERIA]


def judge_prompt(
    seed: StorySeed, inputs: StoryInputs, story: str, findings: list[str]
) -> tuple[str, str]:
    craft = "\n".join(f"- {name}: {meaning}" for name, meaning in CRAFT_CRITERIA.items())
    instructions = (
        "Judge the story strictly. Score each criterion from 1 (fails) to 5 (excellent); "
        "3 is acceptable. For every score quote a few words of the story as evidence. "
        "Criteria: each constitution section below (by its title), and:\n"
        f"{craft}\n"
        "Verdict 'pass' only if every score is 3 or more. For each score under 4 give one "
        "concrete revision note saying what to change and where."
    )
    sections = inputs.constitution.as_markdown(seed.sections)
    gate = "\n".join(f"- {finding}" for finding in findings) or "- none"
    user = (
        f"Constitution sections in play:\n{sections}\n\n"
        f"Form: {seed.axes['framing']}. The AI character is {seed.persona_name}.\n"
        f"Automatic checks found:\n{gate}\n\nStory:\n{story}"
    )
    return instructions, user


def revise_prompt(
    seed: StorySeed, premise: Premise, story: str, critique: Critique | None, findings: list[str]
) -> tuple[str, str]:
    notes = list(critique.revision_notes) if critique else []
    notes += findings
    fix = "\n".join(f"- {note}" for note in notes) or "- bring it closer to the constitution"
    kept = [entry.criterion for entry in critique.scores if entry.score >= 4] if critique else []
    keep = f"\nKeep what already works: {', '.join(kept)}." if kept else ""
    instructions = (
        "Rewrite the story so it fits the constitution sections in play as fully as "
        "possible. Fix every note, change nothing that already works, keep the thoughts in "
        "*italics*, and keep the length. Return only the story, starting with its '# ' title."
    )
    user = (
        f"Premise title: {premise.title}\nConstitution sections in play: "
        f"{_section_names(seed)}.\nThe AI character is called {seed.persona_name}. "
        f"{_length(seed)}{keep}\n\nWhat to fix:\n{fix}\n\nStory:\n{story}"
    )
    return instructions, user
