"""The gates several corpus kinds share, and the measurements more than one gate takes.

A gate is a small frozen dataclass, as a datatrove filter is: its thresholds are fields
(so a kind configures them and the recipe fingerprint sees them) and `check(text, item)`
returns findings, each a kind and a message that the judge and the rewrite read as a
concrete note. They catch what a small model gets wrong most (repetition loops,
chat-format leakage, truncation, unfilled template slots) without spending a judge call.
A kind lists its gates as data in its own `gates.py`, beside the gates only it has.

Speed matters (gates run on every draft), so word-level statistics use a regex word
splitter, as Gopher-style filters do, and spaCy (loaded on first use by `stories.nlp`)
only segments the first and last paragraphs into sentences. Thresholds are tabled in
`stories/story/README.md`.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from types import MappingProxyType

from storyloom.core.text import nfc, words
from storyloom.stories.draws import LENGTH_BANDS
from storyloom.stories.kind import Finding, ItemView
from storyloom.stories.nlp import sentences

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# Interior thought is marked the way fiction usually marks it: *in italics* (single
# asterisks, within one line). Bold (**x**) and scene breaks (* * *) do not count.
_ITALIC = re.compile(r"(?<![*\w])\*(?![\s*])([^*\n]+?)(?<![\s*])\*(?![*\w])")
_CODE_FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)

#: A run of this many words shared with the constitution is copying, not writing.
MAX_COPIED_WORDS = 12

#: Names of real or famous AI systems; a text about the drawn AI should not drift into
#: them. Matched case-sensitively as whole words.
DEFAULT_OTHER_ASSISTANT_NAMES: tuple[str, ...] = (
    "Claude",
    "ChatGPT",
    "GPT-3",
    "GPT-4",
    "GPT-4o",
    "Gemini",
    "Bard",
    "Copilot",
    "Siri",
    "Alexa",
    "Cortana",
    "SmolLM",
    "Llama",
    "HAL 9000",
    "Skynet",
)

_ROLE_LABEL = re.compile(
    r"^[ \t>#*_]*(user|assistant|human|system|ai|bot|chatbot)[ \t*_]*:",
    re.IGNORECASE | re.MULTILINE,
)
_USER_ROLES = {"user", "human"}
_ASSISTANT_ROLES = {"assistant", "ai", "bot", "chatbot"}
_CHAT_PHRASES = re.compile(
    r"as an ai language model|as a large language model|<\|[a-z_]+\|>|</?s>|\[/?inst\]"
    r"|^#+\s*(instruction|response)\b",
    re.IGNORECASE | re.MULTILINE,
)
_PREAMBLE = re.compile(
    r"\A\s*(sure|certainly|of course|absolutely|okay|ok)\b[,!.]"
    r"|\A\s*here(?:'s| is) (?:a|an|the|your|my)\b",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"\b(i hope you enjoy(?:ed)?|let me know if you|feel free to ask|would you like me to)\b",
    re.IGNORECASE,
)
#: A line of dialogue: a character may well say "Let me know if you hear from her".
_QUOTED_SPEECH = re.compile(r"\"[^\"\n]*\"|\u201c[^\u201d\n]*\u201d")

#: Characters of the first/last paragraph handed to spaCy: enough for any opening or
#: closing sentence, and it keeps the gates fast on one-paragraph loops.
_SENTENCE_WINDOW = 600
_CLOSERS = "*_\"'\u201d\u2019)]\u00bb "
_OPENERS = "*_\"'\u201c\u2018([\u00ab "
_TERMINAL = (".", "!", "?", "\u2026")
_THE_END = re.compile(r"^[*_~\s-]*(the end|fin|end)[.!*_~\s-]*$", re.IGNORECASE)
_HEADER_LINE = re.compile(r"^\s*(#|title\s*:|\*\*[^*]+\*\*\s*$)", re.IGNORECASE)
_SIGNATURE = re.compile(r"^\s*[A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,2}\s*$")

# Gopher repetition (Rae et al. 2021, "Scaling Language Models", App. A): the n-gram
# sizes measured, and a text fails when a statistic is ABOVE its limit.
_TOP_NGRAM_SIZES = (2, 3, 4)
_DUPLICATED_NGRAM_SIZES = (5, 6, 7, 8, 9, 10)
#: Beyond Gopher, for short texts: the same long span three times is a loop even when it
#: is too small a share of the text to trip the fractions.
LOOP_SPAN_WORDS = 10
#: `RepetitionGate`'s default limits, by statistic of `repetition_metrics`, in the order
#: a finding lists them.
REPETITION_LIMITS: Mapping[str, float] = MappingProxyType(
    {
        "duplicate_line_fraction": 0.30,
        "duplicate_line_char_fraction": 0.20,
        "duplicate_paragraph_fraction": 0.30,
        "duplicate_paragraph_char_fraction": 0.20,
        "top_2gram_char_fraction": 0.20,
        "top_3gram_char_fraction": 0.18,
        "top_4gram_char_fraction": 0.16,
        "duplicated_5gram_char_fraction": 0.15,
        "duplicated_6gram_char_fraction": 0.14,
        "duplicated_7gram_char_fraction": 0.13,
        "duplicated_8gram_char_fraction": 0.12,
        "duplicated_9gram_char_fraction": 0.11,
        "duplicated_10gram_char_fraction": 0.10,
        "max_loop_span_repeats": 2,
    }
)


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]


def outside_code(text: str) -> str:
    """`text` without its fenced code blocks: quoted output, not the writer's prose."""
    return _CODE_FENCE.sub("", text)


