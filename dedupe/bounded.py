"""A near-duplicate index for whole corpora whose memory stays under a budget.

Same decisions as `NearDuplicateIndex.check_and_insert` applied to each document in order
(the first of each cluster kept, the most similar earlier entry reported, ties to the
earliest), however large the corpus:

- Entries live in a memory tier (a `MemoryStore`, as in the workflow's index) until it
  outgrows its share of the budget; then they spill to disk: signatures and payloads to an
  `EntryLog`, buckets to a sorted run of a `RunSet`.
- While nothing has spilled, each batch is decided at once, exactly as the in-memory index
  would. Once something has, documents are held back in blocks; each block's bucket keys are
  joined against the spilled runs in one sequential pass (no random lookups, nothing mapped),
  candidates are verified against their spilled signatures, and the block is then decided
  document by document against the memory tier, taking the better of the two matches.

Spilled entries all precede the memory tier's, so "the better match, ties to the spilled
one" is the earliest of the most similar, as the one-table index would have found.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from storyloom.dedupe.entry_log import EntryLog
from storyloom.dedupe.lsh import Banding
from storyloom.dedupe.runs import RunSet
from storyloom.dedupe.store import MemoryStore
from storyloom.dedupe.verify import Match, best_match

_OBJECT_OVERHEAD = 300  # bytes of Python objects per entry or pending document (measured)
_VERIFY_ROWS = 1 << 14  # candidate pairs compared at a time


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
        # The memory tier's array doubles as it grows and bucket merges copy their arrays.
        entry_bytes = num_perm * 8 * 3 // 2 + bands * 12 * 2 + _OBJECT_OVERHEAD
        self._tier_limit = max(1, int(memory_bytes * 0.4) // entry_bytes)
        self._block_bytes = max(1, int(memory_bytes * 0.2))
        self._pending_fixed = num_perm * 8 + bands * 8 + _OBJECT_OVERHEAD
        self._spill_parent = spill_parent
        self._directory: Path | None = None
        self._log: EntryLog | None = None
        self._runs: RunSet | None = None
        self._memory = MemoryStore(num_perm)
        self._memory_payloads: list[Any] = []
        self._pending: list[Batch] = []
        self._pending_bytes = 0
        self.spills = 0

    @property
    def spilled(self) -> int:
        return 0 if self._log is None else len(self._log)

    def __len__(self) -> int:
        return self.spilled + len(self._memory)

    def submit(self, batch: Batch) -> list[Decision]:
        """Decisions for this batch or earlier held-back ones, in submission order (possibly
        none yet: call `finish` after the last batch)."""
        if not batch.check or self._log is None:
            decisions = self._decide_pending() if self._pending else []
            decisions += self._decide(batch, {})
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

    def _decide(self, batch: Batch, spilled: dict[int, Found]) -> list[Decision]:
        decisions: list[Decision] = []
        bucket_rows = batch.bucket_keys.tolist()
        for place, (signature, buckets) in enumerate(
            zip(batch.signatures, bucket_rows, strict=True)
        ):
            found = self._memory_match(signature, buckets) if batch.check else None
            earlier = spilled.get(place)
            if earlier is not None and (found is None or earlier.similarity >= found.similarity):
                found = earlier
            if found is None:
                number = len(self)
                self._memory.insert(str(number), signature, buckets)
                self._memory_payloads.append(batch.payloads[place])
            decisions.append((batch.items[place], found))
        return decisions

    def _memory_match(self, signature: np.ndarray, buckets: Sequence[int]) -> Found | None:
        threshold = self._threshold

        def decide(keys: Sequence[str], signatures: np.ndarray) -> Match | None:
            return best_match(signature, keys, signatures, threshold)

        match = self._memory.find(buckets, decide)
        if match is None:
            return None
        number = int(match.key)
        payload = self._memory_payloads[number - self.spilled]
        return Found(payload, match.similarity, number)

    def _spilled_matches(self, block: Batch) -> dict[int, Found]:
        """For each document of `block` with a spilled entry at or above the threshold, the
        most similar such entry (the earliest on ties)."""
        if self._runs is None or self._log is None:
            return {}
        bands = block.bucket_keys.shape[1]
        flat = block.bucket_keys.ravel()
        order = np.argsort(flat, kind="stable")
        at, numbers = self._runs.join(flat[order])
        if at.size == 0:
            return {}
        documents = order[at] // bands
        pairs = np.unique(documents.astype(np.int64) << 32 | numbers.astype(np.int64))
        documents, numbers = pairs >> 32, pairs & 0xFFFFFFFF
        unique_numbers, where = np.unique(numbers, return_inverse=True)
        spilled_signatures = self._log.signatures(unique_numbers)
        similarities = np.empty(pairs.size, dtype=np.float64)
        for start in range(0, pairs.size, _VERIFY_ROWS):
            stop = start + _VERIFY_ROWS
            agree = block.signatures[documents[start:stop]] == spilled_signatures[where[start:stop]]
            similarities[start:stop] = agree.mean(axis=1)
        good = similarities + 1e-12 >= self._threshold  # as in verify.best_match
        documents, numbers, similarities = documents[good], numbers[good], similarities[good]
        best = np.lexsort((numbers, -similarities, documents))
        first = np.ones(best.size, dtype=bool)
        first[1:] = documents[best][1:] != documents[best][:-1]
        matches: dict[int, Found] = {}
        for index in best[first].tolist():
            number = int(numbers[index])
            payload = self._log.payload(number)
            matches[int(documents[index])] = Found(payload, float(similarities[index]), number)
        return matches

    def _spill_if_full(self) -> None:
        if len(self._memory) < self._tier_limit:
            return
        if self._directory is None:
            self._directory = Path(
                tempfile.mkdtemp(prefix=".storyloom-dedupe-", dir=self._spill_parent)
            )
            self._log = EntryLog(self._directory, self._num_perm)
            self._runs = RunSet(self._directory)
        assert self._log is not None and self._runs is not None
        first = len(self._log)
        signatures = np.array([signature for _, signature in self._memory.entries()])
        self._log.append(signatures, self._memory_payloads)
        bucket_keys = self._banding.bucket_keys(signatures)
        numbers = np.repeat(np.arange(first, first + len(signatures)), bucket_keys.shape[1])
        self._runs.add(bucket_keys.ravel(), numbers)
        self._memory = MemoryStore(self._num_perm)
        self._memory_payloads = []
        self.spills += 1
