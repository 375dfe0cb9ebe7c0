"""Counting distinct values of a stream in constant memory (a k-minimum-values sketch).

`storyloom plan -n 10000000` must not hold ten million premises to say how many differ.
The sketch keeps the K smallest distinct 64-bit hashes: while fewer than K distinct
values were seen the count is exact; beyond, (K - 1) / (the K-th smallest hash as a
fraction of the hash range) estimates it with a relative error of about 1/sqrt(K)
(0.4% at K = 65,536), and `exact` says which it is.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Hashable

K = 1 << 16
_RANGE = float(1 << 64)


class DistinctCounter:
    def __init__(self, k: int = K) -> None:
        if k < 2:
            raise ValueError(f"k must be at least 2, got {k}")
        self.k = k
        self._heap: list[int] = []  # negated: the largest kept hash on top
        self._kept: set[int] = set()

    def add(self, value: Hashable) -> None:
        digest = hashlib.blake2b(repr(value).encode(), digest_size=8).digest()
        hashed = int.from_bytes(digest, "big")
        if hashed in self._kept:
            return
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, -hashed)
            self._kept.add(hashed)
        elif hashed < -self._heap[0]:
            self._kept.discard(-heapq.heappushpop(self._heap, -hashed))
            self._kept.add(hashed)

    @property
    def exact(self) -> bool:
        return len(self._heap) < self.k

    @property
    def count(self) -> int:
        if self.exact:
            return len(self._heap)
        return round((self.k - 1) / ((-self._heap[0] + 1) / _RANGE))
