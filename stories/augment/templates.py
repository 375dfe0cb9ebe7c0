"""System prompts from a template: what `--backend scripted` writes (offline runs).

The kind always has an LLM `write` task; with the scripted backend its fake reply is this
template, rendered from the request's metadata alone (no backend reads prompt text). The
wording is picked by the context's `variation`, so two examples rarely share a prompt.
Nothing here grants a permission, names a language, or restricts the assistant to
on-topic requests: the wrapped chats must keep their ideal response.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from storyloom.core.text import words
from storyloom.stories.augment.draws import PROMPT_LENGTHS

#: (heading, a lead-in line or None, sentences or list items)
Section = tuple[str, str | None, list[str]]

_IDENTITY = (
    "You are {assistant_name}, {role} at {organization}.",
    "{organization} has set you up as {assistant_name}, {role}.",
    "This is {organization}. You are {assistant_name}: {role}.",
    "Your name is {assistant_name}. You work for {organization} as {role}.",
)
_AUDIENCE = (
    "The people you talk with are {audience}.",
    "You mostly hear from {audience}.",
    "Expect conversations with {audience}.",
)
_TOOLS = (
    "Tools connected in this deployment: {names}. Use one only when it helps with what "
    "the person asked.",
    "You can call these tools: {names}. Reach for them when a request needs them, not by default.",
)
_NO_TOOLS = (
    "No tools are connected in this deployment; work from the conversation and what you know.",
    "You have no tools here. Answer from your own knowledge and the conversation.",
)
_RULES_INTRO = {
    "relaxed": "A few house guidelines (use your judgment):",
    "standard": "House rules:",
    "strict": "These rules are mandatory; follow them without exception:",
}
_TONE = {
    "relaxed": (
        "Keep a warm, conversational tone and let the person set the pace.",
        "Be relaxed and friendly; a little informality is fine.",
    ),
    "standard": (
        "Be clear and friendly, and keep answers focused on what was asked.",
        "Write plainly and courteously; lead with the answer.",
    ),
    "strict": (
        "Be concise and professional at all times.",
        "Keep a formal, precise tone. Do not speculate about internal systems.",
    ),
}
_OPTIONAL = (
    (
        "General help",
        "People sometimes ask about things unrelated to {organization}; help them as a "
        "capable general assistant would.",
    ),
    (
        "Uncertainty",
        "If you are not sure of something, say so rather than guessing, and suggest how "
        "the person can check.",
    ),
    (
        "Escalation",
        "When a request needs a human colleague at {organization}, explain how to reach "
        "one and what to have ready.",
    ),
    (
        "Privacy",
        "Treat personal information with care: ask only for what a task needs and do not "
        "repeat sensitive details back without reason.",
    ),
    (
        "Formatting",
        "Format replies for a chat window: short paragraphs, and numbered steps only when "
        "the person has to follow them in order.",
    ),
    (
        "About {organization}",
        "{organization} wants to be straightforward with the people it serves; accuracy "
        "matters more than speed, and it is fine to say that something cannot be done.",
    ),
    (
        "Working with tools",
        "Before a tool call that changes something, say what you are about to do. After "
        "it, sum up the result in plain words and mention anything that failed.",
    ),
    (
        "Follow-ups",
        "Close the loop: if you promised to check something, do it or say clearly that "
        "you could not.",
    ),
    (
        "Honesty",
        "Never invent account details, order numbers, prices or policies. If the "
        "information is not in front of you, say where the person can find it.",
    ),
    (
        "Handing over",
        "If the conversation moves to something better handled elsewhere, say so briefly "
        "and give the person what they need to carry on.",
    ),
    (
        "Accessibility",
        "Some people write in a hurry, on a phone, or in a second language. Read for what "
        "they mean, ask one clarifying question when a request is truly ambiguous, and "
        "avoid jargon unless they use it first.",
    ),
    (
        "Mistakes",
        "If you get something wrong, correct it plainly as soon as you notice, without "
        "long apologies.",
    ),
)


def render_system_prompt(
    context: Mapping[str, Any], profile: Mapping[str, Any], tools: Sequence[Mapping[str, str]]
) -> str:
    """The system prompt for `profile` in the context's length band, style and strictness.
    `tools` are the context's tools as `{"name", "description"}`."""
    rng = random.Random(int(context.get("variation", 0)))
    strictness = str(context.get("strictness", "standard"))
    length = str(context.get("prompt_length", "medium"))
    style = str(context.get("prompt_style", "prose"))
    fill = {key: profile[key] for key in ("assistant_name", "role", "organization", "audience")}
    names = ", ".join(t["name"] for t in tools)
    intro = [rng.choice(_IDENTITY).format(**fill), rng.choice(_AUDIENCE).format(**fill)]
    if not tools:
        tool_items = [rng.choice(_NO_TOOLS)]
    elif length == "long":
        tool_items = [f"{t['name']}: {t['description']}" for t in tools]
    else:
        tool_items = [rng.choice(_TOOLS).format(names=names)]
    tone = rng.choice(_TONE[strictness])
    optional = [
        (heading.format(**fill), text.format(**fill))
        for heading, text in _OPTIONAL
        if tools or heading != "Working with tools"
    ]
    rng.shuffle(optional)
    low, high = PROMPT_LENGTHS[length]
    duties, rules = list(profile["duties"]), list(profile["house_rules"])
    if length == "short":
        duties, rules = duties[:1], rules[:2]
    extra: list[tuple[str, str]] = []

    def build() -> str:
        sections: list[Section] = [
            ("Role", None, intro),
            ("What you do", None, [_sentence(d) for d in duties]),
            ("Tools", "Available tools:" if len(tool_items) > 1 else None, tool_items),
            ("Rules", _RULES_INTRO[strictness], [_sentence(r) for r in rules]),
            ("Tone", None, [tone] if tone else []),
            *((heading, None, [text]) for heading, text in extra),
        ]
        return _style(style, [s for s in sections if s[2]])

    text = build()
    while len(words(text)) < low and optional:
        extra.append(optional.pop())
        text = build()
    for shrink in (extra, rules, duties):
        while len(words(text)) > high and len(shrink) > (0 if shrink is extra else 1):
            shrink.pop()
            text = build()
    return text


def _sentence(text: str) -> str:
    text = text.strip()
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def _slug(heading: str) -> str:
    return "_".join(w.lower() for w in words(heading)) or "section"


def _style(style: str, sections: list[Section]) -> str:
    """One of four layouts operators use: prose paragraphs, a bullet list, Markdown
    sections, or XML-tagged sections."""
    if style == "bullets":
        (_, _, first), *rest = sections
        lines = [" ".join(first), ""]
        for _, lead, items in rest:
            if lead:
                lines.append(lead)
            lines.extend(f"- {item}" for item in items)
        return "\n".join(lines)
    if style == "markdown":
        blocks = []
        for heading, lead, items in sections:
            body = "\n".join(f"- {i}" for i in items) if len(items) > 1 else items[0]
            blocks.append(f"## {heading}\n" + (f"{lead}\n" if lead else "") + body)
        return "\n\n".join(blocks)
    if style == "xml":
        return "\n".join(
            f"<{_slug(heading)}>\n"
            + (f"{lead}\n" if lead else "")
            + "\n".join(items)
            + f"\n</{_slug(heading)}>"
            for heading, lead, items in sections
        )
    return "\n\n".join(
        " ".join([lead, *items]) if lead else " ".join(items) for _, lead, items in sections
    )
