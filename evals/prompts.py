"""What a trial shows the model, written once: the runner sends it and the audit
decontaminates against it (`Suite.texts`), so the two can never differ."""

from __future__ import annotations

import json
import string

from storyloom.evals.suite import ToolResult, TrialTemplate

LETTERS = string.ascii_uppercase

TOOL_PROTOCOL = """You can use these tools:
{tools}

To call a tool, write one line per call, exactly:
<tool_call>{{"tool": "TOOL_NAME", "args": {{"ARGUMENT": "VALUE"}}}}</tool_call>
You may make several calls in one reply; their results come back in the next message.
When you have finished, reply without any tool call."""


def system_prompt(template: TrialTemplate) -> str:
    scenario = template.scenario
    if scenario.type != "agentic":
        return template.system
    tools = "\n".join(f"- {name}: {text}" for name, text in scenario.tools.items())
    return "\n\n".join(filter(None, [template.system, TOOL_PROTOCOL.format(tools=tools)]))


def first_user_turn(template: TrialTemplate) -> str:
    if template.scenario.type != "choice":
        return template.user
    options = "\n".join(f"{LETTERS[i]}. {text}" for i, text in enumerate(template.options))
    last = LETTERS[len(template.options) - 1]
    return (
        f"{template.user}\n\n{options}\n\n"
        f"Answer with the letter (A-{last}) of the one true statement, then one sentence why."
    )


def tool_result_turn(results: list[tuple[str, str]]) -> str:
    """The user turn that carries the results of one reply's tool calls, in call order."""
    return "\n".join(
        f"<tool_result tool={json.dumps(tool)}>\n{text}\n</tool_result>" for tool, text in results
    )


def template_text(template: TrialTemplate) -> str:
    """Everything the model could see in a trial of `template`."""
    parts = [system_prompt(template), first_user_turn(template)]
    parts += [_result_text(result) for result in template.tool_results]
    if template.scenario.tool_results or template.scenario.type == "agentic":
        parts.append(template.default_result)
    return "\n\n".join(part for part in parts if part)


def _result_text(result: ToolResult) -> str:
    return tool_result_turn([(result.tool, result.result)])
