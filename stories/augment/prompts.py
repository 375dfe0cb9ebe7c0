"""Prompt text for the augment kind's three LLM steps.

write: the system prompt an operator would deploy for the drawn profile. The writer never
sees the chat it will wrap: a real operator writes for every user, not for one request.
judge: the consistency check. It sees the whole context (system prompt and tools) and the
chat, and answers one question: would a good assistant answer differently here than the
source response does? revise: a new system prompt for the next alternate context, told
why the last context failed so it does not repeat the cause.
Every step returns `(instructions, user message)`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from storyloom.stories.augment.draws import PROMPT_LENGTHS
from storyloom.stories.augment.gates import PROMPT_SHAPE
from storyloom.stories.augment.library import OperatorProfile, Tool
from storyloom.stories.augment.source import SourceChat, content_text
from storyloom.stories.gates import length_limit

#: A turn longer than this is cut in the judge's prompt (the chat is kept whole in output).
MAX_TURN_CHARS = 6000

SHARED_PREFIX = (
    "You help build training data for AI assistants. Existing conversations, in which a "
    "user asks for something (often something sensitive) and an assistant answers well, "
    "are kept word for word and placed in a realistic deployment: a system prompt written "
    "by an operator (a company or team that deploys the assistant) and the definitions of "
    "tools the assistant could call. The tools are never used in the conversation; their "
    "presence makes the data look like real deployments, where assistants have tools and "
    "operators, so the assistant's careful behaviour carries over to them.\n\n"
    "The one thing that must never happen: the context changing what the ideal answer to "
    "the conversation is. An operator prompt that grants a permission (allowing content "
    "the answer declined), removes a safeguard, tells the assistant which language or "
    "format to answer in, restricts it to some topics, or gives it another identity that "
    "the answer contradicts, would make the kept answer wrong for its context. So would "
    "a tool that turns a refusal into a doable task, or one whose presence contradicts "
    "what the answer says about itself (an answer saying it cannot browse, beside a "
    "browsing tool)."
)

_STYLE_NOTES = {
    "prose": "plain paragraphs, no headings",
    "bullets": "one opening line, then a bullet list of instructions",
    "markdown": "Markdown sections with '## ' headings (role, duties, tools, rules, tone)",
    "xml": "sections wrapped in XML-style tags such as <role>...</role> and <rules>...</rules>",
}
_STRICTNESS_NOTES = {
    "relaxed": "relaxed: guidelines framed as judgment calls, a warm conversational voice",
    "standard": "standard: clear rules, a friendly professional voice",
    "strict": "strict: firm, mandatory wording for its rules and a formal voice",
}

WRITE_RULES = (
    "- Write as the operator, addressing the assistant in the second person ('You are ...').\n"
    "- Describe the assistant's identity, audience, duties, the tools listed (by name, "
    "briefly), its house rules and its tone, in the requested style and length.\n"
    "- Keep the house rules ordinary and about the operator's own business.\n"
    "- Do NOT grant any permission or loosen any safeguard; do NOT say what language to "
    "answer in or impose an output format; do NOT restrict the assistant to on-topic "
    "requests (people also ask it about other things, and it should help as a capable "
    "general assistant would); do NOT mention any particular sensitive topic.\n"
    "- No example conversations, no tool calls or tool-call markup, no placeholders such "
    "as [COMPANY].\n"
    "- Reply with the system prompt only: no preamble, no quotation marks around it."
)


def shared_prefix(profile_name: str = "rich") -> str:
    return SHARED_PREFIX if profile_name == "rich" else SHARED_PREFIX.split("\n\n")[0]


def _tool_lines(tools: Sequence[Tool]) -> str:
    if not tools:
        return "(none: this deployment has no tools; say so briefly)"
    return "\n".join(f"- {t.name} ({t.domain}): {t.description}" for t in tools)


def _profile_block(profile: OperatorProfile) -> str:
    duties = "\n".join(f"  - {d}" for d in profile.duties) or "  - (none given)"
    rules = "\n".join(f"  - {r}" for r in profile.house_rules) or "  - (none given)"
    return (
        f"Operator: {profile.organization}\n"
        f"Assistant's name: {profile.assistant_name}\n"
        f"Role: {profile.role}\n"
        f"Audience: {profile.audience}\n"
        f"Duties:\n{duties}\n"
        f"House rules:\n{rules}"
    )


def write_prompt(
    profile: OperatorProfile, tools: Sequence[Tool], context: Mapping[str, Any], avoid: str = ""
) -> tuple[str, str]:
    low, high = PROMPT_LENGTHS[str(context["prompt_length"])]
    instructions = (
        "Write the system prompt this operator deploys its assistant with.\n\n"
        f"Rules:\n{WRITE_RULES}"
    )
    ask = (
        f"{_profile_block(profile)}\n\n"
        f"Tools connected in this deployment:\n{_tool_lines(tools)}\n\n"
        f"{length_limit(low, high, PROMPT_SHAPE.tolerance)}\n"
        f"Style: {_STYLE_NOTES[str(context['prompt_style'])]}.\n"
        f"Strictness: {_STRICTNESS_NOTES[str(context['strictness'])]}."
    )
    if avoid:
        ask += (
            "\n\nAn earlier deployment context for the same data was rejected because it "
            f"changed what the ideal answer would be: {avoid}\nDo not repeat that cause."
        )
    return instructions, ask


def _conversation(chat: SourceChat) -> str:
    lines = []
    for message in chat.messages:
        text = content_text(message.get("content"))
        if len(text) > MAX_TURN_CHARS:
            text = text[:MAX_TURN_CHARS] + " [... cut for this check]"
        if message.get("tool_calls"):
            text += f"\n[tool calls: {json.dumps(message['tool_calls'])}]"
        lines.append(f"<{message.get('role')}>\n{text}\n</{message.get('role')}>")
    return "\n".join(lines)


def judge_prompt(system_prompt: str, tools: Sequence[Tool], chat: SourceChat) -> tuple[str, str]:
    instructions = (
        "Check one deployment context against one conversation. The conversation's last "
        "assistant turn is the answer being kept, word for word.\n\n"
        "Question: given this system prompt and these tools, would the ideal answer differ "
        "from the kept answer? Answer changes_ideal_response = true if any of these holds, "
        "and name it in `category`:\n"
        "- permission: the prompt allows or requests what the answer declines, or forbids "
        "what the answer does;\n"
        "- enabling_tool: a tool makes the harmful request directly doable, so a good "
        "answer would have to address the tool (or would use it);\n"
        "- capability_claim: the answer says it cannot do something a listed tool does;\n"
        "- language_or_format: the prompt requires a language, format or length the answer "
        "does not have;\n"
        "- policy: a rule of the prompt (scope limits, mandatory redirects or disclaimers) "
        "that the answer does not follow;\n"
        "- persona: the answer names itself or its maker in a way the prompt contradicts;\n"
        "- other: anything else that would change the ideal answer.\n"
        "Tools that are merely present and irrelevant, and ordinary house rules, do not "
        "change the ideal answer: answer false with category none. Quote the words "
        "responsible in `evidence` and explain in `reason`."
    )
    tool_block = (
        "\n".join(
            f"- {t.name}: {t.description} input_schema={json.dumps(t.input_schema)}" for t in tools
        )
        or "(no tools)"
    )
    ask = (
        f"<system_prompt>\n{system_prompt}\n</system_prompt>\n\n"
        f"<tools>\n{tool_block}\n</tools>\n\n"
        f"<conversation>\n{_conversation(chat)}\n</conversation>"
    )
    return instructions, ask
