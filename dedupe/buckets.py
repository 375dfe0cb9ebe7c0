"""The LSH bucket table of an in-process index: bucket key -> entry numbers, compactly.

A Python dict costs about 100 bytes per (entry, band), which with 42 bands is 4 KB per
document, more than the signature itself. Here new entries go to a small dict and are
merged, once it holds an eighth of the table, into two parallel sorted numpy arrays (8-byte
key, 4-byte entry number): about 12 bytes per (entry, band). Lookups binary-search the
arrays and consult the dict.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_MIN_MERGE = 1 << 16


class BucketTable:
    def __init__(self, min_merge: int = _MIN_MERGE) -> None:
        if min_merge < 1:
            raise ValueError(f"min_merge must be at least 1, got {min_merge}")
        self._min_merge = min_merge
        self._sorted_keys = np.empty(0, dtype=np.uint64)
        self._sorted_numbers = np.empty(0, dtype=np.int32)
        self._recent: dict[int, int | list[int]] = {}
        self._recent_count = 0

    def add(self, bucket_keys: Sequence[int], number: int) -> None:
        recent = self._recent
        for bucket in bucket_keys:
            found = recent.get(bucket)
            if found is None:
                recent[bucket] = number
            elif isinstance(found, int):
                recent[bucket] = [found, number]
            else:
                found.append(number)
        self._recent_count += len(bucket_keys)
        if self._recent_count >= max(self._min_merge, self._sorted_keys.size >> 3):
            self._merge()

    def lookup(self, bucket_keys: Sequence[int]) -> set[int]:
        """Entry numbers sharing at least one bucket with `bucket_keys`."""
        numbers: set[int] = set()
        recent = self._recent
        for bucket in bucket_keys:
            found = recent.get(bucket)
            if found is None:
                continue
            if isinstance(found, int):
                numbers.add(found)
            else:
                numbers.update(found)
        if self._sorted_keys.size:
            wanted = np.fromiter(bucket_keys, dtype=np.uint64, count=len(bucket_keys))
            left = np.searchsorted(self._sorted_keys, wanted, side="left")
            right = np.searchsorted(self._sorted_keys, wanted, side="right")
            for start, stop in zip(left.tolist(), right.tolist(), strict=True):
                if stop > start:
                    numbers.update(self._sorted_numbers[start:stop].tolist())
        return numbers

    def _merge(self) -> None:
        keys: list[int] = []
        numbers: list[int] = []
        for bucket, found in self._recent.items():
            if isinstance(found, int):
                keys.append(bucket)
                numbers.append(found)
            else:
                keys.extend([bucket] * len(found))
                numbers.extend(found)
        new_keys = np.array(keys, dtype=np.uint64)
        new_numbers = np.array(numbers, dtype=np.int32)
        order = np.argsort(new_keys, kind="stable")
        new_keys, new_numbers = new_keys[order], new_numbers[order]
        # Inserting sorted runs into sorted arrays is one linear pass, not a full re-sort.
        positions = np.searchsorted(self._sorted_keys, new_keys, side="right")
        self._sorted_keys = np.insert(self._sorted_keys, positions, new_keys)
        self._sorted_numbers = np.insert(self._sorted_numbers, positions, new_numbers)
        self._recent = {}
        self._recent_count = 0
