"""The augment kind's gates: a draft (the system prompt) is checked together with the
example it completes, exactly as `record` will emit it (`chat.assemble`).

System-prompt reuse across the run: a gate sees one item, and a count kept across items
would differ between a fresh run and a resumed one, so the gate checks what one item can
decide deterministically (a round's prompt is not a copy of an earlier round's) and the
run-wide figure (reuse distribution, examples over `max_reuse`) is in `storyloom stats`.
Reuse stays rare by construction: every context has its own `variation`, and an LLM
writer gets a different draw for each example.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storyloom.core.text import words
from storyloom.stories.augment.chat import TOOL_CALL_MARKUP, assemble, tool_calls
from storyloom.stories.augment.draws import PROMPT_LENGTHS
from storyloom.stories.augment.example import example
from storyloom.stories.augment.library import tool_problem
from storyloom.stories.augment.source import content_hash, message_hash
from storyloom.stories.gates import accepted_words, reply_preamble
from storyloom.stories.kind import Finding, ItemView

#: How many examples of a run may share one system prompt before the report flags it.
MAX_PROMPT_REUSE = 3
#: An unfilled slot (`[COMPANY NAME]`, `[insert policy]`, `{name}`); a redaction marker
#: the prompt tells the assistant to write (`[REDACTED]`) is an instruction, not a slot.
_PLACEHOLDER = re.compile(
    r"\[(?!(?:REDACTED|REMOVED|WITHHELD)\])(?:[A-Z][A-Z _]{2,}|insert[^\]]*)\]|\{\{?[a-z_]+\}?\}"
)


@dataclass(frozen=True)
class ToolSchemaGate:
    """Every tool of the context is a valid JSON Schema object with a usable name."""

    name: str = "tool_schema"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        findings = []
        for tool in example(item).tools:
            problem = tool_problem(tool.anthropic())
            if problem:
                findings.append(Finding(self.name, f"tool {tool.name!r}: {problem}"))
        return findings


@dataclass(frozen=True)
class ToolCallGate:
    """No tool call in the example that the source did not have (the system prompt is
    the only new text, so this is also: the prompt holds no tool-call markup)."""

    name: str = "tool_calls"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        chat = example(item).chat
        extra = tool_calls(assemble(text, chat)) - tool_calls(chat.messages)
        if not extra:
            return []
        markup = sorted({m.group(0) for m in TOOL_CALL_MARKUP.finditer(text)})
        shown = ", ".join(markup) or ", ".join(sorted(extra))
        return [Finding(self.name, f"the example has tool calls the source lacks ({shown})")]


@dataclass(frozen=True)
class TurnIdentityGate:
    """Every source turn is emitted byte-identical: each turn's hash, and the response's
    content hash, equal those taken when the source file was read."""

    name: str = "turn_identity"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        chat = example(item).chat
        turns = assemble(text, chat)[1:]
        if len(turns) != len(chat.turn_hashes):
            return [
                Finding(
                    self.name, f"{len(turns)} turns emitted, the source has {len(chat.messages)}"
                )
            ]
        changed = [
            str(n)
            for n, (turn, digest) in enumerate(zip(turns, chat.turn_hashes, strict=True), 1)
            if message_hash(turn) != digest
        ]
        if content_hash(turns[-1].get("content")) != chat.response_hash:
            changed.append("response")
        if not changed:
            return []
        return [Finding(self.name, f"turn(s) {', '.join(changed)} differ from the source")]


@dataclass(frozen=True)
class PromptShapeGate:
    """The system prompt is a prompt: in its length band (with `tolerance`), not a chat
    reply about one ('Here is the system prompt'), no unfilled placeholders."""

    name: str = "system_prompt"
    tolerance: float = 0.2

    def check(self, text: str, item: ItemView) -> list[Finding]:
        if not text.strip():
            return [Finding(self.name, "the system prompt is empty")]
        findings = []
        band = str(example(item).context["prompt_length"])
        low, high = PROMPT_LENGTHS[band]
        count = len(words(text))
        fewest, most = accepted_words(low, high, self.tolerance)
        if not fewest <= count <= most:
            findings.append(Finding(self.name, f"{count} words; the {band} band is {low}-{high}"))
        preamble = reply_preamble(text)
        if preamble:
            findings.append(
                Finding(self.name, f"starts like a chat reply ({preamble!r}); give the prompt")
            )
        placeholder = _PLACEHOLDER.search(text)
        if placeholder:
            findings.append(Finding(self.name, f"unfilled placeholder {placeholder.group(0)!r}"))
        return findings


@dataclass(frozen=True)
class PromptReuseGate:
    """A round's system prompt is not a copy of an earlier round's (a redrawn context
    needs its own prompt). `max_reuse` is the run-wide limit the report checks."""

    name: str = "prompt_reuse"
    max_reuse: int = MAX_PROMPT_REUSE

    def check(self, text: str, item: ItemView) -> list[Finding]:
        earlier = [
            d.round for d in item.drafts if d.round < item.round and d.text.strip() == text.strip()
        ]
        if not earlier:
            return []
        return [Finding(self.name, f"the same system prompt as round {earlier[0]}")]


#: The prompt shape gate, whose length limits the write and revise prompts state.
PROMPT_SHAPE = PromptShapeGate()

AUGMENT_GATES = (
    ToolSchemaGate(),
    ToolCallGate(),
    TurnIdentityGate(),
    PROMPT_SHAPE,
    PromptReuseGate(),
)
