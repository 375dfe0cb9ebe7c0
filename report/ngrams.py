"""Lexical diversity over a fixed-size sample of documents.

distinct-n (Li et al. 2016) is the number of different n-grams over the number of
n-grams. It falls as a corpus grows, so it is only comparable between corpora when
measured on the same number of documents: that is why it runs on the sample.
Repeated phrases are 4-grams counted once per document: a phrase in a large share of
documents that is not plain grammar ("took a deep breath", "a testament to the") is an
LLM tic worth seeing. Every function takes documents as lists of lower-case words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np

from storyloom.report.model import Share
from storyloom.report.summaries import ratio, top_shares

PHRASE_WORDS = 4
TOP_PHRASES = 20


def _grams(word_list: Sequence[str], n: int) -> Iterator[tuple[str, ...]]:
    return zip(*(word_list[i:] for i in range(n)), strict=False)


def _hashes(word_list: Sequence[str], n: int) -> np.ndarray:
    """The document's n-grams as 64-bit hashes: a collision among a few million n-grams is
    vanishingly unlikely, and arrays of ints keep the sample's memory small."""
    count = max(len(word_list) - n + 1, 0)
    return np.fromiter(map(hash, _grams(word_list, n)), dtype=np.int64, count=count)


def distinct_n(documents: Sequence[Sequence[str]], n: int) -> float | None:
    """Different n-grams / all n-grams; n-grams never cross a document boundary."""
    if not documents:
        return None
    hashes = np.concatenate([_hashes(word_list, n) for word_list in documents])
    return ratio(len(np.unique(hashes)), len(hashes))


def repeated_phrases(documents: Sequence[Sequence[str]]) -> list[Share]:
    """4-grams in at least two documents, not made only of stop words, by document count.
    Counted by hash; only the repeated ones are spelled out."""
    if not documents:
        return []
    from spacy.lang.en.stop_words import STOP_WORDS  # on first use, as every spaCy import

    per_document = [np.unique(_hashes(word_list, PHRASE_WORDS)) for word_list in documents]
    keys, counts = np.unique(np.concatenate(per_document), return_counts=True)
    repeated = dict(zip(keys[counts >= 2].tolist(), counts[counts >= 2].tolist(), strict=True))
    phrases: Counter[str] = Counter()
    for word_list in documents:
        for gram in _grams(word_list, PHRASE_WORDS):
            count = repeated.get(hash(gram))
            if count is not None and not all(word in STOP_WORDS for word in gram):
                phrases[" ".join(gram)] = count
    return top_shares(phrases, len(documents), TOP_PHRASES)
