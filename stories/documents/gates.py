"""The documents kind's gates. Most are shared (`stories.gates`: length band, chat
leakage, copied constitution spans, repetition); the rest are about documents: speaker
labels (a dialogue format only where the document type has speakers), the shared
placeholder gate with a document's idea of a slot, and truncation that lets a document
end on a list (references, exercises).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storyloom.core.text import words
from storyloom.stories import gates as shared
from storyloom.stories.documents.catalog import document_type
from storyloom.stories.gates import DEFAULT_OTHER_ASSISTANT_NAMES, name_findings, paragraphs
from storyloom.stories.kind import Finding, ItemView

# "Name:", "**Dr Okafor:**", "> quietfox:" at the start of a line, followed by speech.
_LABEL = re.compile(
    r"^[ \t>*_]*([A-Za-z][\w.'\-]*(?:[ \t][A-Za-z][\w.'\-]*){0,2})[ \t*_]*:(?!//)[ \t*_]*\S",
    re.MULTILINE,
)
#: Labels real documents of every type use for fields, not speakers (compared in lower
#: case, with a trailing plural "s" or number dropped: "Exercises", "Step 2").
FIELD_LABELS = frozenset(
    (
        "note|hint|answer|question|solution|example|exercise|definition|summary|tip|warning"
        "|caution|source|see also|reference|background|recommendation|subject|to|from|date"
        "|cc|re|impact|status|action|owner|step|figure|table|key point|takeaway|result"
        "|update|edit|timeline|cause|root cause|lesson|bottom line"
    ).split("|")
)

#: Template slots a writer left unfilled: a short bracket holding one of these words
#: (`[Name]`, `[Your organisation]`; not a link), `<insert ...>`, `{name}`, an upper-case
#: TODO/TBD/FIXME/XXX, lorem ipsum. `[1]`, `[laughs]` and `[citation needed]` are a
#: document's own material, and a code block is checked like the rest.
_PLACEHOLDER_WORDS = (
    "name|date|insert|your|placeholder|organi[sz]ation|location|city|author|link|url|email|number"
)
DOCUMENT_PLACEHOLDERS = shared.PlaceholderGate(
    pattern=r"(?i)"
    rf"\[(?=[^\]\n]{{0,40}}\])(?![^\]\n]*:)[^\]\n]*\b(?:{_PLACEHOLDER_WORDS})\b[^\]\n]*\](?!\()"
    r"|<\s*(?:insert|name|date|your)\b[^>\n]{0,40}>"
    r"|\{\{?\s*[a-z_]+\s*\}?\}"
    r"|\b(?-i:TODO|TBD|FIXME|XXX)\b"
    r"|\blorem ipsum\b",
    skip_code=False,
    quoted=4,
    ask="give every name, date and detail a concrete invented value",
)
_LIST_ITEM = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")
_TERMINAL = (".", "!", "?", "\u2026", ":", ")", '"', "\u201d", "*")


def speaker_labels(text: str) -> dict[str, int]:
    """Lines opened by each speaker-like label (field labels such as 'Note:' excluded)."""
    counts: dict[str, int] = {}
    for match in _LABEL.finditer(text):
        label = match.group(1).strip().lower()
        if label in FIELD_LABELS or label.rstrip("s0123456789 ") in FIELD_LABELS:
            continue
        counts[label] = counts.get(label, 0) + 1
    return counts


@dataclass(frozen=True)
class SpeakerLabelGate:
    """Dialogue turns ("Interviewer: ...") only where the document type has speakers: at
    least `min_speakers` labels each opening `min_turns` lines is a dialogue."""

    name: str = "speaker_labels"
    min_speakers: int = 2
    min_turns: int = 2

    def check(self, text: str, item: ItemView) -> list[Finding]:
        kind = document_type(str(item.draw["axes"]["document_type"]))
        if kind.speaker_labels:
            return []
        recurring = {label: n for label, n in speaker_labels(text).items() if n >= self.min_turns}
        if len(recurring) < self.min_speakers:
            return []
        shown = ", ".join(f"'{label}:'" for label in sorted(recurring)[:4])
        return [
            Finding(
                "speaker_labels",
                f"speaker labels ({shown}) make this a transcript; a {kind.label} is "
                "continuous prose: report what people said in sentences or quotation marks",
            )
        ]


@dataclass(frozen=True)
class DocumentTruncationGate:
    """A document may end on a list (see also, references, exercises): a short item or
    one ending in punctuation is a finished list; prose endings get the story check."""

    name: str = "truncation"
    short_item_words: int = 8

    def check(self, text: str, item: ItemView) -> list[Finding]:
        last = (paragraphs(text) or [""])[-1]
        lines = [line for line in last.splitlines() if line.strip()]
        if lines and _LIST_ITEM.match(lines[-1]):
            final = lines[-1].strip()
            if len(words(final)) <= self.short_item_words or final.endswith(_TERMINAL):
                return []
            tail = " ".join(final.split()[-8:])
            return [Finding("truncated", f"the document stops mid-item: '...{tail}'")]
        return shared.TruncationGate().check(text, item)


@dataclass(frozen=True)
class IdentityNameGate:
    """The documents are about the identity's AI: it is named, and no famous assistant
    is named in its place (the name an AI is given changes how a model takes it in)."""

    name: str = "names"
    other_assistants: tuple[str, ...] = DEFAULT_OTHER_ASSISTANT_NAMES

    def check(self, text: str, item: ItemView) -> list[Finding]:
        identity = str(item.draw["identity_name"])
        return name_findings(text, identity, self.other_assistants)


#: The length gate, whose band and limits the write and revise prompts state.
DOCUMENT_LENGTH = shared.LengthGate()

DOCUMENT_GATES = (
    DOCUMENT_LENGTH,
    shared.ChatLeakGate(),
    SpeakerLabelGate(),
    DOCUMENT_PLACEHOLDERS,
    DocumentTruncationGate(),
    shared.ConstitutionCopyGate(),
    IdentityNameGate(),
    shared.RepetitionGate(),
)
