"""An augment record in the two request shapes trainers take, for an export command:
OpenAI's chat fine-tuning line (`messages` with the system turn first, `tools` as
functions) and Anthropic's Messages shape (`system` apart, `tools` with `input_schema`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storyloom.core.tools import openai_tools


def openai_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """`{"messages", "tools"}` with tools as `{"type": "function", "function": {...}}`."""
    return {"messages": list(record["messages"]), "tools": openai_tools(record.get("tools", []))}


def anthropic_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """`{"system", "messages", "tools"}`: the system message moved out of the turns."""
    first, *turns = record["messages"]
    if first.get("role") != "system":
        raise ValueError("an augment record starts with its system message")
    return {"system": first["content"], "messages": turns, "tools": list(record.get("tools", []))}
