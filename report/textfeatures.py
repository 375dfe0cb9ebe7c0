"""Cheap per-document text features, computed for every document in one pass.

A "word" is what the workflow's own gates count (`storyloom.core.text.words`), so the
report's word counts agree with the length gate. Openings are measured on the
body: a rendered document starts with its title and a framing label ("Fiction", "From a
diary"), which would otherwise be every document's "opening".
"""

from __future__ import annotations

import re

from storyloom.core.text import words

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"[.!?\"'\u201d\u2019)*\u2026\]]\s*$")
MAX_HEADING_WORDS = 12
EDGE_GRAM = 3


def split_body(text: str) -> str:
    """The text without leading heading-like paragraphs (short, no sentence-ending mark)."""
    paragraphs = _PARAGRAPH_BREAK.split(text.strip())
    for position, paragraph in enumerate(paragraphs):
        stripped = paragraph.strip()
        if _SENTENCE_END.search(stripped) or len(words(stripped)) > MAX_HEADING_WORDS:
            return "\n\n".join(paragraphs[position:])
    return text.strip()


def opening(body_words: list[str]) -> str:
    return " ".join(word.lower() for word in body_words[:EDGE_GRAM])


def closing(body_words: list[str]) -> str:
    return " ".join(word.lower() for word in body_words[-EDGE_GRAM:])
