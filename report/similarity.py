"""Pairwise similarity over a sample of documents, measured the way the run's dedupe
measures it: how close unrelated documents sit to each other, and how many pairs dedupe
would have flagged.

Signatures come from dedupe's own `MinHasher` (with the run's item shingle size and the
index's slots and seed) and similarities from dedupe's `similarity`, so a figure here is
the estimate dedupe compared. A pair counts as "at or above the threshold" exactly when
the run's near-duplicate index would flag one text of it against the other: both in the
same dedupe group, an LSH candidate (a band in common, with the layout dedupe derives from
the threshold), and verified by dedupe's `best_match`. Pairs are drawn at random (seeded)
when the sample has more pairs than `max_pairs`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from storyloom.dedupe.index import NearDuplicateIndex
from storyloom.dedupe.signatures import similarity
from storyloom.dedupe.verify import best_match
from storyloom.graph.indexes import ITEM_SHINGLE_SIZE
from storyloom.report.model import Similarity
from storyloom.report.summaries import histogram, summarize

# Unrelated texts sit near 0, so the low end gets fine bins; the rest is coarse.
SIMILARITY_EDGES = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
_SIGN_BATCH = 256  # texts signed together: numpy's overhead amortised, memory bounded


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


def _flagged(
    index: NearDuplicateIndex,
    matrix: np.ndarray,
    groups: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
) -> int:
    """Pairs the run's index would call near-duplicates (LSH candidates, then verified)."""
    buckets = index.bucket_keys(matrix)
    candidate = (groups[left] == groups[right]) & (buckets[left] == buckets[right]).any(axis=1)
    threshold = index.threshold
    return sum(
        best_match(matrix[a], ["earlier"], matrix[b][np.newaxis], threshold) is not None
        for a, b in zip(left[candidate].tolist(), right[candidate].tolist(), strict=True)
    )


def pairwise_similarity(
    texts: Sequence[str],
    groups: Sequence[int],
    *,
    threshold: float,
    max_pairs: int,
    seed: int = 0,
) -> Similarity | None:
    """`texts` as dedupe sees them (the kind's `dedupe_text`), `groups` their dedupe groups."""
    if len(texts) < 2:
        return None
    index = NearDuplicateIndex(threshold=threshold, shingle_size=ITEM_SHINGLE_SIZE)
    hasher = index.hasher
    matrix = np.vstack(
        [
            hasher.signatures(texts[start : start + _SIGN_BATCH])
            for start in range(0, len(texts), _SIGN_BATCH)
        ]
    )
    left, right = _pairs(len(texts), max_pairs, seed)
    estimates = np.atleast_1d(similarity(matrix[left], matrix[right]))
    values = [float(value) for value in estimates]
    return Similarity(
        method=(
            f"dedupe's MinHash ({hasher.num_perm} slots) over word {hasher.shingle_size}-gram "
            "shingles of the normalised text; at or above the threshold: pairs the run's "
            "dedupe would flag (same dedupe group, LSH candidate, verified)"
        ),
        pairs=len(values),
        summary=summarize(values),
        histogram=histogram(values, SIMILARITY_EDGES),
        pairs_at_or_above_threshold=_flagged(index, matrix, np.asarray(groups), left, right),
        threshold=threshold,
    )
