"""Text normalisation before shingling: one cheap pass so that case, punctuation and
Unicode spelling variants do not hide a near-duplicate.

The result is UTF-8 bytes in which every word is separated by ASCII spaces. Working on bytes
lets the shingler find word boundaries and hash words with numpy instead of Python loops.
"""

from __future__ import annotations

import unicodedata

# ASCII letters and digits are word bytes (letters lower-cased); all other ASCII is a
# separator. Bytes >= 0x80 (the rest of a UTF-8 character) stay inside words.
_ASCII_TABLE = bytes(
    (ord(chr(code).lower()) if chr(code).isalnum() else 0x20) if code < 0x80 else code
    for code in range(256)
)

# Unicode punctuation that texts use all the time (typographic quotes, dashes, bullets).
# Other non-ASCII symbols stay glued to their word, which is harmless: the same symbol is
# glued the same way in both documents being compared.
_UNICODE_SEPARATORS = tuple(
    char.encode()
    for char in "\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2013\u2014\u2015\u2026"
    "\u2022\u00ab\u00bb\u2039\u203a\u00b7\u00a1\u00bf\u3000\u3001\u3002"
)


def normalise(text: str) -> bytes:
    """Lower-cased UTF-8 words separated by spaces (separators may repeat)."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_TABLE)
    text = unicodedata.normalize("NFKC", text).casefold()
    data = text.encode("utf-8")
    for separator in _UNICODE_SEPARATORS:
        if separator in data:
            data = data.replace(separator, b" ")
    return data.translate(_ASCII_TABLE)


def tokens(text: str) -> list[bytes]:
    """The dedupe tokens of `text` after normalisation, in order: case-folded bytes with
    contractions split. Lengths and counts use `storyloom.core.text.words` instead."""
    return normalise(text).split()
