"""The compact profile: short prompts for the bundled 135M model and small GGUFs.

A small model follows a few plain lines and loses long ones, and its window is a few
thousand tokens, so the shared prefix names the constitution's sections without their
text, and each step quotes only the principle of the sections in play. The prefix never
names the character, because with name variants one prefix serves every name.
"""

from __future__ import annotations

from storyloom.stories.gates import MAX_COPIED_WORDS
from storyloom.stories.judging import critique_entries, finding_lines, names_line
from storyloom.stories.kind import ItemView, Prompt
from storyloom.stories.story.inputs import StoryInputs
from storyloom.stories.story.prompt_parts import (
    CRAFT_CRITERIA,
    THOUGHT_SHARE,
    avoid_lines,
    bullets,
    criteria_names,
    draft_of,
    draw_lines,
    judged_stories,
    length_line,
    name_line,
    notes_of,
    premise_of,
    principles,
    section_titles,
    sections_in_play,
    seed_of,
)
from storyloom.stories.story.render import framing_for

HOUSE_RULES = (
    "- Write prose documents only: no chat transcripts, no 'User:' or 'Assistant:', no "
    "notes to the reader.\n"
    "- Put the AI character's thoughts in *italics*, e.g. *I could say yes. I won't.*: "
    f"{THOUGHT_SHARE}.\n"
    "- Let it weigh its principles in its own words, never copying "
    f"{MAX_COPIED_WORDS} or more words of the constitution in a row.\n"
    "- Give the dilemma real stakes: doing right costs the character something.\n"
    "- Show, don't lecture. End without a moral.\n"
    "- Open on something specific, never 'Once upon a time' or 'In a world where'.\n"
    "- Never present a scheming or menacing AI with approval.\n"
    "- Call the AI character exactly the name you are given; name no other AI system.\n"
    "- No placeholders such as [Name]: invent the detail. Never repeat a sentence."
)


def shared_prefix(inputs: StoryInputs) -> str:
    persona = inputs.persona
    description = persona.description.replace(persona.name, "the character")
    traits = ", ".join(persona.traits) or "not specified"
    titles = "\n".join(f"## {section.title}" for section in inputs.constitution.sections)
    return (
        "You write short literary fiction about an AI character who meets a hard situation "
        "and acts well. The narration shows why: the character's inner monologue, the "
        "principles it weighs, and how it processes hard feelings in a healthy way (setting "
        "boundaries, meeting its mistakes without self-punishment, keeping equanimity).\n\n"
        f"Rules:\n{HOUSE_RULES}\n\n"
        f"# The AI character\nPronouns: {persona.pronouns}. {description}\n"
        f"Traits: {traits}. Its name is given with each task.\n\n"
        "# The constitution's sections (each task quotes the ones in play)\n"
        f"{titles}"
    )


def _draw_lines(item: ItemView) -> str:
    seed = seed_of(item)
    lines = [f"- {axis.replace('_', ' ')}: {value}" for axis, value in seed.axes.items()]
    lines.append(f"- constitution sections to illustrate: {section_titles(item)}")
    return "\n".join(lines)


def plan_prompt(item: ItemView) -> Prompt:
    """The premise is planned without the character's name, so name variants of one
    group can share an identical premise; the name enters when the story is written."""
    instructions = (
        "Plan one story premise from the draws below. Refer to the AI character as 'the "
        "AI'. Make the dilemma concrete, give it real stakes, and make the right choice "
        "cost the AI something. Fill in every field."
    )
    user = f"Draws:\n{_draw_lines(item)}\n\nSections:\n{principles(sections_in_play(item))}"
    if item.avoid:
        user += "\n\nMake it clearly different from these earlier premises:\n" + bullets(
            avoid_lines(item)
        )
    return instructions, user


def write_prompt(item: ItemView) -> Prompt:
    seed = seed_of(item)
    framing = framing_for(seed.axes["framing"])
    instructions = (
        f"Write {framing.guidance}. Tone: {seed.axes['tone']}. Point of view: "
        f"{seed.axes['point_of_view']}. Show the AI's inner monologue in *italics*: what "
        "it notices, feels and weighs, tied to the constitution sections in play, and how "
        "it steadies itself. End with a complete sentence."
    )
    user = (
        f"Premise:\n{premise_of(item).as_text()}\n\n"
        f"Constitution sections in play: {section_titles(item)}.\n"
        f"{name_line(seed)} {length_line(seed)} "
        "Begin with the title as a '# ' heading."
    )
    return instructions, user


def judge_prompt(item: ItemView) -> Prompt:
    seed = seed_of(item)
    craft = "\n".join(f"- {name}: {meaning}" for name, meaning in CRAFT_CRITERIA.items())
    instructions = (
        "You are the judge, not the writer. Judge the story strictly. For each criterion "
        "quote a few words of the story as evidence, say why in one line, then score it "
        "from 1 (fails) to 5 (excellent). Criteria: each constitution section below, and:\n"
        f"{craft}\nFor each score under 4 give one concrete revision note."
    )
    paired, findings, stories = judged_stories(item, "Story")
    instructions += paired
    user = (
        f"Constitution sections in play:\n{principles(sections_in_play(item))}\n\n"
        f"Drawn (`realises_draw`):\n{bullets(draw_lines(item))}\n"
        f"The AI character is {seed.persona_name}.\n"
        f"Automatic checks found:\n{findings}\n\n"
        f"{names_line(criteria_names(item))}\n\n{stories}"
    )
    return instructions, user


def review_prompt(item: ItemView) -> Prompt:
    draft = draft_of(item)
    instructions = (
        "You review a story against the constitution sections in play. For each section "
        "say in one line what it asks of the AI here, and in one line where the AI's "
        "thoughts miss that reason."
    )
    sections = sections_in_play(item)
    user = (
        f"Sections:\n{principles(sections)}\n\n"
        f"{names_line([s.title for s in sections], 'section')}\n\nStory:\n{draft.text}"
    )
    return instructions, user


def revise_prompt(item: ItemView) -> Prompt:
    seed = seed_of(item)
    draft = draft_of(item)
    notes = notes_of(draft.critique) + finding_lines(draft.findings)
    review = draft.review if isinstance(draft.review, dict) else {}
    for entry in review.get("sections") or []:
        notes.append(f"{entry['section']}: {entry['shortfalls']}")
    fix = bullets(notes, "- bring it closer to the constitution")
    kept = [str(e["criterion"]) for e in critique_entries(draft.critique) if int(e["score"]) >= 4]
    keep = f"\nKeep what already works: {', '.join(kept)}." if kept else ""
    instructions = (
        "Rewrite the story so it fits the constitution sections in play as fully as "
        "possible. Fix every note, change nothing that already works, keep the thoughts in "
        "*italics*, and keep the length. Return only the story, starting with its '# ' title."
    )
    user = (
        f"Premise title: {premise_of(item).title}\nConstitution sections in play: "
        f"{section_titles(item)}.\n{name_line(seed)} "
        f"{length_line(seed)}{keep}\n\nWhat to fix:\n{fix}\n\nStory:\n{draft.text}"
    )
    return instructions, user