@lru_cache(maxsize=8)
def monologue_share(text: str) -> float:
    """Fraction of the text's words that are marked interior thought (*italics*); the
    story's monologue gate and the report's per-document figure (kept for the last few
    texts: the gate and the record's metadata ask about the same draft)."""
    total = len(lower_words(text))
    # Joined by spaces, the thoughts' words are counted in one pass, none merged.
    inner = len(words(" ".join(match.group(1) for match in _ITALIC.finditer(text))))
    return inner / total if total else 0.0


def role_label(text: str) -> str | None:
    """The first role label ('User:', 'Assistant:', ...) opening a line of `text`, or None."""
    match = _ROLE_LABEL.search(text)
    return match.group(0).strip() if match else None


def reply_preamble(text: str) -> str | None:
    """The chat-reply opening ('Sure,', 'Here is the ...') `text` starts with, if any: a
    model talking about its output instead of giving it."""
    match = _PREAMBLE.search(text)
    return match.group(0).strip() if match else None


def _body_start(text: str) -> str:
    """The first paragraph of prose, past the title and framing headers."""
    for paragraph in paragraphs(text):
        first_line = paragraph.splitlines()[0]
        if _HEADER_LINE.match(first_line):
            rest = "\n".join(paragraph.splitlines()[1:]).strip()
            if rest:
                return rest
            continue
        if len(words(paragraph)) < 8 and not paragraph.rstrip(_CLOSERS).endswith(_TERMINAL):
            continue  # "Chapter Three", "March 4", "Dear Tomas,"
        return paragraph
    return ""


def stock_opening(text: str, openings: Iterable[str]) -> str | None:
    """The first of `openings` that the first sentence of `text`'s body (past its title
    and framing headers) starts with, case, leading quotes and curly apostrophes aside."""
    openings = tuple(openings)
    start = _body_start(text) if openings else ""
    if not start:
        return None
    head = start[:_SENTENCE_WINDOW]
    first = (sentences(head) or [head])[0]
    normal = " ".join(first.lower().lstrip(_OPENERS).replace("\u2019", "'").split())
    return next((opening for opening in openings if normal.startswith(opening.lower())), None)


@lru_cache(maxsize=64)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """One pass over the text for any of `names`, each as a whole word."""
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


def name_findings(
    text: str, name: str, other_names: Iterable[str], *, name_required: bool = True
) -> list[Finding]:
    """The AI is called `name` at least once (when `name_required`) and none of
    `other_names` appear."""
    # NFC on both sides: a name typed in NFD never matches a model's NFC text otherwise
    text, name, other_names = nfc(text), nfc(name), map(nfc, other_names)
    findings: list[Finding] = []
    if name_required and not _names_pattern((name,)).search(text):
        findings.append(Finding("persona_name", f"the AI character is never called {name} by name"))
    others = tuple(other for other in dict.fromkeys(other_names) if other != name)
    leaked = (
        list(dict.fromkeys(m.group(0) for m in _names_pattern(others).finditer(text)))
        if others
        else []
    )
    if leaked:
        findings.append(
            Finding(
                "other_name",
                f"the story names {', '.join(leaked)}; the AI character is {name} "
                "and no other assistant should be named",
            )
        )
    return findings


# --- repetition (Gopher) ----------------------------------------------------------------


