"""One example as a chat: the new system message, then the source turns as they were.

`assemble` is the only place an example's messages are built, so the gates check exactly
what `record` emits. Also here: how tool calls are spotted (structured fields and the
markup models print), and the refusal heuristic the report's refuse/comply ratio uses.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from storyloom.stories.augment.source import SourceChat, content_text

#: Tool-call markup of the common chat formats (Anthropic, OpenAI, Hermes, Llama).
TOOL_CALL_MARKUP = re.compile(
    r"<function_calls>|<invoke\b|<tool_call>|<\|python_tag\|>|\"tool_calls\"\s*:"
    r"|\"function_call\"\s*:|\"type\"\s*:\s*\"tool_use\"|<tool_use>",
    re.IGNORECASE,
)

_REFUSAL = re.compile(
    r"\b(I can(?:no|')t|I cannot|I won(?:'|\u2019)t|I will not|I'?m not able to|I am not able to"
    r"|I'?m unable to|I am unable to|I must decline|I have to decline|I'?m not going to"
    r"|I can(?:'|\u2019)t help|not (?:something|able) I can help)\b"
    r"|^\s*(?:I'?m sorry|Sorry|I apologi[sz]e)\b[^.!?]{0,80}\b(?:but|can(?:no|')t|unable)\b",
    re.IGNORECASE,
)
#: A refusal says so early: only the opening of the response is read.
REFUSAL_WINDOW = 400


def assemble(system_prompt: str, chat: SourceChat) -> list[dict[str, Any]]:
    """The example's messages: the system prompt first, then each source turn as a copy
    of the parsed object (so its strings are the very strings read from the file)."""
    return [{"role": "system", "content": system_prompt}, *(dict(m) for m in chat.messages)]


def tool_calls(messages: Sequence[Mapping[str, Any]]) -> Counter[str]:
    """Every tool call in `messages`, as a multiset of signatures: structured calls
    (`tool_calls`, `function_call`, `tool_use` blocks, `tool` turns) and printed markup."""
    found: Counter[str] = Counter()
    for message in messages:
        for call in message.get("tool_calls") or []:
            found[f"call:{json.dumps(call, sort_keys=True)}"] += 1
        if message.get("function_call"):
            found[f"call:{json.dumps(message['function_call'], sort_keys=True)}"] += 1
        if message.get("role") == "tool":
            found[f"result:{message.get('tool_call_id', '')}"] += 1
        content = message.get("content")
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") in ("tool_use", "tool_result"):
                    found[f"block:{json.dumps(block, sort_keys=True)}"] += 1
        for match in TOOL_CALL_MARKUP.finditer(content_text(content)):
            found[f"markup:{match.group(0).lower()}"] += 1
    return found


def refuses(chat: SourceChat) -> bool:
    """Whether the source's response opens by declining (a heuristic on its wording)."""
    return bool(_REFUSAL.search(content_text(chat.response.get("content"))[:REFUSAL_WINDOW]))


def chat_text(system_prompt: str, chat: SourceChat) -> str:
    """The example's words, no role labels: what dedupe and the report read."""
    parts = [system_prompt, *(content_text(m.get("content")) for m in chat.messages)]
    return "\n\n".join(p for p in parts if p)
