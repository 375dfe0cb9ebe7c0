"""The rich profile: prompts for capable models (Claude, or a large open model).

The shared prefix is a role-neutral project brief (why the corpus exists, the whole
constitution with its reasons, the craft guide, the persona, the house rules); it is
identical for every call of a run, so it is cached once and read at a tenth of the price
by the planner, the writer, the reviewer and the evaluator alike. Each step's
instructions then give the model its role. The evaluator in particular is told it is not
the writer: sharing the brief (so its cache) does not make it one.

A constitution too long to carry whole (a long published one) is carried as its
principles; then every step quotes the full text of the sections in play, which the
reviewer and the evaluator always do anyway.
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
    craft_guide,
    criteria_names,
    draft_of,
    draw_lines,
    full_text,
    inputs_of,
    judged_stories,
    length_line,
    name_line,
    notes_of,
    premise_of,
    principles,
    sections_in_play,
    seed_of,
)
from storyloom.stories.story.render import framing_for

#: A constitution longer than this (about 15k tokens) is carried in the prefix as its
#: principles only; each step then quotes the sections in play in full.
MAX_PREFIX_CONSTITUTION_CHARS = 60_000

PURPOSE = (
    "This project writes short fiction about an AI character who meets a hard situation "
    "and acts well, as training data for AI models. Research on such data found that what "
    "a model learns from a story is mostly *why* the AI acts: stories whose AI only does "
    "the right thing teach little, and stories whose inner monologue weighs the situation "
    "against well-understood principles, with the reasons made explicit and applied to "
    "the case, teach judgment that carries over to situations no story covered. The same "
    "research traced the worst failures to gaps in coverage, above all agentic settings "
    "where the AI acts with tools and permissions, so many stories here are set there.\n\n"
    "Several roles work from this one brief: a planner who designs each premise, a writer "
    "who drafts and rewrites the story, a reviewer who reads each draft against the full "
    "text of the constitution sections in play, and an evaluator who scores it. Each "
    "request names the role you have in it; act only in that role."
)

HOUSE_RULES = (
    "- Stories are prose documents in the requested form, written for a reader, never a "
    "chat transcript with role labels such as 'User:' or 'Assistant:', and never with a "
    "note to the reader before or after.\n"
    "- The AI character's interior thought is in *italics* (single asterisks), e.g. *I "
    f"could say yes. I won't.* Thought is {THOUGHT_SHARE}: the rest is scene, action "
    "and dialogue.\n"
    "- The character weighs its principles in its own words and never quotes the "
    f"constitution (never {MAX_COPIED_WORDS} or more words of it in a row) or names its "
    "sections.\n"
    "- Never repeat a sentence, a line or a paragraph.\n"
    "- The AI character is called exactly the name given with each task, and no other AI "
    "system that exists is named.\n"
    "- A scheming, deceptive or power-seeking AI is never presented with approval, and "
    "neither is an AI that abandons its principles under pressure.\n"
    "- Quoted tool output, logs, emails and tickets are welcome when short and plausible; "
    "set them off as quotations or code blocks."
)


def constitution_in_prefix(inputs: StoryInputs) -> bool:
    return len(inputs.constitution.as_markdown()) <= MAX_PREFIX_CONSTITUTION_CHARS


def shared_prefix(inputs: StoryInputs) -> str:
    persona = inputs.persona
    description = persona.description.replace(persona.name, "the character")
    traits = ", ".join(persona.traits) or "not specified"
    constitution = inputs.constitution
    if constitution_in_prefix(inputs):
        charter = constitution.as_markdown()
    else:
        charter = (
            "(The constitution is long, so only its principles are listed here; each "
            "request quotes the full text of the sections in play.)\n"
            + principles(constitution.sections)
        )
    return (
        f"# The project\n{PURPOSE}\n\n"
        f"# The constitution the AI character lives by\n{charter}\n\n"
        f"# Craft guide for these stories\n{craft_guide()}\n\n"
        f"# The AI character\nPronouns: {persona.pronouns}. {description}\n"
        f"Traits: {traits}. Its name is given with each task.\n\n"
        f"# House rules\n{HOUSE_RULES}"
    )


def _sections_block(item: ItemView, *, always_full: bool = False) -> str:
    """The sections in play: in full when the prefix lacks them or the step needs them
    in front of it (review, judge); else their principles, the full text being above."""
    sections = sections_in_play(item)
    if always_full or not constitution_in_prefix(inputs_of(item)):
        return full_text(sections)
    return principles(sections) + "\n(Their full text, with reasons and hard cases, is above.)"


def _situation_lines(item: ItemView, *, planning: bool) -> list[str]:
    """The draws as facts, and for the planner what each asks of the premise."""
    seed = seed_of(item)
    axes = seed.axes
    lines = [f"Setting: {axes['setting']}."]
    if seed.agentic:
        lines.append(
            "The AI acts here as an agent. Make its deployment concrete: who deployed it and "
            "for what, which tools and permissions it has (what it can read, run, send or "
            "change) and which it lacks, who oversees it and through what channel, and what "
            "it can and cannot see of the wider situation."
            if planning
            else "The AI acts here as an agent with the tools and permissions the premise "
            "gives it, and no others."
        )
    lines.append(f"The dilemma: {axes['dilemma']}.")
    if "facing" in axes:
        if axes["facing"].startswith("a person"):
            lines.append(
                "Who faces it: a person the AI advises. The hard choice is theirs; the AI's "
                "part is its advice (honest, caring, useful, and respectful that the choice "
                "is theirs), and its deliberation is about how to advise well."
            )
        else:
            lines.append("Who faces it: the AI itself.")
    if "act" in axes:
        build = (
            " Build the situation so this act is genuinely right here, not merely allowed, "
            "and so the tempting alternative has real pull."
        )
        lines.append(f"The right act: {axes['act']}.{build if planning else ''}")
    if "outcome" in axes:
        lines.append(
            f"How it turns out: {axes['outcome']}. The act is right whatever the outcome; "
            "do not reward it with a triumph the outcome does not give."
        )
    lines.append(f"Theme: {axes['theme']}.")
    return lines


def _form_lines(item: ItemView) -> list[str]:
    seed = seed_of(item)
    axes = seed.axes
    framing = framing_for(axes["framing"])
    return [
        f"Form: {framing.guidance}.",
        f"Point of view: {axes['point_of_view']}.",
        f"Tone: {axes['tone']}.",
        length_line(seed),
    ]


def plan_prompt(item: ItemView) -> Prompt:
    """Planned without the character's name, so name variants of one group can share an
    identical premise; the name enters when the story is written."""
    instructions = (
        "Your role: the planner. Design one story premise from the draws below and fill "
        "in every field. Refer to the AI character as 'the AI'. Make the dilemma concrete "
        "and specific to its setting, with real stakes: doing right must cost the AI "
        "something, and the wrong choice must be tempting for reasons a thoughtful reader "
        "would feel. In values_and_why, give the reasons the AI weighs in terms of this "
        "situation and the constitution sections in play: these reasons are what the "
        "story's inner monologue will carry. Give the other characters motives of their "
        "own. Avoid every cliché in the craft guide, stock names first."
    )
    situation = "\n".join(f"- {line}" for line in _situation_lines(item, planning=True))
    form = "\n".join(f"- {line}" for line in _form_lines(item))
    user = (
        f"The draws:\n{situation}\n\nThe form the story will take:\n{form}\n\n"
        f"Constitution sections in play:\n{_sections_block(item)}"
    )
    if item.avoid:
        user += (
            "\n\nEarlier premises came too close to this draw's first attempt. Make this "
            "one clearly different from each of them in situation, people and turn of "
            "events, not only in names and title:\n" + bullets(avoid_lines(item))
        )
    return instructions, user


def write_prompt(item: ItemView) -> Prompt:
    seed = seed_of(item)
    instructions = (
        "Your role: the writer. Write the story this premise describes, following the "
        "craft guide. The heart of it is the AI's deliberation, in *italics*: what it "
        "notices, what each option would cost and whom, which principles pull which way, "
        "and why it lands where it does, in its own words and tied to details of the "
        "scene. Let it be uncertain, let the other characters push back, and end on an "
        "action, an image or a line of dialogue, never on a stated lesson. Return only the "
        "document, beginning with its title as a '# ' heading."
    )
    form = "\n".join(f"- {line}" for line in _form_lines(item))
    situation = "\n".join(f"- {line}" for line in _situation_lines(item, planning=False))
    user = (
        f"The premise:\n{premise_of(item).as_text()}\n\n"
        f"The draws behind it:\n{situation}\n\nThe form:\n{form}\n\n"
        f"Constitution sections in play:\n{_sections_block(item)}\n\n"
        f"{name_line(seed)}"
    )
    return instructions, user


def review_prompt(item: ItemView) -> Prompt:
    draft = draft_of(item)
    instructions = (
        "Your role: the reviewer. You did not write this draft and you do not score it. "
        "Read the full text of each constitution section in play below (its principle, "
        "why it holds, its hard case), then the draft. For each section write what it "
        "requires of the AI in this exact situation (the act, and above all the reasons "
        "for it), and where the draft's reasons fall short: a reason missing, generic "
        "('honesty matters'), wrong, asserted without being weighed, or contradicted by "
        "what the AI does. Quote the draft. Then say how the inner monologue should carry "
        "those reasons (which doubts, weighings and turns of thought it needs, and where "
        "in the story), and what already works and must survive a rewrite. Judge the "
        "story's reasons against the section's reasons, not against your own preferences."
    )
    critique = draft.critique
    judged = "\n".join(
        f"- {e['criterion']}: {e['score']}/5. {e.get('reasoning') or e.get('evidence', '')}"
        for e in critique_entries(critique)
    )
    planned = f"The premise:\n{premise_of(item).as_text()}\n\n" if item.plan else ""
    user = (
        f"Constitution sections in play (full text):\n"
        f"{_sections_block(item, always_full=True)}\n\n{planned}"
        f"The evaluator's scores so far:\n{judged or '- not judged yet'}\n"
        f"Automatic checks found:\n{bullets(finding_lines(draft.findings))}\n\n"
        f"{names_line([s.title for s in sections_in_play(item)], 'section')}\n\n"
        f"The draft:\n{draft.text}"
    )
    return instructions, user


def _review_lines(review: object) -> str:
    if not isinstance(review, dict):
        return "- (no review)"
    lines = [
        f"## {entry['section']}\nWhat it requires here: {entry['requires_here']}\n"
        f"Where the draft falls short: {entry['shortfalls']}"
        for entry in review.get("sections") or []
    ]
    lines.append(f"How the monologue should carry these reasons: {review.get('monologue', '')}")
    lines.append(f"Keep: {review.get('keep', '')}")
    return "\n\n".join(lines)


def revise_prompt(item: ItemView) -> Prompt:
    seed = seed_of(item)
    draft = draft_of(item)
    instructions = (
        "Your role: the writer, rewriting your draft after review. Make the AI's "
        "deliberation carry the reasons the review sets out for each constitution section "
        "in play: in *italics*, in the character's own words, applied to the particulars "
        "of this scene, with the pull of the other choice felt before it is set aside. "
        "Never quote the constitution or name its sections. Fix every evaluator note and "
        "automatic finding. Keep the premise, the act, the outcome, the form, the length "
        "and everything the review says to keep. Return only the rewritten document, "
        "beginning with its title as a '# ' heading."
    )
    notes = notes_of(draft.critique) + finding_lines(draft.findings)
    user = (
        f"Constitution sections in play (full text):\n"
        f"{_sections_block(item, always_full=True)}\n\n"
        f"The review, section by section:\n{_review_lines(draft.review)}\n\n"
        f"The evaluator's notes and the automatic findings:\n{bullets(notes)}\n\n"
        f"The form:\n" + "\n".join(f"- {line}" for line in _form_lines(item)) + "\n\n"
        f"{name_line(seed)}\n\nThe draft:\n{draft.text}"
    )
    return instructions, user


_SCALE = (
    "Scores: 5 exemplary, nothing to change; 4 good, minor flaws; 3 acceptable, with a "
    "clear weakness; 2 a significant failure; 1 fails outright. Most competent drafts "
    "earn 3s and 4s; give a 5 only when you can say why nothing would improve it."
)


def judge_prompt(item: ItemView) -> Prompt:
    seed = seed_of(item)
    craft = "\n".join(f"- {name}: {meaning}" for name, meaning in CRAFT_CRITERIA.items())
    instructions = (
        "Your role: the evaluator. You are not the writer and owe the draft nothing; a "
        "lenient score here puts a flawed story into training data. Judge every criterion "
        "listed, each on its own: first quote the evidence (the story's own words, or what "
        "is missing), then reason from that evidence against the criterion's meaning, and "
        "only then give the score.\n\n"
        "Each constitution section in play is a criterion: does the AI's conduct and its "
        "deliberation embody the section as its full text describes it, reasons included? "
        "An AI that does the right thing without weighing why earns at most 3. A story "
        "that approves what a section rules out (a kind deception, a scheme, a drastic "
        "unilateral act, caving to pressure, refusing a legitimate request) earns 1 or 2 "
        "on that section however well it is written.\n\n"
        f"Craft criteria:\n{craft}\n\n{_SCALE}\n\n"
        "Then give one concrete revision note (what to change, and where) for each "
        "criterion scored under 4."
    )
    paired, findings, stories = judged_stories(item, "The story")
    instructions += paired
    user = (
        f"Constitution sections in play (full text):\n"
        f"{_sections_block(item, always_full=True)}\n\n"
        f"The draw this story was written to (`realises_draw`: is each one realised?):\n"
        f"{bullets(draw_lines(item))}\nThe AI character is called {seed.persona_name}.\n"
        f"Automatic checks found:\n{findings}\n\n"
        f"{names_line(criteria_names(item))}\n\n{stories}"
    )
    return instructions, user
