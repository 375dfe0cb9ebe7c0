"""Where an index keeps its signatures and LSH buckets: in this process, or shared (Redis).

A store's one job is to run "look up candidates, let the caller decide, insert if nothing
matched" as one atomic step, so two texts that duplicate each other can never both get in,
whatever the threads or workers do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import numpy as np

from storyloom.dedupe.buckets import BucketTable
from storyloom.dedupe.journal import Journal
from storyloom.dedupe.verify import Match

# Given candidate keys and their signatures, the caller says which one (if any) is a match.
Decide = Callable[[Sequence[str], np.ndarray], Match | None]
# One text to check and insert: its key, signature, LSH bucket keys and match rule.
Candidate = tuple[str, np.ndarray, Sequence[int], Decide]


class SignatureStore(Protocol):
    def __len__(self) -> int: ...

    def __contains__(self, key: object) -> bool: ...

    def find(self, bucket_keys: Sequence[int], decide: Decide) -> Match | None: ...

    def check_and_insert(
        self, key: str, signature: np.ndarray, bucket_keys: Sequence[int], decide: Decide
    ) -> Match | None:
        """Return the match `decide` finds, or insert and return None; a key already
        inside returns None and changes nothing."""
        ...

    def check_and_insert_many(self, candidates: Sequence[Candidate]) -> list[Match | None]:
        """`check_and_insert` of each candidate in turn (a later one can match an earlier)."""
        ...

    def insert(self, key: str, signature: np.ndarray, bucket_keys: Sequence[int]) -> bool:
        """Insert without looking for matches; False when the key was already inside."""
        ...


class MemoryStore:
    """Signatures in one growing numpy array, buckets in a compact `BucketTable`,
    optionally journaled."""

    def __init__(
        self, num_perm: int, journal: Journal | None = None, buckets: BucketTable | None = None
    ) -> None:
        self._num_perm = num_perm
        self._journal = journal
        self._keys: list[str] = []
        self._numbers: dict[str, int] = {}
        self._signatures = np.empty((64, num_perm), dtype=np.uint64)
        self._buckets = buckets if buckets is not None else BucketTable()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._numbers

    def entries(self) -> Iterator[tuple[str, np.ndarray]]:
        """(key, signature) in insertion order, as a snapshot."""
        with self._lock:
            keys = list(self._keys)
            signatures = self._signatures[: len(keys)].copy()
        return zip(keys, signatures, strict=True)

    def load(
        self,
        entries: Iterator[tuple[str, np.ndarray]],
        bucket_keys: Callable[[np.ndarray], Sequence[int]],
    ) -> None:
        """Fill from journaled entries (a key seen twice keeps its first signature)."""
        for key, signature in entries:
            if key not in self._numbers:
                self._add(key, signature, bucket_keys(signature))

    def find(self, bucket_keys: Sequence[int], decide: Decide) -> Match | None:
        with self._lock:
            return self._find(bucket_keys, decide)

    def check_and_insert(
        self, key: str, signature: np.ndarray, bucket_keys: Sequence[int], decide: Decide
    ) -> Match | None:
        return self.check_and_insert_many([(key, signature, bucket_keys, decide)])[0]

    def check_and_insert_many(self, candidates: Sequence[Candidate]) -> list[Match | None]:
        """`check_and_insert` of each candidate in turn, the journal lines of those that go
        in written as one append and one fsync before any of them is inserted: durable
        first, and a failed write inserts none of them."""
        with self._lock:
            accepted: list[tuple[str, np.ndarray, Sequence[int]]] = []
            group = MemoryStore(self._num_perm)  # what this call accepted, checked too
            matches: list[Match | None] = []
            for key, signature, bucket_keys, decide in candidates:
                match = None
                if key not in self._numbers and key not in group:
                    match = self._find_with(group, bucket_keys, decide)
                    if match is None:
                        group._add(key, signature, bucket_keys)
                        accepted.append((key, signature, bucket_keys))
                matches.append(match)
            if accepted and self._journal is not None:
                self._journal.append_many((key, signature) for key, signature, _ in accepted)
            for key, signature, bucket_keys in accepted:
                self._add(key, signature, bucket_keys)
            return matches

    def insert(self, key: str, signature: np.ndarray, bucket_keys: Sequence[int]) -> bool:
        with self._lock:
            if key in self._numbers:
                return False
            self._record(key, signature, bucket_keys)
            return True

    def _find(self, bucket_keys: Sequence[int], decide: Decide) -> Match | None:
        numbers = self._buckets.lookup(bucket_keys)
        if not numbers:
            return None
        ordered = sorted(numbers)  # insertion order: ties go to the earliest entry
        return decide([self._keys[number] for number in ordered], self._signatures[ordered])

    def _find_with(
        self, newer: MemoryStore, bucket_keys: Sequence[int], decide: Decide
    ) -> Match | None:
        """`_find` over this store's entries followed by `newer`'s, in insertion order."""
        ours = sorted(self._buckets.lookup(bucket_keys))
        theirs = sorted(newer._buckets.lookup(bucket_keys))
        if not ours and not theirs:
            return None
        keys = [self._keys[n] for n in ours] + [newer._keys[n] for n in theirs]
        signatures = np.concatenate([self._signatures[ours], newer._signatures[theirs]])
        return decide(keys, signatures)

    def _record(self, key: str, signature: np.ndarray, bucket_keys: Sequence[int]) -> None:
        if self._journal is not None:
            self._journal.append(key, signature)  # durable first: a failed write inserts nothing
        self._add(key, signature, bucket_keys)

    def _add(self, key: str, signature: np.ndarray, bucket_keys: Sequence[int]) -> None:
        number = len(self._keys)
        if number == self._signatures.shape[0]:
            grown = np.empty((number * 2, self._num_perm), dtype=np.uint64)
            grown[:number] = self._signatures
            self._signatures = grown
        self._signatures[number] = signature
        self._keys.append(key)
        self._numbers[key] = number
        self._buckets.add(bucket_keys, number)
