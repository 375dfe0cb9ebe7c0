"""Lexical diversity over a fixed-size sample of documents.

distinct-n (Li et al. 2016) is the number of different n-grams over the number of
n-grams. It falls as a corpus grows, so it is only comparable between corpora when
measured on the same number of documents: that is why it runs on the sample.
Repeated phrases are 4-grams counted once per document: a phrase in a large share of
documents that is not plain grammar ("took a deep breath", "a testament to the") is an
LLM tic worth seeing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from spacy.lang.en.stop_words import STOP_WORDS

from storyloom.report.model import Share
from storyloom.report.summaries import ratio, top_shares

PHRASE_WORDS = 4
TOP_PHRASES = 20


def distinct_n(documents: Sequence[Sequence[str]], n: int) -> float | None:
    """Different n-grams / all n-grams; n-grams never cross a document boundary."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for word_list in documents:
        lowered = [word.lower() for word in word_list]
        grams = [tuple(lowered[i : i + n]) for i in range(len(lowered) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return ratio(len(seen), total)


def repeated_phrases(documents: Sequence[Sequence[str]]) -> list[Share]:
    """4-grams in at least two documents, not made only of stop words, by document count."""
    counter: Counter[str] = Counter()
    for word_list in documents:
        lowered = [word.lower() for word in word_list]
        grams = {
            tuple(lowered[i : i + PHRASE_WORDS]) for i in range(len(lowered) - PHRASE_WORDS + 1)
        }
        counter.update(
            " ".join(gram) for gram in grams if not all(word in STOP_WORDS for word in gram)
        )
    repeated = Counter({phrase: count for phrase, count in counter.items() if count >= 2})
    return top_shares(repeated, len(documents), TOP_PHRASES)
