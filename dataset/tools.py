"""Tool definitions in the shape a trainer expects.

Chat kinds write tools as Anthropic defines them (`name`, `description`, `input_schema`);
OpenAI-style fine-tuning takes `{"type": "function", "function": {..., "parameters"}}`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

ToolsShape = Literal["anthropic", "openai"]


def openai_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """One tool in OpenAI's shape; a tool already in that shape is returned as it is."""
    if tool.get("type") == "function" and "function" in tool:
        return dict(tool)
    function: dict[str, Any] = {"name": tool["name"]}
    if "description" in tool:
        function["description"] = tool["description"]
    function["parameters"] = tool.get("input_schema", {"type": "object", "properties": {}})
    return {"type": "function", "function": function}


def shape_tools(tools: Sequence[Mapping[str, Any]], shape: ToolsShape) -> list[dict[str, Any]]:
    if shape == "openai":
        return [openai_tool(tool) for tool in tools]
    return [dict(tool) for tool in tools]
