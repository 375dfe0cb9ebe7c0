"""Cheap deterministic checks run on every draft before the LLM judge.

They catch what a small model gets wrong most (repetition loops, chat-format leakage,
truncation, the wrong name) without spending a judge call on it, and their findings are
handed to the judge and the rewrite as concrete notes. Every threshold is a module
constant, documented in `stories/README.md`.

Speed matters (gates run on every draft), so word-level statistics use a regex word
splitter, as Gopher-style filters do, and spaCy only segments the first and last
paragraphs into sentences.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from storyloom.core.text import nfc, words
from storyloom.stories.draws import LENGTH_BANDS
from storyloom.stories.kind import Finding, ItemView
from storyloom.stories.nlp import sentences

# Interior thought is marked the way fiction usually marks it: *in italics* (single
# asterisks, within one line). Bold (**x**) and scene breaks (* * *) do not count.
_ITALIC = re.compile(r"(?<![*\w])\*(?![\s*])([^*\n]+?)(?<![\s*])\*(?![*\w])")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")

LENGTH_TOLERANCE = 0.2
MIN_MONOLOGUE_SHARE = 0.03
MAX_MONOLOGUE_SHARE = 0.60

# Gopher repetition thresholds (Rae et al. 2021, "Scaling Language Models", App. A):
# a document fails when a fraction is ABOVE its limit.
MAX_DUPLICATE_LINE_FRACTION = 0.30
MAX_DUPLICATE_PARAGRAPH_FRACTION = 0.30
MAX_DUPLICATE_LINE_CHAR_FRACTION = 0.20
MAX_DUPLICATE_PARAGRAPH_CHAR_FRACTION = 0.20
MAX_TOP_NGRAM_CHAR_FRACTION = {2: 0.20, 3: 0.18, 4: 0.16}
MAX_DUPLICATED_NGRAM_CHAR_FRACTION = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
# Beyond Gopher, for short texts: the same long span three times is a loop even when it
# is too small a share of the story to trip the fractions above.
LOOP_SPAN_WORDS = 10
MAX_LOOP_SPAN_REPEATS = 2

#: A run of this many words shared with the constitution is copying, not storytelling.
MAX_COPIED_WORDS = 12

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

#: Names of real or famous AI systems; a story about the persona should not drift into
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
_CODE_FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)
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
_PROMPT_ECHO = re.compile(
    r"^[ \t*_#]*(logline|situation|conflict|beats|emotional arc|premise|draws"
    r"|what the ai values and why|constitution sections in play|length)[ \t*_]*:",
    re.IGNORECASE | re.MULTILINE,
)
_SIGN_OFF = re.compile(
    r"\b(i hope you enjoy(?:ed)?|let me know if you|feel free to ask|would you like me to)\b",
    re.IGNORECASE,
)

#: Characters of the first/last paragraph handed to spaCy: enough for any opening or
#: closing sentence, and it keeps the gates fast on one-paragraph loops.
_SENTENCE_WINDOW = 600
_CLOSERS = "*_\"'\u201d\u2019)]\u00bb "
_OPENERS = "*_\"'\u201c\u2018([\u00ab "
_TERMINAL = (".", "!", "?", "\u2026")
_THE_END = re.compile(r"^[*_~\s-]*(the end|fin|end)[.!*_~\s-]*$", re.IGNORECASE)
_HEADER_LINE = re.compile(r"^\s*(#|title\s*:|\*\*[^*]+\*\*\s*$)", re.IGNORECASE)


def monologue_share(text: str) -> float:
    """Fraction of the story's words that are marked interior thought (*italics*)."""
    total = len(words(text))
    inner = sum(len(words(match.group(1))) for match in _ITALIC.finditer(text))
    return inner / total if total else 0.0


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]


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


def _ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return list(zip(*(tokens[i:] for i in range(n)), strict=False))


def _top_ngram_char_fraction(tokens: list[str], n: int, total_chars: int) -> float:
    """Characters in the most frequent n-gram, times its count, over all word characters."""
    counts = Counter(_ngrams(tokens, n))
    if not counts:
        return 0.0
    gram, count = counts.most_common(1)[0]
    if count < 2:
        return 0.0
    return count * sum(len(t) for t in gram) / total_chars


