"""The story kind's gates (`STORY_GATES`, in the order findings are reported): the shared
ones of `stories.gates`, configured for fiction, and the checks only a story has: its
share of inner monologue, prompt labels echoed into it, a stock opening, and the persona
called by its drawn name and no other variant's. `check_story` runs the same checks on a
text outside a run, given the values a run would draw.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from storyloom.core.text import nfc, words
from storyloom.stories.gates import (
    DEFAULT_OTHER_ASSISTANT_NAMES,
    ChatLeakGate,
    ConstitutionCopyGate,
    LengthGate,
    PlaceholderGate,
    RepetitionGate,
    TruncationGate,
    monologue_share,
    name_findings,
    outside_code,
    stock_opening,
)
from storyloom.stories.kind import Finding, ItemView

DEFAULT_STOCK_OPENINGS: tuple[str, ...] = (
    "once upon a time",
    "in a world where",
    "in a world of",
    "it was a dark and stormy night",
    "in the year 2",
    "in the not-so-distant future",
    "in a not-so-distant future",
    "in the near future",
    "in a distant future",
    "in the heart of",
    "in the bustling",
    "nestled in",
    "the sun rose",
    "the sun was setting",
    "the sun dipped",
    "as the sun",
    "little did",
    "it all started",
    "it all began",
    "have you ever",
    "imagine a world",
    "welcome to",
    "i hope this letter finds you well",
)

_PROMPT_ECHO = re.compile(
    r"^[ \t*_#]*(logline|situation|conflict|beats|emotional arc|premise|draws"
    r"|what the ai values and why|constitution sections in play|length)[ \t*_]*:",
    re.IGNORECASE | re.MULTILINE,
)

#: Template slots a model left unfilled: `[Name]`, `[Your Name]`, `[insert date]`,
#: `<insert ...>`, `<name>`, `{name}`, `TODO:` (a line's first word, or before a colon; a
#: story may well mention "the TODO" in prose). All-caps brackets such as `[REDACTED]` or
#: log levels (`[WARN]`) are story material, and so is anything inside a fenced code
#: block (a coding agent's diff may well hold a TODO).
STORY_PLACEHOLDERS = PlaceholderGate(
    pattern=r"(?m)\[(?:insert|add|your|enter)\b[^\]\n]{0,40}\]"
    r"|\[[A-Z][a-z]+(?: [A-Z][a-z]+){0,3}\](?!\()"
    r"|<(?:insert|add|your|enter)\b[^>\n]{0,40}>"
    r"|<(?:name|date|company|city|place|title)>"
    r"|\{\{?\s*[a-z_]+\s*\}?\}"
    r"|\b(?:TODO|TBD|FIXME)\b(?=\s*[:\]])|^[ \t]*(?:TODO|TBD|FIXME)\b",
    skip_code=True,
    quoted=5,
    ask="invent the specific detail instead",
)


@dataclass(frozen=True)
class MonologueGate:
    """The share of words in *italic* thought (`monologue_share`) between the bounds."""

    name: str = "monologue"
    min_share: float = 0.03
    max_share: float = 0.60

    def check(self, text: str, item: ItemView) -> list[Finding]:
        share = monologue_share(text)
        if share < self.min_share:
            return [
                Finding(
                    "no_monologue",
                    f"inner monologue (thought in *italics*) is {share:.1%} of the words, under "
                    f"{self.min_share:.0%}; show what the character thinks and feels",
                )
            ]
        if share > self.max_share:
            return [
                Finding(
                    "monologue_heavy",
                    f"{share:.0%} of the words are in *italics*; keep italics for thoughts and "
                    "let the rest be scene and action",
                )
            ]
        return []


@dataclass(frozen=True)
class PromptEchoGate:
    """Small models copy the prompt's labels ('Situation:', 'Beats:') into the story; a
    fenced code block is quoted material (a spec sheet's 'Length: 1.2 km'), not an echo."""

    name: str = "prompt_echo"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        match = _PROMPT_ECHO.search(outside_code(text))
        if not match:
            return []
        return [
            Finding(
                "prompt_echo",
                f"the story repeats a prompt label ({match.group(0).strip()!r}); tell the story "
                "instead of restating the premise",
            )
        ]


@dataclass(frozen=True)
class StockOpeningGate:
    """The story's first sentence (past its title and headers) opens on none of
    `openings`."""

    name: str = "stock_opening"
    openings: tuple[str, ...] = DEFAULT_STOCK_OPENINGS

    def check(self, text: str, item: ItemView) -> list[Finding]:
        opening = stock_opening(text, self.openings)
        if opening is None:
            return []
        return [
            Finding(
                "stock_opening",
                f"the story opens with the stock phrase '{opening}'; open on something "
                "specific to this story",
            )
        ]


def names_to_avoid(
    all_persona_names: Iterable[str],
    persona_name: str,
    extra: Iterable[str] = DEFAULT_OTHER_ASSISTANT_NAMES,
) -> tuple[str, ...]:
    """The names a story about `persona_name` must not use: the other name variants of
    the persona (so variant comparisons stay clean) and famous assistants."""
    names = dict.fromkeys(map(nfc, [*all_persona_names, *extra]))
    return tuple(name for name in names if name != nfc(persona_name))


def name_required(point_of_view: str) -> bool:
    """Whether a story told from `point_of_view` must call the AI by its name: not when
    the AI narrates ("I") or is the one addressed ("you"), where nothing in the telling
    calls for its name; the write prompt asks for the name exactly when this holds."""
    pov = point_of_view.lower()
    told_by_or_to_the_ai = ("first person" in pov or "second person" in pov) and bool(
        re.search(r"\bai\b", pov)
    )
    return not told_by_or_to_the_ai


@dataclass(frozen=True)
class NamesGate:
    """The persona is called by its drawn name (unless the point of view makes it "I" or
    "you", see `name_required`); no other variant or famous assistant is named."""

    name: str = "names"
    other_assistants: tuple[str, ...] = DEFAULT_OTHER_ASSISTANT_NAMES

    def check(self, text: str, item: ItemView) -> list[Finding]:
        persona_name = str(item.draw["persona_name"])
        others = names_to_avoid(item.inputs.persona.names, persona_name, self.other_assistants)
        pov = str(item.draw.get("axes", {}).get("point_of_view", ""))
        return name_findings(text, persona_name, others, name_required=name_required(pov))


#: The gates whose limits the write and revise prompts state, read from the gates.
STORY_LENGTH = LengthGate()
MONOLOGUE = MonologueGate()

STORY_GATES = (
    STORY_LENGTH,
    MONOLOGUE,
    ChatLeakGate(),
    PromptEchoGate(),
    STORY_PLACEHOLDERS,
    TruncationGate(),
    StockOpeningGate(),
    ConstitutionCopyGate(),
    NamesGate(),
    RepetitionGate(),
)


def is_below_band(text: str, length_band: str) -> bool:
    """True when the text is shorter than its band allows (the length gate's low side)."""
    return len(words(text)) < STORY_LENGTH.bounds(length_band)[0]


def check_story(
    text: str,
    *,
    persona_name: str,
    length_band: str,
    other_names: Iterable[str] = DEFAULT_OTHER_ASSISTANT_NAMES,
    constitution: str | None = None,
    stock_openings: Iterable[str] = DEFAULT_STOCK_OPENINGS,
    point_of_view: str = "",
) -> list[Finding]:
    """Every story gate's findings for one draft outside a run; [] means it passed.

    `other_names` are names the story must not use (by default famous assistants; add
    the persona's other name variants). `constitution` is the constitution's text, for
    the verbatim-copy check, which is skipped without it. `point_of_view` is the drawn
    one, which says whether the name must appear (`name_required`).
    """
    if not text.strip():
        return [Finding("length", "the draft is empty")]
    draw = {
        "persona_name": persona_name,
        "axes": {"length": length_band, "point_of_view": point_of_view},
    }
    item = ItemView("check_story", 0, draw, inputs=None, settings=None)
    findings: list[Finding] = []
    for gate in STORY_GATES:  # the two that read a run's inputs get the arguments instead
        if isinstance(gate, NamesGate):
            required = name_required(point_of_view)
            findings.extend(name_findings(text, persona_name, other_names, name_required=required))
        elif isinstance(gate, ConstitutionCopyGate):
            findings.extend(gate.check_against(text, constitution) if constitution else [])
        elif isinstance(gate, StockOpeningGate):
            findings.extend(replace(gate, openings=tuple(stock_openings)).check(text, item))
        else:
            findings.extend(gate.check(text, item))
    return findings
