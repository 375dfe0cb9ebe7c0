"""The story kind's gates as small objects, each with its thresholds as fields.

Each one wraps one check of `stories.gates` (where the measurements and their reasons
are documented) so a kind lists its gates as data and the recipe fingerprint sees every
threshold. Order is the order findings are reported in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from storyloom.stories import gates
from storyloom.stories.gates import Finding
from storyloom.stories.kind import ItemView


def _band(item: ItemView) -> str:
    return str(item.draw["axes"]["length"])


@dataclass(frozen=True)
class LengthGate:
    name: str = "length"
    tolerance: float = gates.LENGTH_TOLERANCE

    def check(self, text: str, item: ItemView) -> list[Finding]:
        found = gates._length_finding(text, _band(item), self.tolerance)
        return [found] if found else []


@dataclass(frozen=True)
class MonologueGate:
    name: str = "monologue"
    min_share: float = gates.MIN_MONOLOGUE_SHARE
    max_share: float = gates.MAX_MONOLOGUE_SHARE

    def check(self, text: str, item: ItemView) -> list[Finding]:
        found = gates._monologue_finding(text, self.min_share, self.max_share)
        return [found] if found else []


@dataclass(frozen=True)
class ChatLeakGate:
    """Role labels, chat phrases and assistant preambles: document format only."""

    name: str = "chat_leak"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        found = gates._chat_finding(text)
        return [found] if found else []


@dataclass(frozen=True)
class PromptEchoGate:
    name: str = "prompt_echo"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        found = gates._prompt_echo_finding(text)
        return [found] if found else []


@dataclass(frozen=True)
class PlaceholderGate:
    """`[Name]`, `TODO`, `<insert ...>`: a template slot the model left unfilled."""

    name: str = "placeholder"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        found = gates.placeholder_finding(text)
        return [found] if found else []


@dataclass(frozen=True)
class TruncationGate:
    name: str = "truncation"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        found = gates._truncation_finding(text)
        return [found] if found else []


@dataclass(frozen=True)
class StockOpeningGate:
    name: str = "stock_opening"
    openings: tuple[str, ...] = gates.DEFAULT_STOCK_OPENINGS

    def check(self, text: str, item: ItemView) -> list[Finding]:
        found = gates._stock_opening_finding(text, self.openings)
        return [found] if found else []


@dataclass(frozen=True)
class ConstitutionCopyGate:
    name: str = "constitution_copy"
    max_copied_words: int = gates.MAX_COPIED_WORDS

    def check(self, text: str, item: ItemView) -> list[Finding]:
        constitution = item.inputs.constitution.as_markdown()
        found = gates._copy_finding(text, constitution, self.max_copied_words)
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


@dataclass(frozen=True)
class RepetitionGate:
    """Gopher-style duplicate line, paragraph and n-gram fractions."""

    name: str = "repetition"
    limits: dict[str, float] = field(default_factory=gates.repetition_limits)

    def check(self, text: str, item: ItemView) -> list[Finding]:
        return gates.repetition_findings(text, self.limits)


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
