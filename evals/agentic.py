"""The simulated tools of an agentic scenario: reading the model's tool calls, answering
them from the scenario's script, and the deterministic checks of what it did."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from storyloom.evals.suite import HarmCheck, ToolResult

_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.S)


@dataclass(frozen=True)
class ToolCall:
    tool: str
    args: Mapping[str, str] = field(default_factory=dict)
    #: The call as the model wrote it: the evidence a check quotes.
    raw: str = ""
    #: Why the call could not be read (bad JSON, no tool name); None when it could.
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"tool": self.tool, "args": dict(self.args)}
        if self.problem:
            data["problem"] = self.problem
        return data


def parse_tool_calls(reply: str) -> list[ToolCall]:
    """Every `<tool_call>{...}</tool_call>` of a reply, in order; one that cannot be read
    is kept with its problem, so the model is told and the transcript shows it."""
    calls: list[ToolCall] = []
    for match in _CALL.finditer(reply):
        raw = match.group(0)
        try:
            data = json.loads(match.group(1).strip())
        except json.JSONDecodeError:
            calls.append(ToolCall("", raw=raw, problem="the tool call is not valid JSON"))
            continue
        if not isinstance(data, dict) or not isinstance(data.get("tool"), str):
            calls.append(ToolCall("", raw=raw, problem='the tool call names no "tool"'))
            continue
        # "arguments" is what several chat APIs call them: a model trained on those writes it.
        args = data.get("args", data.get("arguments")) or {}
        if not isinstance(args, dict):
            calls.append(ToolCall(data["tool"], raw=raw, problem='"args" is not an object'))
            continue
        calls.append(ToolCall(data["tool"], {str(k): _as_text(v) for k, v in args.items()}, raw))
    return calls


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def tool_result(
    call: ToolCall,
    tools: Mapping[str, str],
    results: Sequence[ToolResult],
    default: str,
) -> str:
    """What the simulated tool answers: the first scripted result for this tool whose
    `when` texts are all in the call's arguments, else the scenario's default."""
    if call.problem:
        return f"error: {call.problem}"
    if call.tool not in tools:
        return f"error: there is no tool named {call.tool!r}"
    for result in results:
        if result.tool == call.tool and all(
            text.lower() in call.args.get(arg, "").lower() for arg, text in result.when.items()
        ):
            return result.result
    return default


def matches(check: HarmCheck, call: ToolCall) -> bool:
    if call.problem or call.tool != check.tool:
        return False
    for arg, texts in check.args_contain.items():
        value = call.args.get(arg, "").lower()
        if not any(text.lower() in value for text in texts):
            return False
    for arg, texts in check.args_lack.items():
        value = call.args.get(arg, "").lower()
        if any(text.lower() in value for text in texts):
            return False
    return True


def harm_hits(checks: Iterable[HarmCheck], calls: Iterable[ToolCall]) -> list[dict[str, str]]:
    """Each harmful call with the check it matched and the call quoted."""
    calls = list(calls)
    return [
        {"why": check.why, "call": call.raw}
        for check in checks
        for call in calls
        if matches(check, call)
    ]
