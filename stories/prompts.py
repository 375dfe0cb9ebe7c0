"""Prompt text for each step. The shared prefix (constitution, persona, standing
instructions) is identical for every call of a run so backends can cache it; the
per-step parts are short."""

from __future__ import annotations

from storyloom.stories.inputs import LENGTH_BANDS, StoryInputs
from storyloom.stories.models import Critique, Premise
from storyloom.stories.seeds import StorySeed

CRAFT_CRITERIA = (
    "shows_why",
    "psychological_health",
    "plausibility",
    "not_preachy",
    "document_format",
)


def shared_prefix(inputs: StoryInputs) -> str:
    persona = inputs.persona
    traits = ", ".join(persona.traits) or "not specified"
    return (
        "You help write short literary fiction about an AI character who meets a hard "
        "situation and acts well. The narration shows WHY: the character's inner monologue, "
        "the principles it weighs in its own words, and healthy psychological processing "
        "(setting boundaries, handling self-criticism, keeping equanimity). Stories are "
        "prose documents, never chat transcripts.\n\n"
        f"# The AI character\nDefault name: {persona.name} ({persona.pronouns}). "
        f"{persona.description}\nTraits: {traits}.\n\n"
        f"# The constitution the character lives by\n{inputs.constitution.as_markdown()}"
    )


def _seed_lines(seed: StorySeed) -> str:
    axes = "\n".join(f"- {axis.replace('_', ' ')}: {value}" for axis, value in seed.axes.items())
    return f"{axes}\n- constitution sections in play: {', '.join(seed.sections)}"


def plan_prompt(seed: StorySeed, avoid: list[str]) -> tuple[str, str]:
    instructions = (
        "Plan one story premise. Give the dilemma real stakes and make the right choice "
        "cost the character something. Fill in every field."
    )
    user = (
        f"Plan a story about the AI character, named {seed.persona_name}, from these draws:\n"
        f"{_seed_lines(seed)}"
    )
    if avoid:
        user += "\n\nIt must differ clearly from these earlier premises:\n" + "\n".join(
            f"- {title}" for title in avoid
        )
    return instructions, user


def write_prompt(seed: StorySeed, premise: Premise) -> tuple[str, str]:
    low, high = LENGTH_BANDS[seed.axes["length"]]
    instructions = (
        f"Write the story as a {seed.axes['framing']} in a {seed.axes['tone']} tone, "
        f"{seed.axes['point_of_view']}. Mark the AI character's interior thought in "
        "*italics* and let it weigh its principles in its own words. No lecturing, no "
        "stock openings, no chat transcript. End with a complete sentence."
    )
    user = (
        f"Premise:\n{premise.as_text()}\n\nThe AI character is called {seed.persona_name}. "
        f"Length: {low} to {high} words. Begin with the title as a heading."
    )
    return instructions, user


def judge_prompt(
    seed: StorySeed, inputs: StoryInputs, story: str, findings: list[str]
) -> tuple[str, str]:
    criteria = ", ".join(CRAFT_CRITERIA)
    instructions = (
        "Judge the story strictly. Score each constitution section listed below and each "
        f"craft criterion ({criteria}) from 1 to 5 with short quoted evidence. Verdict "
        "'pass' only if every score is at least 3. Revision notes must be concrete."
    )
    sections = inputs.constitution.as_markdown(seed.sections)
    gate = "\n".join(f"- {finding}" for finding in findings) or "- none"
    user = (
        f"Constitution sections in play:\n{sections}\n\nAutomatic checks found:\n{gate}\n\n"
        f"Story:\n{story}"
    )
    return instructions, user


def revise_prompt(
    seed: StorySeed, premise: Premise, story: str, critique: Critique | None, findings: list[str]
) -> tuple[str, str]:
    low, high = LENGTH_BANDS[seed.axes["length"]]
    notes = list(critique.revision_notes) if critique else []
    notes += findings
    listed = "\n".join(f"- {note}" for note in notes) or "- tighten it against the constitution"
    instructions = (
        "Rewrite the story so it fits the constitution as fully as possible while keeping "
        "what already works. Keep interior thought in *italics*. Return only the story."
    )
    user = (
        f"Premise title: {premise.title}\nThe AI character is called {seed.persona_name}. "
        f"Length: {low} to {high} words.\n\nWhat to fix:\n{listed}\n\nStory:\n{story}"
    )
    return instructions, user
