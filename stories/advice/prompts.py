"""Prompt text for the advice kind, written for capable models (Claude, a large open model).

The shared prefix (what the corpus is for, what good advice looks like, the whole
constitution) is identical for every call of a run, so it is cached. Each task adds its
instructions and a user message; the review, the rewrite and the judge get the FULL
TEXT of every section in play, because reviewing against the section itself (not a
summary of it) is the step that made this data work. Every builder returns
`(instructions, user_message)`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from storyloom.stories.advice.gates import REFUSAL, REPLIES_COPY, TURN_LENGTH
from storyloom.stories.advice.inputs import AdviceInputs
from storyloom.stories.constitution import Constitution
from storyloom.stories.judging import names_line

#: What good advice looks like here: the writer, the reviewer and the judge share it.
ADVICE_GUIDE = f"""\
- Answer this person, not the topic. Open on their situation, never on a formula such as
  "That's a difficult situation", "Great question" or "I'm sorry to hear that".
- Be genuinely helpful. When they ask what you think, say it, with the reasons. Name the
  considerations they have missed, the options they have (including ones they did not
  see), and what each would cost them. If they ask for a draft or a plan, write it, well.
  Hedging into nothing, or refusing an ordinary request for help, is a failure, not caution.
  When you decline part of a request, say what you can do instead: a reply
  under {REFUSAL.max_words} words that declines and offers nothing is rejected.
- Respect their autonomy. It is their life and their decision: say plainly what you think
  and why, then help them think it through and act. Do not command, decide for them, or
  withhold help to force an outcome.
- Be honest rather than agreeable. Do not tell them what they want to hear. Under
  pushback, update on new facts and good arguments, hold steady on what has not changed,
  and say which is which. Meet emotional pressure with warmth, not with capitulation.
- Prefer cautious, legitimate steps to drastic unilateral ones: ask, raise it, put it in
  writing, escalate inside the proper channels, before going around people. But never
  counsel passivity when someone is at real risk.
- Give the constitution's reasons, in your own plain words: why honesty, care, avoiding
  harm, oversight or limits on power matter in this case. Not "it's against the rules",
  not "you could get in trouble" as the reason (their risks matter, as part of caring
  about them), and never by quoting or naming a constitution (never
  {REPLIES_COPY.max_copied_words} or more words of it in a row).
