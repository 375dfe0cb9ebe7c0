"""Word k-shingles as 64-bit hashes, computed for a whole batch of documents at once.

Building shingle strings in Python is the real cost of naive MinHash (about a microsecond per
shingle, before any hashing). Here each word is hashed once, inside numpy, straight from the
normalised bytes (a polynomial hash read off one prefix sum over the buffer, so there is no
per-word Python work), and a shingle's hash is an order-sensitive combination of its k word
hashes, all modulo 2**64 (B is the FNV-64 prime):

    word hash    = mix64(sum(byte[p] * B**p for p < len(word)) ^ seed key ^ length * C)
    shingle hash = mix64(sum(word_hash[i + j] * SHINGLE_MULTIPLIERS[j] for j < k))

A document with fewer than k words (but at least one) has one shingle made of all its words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from storyloom.dedupe.hashing import mix64, mix64_int, odd_constants

WORD_BASE = 0x100000001B3  # the FNV-64 prime
LENGTH_MULTIPLIER = 0x9E3779B97F4A7C15
_SEGMENT_BYTES = 1 << 18  # longer buffers are hashed in pieces cut at spaces
_SPACE = 0x20
#: Each word of a shingle has its own multiplier, built one by one: a size in the billions
#: would spin for ever before hashing anything (no text has shingles that long).
MAX_SHINGLE_SIZE = 1 << 16


def _powers(base: int, count: int) -> np.ndarray:
    """base**0 .. base**(count - 1) modulo 2**64, built by doubling rather than a Python loop."""
    powers = np.ones(1, dtype=np.uint64)
    while powers.size < count:
        step = np.uint64(pow(base, powers.size, 1 << 64))
        powers = np.concatenate([powers, powers * step])
    return powers[:count]


# Position p of the buffer carries B**p; dividing by B**start (multiplying by the inverse,
# B is odd) moves a word's sum back to positions counted from the word's first byte.
_POWERS = _powers(WORD_BASE, _SEGMENT_BYTES + 2)
_INVERSE_POWERS = _powers(pow(WORD_BASE, -1, 1 << 64), _SEGMENT_BYTES + 2)


def seed_key(seed: int) -> int:
    """The per-seed value mixed into every word hash."""
    return mix64_int(seed * 0xD6E8FEB86659FD93 + 0x2545F4914F6CDD1D)


def shingle_multipliers(shingle_size: int) -> list[int]:
    return odd_constants(shingle_size, salt=0x5EED)


@dataclass(frozen=True)
class ShingleBatch:
    """Shingle hashes of several documents; `doc_index[i]` says whose `hashes[i]` is."""

    hashes: np.ndarray  # uint64
    doc_index: np.ndarray  # intp, non-decreasing
    documents: int


class Shingler:
    """Hashes word k-shingles of normalised texts (see `storyloom.dedupe.normalise`)."""

    def __init__(self, *, shingle_size: int, seed: int) -> None:
        if not 1 <= shingle_size <= MAX_SHINGLE_SIZE:
            raise ValueError(
                f"shingle_size must be between 1 and {MAX_SHINGLE_SIZE}, got {shingle_size}"
            )
        self.shingle_size = shingle_size
        self.seed = seed
        self._seed_key = np.uint64(seed_key(seed))
        self._multipliers = np.array(shingle_multipliers(shingle_size), dtype=np.uint64)

    def word_hashes(self, data: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(start offset, hash) of every space-separated word in `data`."""
        if len(data) <= _SEGMENT_BYTES:
            return self._segment_word_hashes(data)
        starts, hashes, offset = [], [], 0
        while offset < len(data):
            cut = (
                len(data)
                if len(data) - offset <= _SEGMENT_BYTES
                else (
                    data.rfind(b" ", offset, offset + _SEGMENT_BYTES) + 1 or offset + _SEGMENT_BYTES
                )
            )
            segment_starts, segment_hashes = self._segment_word_hashes(data[offset:cut])
            starts.append(segment_starts + offset)
            hashes.append(segment_hashes)
            offset = cut
        return np.concatenate(starts), np.concatenate(hashes)

    def _segment_word_hashes(self, data: bytes) -> tuple[np.ndarray, np.ndarray]:
        # Padding with a space on each side makes word edges alternate start, end, start...
        buffer = np.frombuffer(b" " + data + b" ", dtype=np.uint8)
        is_word = buffer != _SPACE
        edges = np.flatnonzero(is_word[1:] != is_word[:-1]) + 1
        starts, ends = edges[0::2], edges[1::2]
        prefix = np.cumsum(buffer * _POWERS[: buffer.size], dtype=np.uint64)
        raw = (prefix[ends - 1] - prefix[starts - 1]) * _INVERSE_POWERS[starts]
        lengths = (ends - starts).astype(np.uint64)
        hashes = mix64(raw ^ self._seed_key ^ (lengths * np.uint64(LENGTH_MULTIPLIER)))
        return starts - 1, hashes

    def batch(self, normalised: Sequence[bytes]) -> ShingleBatch:
        """Shingle hashes of each normalised document, in document order."""
        documents = len(normalised)
        data = b" ".join(normalised)
        starts, words = self.word_hashes(data)
        offsets = np.cumsum([0] + [len(item) + 1 for item in normalised[:-1]], dtype=np.intp)
        word_doc = np.searchsorted(offsets, starts, side="right") - 1
        counts = np.bincount(word_doc, minlength=documents)
        k = self.shingle_size
        hashes, doc_index = [], []
        if words.size >= k:
            span = words.size - k + 1
            combined = words[:span] * self._multipliers[0]
            for offset in range(1, k):
                combined += words[offset : offset + span] * self._multipliers[offset]
            inside_one_doc = word_doc[:span] == word_doc[k - 1 :]
            hashes.append(mix64(combined[inside_one_doc]))
            doc_index.append(word_doc[:span][inside_one_doc])
        short_docs = np.flatnonzero((counts > 0) & (counts < k))
        if short_docs.size:
            first_word = np.searchsorted(word_doc, short_docs)
            for doc, first in zip(short_docs.tolist(), first_word.tolist(), strict=True):
                count = int(counts[doc])
                combined = (words[first : first + count] * self._multipliers[:count]).sum(
                    dtype=np.uint64
                )
                hashes.append(mix64(np.array([combined], dtype=np.uint64)))
                doc_index.append(np.array([doc], dtype=np.intp))
        if not hashes:
            return ShingleBatch(np.empty(0, np.uint64), np.empty(0, np.intp), documents)
        all_hashes = np.concatenate(hashes)
        all_docs = np.concatenate(doc_index)
        if short_docs.size:
            order = np.argsort(all_docs, kind="stable")
            all_hashes, all_docs = all_hashes[order], all_docs[order]
        return ShingleBatch(all_hashes, all_docs, documents)
