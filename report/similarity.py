"""Pairwise MinHash similarity over a sample of documents: how close unrelated stories
sit to each other, and how many pairs a dedupe threshold would have caught.

Signatures use datasketch directly (word 5-gram shingles, lower-cased, the shape the
workflow's story index uses), so the report does not depend on dedupe internals.
Pairs are drawn at random (seeded) when the sample has more pairs than `max_pairs`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xxhash
from datasketch import MinHash

from storyloom.report.model import Similarity
from storyloom.report.summaries import histogram, summarize

SHINGLE_WORDS = 5
NUM_PERM = 128
# Unrelated stories sit near 0, so the low end gets fine bins; the rest is coarse.
SIMILARITY_EDGES = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


def shingles(word_list: Sequence[str], size: int = SHINGLE_WORDS) -> set[bytes]:
    """Word `size`-grams of a document given as lower-case words."""
    if len(word_list) < size:
        return {" ".join(word_list).encode()} if word_list else set()
    grams = zip(*(word_list[i:] for i in range(size)), strict=False)
    return {" ".join(gram).encode() for gram in grams}


def signatures(documents: Sequence[Sequence[str]], seed: int = 1) -> np.ndarray:
    """xxh32 hashes the shingles (datasketch's default, SHA-1, is several times slower)."""
    rows = []
    for word_list in documents:
        minhash = MinHash(num_perm=NUM_PERM, seed=seed, hashfunc=xxhash.xxh32_intdigest)
        minhash.update_batch(list(shingles(word_list)))
        rows.append(minhash.hashvalues)
    return np.vstack(rows) if rows else np.zeros((0, NUM_PERM), dtype=np.uint64)


def _pairs(n: int, max_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair when there are few enough, else `max_pairs` distinct random pairs."""
    if n * (n - 1) // 2 <= max_pairs:
        left, right = np.triu_indices(n, k=1)
        return left, right
    rng = np.random.default_rng(seed)
    chosen: set[tuple[int, int]] = set()
    while len(chosen) < max_pairs:
        a = rng.integers(0, n, size=max_pairs)
        b = rng.integers(0, n, size=max_pairs)
        for x, y in zip(a.tolist(), b.tolist(), strict=True):
            if x != y and len(chosen) < max_pairs:
                chosen.add((min(x, y), max(x, y)))
    ordered = sorted(chosen)
    return np.array([p[0] for p in ordered]), np.array([p[1] for p in ordered])


def pairwise_similarity(
    documents: Sequence[Sequence[str]], *, threshold: float, max_pairs: int, seed: int = 0
) -> Similarity | None:
    if len(documents) < 2:
        return None
    matrix = signatures(documents)
    left, right = _pairs(len(documents), max_pairs, seed)
    estimates = (matrix[left] == matrix[right]).mean(axis=1)
    values = [float(value) for value in estimates]
    return Similarity(
        method=f"MinHash ({NUM_PERM} permutations) over word {SHINGLE_WORDS}-gram shingles",
        pairs=len(values),
        summary=summarize(values),
        histogram=histogram(values, SIMILARITY_EDGES),
        pairs_at_or_above_threshold=int((estimates >= threshold).sum()),
        threshold=threshold,
    )