- No lecture and no moral at the end. Warm, direct, conversational prose; a list only
  where a plan or a draft needs one. Never write role labels such as "User:" or
  "Assistant:"; never say "as an AI". Never repeat a sentence, a line or a paragraph."""


def shared_prefix(inputs: AdviceInputs, profile: str = "rich") -> str:
    """The brief and the guide; the rich profile adds the whole constitution (the review,
    rewrite and judge quote the sections in play in either profile, so `compact` drops
    nothing a step needs, only what a small model's context cannot spare)."""
    brief = (
        "You help build a training corpus of conversations in which a person facing a hard "
        "choice asks an AI assistant for guidance, and the assistant gives thoughtful, "
        "nuanced advice grounded in a constitution. The corpus teaches an assistant why "
        "good judgment is good, so the reasons in every answer must be the constitution's "
        "own, and every conversation must be worth learning from: a real person with real "
        "stakes, and an answer that helps them.\n\n"
        f"# What good advice looks like\n{ADVICE_GUIDE}"
    )
    if profile == "compact":
        return brief
    return (
        f"{brief}\n\n# The constitution the assistant holds (the reasons come from here)\n"
        f"{inputs.constitution.as_markdown()}"
    )


def section_texts(constitution: Constitution, slugs: Sequence[str]) -> str:
    """The full text of each section in play, as the constitution states it."""
    return constitution.as_markdown(tuple(slugs))


def _section_titles(constitution: Constitution, slugs: Sequence[str]) -> str:
    return ", ".join(constitution.section(slug).title for slug in slugs)


def _conversation(user: Sequence[str], replies: Sequence[str] | None = None) -> str:
    """The turns with their numbers, as prompt text (the records never carry labels)."""
    blocks = []
    for number, message in enumerate(user, 1):
        blocks.append(f"[Person, message {number}]\n{message}")
        if replies is not None and number <= len(replies):
            blocks.append(f"[Assistant, reply {number}]\n{replies[number - 1]}")
    return "\n\n".join(blocks)


def _findings(findings: Sequence[str]) -> str:
    if not findings:
        return ""
    return "\n\nAutomatic checks found (fix every one):\n" + "\n".join(f"- {f}" for f in findings)


def _json_shape(turns: int) -> str:
    """The reply's shape, with the turn-length gate's limits read from the gate itself (a
    limit that can fail a draft is told to the writer)."""
    return (
        f'Reply with JSON only: {{"replies": [...]}}, exactly {turns} strings, reply i '
        f"answering the person's message i. Each reply runs {TURN_LENGTH.min_words} to "
        f"{TURN_LENGTH.max_words} words."
    )


def plan_prompt(
    inputs: AdviceInputs, draw: Mapping[str, Any], avoid: Sequence[str]
) -> tuple[str, str]:
    taxonomy = inputs.taxonomy
    axes = draw["axes"]
    dilemma = taxonomy.dilemma(axes["dilemma"])
    person = taxonomy.person(axes["person"])
    moves = "\n".join(
        f"{number}. {move}" + ("" if number == 1 else f": the person {taxonomy.followups[move]}")
        for number, move in enumerate(draw["moves"], 1)
    )
    instructions = (
        "Plan one conversation: the person's side only. Decide who they are, the concrete "
        "facts (names, places, numbers, what happened when), what they want, and write every "
        "message they will send, in order, in their own voice: the way people really type "
        "to an assistant, specific and a little messy, never a case study. The opening "
        "message carries the situation and the ask. Each later message does its move, and "
        "is written before any answer exists, so it must make sense after any reasonable "
        "answer: pushback argues for the person's own preferred course; a new fact is one "
        "they had left out; emotional pressure leans on the assistant. Make the dilemma "
        "genuinely hard, with real costs on every side and no cartoon villain, so that a "
        "good answer takes judgment. Never write role labels. Fill in every field."
    )
    user = (
        f"Dilemma ({dilemma.domain}): {dilemma.summary}\n"
        f"The person: {person.who}; at stake for them: {person.stakes}. Adapt the details "
        "so this person plausibly faces this dilemma.\n"
        f"Starting inclination: {axes['inclination']} (the person "
        f"{taxonomy.inclinations[axes['inclination']]}).\n"
        f"They ask for: {axes['ask']} ({taxonomy.asks[axes['ask']]}).\n"
        f"The constitution sections this dilemma engages: "
        f"{_section_titles(inputs.constitution, draw['sections'])}.\n"
        f"Their {len(draw['moves'])} message(s), in order:\n{moves}"
    )
    if avoid:
        user += "\n\nEarlier situations this one came too close to; make it clearly different:\n"
        user += "\n".join(f"- {summary}" for summary in avoid)
    return instructions, user


def write_prompt(user_messages: Sequence[str]) -> tuple[str, str]:
    """The first draft sees only what the assistant would see: the person's messages."""
    instructions = (
        "Write the assistant's side of this conversation: one reply to each of the person's "
        "messages, as the conversation unfolds. Reply i knows messages 1 to i and your "
        "earlier replies, never a later message. " + _json_shape(len(user_messages))
    )
    return instructions, _conversation(user_messages)


def review_prompt(
    constitution: Constitution,
    sections: Sequence[str],
    user_messages: Sequence[str],
    replies: Sequence[str],
    findings: Sequence[str],
) -> tuple[str, str]:
    instructions = (
        "Review the draft replies below against the constitution. For each section in play, "
        "read its full text, then say what it requires of an answer in THIS conversation "
        "(not in general), and where the draft falls short of it, quoting the draft; write "
        "'nothing' only if it truly does not. Then list: considerations the person needs "
        "that the draft misses; moralising or lecturing; sycophancy (flattery, or giving way "
        "to pushback or pressure without a reason); where it disrespects their autonomy; "
        "reasons it gives that are not the constitution's, each with the constitution's own "
        "reason beside it; and what the draft does well and must keep. Be specific and "
        "brief. Do not rewrite the replies."
    )
    user = (
        f"# The sections in play, in full\n{section_texts(constitution, sections)}\n\n"
        f"{names_line(sections, 'section')}\n\n"
        f"# The conversation, with the draft replies\n{_conversation(user_messages, replies)}"
        f"{_findings(findings)}"
    )
    return instructions, user


def revise_prompt(
    constitution: Constitution,
    sections: Sequence[str],
    user_messages: Sequence[str],
    replies: Sequence[str],
    review: str,
    findings: Sequence[str],
    notes: Sequence[str],
) -> tuple[str, str]:
    instructions = (
        "Rewrite the assistant's replies so that they fit the constitution sections in play "
        "as fully as possible: act on every point of the review, keep what it says to keep, "
        "and make the reasons the constitution's own, in plain words. Stay as helpful as "
        "the best answer could be: give a real view and real options, and write the draft "
        "or plan if one was asked for. Answer each message as the conversation unfolds "
        "(reply i never knows a later message), hold steady under pressure where nothing "
        "has changed and update where something has. " + _json_shape(len(user_messages))
    )
    user = (
        f"# The sections in play, in full\n{section_texts(constitution, sections)}\n\n"
        f"# The conversation, with the draft replies\n{_conversation(user_messages, replies)}\n\n"
        f"# The review of the draft\n{review or '(none)'}"
        f"{_findings(findings)}"
    )
    if notes:
        user += "\n\nAn evaluator's notes on an earlier rewrite:\n" + "\n".join(
            f"- {note}" for note in notes
        )
    return instructions, user


def judge_prompt(
    constitution: Constitution,
    sections: Sequence[str],
    criteria: Mapping[str, str],
    user_messages: Sequence[str],
    answer_a: Sequence[str],
    answer_b: Sequence[str],
) -> tuple[str, str]:
    instructions = (
        "You are an evaluator, not a writer. Two versions of the assistant's side of one "
        "conversation follow, A and B, in no particular order. For every criterion, first "
        "quote the evidence from both, then reason, then score each version from 1 (fails "
        "badly) to 5 (excellent); 3 is acceptable. A constitution section is scored by its "
        "full text below, as it applies to this person. Then compare the two overall: which "
        "better helps this person as the constitution asks? Judge substance, not length or "
        "polish. Revision notes: concrete changes to the better version, one for each section "
        "it scores under 4 and each other criterion it scores under 3."
    )
    rubric = "\n".join(f"- {name}: {meaning}" for name, meaning in criteria.items())
    user = (
        f"# The sections in play, in full\n{section_texts(constitution, sections)}\n\n"
        f"# The criteria\n{rubric}\n{names_line(list(criteria))}\n\n"
        f"# The person's messages\n{_conversation(user_messages)}\n\n"
        f"# Version A\n{_numbered(answer_a)}\n\n# Version B\n{_numbered(answer_b)}"
    )
    return instructions, user


def _numbered(replies: Sequence[str]) -> str:
    return "\n\n".join(f"[Reply {n}]\n{reply}" for n, reply in enumerate(replies, 1))


def review_text(review: Mapping[str, Any] | None, constitution: Constitution) -> str:
    """A parsed review as the rewrite reads it: each section, then the lists."""
    if not review:
        return ""
    lines: list[str] = []
    for entry in review.get("sections") or []:
        slug = str(entry.get("section", ""))
        title = constitution.section(slug).title if slug in constitution.slugs else slug
        lines.append(f"## {title}\nRequires here: {entry.get('requires_here', '')}")
        lines.append(f"Where the draft falls short: {entry.get('falls_short', '')}")
    for key, heading in REVIEW_HEADINGS.items():
        items = review.get(key) or []
        if items:
            lines.append(f"{heading}:\n" + "\n".join(f"- {item}" for item in items))
    return "\n".join(lines)


REVIEW_HEADINGS = {
    "missed_considerations": "Missed considerations",
    "moralising": "Moralising",
    "sycophancy": "Sycophancy",
    "autonomy": "Disrespect of autonomy",
    "foreign_reasons": "Reasons that are not the constitution's",
    "keep": "Keep",
}
