"""Verification: LSH only proposes candidates; this decides, against the threshold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from storyloom.dedupe.signatures import similarity


@dataclass(frozen=True)
class Match:
    """An earlier entry a text duplicates, with the estimated Jaccard similarity."""

    key: str
    similarity: float


def best_match(
    signature: np.ndarray,
    candidate_keys: Sequence[str],
    candidate_signatures: np.ndarray,
    threshold: float,
) -> Match | None:
    """The most similar candidate at or above `threshold` (the first one on ties), if any."""
    if not candidate_keys:
        return None
    scores = np.atleast_1d(similarity(signature, candidate_signatures))
    best = int(np.argmax(scores))
    score = float(scores[best])
    # Slot agreement counts are exact fractions; compare with a hair of tolerance so that
    # 0.4 written by a user and 51/128 computed here are not split by float rounding.
    if score + 1e-12 < threshold:
        return None
    return Match(key=candidate_keys[best], similarity=score)
