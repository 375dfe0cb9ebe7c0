"""A near-duplicate index for whole corpora whose memory stays under a budget.

Same decisions as `NearDuplicateIndex.check_and_insert` applied to each document in order
(the first of each cluster kept, the most similar earlier entry reported, ties to the
earliest), however large the corpus:

- Entries live in a memory tier (signatures in one array, buckets in a `SortedTable`)
  until it outgrows its share of the budget; then they spill to disk: signatures and
  payloads to an `EntryLog`, buckets to a sorted run of a `RunSet`.
- While nothing has spilled, each batch is decided at once. Once something has, documents
  are held back in blocks; each block's bucket keys are joined against the spilled runs in
  one sequential pass (no random lookups, nothing mapped) and candidates are verified
  against their spilled signatures.
- Deciding works on 256 documents at a time, vectorised: their candidates among entries
  (memory tier) and among each other (sharing a bucket key) are found by sorting and
  verified in one comparison; only then does a short loop, in document order, keep each
  document whose verified candidates are all documents removed before it.

Every candidate carries its entry number (the order of insertion), so "the most similar,
ties to the smallest number" is what the one-table index would have found.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from storyloom.dedupe.entry_log import EntryLog
from storyloom.dedupe.lsh import Banding
from storyloom.dedupe.runs import RunSet
from storyloom.dedupe.signatures import SIGNATURE_DTYPE
from storyloom.dedupe.sorted_table import SortedTable

_OBJECT_OVERHEAD = 300  # bytes of Python objects per entry or pending document (measured)
_VERIFY_ROWS = 1 << 14  # candidate pairs compared at a time
_DECIDE_DOCUMENTS = 256  # documents decided together


@dataclass(frozen=True)
class Found:
    """An earlier entry a document duplicates: its payload and the estimated similarity."""

    payload: Any
    similarity: float
    number: int


@dataclass
class Batch:
    """Documents to decide in order. `items` travel along untouched (e.g. the raw line);
    `check=False` inserts every document without looking (a corpus that must stay whole)."""

    signatures: np.ndarray
    bucket_keys: np.ndarray
    payloads: list[Any]
    items: list[Any]
    check: bool = True
    sizes: list[int] = field(default_factory=list)  # bytes each item holds, for the budget


Decision = tuple[Any, Found | None]  # (item, what it duplicates or None: kept)


class BoundedIndex:
    def __init__(
        self,
        *,
        threshold: float,
        num_perm: int,
        banding: Banding,
        memory_bytes: int,
        spill_parent: Path | None = None,
    ) -> None:
        self._threshold = threshold
        self._num_perm = num_perm
        self._banding = banding
        bands = banding.layout.bands
        # Bucket merges copy their arrays; a block can overshoot the tier by its size.
        entry_bytes = num_perm * 8 + bands * 12 * 2 + _OBJECT_OVERHEAD
        self._tier_limit = max(1, int(memory_bytes * 0.4) // entry_bytes)
        self._block_bytes = max(1, int(memory_bytes * 0.2))
        self._pending_fixed = num_perm * 8 + bands * 8 + _OBJECT_OVERHEAD
        self._spill_parent = spill_parent
        self._directory: Path | None = None
        self._log: EntryLog | None = None
        self._runs: RunSet | None = None
        self._table = SortedTable()
        self._signatures = self._empty_tier()
        self._memory_payloads: list[Any] = []
        self._pending: list[Batch] = []
        self._pending_bytes = 0
        self.spills = 0

    @property
    def spilled(self) -> int:
        return 0 if self._log is None else len(self._log)

    def __len__(self) -> int:
        return self.spilled + len(self._memory_payloads)

    def submit(self, batch: Batch) -> list[Decision]:
        """Decisions for this batch or earlier held-back ones, in submission order (possibly
        none yet: call `finish` after the last batch)."""
        if not batch.check or self._log is None:
            decisions = self._decide_pending() if self._pending else []
            decisions += self._decide(batch, _NO_PAIRS)
            self._spill_if_full()
            return decisions
        self._pending.append(batch)
        self._pending_bytes += sum(batch.sizes) + len(batch.items) * self._pending_fixed
        if self._pending_bytes < self._block_bytes:
            return []
        return self._decide_pending()

    def finish(self) -> list[Decision]:
        return self._decide_pending() if self._pending else []

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
        if self._runs is not None:
            self._runs.close()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def __enter__(self) -> BoundedIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _decide_pending(self) -> list[Decision]:
        """Decide the held-back block (only checked batches are ever held back)."""
        batches, self._pending, self._pending_bytes = self._pending, [], 0
        block = Batch(
            signatures=np.concatenate([batch.signatures for batch in batches]),
            bucket_keys=np.concatenate([batch.bucket_keys for batch in batches]),
            payloads=[payload for batch in batches for payload in batch.payloads],
            items=[item for batch in batches for item in batch.items],
        )
        decisions = self._decide(block, self._spilled_matches(block))
        self._spill_if_full()
        return decisions

    def _decide(self, batch: Batch, spilled: Pairs) -> list[Decision]:
        decisions: list[Decision] = []
        for start in range(0, len(batch.items), _DECIDE_DOCUMENTS):
            stop = min(start + _DECIDE_DOCUMENTS, len(batch.items))
            inside = (spilled.documents >= start) & (spilled.documents < stop)
            part = Pairs(
                spilled.documents[inside] - start,
                spilled.numbers[inside],
                spilled.similarities[inside],
            )
            decisions += self._decide_part(batch, start, stop, part)
        return decisions

    def _decide_part(self, batch: Batch, start: int, stop: int, spilled: Pairs) -> list[Decision]:
        signatures = batch.signatures[start:stop]
        bucket_keys = batch.bucket_keys[start:stop]
        first = len(self)
        found: dict[int, Found] = {}
        # The part's bucket keys sorted once: looked up, paired among and inserted in order.
        flat = bucket_keys.ravel()
        order = np.argsort(flat, kind="stable")
        keys = _SortedKeys(flat[order], order // bucket_keys.shape[1])
        if batch.check:
            entries = self._memory_pairs(signatures, keys)
            among = self._pairs_among(signatures, keys)
            if spilled.documents.size or entries.documents.size or among.documents.size:
                found = self._resolve(first, spilled, entries, among, batch.payloads[start:stop])
        kept = [place for place in range(stop - start) if place not in found]
        self._add(signatures, keys, kept, [batch.payloads[start + p] for p in kept])
        return [(batch.items[start + place], found.get(place)) for place in range(stop - start)]

    def _resolve(
        self, first: int, spilled: Pairs, entries: Pairs, among: Pairs, payloads: list[Any]
    ) -> dict[int, Found]:
        """In document order: each document's best verified candidate that is an entry or a
        document kept before it (the most similar, ties to the earliest), if any."""
        by_document: dict[int, list[tuple[float, int, int]]] = {}
        for pairs, kind in ((spilled, 0), (entries, 0), (among, 1)):
            for document, other, similarity in zip(
                pairs.documents.tolist(),
                pairs.numbers.tolist(),
                pairs.similarities.tolist(),
                strict=True,
            ):
                by_document.setdefault(document, []).append((similarity, kind, other))
        found: dict[int, Found] = {}
        numbers: dict[int, int] = {}  # a kept document of this part -> its entry number
        kept_at: dict[int, int] = {}  # the reverse
        next_number = first
        for document in range(len(payloads)):
            best: tuple[float, int] | None = None
            for similarity, kind, other in by_document.get(document, ()):
                number = other if kind == 0 else numbers.get(other)
                if number is None:
                    continue  # a document of this part that was removed
                if (
                    best is None
                    or similarity > best[0]
                    or (similarity == best[0] and number < best[1])
                ):
                    best = (similarity, number)
            if best is None:
                numbers[document] = next_number
                kept_at[next_number] = document
                next_number += 1
            else:
                number = best[1]
                payload = payloads[kept_at[number]] if number >= first else self._payload(number)
                found[document] = Found(payload, best[0], number)
        return found

    def _memory_pairs(self, signatures: np.ndarray, keys: _SortedKeys) -> Pairs:
        """Verified (document, entry number) pairs with the memory tier."""
        if not self._memory_payloads:
            return _NO_PAIRS
        at, numbers = self._table.lookup_sorted(keys.keys)
        documents, numbers = _unique_pairs(keys.documents[at], numbers)
        local = self._signatures[numbers.astype(np.intp) - self.spilled]
        return self._verified(signatures, documents, numbers, local)

    def _pairs_among(self, signatures: np.ndarray, keys: _SortedKeys) -> Pairs:
        """Verified (later document, earlier document) pairs sharing a bucket key."""
        ordered = keys.keys
        same = np.flatnonzero(ordered[1:] == ordered[:-1])
        if same.size == 0:
            return _NO_PAIRS
        later: list[int] = []
        earlier: list[int] = []
        # Groups of equal keys: pair each member with every member before it.
        starts = same[np.concatenate([[True], same[1:] != same[:-1] + 1])]
        for group_start in starts.tolist():
            group_stop = group_start + 1
            while group_stop < ordered.size and ordered[group_stop] == ordered[group_start]:
                group_stop += 1
            members = np.unique(keys.documents[group_start:group_stop])
            for place in range(1, members.size):
                later.extend([int(members[place])] * place)
                earlier.extend(members[:place].tolist())
        documents, others = _unique_pairs(np.array(later), np.array(earlier, dtype=np.int64))
        return self._verified(signatures, documents, others, signatures[others])

    def _verified(
        self,
        signatures: np.ndarray,
        documents: np.ndarray,
        others: np.ndarray,
        other_signatures: np.ndarray,
    ) -> Pairs:
        """The pairs whose estimated similarity reaches the threshold, with it (computed
        exactly as `verify.best_match` does, so decisions match the workflow's index)."""
        similarities = np.empty(documents.size, dtype=np.float64)
        for start in range(0, documents.size, _VERIFY_ROWS):
            stop = start + _VERIFY_ROWS
            agree = signatures[documents[start:stop]] == other_signatures[start:stop]
            similarities[start:stop] = agree.mean(axis=1)
        good = similarities + 1e-12 >= self._threshold
        return Pairs(documents[good], others[good], similarities[good])

    def _payload(self, number: int) -> Any:
        if number >= self.spilled:
            return self._memory_payloads[number - self.spilled]
        assert self._log is not None
        return self._log.payload(number)

    def _add(
        self, signatures: np.ndarray, keys: _SortedKeys, kept: list[int], payloads: list[Any]
    ) -> None:
        if not payloads:
            return
        local = len(self._memory_payloads)
        needed = local + len(payloads)
        if needed > self._signatures.shape[0]:
            grown = np.empty(
                (max(needed, 2 * self._signatures.shape[0]), self._num_perm), SIGNATURE_DTYPE
            )
            grown[:local] = self._signatures[:local]
            self._signatures = grown
        self._signatures[local:needed] = signatures[kept]
        number_of = np.full(signatures.shape[0], -1, dtype=np.int64)
        number_of[kept] = np.arange(len(kept)) + self.spilled + local
        numbers = number_of[keys.documents]
        inserted = numbers >= 0
        self._table.add_sorted(keys.keys[inserted], numbers[inserted])
        self._memory_payloads.extend(payloads)

    def _spilled_matches(self, block: Batch) -> Pairs:
        """Verified (document of `block`, spilled entry number) pairs."""
        if self._runs is None or self._log is None:
            return _NO_PAIRS
        bands = block.bucket_keys.shape[1]
        flat = block.bucket_keys.ravel()
        order = np.argsort(flat, kind="stable")
        at, numbers = self._runs.join(flat[order])
        if at.size == 0:
            return _NO_PAIRS
        documents, numbers = _unique_pairs(order[at] // bands, numbers)
        unique_numbers, where = np.unique(numbers, return_inverse=True)
        spilled = self._log.signatures(unique_numbers)
        return self._verified(block.signatures, documents, numbers, spilled[where])

    def _empty_tier(self) -> np.ndarray:
        """Room for a full memory tier at once: pages never written cost no memory, and
        growing by copies would hold two arrays at the moment of growth."""
        return np.empty((self._tier_limit + _DECIDE_DOCUMENTS, self._num_perm), SIGNATURE_DTYPE)

    def _spill_if_full(self) -> None:
        if len(self._memory_payloads) < self._tier_limit:
            return
        if self._directory is None:
            self._directory = Path(
                tempfile.mkdtemp(prefix=".storyloom-dedupe-", dir=self._spill_parent)
            )
            self._log = EntryLog(self._directory, self._num_perm)
            self._runs = RunSet(self._directory)
        assert self._log is not None and self._runs is not None
        count = len(self._memory_payloads)
        self._log.append(self._signatures[:count], self._memory_payloads)
        self._runs.add(*self._table.arrays())
        self._table = SortedTable()
        self._signatures = self._empty_tier()
        self._memory_payloads = []
        self.spills += 1


@dataclass(frozen=True)
class _SortedKeys:
    """A part's bucket keys in ascending order, with the document each belongs to."""

    keys: np.ndarray
    documents: np.ndarray


@dataclass(frozen=True)
class Pairs:
    """Verified candidate pairs: document (within its part), other (an entry number, or
    an earlier document of the same part), and their estimated similarity."""

    documents: np.ndarray
    numbers: np.ndarray
    similarities: np.ndarray


_NO_PAIRS = Pairs(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64))


def _unique_pairs(documents: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if documents.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    pairs = np.unique(documents.astype(np.int64) << 32 | others.astype(np.int64))
    return pairs >> 32, pairs & 0xFFFFFFFF
