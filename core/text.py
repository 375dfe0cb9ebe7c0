"""What a word is, for every length and count the tool reports (gates, metadata, stats).

Dedupe has its own normalised tokens (`storyloom.dedupe.normalise.tokens`): bytes,
case-folded, with contractions split, because near-duplicate detection wants spelling
variants to collide. The two are deliberately different units.
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[A-Za-z0-9]+(?:['\u2019][A-Za-z]+)*")


def words(text: str) -> list[str]:
    """The words of `text` (contractions count as one), the unit of every length."""
    return _WORD.findall(text)


def nfc(text: str) -> str:
    """`text` in Unicode NFC, the form every comparison of names and text uses: `Zoë`
    typed as `Zoe` + U+0308 (NFD, as some editors and file systems write it) and the
    model's one-character `ë` are then the same string."""
    return unicodedata.normalize("NFC", text)
