"""Counting distinct values of a stream in constant memory (a k-minimum-values sketch).

`storyloom plan -n 10000000` must not hold ten million premises to say how many differ.
The sketch keeps the K smallest distinct 64-bit hashes: while fewer than K distinct
values were seen the count is exact (barring a 64-bit hash collision); beyond,
(K - 1) / (the K-th smallest hash as a fraction of the hash range) estimates it with a
relative error of about 1/sqrt(K) (0.4% at K = 65,536), and `exact` says which it is.
Values arrive as rows of small integers, a block at a time, and are hashed with numpy
and the 64-bit finaliser dedupe hashes with (`dedupe.hashing.mix64`).
"""

from __future__ import annotations

import numpy as np

from storyloom.dedupe.hashing import mix64

K = 1 << 16
_RANGE = float(1 << 64)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def row_hashes(rows: np.ndarray) -> np.ndarray:
    """One 64-bit hash per row of non-negative integers (order matters)."""
    hashes = np.zeros(len(rows), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in rows.T:
            hashes = mix64(hashes * _GOLDEN + column.astype(np.uint64) + np.uint64(1))
    return hashes


class DistinctCounter:
    def __init__(self, k: int = K) -> None:
        if k < 2:
            raise ValueError(f"k must be at least 2, got {k}")
        self.k = k
        self._kept = np.empty(0, dtype=np.uint64)  # sorted, distinct, at most k

    def add_rows(self, rows: np.ndarray) -> None:
        """Count every row of `rows` (a 2-D array of non-negative integers) as a value."""
        merged = np.unique(np.concatenate((self._kept, row_hashes(rows))))
        self._kept = merged[: self.k]

    @property
    def exact(self) -> bool:
        return len(self._kept) < self.k

    @property
    def count(self) -> int:
        if self.exact:
            return len(self._kept)
        return round((self.k - 1) / ((float(self._kept[-1]) + 1) / _RANGE))
