"""Bucket keys to entry numbers in sorted numpy arrays, looked up many keys at a time.

`buckets.BucketTable` serves the workflow's one-text-at-a-time check-and-insert; here a whole
batch of documents is looked up with two `searchsorted` calls, which is what lets a corpus
be deduplicated at the speed its signatures are computed. New entries go to a small sorted
array merged into the main one once it holds an eighth of it, so an insert costs a pass
over the small array, not the whole table.
"""

from __future__ import annotations

import numpy as np

KEY_DTYPE = np.dtype("<u8")
NUMBER_DTYPE = np.dtype("<u4")
_MIN_MERGE = 1 << 16


def positions_in(keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index into `wanted`, position in `keys`) of every entry of sorted `keys` equal to a
    wanted key."""
    left = np.searchsorted(keys, wanted, side="left")
    right = np.searchsorted(keys, wanted, side="right")
    counts = right - left
    hits = np.flatnonzero(counts)
    if hits.size == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    counts = counts[hits]
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(hits, counts), np.repeat(left[hits], counts) + offsets


def matches_in(
    keys: np.ndarray, numbers: np.ndarray, wanted: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(index into `wanted`, number) of every entry of sorted `keys` equal to a wanted key."""
    at, positions = positions_in(keys, wanted)
    return at, numbers[positions]


def merge_sorted(
    keys: np.ndarray, numbers: np.ndarray, new_keys: np.ndarray, new_numbers: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (keys, numbers) with the sorted new ones inserted: one linear pass."""
    positions = np.searchsorted(keys, new_keys, side="right")
    return np.insert(keys, positions, new_keys), np.insert(numbers, positions, new_numbers)


class SortedTable:
    def __init__(self) -> None:
        self._keys = np.empty(0, KEY_DTYPE)
        self._numbers = np.empty(0, NUMBER_DTYPE)
        self._recent_keys = np.empty(0, KEY_DTYPE)
        self._recent_numbers = np.empty(0, NUMBER_DTYPE)

    def __len__(self) -> int:
        return self._keys.size + self._recent_keys.size

    def add_sorted(self, keys: np.ndarray, numbers: np.ndarray) -> None:
        """Insert entries whose `keys` are in ascending order."""
        self._recent_keys, self._recent_numbers = merge_sorted(
            self._recent_keys,
            self._recent_numbers,
            keys.astype(KEY_DTYPE, copy=False),
            numbers.astype(NUMBER_DTYPE, copy=False),
        )
        if self._recent_keys.size >= max(_MIN_MERGE, self._keys.size >> 3):
            self._keys, self._numbers = merge_sorted(
                self._keys, self._numbers, self._recent_keys, self._recent_numbers
            )
            self._recent_keys = np.empty(0, KEY_DTYPE)
            self._recent_numbers = np.empty(0, NUMBER_DTYPE)

    def lookup_sorted(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index into `wanted`, entry number) of every entry with a wanted key; `wanted` in
        ascending order walks the table in order, several times faster than random keys."""
        main = matches_in(self._keys, self._numbers, wanted)
        recent = matches_in(self._recent_keys, self._recent_numbers, wanted)
        return np.concatenate([main[0], recent[0]]), np.concatenate([main[1], recent[1]])

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All (keys, numbers), for spilling."""
        return (
            np.concatenate([self._keys, self._recent_keys]),
            np.concatenate([self._numbers, self._recent_numbers]),
        )