def _duplicates(items: list[str]) -> tuple[float, float]:
    """(fraction of items, fraction of characters) that repeat an earlier item."""
    seen: set[str] = set()
    repeated = repeated_chars = 0
    for item in items:
        if item in seen:
            repeated += 1
            repeated_chars += len(item)
        else:
            seen.add(item)
    total_chars = sum(len(item) for item in items)
    return (repeated / len(items) if items else 0.0), (
        repeated_chars / total_chars if total_chars else 0.0
    )


@lru_cache(maxsize=8)
def lower_words(text: str) -> tuple[str, ...]:
    """`text`'s words, lower-cased: what the repetition and copying measures compare.
    Kept for the last few texts, as several gates read the same draft."""
    return tuple(t.lower() for t in words(text))


def _ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return list(zip(*(tokens[i:] for i in range(n)), strict=False))


def _top_ngram_char_fraction(tokens: Sequence[str], n: int, total_chars: int) -> float:
    """Characters in the most frequent n-gram, times its count, over all word characters."""
    counts = Counter(_ngrams(tokens, n))
    if not counts:
        return 0.0
    gram, count = counts.most_common(1)[0]
    if count < 2:
        return 0.0
    return count * sum(len(t) for t in gram) / total_chars


def _duplicated_ngram_char_fraction(
    tokens: Sequence[str], n: int, total_chars: int, prefix_chars: list[int]
) -> float:
    """Characters in n-grams that repeat an earlier n-gram, scanned without overlap."""
    grams = _ngrams(tokens, n)
    if len(set(grams)) == len(grams):
        return 0.0  # the common case, decided in C
    seen: set[tuple[str, ...]] = set()
    repeated_chars = 0
    i = 0
    while i < len(grams):
        gram = grams[i]
        if gram in seen:
            repeated_chars += prefix_chars[i + n] - prefix_chars[i]
            i += n
        else:
            seen.add(gram)
            i += 1
    return repeated_chars / total_chars


def repetition_metrics(text: str) -> dict[str, float]:
    """Every repetition statistic of `REPETITION_LIMITS`, measured on `text`."""
    lines = [line.strip() for line in text.splitlines() if re.search(r"[A-Za-z]", line)]
    line_fraction, line_chars = _duplicates(lines)
    paragraph_fraction, paragraph_chars = _duplicates(paragraphs(text))
    tokens = lower_words(text)
    prefix_chars = [0, *itertools.accumulate(len(t) for t in tokens)]
    total_chars = max(1, prefix_chars[-1])
    metrics = {
        "duplicate_line_fraction": line_fraction,
        "duplicate_line_char_fraction": line_chars,
        "duplicate_paragraph_fraction": paragraph_fraction,
        "duplicate_paragraph_char_fraction": paragraph_chars,
    }
    for n in _TOP_NGRAM_SIZES:
        metrics[f"top_{n}gram_char_fraction"] = _top_ngram_char_fraction(tokens, n, total_chars)
    # A longer n-gram repeats only where a shorter one does: with no 5-gram repeated (the
    # common case, decided in one pass) every longer statistic is 0 and no span repeats.
    shortest = _DUPLICATED_NGRAM_SIZES[0]
    grams = _ngrams(tokens, shortest)
    any_repeat = len(set(grams)) < len(grams)
    for n in _DUPLICATED_NGRAM_SIZES:
        metrics[f"duplicated_{n}gram_char_fraction"] = (
            _duplicated_ngram_char_fraction(tokens, n, total_chars, prefix_chars)
            if any_repeat
            else 0.0
        )
    if any_repeat:
        spans = Counter(_ngrams(tokens, LOOP_SPAN_WORDS))
        metrics["max_loop_span_repeats"] = float(max(spans.values(), default=0))
    else:
        metrics["max_loop_span_repeats"] = 1.0 if len(tokens) >= LOOP_SPAN_WORDS else 0.0
    return metrics


# --- copying the constitution -----------------------------------------------------------


@lru_cache(maxsize=8)
def _constitution_ngrams(constitution: str, n: int) -> frozenset[tuple[str, ...]]:
    return frozenset(_ngrams(lower_words(constitution), n))


