"""The story kind's gates as small objects, each with its thresholds as fields.

The story's own (inner monologue, prompt echo, the persona's names) beside the shared
gates of `stories.gates`; a kind lists its gates as data and the recipe fingerprint sees
every threshold. Order is the order findings are reported in.
"""

from __future__ import annotations

from dataclasses import dataclass

from storyloom.stories import gates
from storyloom.stories.gates import (
    ChatLeakGate,
    ConstitutionCopyGate,
    LengthGate,
    PlaceholderGate,
    RepetitionGate,
    StockOpeningGate,
    TruncationGate,
)
from storyloom.stories.kind import Finding, ItemView


@dataclass(frozen=True)
class MonologueGate:
    name: str = "monologue"
    min_share: float = gates.MIN_MONOLOGUE_SHARE
    max_share: float = gates.MAX_MONOLOGUE_SHARE

    def check(self, text: str, item: ItemView) -> list[Finding]:
        found = gates._monologue_finding(text, self.min_share, self.max_share)
        return [found] if found else []


@dataclass(frozen=True)
class PromptEchoGate:
    name: str = "prompt_echo"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        found = gates._prompt_echo_finding(text)
        return [found] if found else []


@dataclass(frozen=True)
class NamesGate:
    """The persona is called by its drawn name; no other variant or famous assistant."""

    name: str = "names"
    other_assistants: tuple[str, ...] = gates.DEFAULT_OTHER_ASSISTANT_NAMES

    def check(self, text: str, item: ItemView) -> list[Finding]:
        persona_name = str(item.draw["persona_name"])
        others = gates.names_to_avoid(
            item.inputs.persona.names, persona_name, self.other_assistants
        )
        return gates._name_findings(text, persona_name, others)


STORY_GATES = (
    LengthGate(),
    MonologueGate(),
    ChatLeakGate(),
    PromptEchoGate(),
    PlaceholderGate(),
    TruncationGate(),
    StockOpeningGate(),
    ConstitutionCopyGate(),
    NamesGate(),
    RepetitionGate(),
)
