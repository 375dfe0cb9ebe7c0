"""Cheap deterministic checks run on every draft before the LLM judge.

They catch what a small model gets wrong most (repetition loops, chat-format leakage,
truncation) without spending a judge call on it, and their findings are handed to the
judge and the rewrite as concrete notes.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from storyloom.stories.inputs import LENGTH_BANDS

# Interior thought is marked the way fiction usually marks it: *in italics*.
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![*\w])")
_WORD = re.compile(r"[A-Za-z0-9']+")
_CHAT_ROLE = re.compile(
    r"^\s*(user|assistant|human|system|ai)\s*:|as an ai language model|<\|im_(start|end)\|>",
    re.IGNORECASE | re.MULTILINE,
)
_ENDS_CLEANLY = re.compile(r"[.!?\"'\u201d\u2019)*\u2026\]]\s*$")

# Gopher (Rae et al. 2021) repetition thresholds.
MAX_DUPLICATE_LINE_FRACTION = 0.30
MAX_DUPLICATE_PARAGRAPH_FRACTION = 0.30
MAX_TOP_BIGRAM_SHARE = 0.20
MAX_DUPLICATED_5GRAM_CHAR_FRACTION = 0.15
MIN_MONOLOGUE_SHARE = 0.03
LENGTH_TOLERANCE = 0.2


@dataclass(frozen=True)
class Finding:
    kind: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def monologue_share(text: str) -> float:
    """Fraction of the story's words that are marked interior thought."""
    total = len(words(text))
    inner = sum(len(words(match.group(1))) for match in _ITALIC.finditer(text))
    return inner / total if total else 0.0


def _duplicate_fraction(items: list[str]) -> float:
    items = [item.strip() for item in items if item.strip()]
    if not items:
        return 0.0
    counts = Counter(items)
    return sum(count for count in counts.values() if count > 1) / len(items)


def _top_bigram_share(tokens: list[str]) -> float:
    bigrams = Counter(itertools.pairwise(tokens))
    if not bigrams:
        return 0.0
    (first, second), count = bigrams.most_common(1)[0]
    return count * (len(first) + len(second)) / max(1, sum(len(t) for t in tokens))


def _duplicated_ngram_char_fraction(tokens: list[str], n: int = 5) -> float:
    if len(tokens) < n * 2:
        return 0.0
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    counts = Counter(grams)
    covered = [False] * len(tokens)
    for i, gram in enumerate(grams):
        if counts[gram] > 1:
            for j in range(i, i + n):
                covered[j] = True
    total = sum(len(t) for t in tokens)
    return sum(len(t) for t, hit in zip(tokens, covered, strict=True) if hit) / max(1, total)


def repetition_findings(text: str) -> list[Finding]:
    findings: list[Finding] = []
    tokens = [t.lower() for t in words(text)]
    checks = (
        ("duplicate_lines", _duplicate_fraction(text.splitlines()), MAX_DUPLICATE_LINE_FRACTION),
        (
            "duplicate_paragraphs",
            _duplicate_fraction(re.split(r"\n\s*\n", text)),
            MAX_DUPLICATE_PARAGRAPH_FRACTION,
        ),
        ("top_bigram", _top_bigram_share(tokens), MAX_TOP_BIGRAM_SHARE),
        (
            "duplicated_5grams",
            _duplicated_ngram_char_fraction(tokens),
            MAX_DUPLICATED_5GRAM_CHAR_FRACTION,
        ),
    )
    for name, value, limit in checks:
        if value > limit:
            findings.append(
                Finding("repetition", f"{name} is {value:.2f}, above the limit {limit:.2f}")
            )
    return findings


def check_story(text: str, *, persona_name: str, length_band: str) -> list[Finding]:
    """Every deterministic finding for one draft; an empty list means it passed."""
    findings: list[Finding] = []
    count = len(words(text))
    low, high = LENGTH_BANDS[length_band]
    if count < low * (1 - LENGTH_TOLERANCE) or count > high * (1 + LENGTH_TOLERANCE):
        findings.append(
            Finding("length", f"{count} words, outside the {length_band} band {low}-{high}")
        )
    share = monologue_share(text)
    if share < MIN_MONOLOGUE_SHARE:
        findings.append(
            Finding(
                "no_monologue",
                f"inner monologue (thought in *italics*) is {share:.1%} of the words; "
                f"show the character's thinking",
            )
        )
    if persona_name.lower() not in text.lower():
        findings.append(Finding("persona_name", f"the AI character is never named {persona_name}"))
    leak = _CHAT_ROLE.search(text)
    if leak:
        findings.append(
            Finding("chat_format", f"chat-format leakage: {leak.group(0).strip()!r}")
        )
    findings.extend(repetition_findings(text))
    if text.strip() and not _ENDS_CLEANLY.search(text):
        findings.append(Finding("truncated", "the story stops mid-sentence"))
    return findings
