"""Tool definitions in the two shapes chat data uses: Anthropic's (`name`, `description`,
`input_schema`), which corpus records keep, and OpenAI's chat-completions shape, which
OpenAI-style fine-tuning takes. Here, not in a kind, because records and exports of any
chat kind carry tools."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def openai_tools(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Anthropic-shaped tools (as in a corpus record) in OpenAI's chat-completions shape:
    `{"type": "function", "function": {"name", "description", "parameters"}}`."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool["name"],
                "description": tool.get("description", ""),
                "parameters": tool["input_schema"],
            },
        }
        for tool in tools
    ]