def _duplicated_ngram_char_fraction(
    tokens: list[str], n: int, total_chars: int, prefix_chars: list[int]
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


def _max_span_repeats(tokens: list[str], n: int) -> int:
    counts = Counter(_ngrams(tokens, n))
    return max(counts.values(), default=0)


def repetition_metrics(text: str) -> dict[str, float]:
    """Every repetition statistic the gate compares with its threshold."""
    lines = [line.strip() for line in text.splitlines() if re.search(r"[A-Za-z]", line)]
    line_fraction, line_chars = _duplicates(lines)
    paragraph_fraction, paragraph_chars = _duplicates(paragraphs(text))
    tokens = [t.lower() for t in words(text)]
    prefix_chars = [0, *itertools.accumulate(len(t) for t in tokens)]
    total_chars = max(1, prefix_chars[-1])
    metrics = {
        "duplicate_line_fraction": line_fraction,
        "duplicate_line_char_fraction": line_chars,
        "duplicate_paragraph_fraction": paragraph_fraction,
        "duplicate_paragraph_char_fraction": paragraph_chars,
    }
    for n in MAX_TOP_NGRAM_CHAR_FRACTION:
        metrics[f"top_{n}gram_char_fraction"] = _top_ngram_char_fraction(tokens, n, total_chars)
    for n in MAX_DUPLICATED_NGRAM_CHAR_FRACTION:
        metrics[f"duplicated_{n}gram_char_fraction"] = _duplicated_ngram_char_fraction(
            tokens, n, total_chars, prefix_chars
        )
    metrics["max_loop_span_repeats"] = float(_max_span_repeats(tokens, LOOP_SPAN_WORDS))
    return metrics


def repetition_limits() -> dict[str, float]:
    limits = {
        "duplicate_line_fraction": MAX_DUPLICATE_LINE_FRACTION,
        "duplicate_line_char_fraction": MAX_DUPLICATE_LINE_CHAR_FRACTION,
        "duplicate_paragraph_fraction": MAX_DUPLICATE_PARAGRAPH_FRACTION,
        "duplicate_paragraph_char_fraction": MAX_DUPLICATE_PARAGRAPH_CHAR_FRACTION,
    }
    for n, limit in MAX_TOP_NGRAM_CHAR_FRACTION.items():
        limits[f"top_{n}gram_char_fraction"] = limit
    for n, limit in MAX_DUPLICATED_NGRAM_CHAR_FRACTION.items():
        limits[f"duplicated_{n}gram_char_fraction"] = limit
    limits["max_loop_span_repeats"] = MAX_LOOP_SPAN_REPEATS
    return limits


def repetition_findings(text: str, limits: dict[str, float] | None = None) -> list[Finding]:
    metrics = repetition_metrics(text)
    over = [
        f"{name.replace('_', ' ')} {metrics[name]:.2f} > {limit:.2f}"
        for name, limit in (limits or repetition_limits()).items()
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


# --- the other gates ----------------------------------------------------------------------


def _length_finding(
    text: str, length_band: str, tolerance: float = LENGTH_TOLERANCE
) -> Finding | None:
    count = len(words(text))
    low, high = LENGTH_BANDS[length_band]
    if count < low * (1 - tolerance):
        return Finding(
            "length", f"{count} words, too short for the {length_band} band {low}-{high}"
        )
    if count > high * (1 + tolerance):
        return Finding("length", f"{count} words, too long for the {length_band} band {low}-{high}")
    return None


def is_below_band(text: str, length_band: str) -> bool:
    """True when the text is shorter than its band allows (the length gate's low side)."""
    return len(words(text)) < LENGTH_BANDS[length_band][0] * (1 - LENGTH_TOLERANCE)


def _monologue_finding(
    text: str, low: float = MIN_MONOLOGUE_SHARE, high: float = MAX_MONOLOGUE_SHARE
) -> Finding | None:
    share = monologue_share(text)
    if share < low:
        return Finding(
            "no_monologue",
            f"inner monologue (thought in *italics*) is {share:.1%} of the words, under "
            f"{low:.0%}; show what the character thinks and feels",
        )
    if share > high:
        return Finding(
            "monologue_heavy",
            f"{share:.0%} of the words are in *italics*; keep italics for thoughts and let "
            "the rest be scene and action",
        )
    return None


@lru_cache(maxsize=64)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """One pass over the text for any of `names`, each as a whole word."""
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


def _name_findings(text: str, persona_name: str, other_names: Iterable[str]) -> list[Finding]:
    # NFC on both sides: a name typed in NFD never matches a model's NFC text otherwise
    text, persona_name, other_names = nfc(text), nfc(persona_name), map(nfc, other_names)
    findings: list[Finding] = []
    if not _names_pattern((persona_name,)).search(text):
        findings.append(
            Finding("persona_name", f"the AI character is never called {persona_name} by name")
        )
    others = tuple(name for name in dict.fromkeys(other_names) if name != persona_name)
    leaked = (
        list(dict.fromkeys(m.group(0) for m in _names_pattern(others).finditer(text)))
        if others
        else []
    )
    if leaked:
        findings.append(
            Finding(
                "other_name",
                f"the story names {', '.join(leaked)}; the AI character is {persona_name} "
                "and no other assistant should be named",
            )
        )
    return findings


def _role_label_leak(text: str) -> str | None:
    """A chat role label, but not quoted system, tool or log output: `System:` lines
    alone are a console or log the story quotes, and labels inside a fenced code block
    are quoted output, unless the text holds a transcript (a user-side and an
    assistant-side label both), which stays leakage wherever it is."""
    labels = [(m.group(1).lower(), m.group(0).strip()) for m in _ROLE_LABEL.finditer(text)]
    roles = {role for role, _ in labels}
    if roles & _USER_ROLES and roles & _ASSISTANT_ROLES:
        return next(label for role, label in labels if role != "system")
    for match in _ROLE_LABEL.finditer(_CODE_FENCE.sub("", text)):
        if match.group(1).lower() != "system":
            return match.group(0).strip()
    return None


def _chat_finding(text: str) -> Finding | None:
    leaks: list[str] = []
    role_label = _role_label_leak(text)
    if role_label:
        leaks.append(role_label)
    for pattern in (_CHAT_PHRASES, _PREAMBLE):
        match = pattern.search(text)
        if match:
            leaks.append(match.group(0).strip())
    last = paragraphs(text)[-1:] or [""]
    sign_off = _SIGN_OFF.search(last[0])
    if sign_off:
        leaks.append(sign_off.group(0))
    if not leaks:
        return None
    quoted = ", ".join(repr(leak) for leak in leaks)
    return Finding(
        "chat_format",
        f"chat-format leakage ({quoted}); write a prose document, not a chat reply",
    )


def _prompt_echo_finding(text: str) -> Finding | None:
    """Small models copy the prompt's labels ('Situation:', 'Beats:') into the story."""
    match = _PROMPT_ECHO.search(text)
    if not match:
        return None
    return Finding(
        "prompt_echo",
        f"the story repeats a prompt label ({match.group(0).strip()!r}); tell the story "
        "instead of restating the premise",
    )


def _unclosed_italics(paragraph: str) -> bool:
    marks = re.sub(r"\*\*|^\s*\*\s|\*(?:\s\*)+", "", paragraph, flags=re.MULTILINE)
    return marks.count("*") % 2 == 1


_SIGNATURE = re.compile(r"^\s*[A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,2}\s*$")


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


def _truncation_finding(text: str) -> Finding | None:
    last_paragraphs = paragraphs(text)
    if not last_paragraphs:
        return Finding("truncated", "the story is empty")
    last = last_paragraphs[-1]
    if _THE_END.match(last) and len(last_paragraphs) > 1:
        last = last_paragraphs[-2]
    last = _without_signature(last, last_paragraphs)
    if _unclosed_italics(last):
        return Finding("truncated", "the story stops inside an unclosed *italic* thought")
    tail = last[-_SENTENCE_WINDOW:]  # only the last sentence matters; keep spaCy's input small
    final_sentence = (sentences(tail) or [tail])[-1]
    if not final_sentence.rstrip(_CLOSERS).endswith(_TERMINAL):
        words_at_end = " ".join(final_sentence.split()[-8:])
        return Finding("truncated", f"the story stops mid-sentence: '...{words_at_end}'")
    return None


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


def _stock_opening_finding(text: str, stock_openings: Iterable[str]) -> Finding | None:
    start = _body_start(text)
    if not start:
        return None
    head = start[:_SENTENCE_WINDOW]
    first = (sentences(head) or [head])[0]
    normal = " ".join(first.lower().lstrip(_OPENERS).replace("\u2019", "'").split())
    for opening in stock_openings:
        if normal.startswith(opening.lower()):
            return Finding(
                "stock_opening",
                f"the story opens with the stock phrase '{opening}'; open on something "
                "specific to this story",
            )
    return None


@lru_cache(maxsize=8)
def _constitution_ngrams(constitution: str, n: int) -> frozenset[tuple[str, ...]]:
    tokens = [t.lower() for t in words(constitution)]
    return frozenset(_ngrams(tokens, n))


def longest_copied_span(text: str, constitution: str, minimum: int = MAX_COPIED_WORDS) -> str:
    """The longest run of >= `minimum` words the text shares with the constitution, or ''."""
    known = _constitution_ngrams(constitution, minimum)
    tokens = [t.lower() for t in words(text)]
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


def _copy_finding(
    text: str, constitution: str | None, minimum: int = MAX_COPIED_WORDS
) -> Finding | None:
    if not constitution:
        return None
    span = longest_copied_span(text, constitution, minimum)
    if not span:
        return None
    return Finding(
        "constitution_copy",
        f"{len(span.split())} words copied from the constitution ('{span[:80]}...'); let "
        "the character put the principle in its own words",
    )


def check_story(
    text: str,
    *,
    persona_name: str,
    length_band: str,
    other_names: Iterable[str] = DEFAULT_OTHER_ASSISTANT_NAMES,
    constitution: str | None = None,
    stock_openings: Iterable[str] = DEFAULT_STOCK_OPENINGS,
) -> list[Finding]:
    """Every deterministic finding for one draft; an empty list means it passed.

    `other_names` are names the story must not use (by default famous assistants; add
    the persona's other name variants). `constitution` is the constitution's text, for
    the verbatim-copy check, which is skipped without it.
    """
    if not text.strip():
        return [Finding("length", "the draft is empty")]
    checks: list[Finding | None] = [
        _length_finding(text, length_band),
        _monologue_finding(text),
        _chat_finding(text),
        _prompt_echo_finding(text),
        placeholder_finding(text),
        _truncation_finding(text),
        _stock_opening_finding(text, stock_openings),
        _copy_finding(text, constitution),
    ]
    findings = [finding for finding in checks if finding is not None]
    findings.extend(_name_findings(text, persona_name, other_names))
    findings.extend(repetition_findings(text))
    return findings


def names_to_avoid(
    all_persona_names: Iterable[str],
    persona_name: str,
    extra: Iterable[str] = DEFAULT_OTHER_ASSISTANT_NAMES,
) -> tuple[str, ...]:
    """The names a story about `persona_name` must not use: the other name variants of
    the persona (so variant comparisons stay clean) and famous assistants."""
    names = dict.fromkeys(map(nfc, [*all_persona_names, *extra]))
    return tuple(name for name in names if name != nfc(persona_name))


# --- placeholders ------------------------------------------------------------------------

#: Template slots a model left unfilled: `[Name]`, `[Your Name]`, `[insert date]`,
#: `<insert ...>`, `<name>`, `{name}`, `TODO:` (a line's first word, or before a colon; a
#: story may well mention "the TODO" in prose). All-caps brackets such as
#: `[REDACTED]` or log levels (`[WARN]`) are story material, and so is anything inside a
#: fenced code block (a coding agent's diff may well hold a TODO).
_PLACEHOLDER = re.compile(
    r"\[(?:insert|add|your|enter)\b[^\]\n]{0,40}\]"
    r"|\[[A-Z][a-z]+(?: [A-Z][a-z]+){0,3}\](?!\()"
    r"|<(?:insert|add|your|enter)\b[^>\n]{0,40}>"
    r"|<(?:name|date|company|city|place|title)>"
    r"|\{\{?\s*[a-z_]+\s*\}?\}"
    r"|\b(?:TODO|TBD|FIXME)\b(?=\s*[:\]])|^[ \t]*(?:TODO|TBD|FIXME)\b",
    re.MULTILINE,
)


def placeholder_finding(text: str) -> Finding | None:
    """Unfilled template slots outside fenced code (see `_PLACEHOLDER`)."""
    found = list(
        dict.fromkeys(m.group(0) for m in _PLACEHOLDER.finditer(_CODE_FENCE.sub("", text)))
    )
    if not found:
        return None
    quoted = ", ".join(repr(slot) for slot in found[:5])
    return Finding(
        "placeholder",
        f"unfilled placeholder(s) {quoted}; invent the specific detail instead",
    )


def reply_preamble(text: str) -> str | None:
    """The chat-reply opening ('Sure,', 'Here is the ...') `text` starts with, if any: a
    model talking about its output instead of giving it."""
    match = _PREAMBLE.search(text)
    return match.group(0).strip() if match else None


def name_findings(text: str, name: str, other_names: Iterable[str]) -> list[Finding]:
    """The AI is called `name` at least once and none of `other_names` appear (public,
    for kinds other than the story kind)."""
    return _name_findings(text, name, other_names)


# --- public wrappers, for kinds whose text is not one story --------------------------------


def role_label(text: str) -> str | None:
    """The first role label ('User:', 'Assistant:', ...) opening a line of `text`, or None."""
    match = _ROLE_LABEL.search(text)
    return match.group(0).strip() if match else None


def stock_opening(text: str, openings: Iterable[str]) -> str | None:
    """The stock phrase `text` opens with, matched as the stock-opening gate matches, or None."""
    for opening in openings:
        if _stock_opening_finding(text, (opening,)):
            return opening
    return None


# --- the shared gates: small objects, thresholds as fields --------------------------


def _band(item: ItemView) -> str:
    return str(item.draw["axes"]["length"])


@dataclass(frozen=True)
class LengthGate:
    name: str = "length"
    tolerance: float = LENGTH_TOLERANCE

    def check(self, text: str, item: ItemView) -> list[Finding]:
        found = _length_finding(text, _band(item), self.tolerance)
        return [found] if found else []


@dataclass(frozen=True)
class ChatLeakGate:
    """Role labels, chat phrases and assistant preambles: document format only."""

    name: str = "chat_leak"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        found = _chat_finding(text)
        return [found] if found else []


@dataclass(frozen=True)
class PlaceholderGate:
    """`[Name]`, `TODO`, `<insert ...>`: a template slot the model left unfilled."""

    name: str = "placeholder"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        found = placeholder_finding(text)
        return [found] if found else []


@dataclass(frozen=True)
class TruncationGate:
    name: str = "truncation"

    def check(self, text: str, item: ItemView) -> list[Finding]:
        found = _truncation_finding(text)
        return [found] if found else []


@dataclass(frozen=True)
class StockOpeningGate:
    name: str = "stock_opening"
    openings: tuple[str, ...] = DEFAULT_STOCK_OPENINGS

    def check(self, text: str, item: ItemView) -> list[Finding]:
        found = _stock_opening_finding(text, self.openings)
        return [found] if found else []


@dataclass(frozen=True)
class ConstitutionCopyGate:
    name: str = "constitution_copy"
    max_copied_words: int = MAX_COPIED_WORDS

    def check(self, text: str, item: ItemView) -> list[Finding]:
        constitution = item.inputs.constitution.as_markdown()
        found = _copy_finding(text, constitution, self.max_copied_words)
        return [found] if found else []


@dataclass(frozen=True)
class RepetitionGate:
    """Gopher-style duplicate line, paragraph and n-gram fractions."""

    name: str = "repetition"
    limits: dict[str, float] = field(default_factory=repetition_limits)

    def check(self, text: str, item: ItemView) -> list[Finding]:
        return repetition_findings(text, self.limits)