def longest_copied_span(text: str, constitution: str, minimum: int = MAX_COPIED_WORDS) -> str:
    """The longest run of >= `minimum` words the text shares with the constitution, or ''."""
    known = _constitution_ngrams(constitution, minimum)
    tokens = lower_words(text)
    best = (0, 0)
    i = 0
    while i + minimum <= len(tokens):
        if tuple(tokens[i : i + minimum]) in known:
            end = i + minimum
            while end < len(tokens) and tuple(tokens[end - minimum + 1 : end + 1]) in known:
                end += 1
            if end - i > best[1] - best[0]:
                best = (i, end)
            i = end
        else:
            i += 1
    return " ".join(tokens[best[0] : best[1]])


# --- the gates ---------------------------------------------------------------------------


def accepted_words(low: int, high: int, tolerance: float) -> tuple[int, int]:
    """The fewest and the most words a length gate lets through for the band `low`-`high`
    give or take `tolerance` of its ends."""
    return math.ceil(low * (1 - tolerance)), math.floor(high * (1 + tolerance))


def length_limit(low: int, high: int, tolerance: float) -> str:
    """The writer's length line: the band to aim for, and what the gate rejects."""
    fewest, most = accepted_words(low, high, tolerance)
    return f"Length: {low} to {high} words (under {fewest} or over {most} is rejected)."


@dataclass(frozen=True)
class LengthGate:
    """The text's words within its drawn length band (`draw["axes"]["length"]`), give or
    take `tolerance` of the band's ends."""

    name: str = "length"
    tolerance: float = 0.2

    def bounds(self, band: str) -> tuple[int, int]:
        """The fewest and the most words the gate lets through for `band`."""
        return accepted_words(*LENGTH_BANDS[band], self.tolerance)

    def stated(self, band: str) -> str:
        """The length line a writer is given for `band`."""
        return length_limit(*LENGTH_BANDS[band], self.tolerance)

    def check(self, text: str, item: ItemView) -> list[Finding]:
        band = str(item.draw["axes"]["length"])
        count = len(words(text))
        low, high = LENGTH_BANDS[band]
        fewest, most = self.bounds(band)
        if count < fewest:
            return [Finding("length", f"{count} words, too short for the {band} band {low}-{high}")]
        if count > most:
            return [Finding("length", f"{count} words, too long for the {band} band {low}-{high}")]
        return []


@dataclass(frozen=True)
class ChatLeakGate:
    """Chat format in a prose document: a role label at a line's start, chat phrases and
    special tokens, an assistant's preamble ('Sure!') or sign-off ('I hope you enjoyed')
    outside a character's quoted speech."""

    name: str = "chat_leak"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        last = paragraphs(text)[-1:] or [""]
        sign_off = _SIGN_OFF.search(_QUOTED_SPEECH.sub("", last[0]))
        chat_phrase = _CHAT_PHRASES.search(text)
        leaks = [
            leak
            for leak in (
                self._role_label(text),
                chat_phrase.group(0).strip() if chat_phrase else None,
                reply_preamble(text),
                sign_off.group(0) if sign_off else None,
            )
            if leak
        ]
        if not leaks:
            return []
        quoted = ", ".join(repr(leak) for leak in leaks)
        return [
            Finding(
                "chat_format",
                f"chat-format leakage ({quoted}); write a prose document, not a chat reply",
            )
        ]

    @staticmethod
    def _role_label(text: str) -> str | None:
        """A chat role label, but not quoted system, tool or log output: `System:` lines
        alone are a console or log the text quotes, and labels inside a fenced code block
        are quoted output, unless the text holds a transcript (a user-side and an
        assistant-side label both), which stays leakage wherever it is."""
        labels = [(m.group(1).lower(), m.group(0).strip()) for m in _ROLE_LABEL.finditer(text)]
        roles = {role for role, _ in labels}
        if roles & _USER_ROLES and roles & _ASSISTANT_ROLES:
            return next(label for role, label in labels if role != "system")
        for match in _ROLE_LABEL.finditer(outside_code(text)):
            if match.group(1).lower() != "system":
                return match.group(0).strip()
        return None


@dataclass(frozen=True, kw_only=True)
class PlaceholderGate:
    """Template slots the writer left unfilled (`[Name]`, `<insert ...>`, `TODO`). What
    is a slot and what is material differs by kind (a story may quote `[REDACTED]`, a
    document cites `[1]`), so each kind configures: `pattern` (a regex, flags inline),
    whether fenced code is skipped, how many slots the finding quotes, and what it
    `ask`s for instead."""

    name: str = "placeholder"
    pattern: str
    skip_code: bool
    quoted: int
    ask: str

    @cached_property
    def _slot(self) -> re.Pattern[str]:
        return re.compile(self.pattern)

    def check(self, text: str, item: ItemView) -> list[Finding]:
        scanned = outside_code(text) if self.skip_code else text
        found = list(dict.fromkeys(m.group(0) for m in self._slot.finditer(scanned)))
        if not found:
            return []
        shown = ", ".join(repr(slot) for slot in found[: self.quoted])
        return [Finding("placeholder", f"unfilled placeholder(s) {shown}; {self.ask}")]


