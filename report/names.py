"""Character names in a sample of documents, to see whether a corpus keeps reusing the
same few people.

With a trained English spaCy pipeline installed (`en_core_web_*`), names are its PERSON
entities. Without one (the default: nothing is downloaded), a heuristic stands in: a
capitalised word directly after a lower-case word, a comma, a semicolon or a colon (so
not the first word of a sentence, a heading or a quotation), that is not a stop word and
never appears in lower case in the same document ("Window" at a line start of a title is
not a name if "window" is used elsewhere). It misses names that only open sentences and
can take place names for people; the method is named in the report.

Either way, words that are never a person are left out: months, weekdays and their
abbreviations, a capitalised word right after a place preposition ("in England", "from
Leeds") and a word of an organisation's name ("the Turing Institute", "Acme Bank").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from storyloom.core.text import nfc
from storyloom.report.model import Names
from storyloom.report.summaries import ratio, top_shares

_MID_SENTENCE_CAPITAL = re.compile(r"(?<=[a-z0-9,;:] )([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b")
_LOWER_WORD = re.compile(r"\b[a-z][a-z'-]*\b")
_CALENDAR = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday "
    "friday saturday sunday mon tue tues wed thu thur thurs fri sat sun".split()
)
_ORGANISATION = frozenset(
    "institute university college school academy council committee ministry department "
    "office agency bank hospital clinic foundation court company corporation inc ltd "
    "association society union church museum library centre center group board".split()
)
#: A capitalised word after one of these is a place, not a person ("in England").
_PLACE_BEFORE = re.compile(
    r"\b(?:in|from|to|across|near|around|outside|inside|into|throughout|visiting)\s+"
    r"([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b"
)
#: Capitalised words next to an organisation's word ("Turing Institute", "Bank of Leeds").
_ORGANISATION_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:of|for|the)?\s*[A-Z][a-z]+)+\b")


def _not_people(body: str) -> set[str]:
    """The capitalised words of `body` that name a date, a place or an organisation."""
    excluded = {match.group(1) for match in _PLACE_BEFORE.finditer(body)}
    for match in _ORGANISATION_NAME.finditer(body):
        parts = re.findall(r"[A-Z][a-z]+", match.group(0))
        if any(part.lower() in _ORGANISATION for part in parts):
            excluded.update(parts)
    return excluded


def is_calendar_word(name: str) -> bool:
    return name.lower().rstrip(".") in _CALENDAR


TOP_NAMES = 15
HEURISTIC = (
    "heuristic: capitalised words after a lower-case word or , ; : that are not stop words "
    "and never appear in lower case in the same document"
)


def heuristic_names(body: str) -> set[str]:
    candidates = {match.group(1) for match in _MID_SENTENCE_CAPITAL.finditer(body)}
    from spacy.lang.en.stop_words import STOP_WORDS  # on first use, as every spaCy import

    candidates = {name for name in candidates if name.lower() not in STOP_WORDS}
    if not candidates:
        return set()
    lower = set(_LOWER_WORD.findall(body))
    excluded = _not_people(body)
    return {
        name
        for name in candidates
        if name.lower() not in lower
        and name not in excluded
        and not is_calendar_word(name)
        and name.lower() not in _ORGANISATION
    }


def trained_pipeline_name() -> str | None:
    """An installed trained English pipeline, smallest first (they are fastest)."""
    import spacy

    installed = set(spacy.util.get_installed_models())
    for size in ("sm", "md", "lg", "trf"):
        name = f"en_core_web_{size}"
        if name in installed:
            return name
    return None


def _ner_names(bodies: Sequence[str], pipeline: str) -> list[set[str]]:
    import spacy

    nlp: Any = spacy.load(pipeline, exclude=["lemmatizer", "parser", "attribute_ruler"])
    found: list[set[str]] = []
    for doc in nlp.pipe(bodies, batch_size=64):
        found.append(
            {
                ent.text.strip()
                for ent in doc.ents
                if ent.label_ == "PERSON" and not is_calendar_word(ent.text.strip())
            }
        )
    return found


def character_names(bodies: Sequence[str], exclude: Iterable[str]) -> Names:
    """Names counted once per document; `exclude` (the persona names) is left out because
    the AI character is meant to be in every story."""
    pipeline = trained_pipeline_name()
    if pipeline is not None:
        per_document = _ner_names(bodies, pipeline)
        method = f"spaCy NER ({pipeline}, PERSON entities)"
    else:
        per_document = [heuristic_names(body) for body in bodies]
        method = HEURISTIC
    skip = {nfc(name) for name in exclude}  # an NFD persona name is still the persona
    counter: Counter[str] = Counter()
    for names in per_document:
        counter.update(nfc(name) for name in names if nfc(name) not in skip)
    mentions = sum(counter.values())
    top = top_shares(counter, mentions, TOP_NAMES)
    return Names(
        method=method,
        distinct=len(counter),
        mentions=mentions,
        top=top,
        top_share=ratio(top[0].count, mentions) if top else None,
    )
