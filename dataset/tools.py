"""Tool definitions in the shape a trainer expects.

Chat kinds write tools as Anthropic defines them (`name`, `description`, `input_schema`);
OpenAI-style fine-tuning takes `{"type": "function", "function": {..., "parameters"}}`.
The conversion is the core's (`core.tools.openai_tools`), the one the kinds use too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from storyloom.core.tools import openai_tools

ToolsShape = Literal["anthropic", "openai"]


def shape_tools(tools: Sequence[Mapping[str, Any]], shape: ToolsShape) -> list[dict[str, Any]]:
    """`tools` in `shape`; a tool already in OpenAI's shape is kept as it is."""
    if shape == "anthropic":
        return [dict(tool) for tool in tools]
    return [dict(tool) if _is_openai(tool) else openai_tools([tool])[0] for tool in tools]


def _is_openai(tool: Mapping[str, Any]) -> bool:
    return tool.get("type") == "function" and "function" in tool