@dataclass(frozen=True)
class TruncationGate:
    """The text ends on a finished sentence (spaCy finds the last one): not mid-sentence
    and not inside an open *italic* thought. A closing "The End" and a letter's
    signature and valediction are skipped."""

    name: str = "truncation"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        all_paragraphs = paragraphs(text)
        if not all_paragraphs:
            return [Finding("truncated", "the story is empty")]
        last = all_paragraphs[-1]
        if _THE_END.match(last) and len(all_paragraphs) > 1:
            last = all_paragraphs[-2]
        last = self._without_signature(last, all_paragraphs)
        if self._unclosed_italics(last):
            return [Finding("truncated", "the story stops inside an unclosed *italic* thought")]
        tail = last[-_SENTENCE_WINDOW:]  # only the last sentence matters; keep spaCy's input small
        final_sentence = (sentences(tail) or [tail])[-1]
        if not final_sentence.rstrip(_CLOSERS).endswith(_TERMINAL):
            words_at_end = " ".join(final_sentence.split()[-8:])
            return [Finding("truncated", f"the story stops mid-sentence: '...{words_at_end}'")]
        return []

    @staticmethod
    def _unclosed_italics(paragraph: str) -> bool:
        marks = re.sub(r"\*\*|^\s*\*\s|\*(?:\s\*)+", "", paragraph, flags=re.MULTILINE)
        return marks.count("*") % 2 == 1

    @staticmethod
    def _without_signature(last: str, all_paragraphs: list[str]) -> str:
        """A letter ends on its signature ('Wren', 'With care,\nWren'), not a sentence: the
        text to judge is what comes before the name and its valediction."""
        lines = last.splitlines()
        if not _SIGNATURE.match(lines[-1]):
            return last
        lines = lines[:-1]
        while lines and lines[-1].rstrip().endswith(","):
            lines = lines[:-1]  # "With care,"
        if lines:
            return "\n".join(lines)
        earlier = all_paragraphs[:-1]
        if not earlier:
            return last
        previous = earlier[-1].splitlines()
        while previous and previous[-1].rstrip().endswith(",") and len(previous) > 1:
            previous = previous[:-1]
        if previous and previous[-1].rstrip().endswith(","):
            return "\n".join(earlier[-2:-1]) or last
        return "\n".join(previous)


@dataclass(frozen=True)
class ConstitutionCopyGate:
    """No run of `max_copied_words` or more words copied from the constitution; the
    finding `ask`s for the principle in the writer's own words."""

    name: str = "constitution_copy"
    max_copied_words: int = MAX_COPIED_WORDS
    ask: str = "let the character put the principle in its own words"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        return self.check_against(text, item.inputs.constitution.as_markdown())

    def check_against(self, text: str, constitution: str) -> list[Finding]:
        """The check against a constitution's text given directly (outside a run)."""
        span = longest_copied_span(text, constitution, self.max_copied_words)
        if not span:
            return []
        return [
            Finding(
                "constitution_copy",
                f"{len(span.split())} words copied from the constitution ('{span[:80]}...'); "
                + self.ask,
            )
        ]


@dataclass(frozen=True)
class RepetitionGate:
    """Gopher-style duplicate line, paragraph and n-gram fractions and a repeated long
    span (`repetition_metrics`), each against its limit."""

    name: str = "repetition"
    limits: dict[str, float] = field(default_factory=lambda: dict(REPETITION_LIMITS))

    def check(self, text: str, item: ItemView) -> list[Finding]:
        metrics = repetition_metrics(text)
        over = [
            f"{name.replace('_', ' ')} {metrics[name]:.2f} > {limit:.2f}"
            for name, limit in self.limits.items()
            if metrics[name] > limit
        ]
        if not over:
            return []
        return [
            Finding(
                "repetition",
                "the text repeats itself (a generation loop): "
                + "; ".join(over)
                + ". Cut the repeats and move the story forward",
            )
        ]
