"""MinHash signatures by one-permutation hashing with optimal densification.

Classic MinHash applies `num_perm` hash functions to every shingle: 800 shingles x 128
permutations per text, which is what makes datasketch's `update()` slow even when batched.
One-permutation hashing (Li, Owen and Zhang, 2012) hashes each shingle once: the hash picks
one of `num_perm` bins and each bin keeps its smallest hash. Bins left empty (short texts)
borrow the value of the first non-empty bin on a fixed, seeded probe sequence ("optimal
densification", Shrivastava, ICML 2017). For two texts the chance that a slot agrees is
their Jaccard similarity, exactly as with classic MinHash, so the same estimator and the same
LSH banding apply; the cost is one hash per shingle instead of `num_perm`.

A text without words gets the all-ones signature, so two empty texts count as identical.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from storyloom.dedupe.normalise import normalise
from storyloom.dedupe.shingles import Shingler

EMPTY_SLOT = np.uint64(np.iinfo(np.uint64).max)
SIGNATURE_DTYPE = np.dtype("<u8")
_QUICK_PROBES = 16
_PROBES = 1024


def bin_of(hashes: np.ndarray, num_perm: int) -> np.ndarray:
    """The bin a shingle hash falls in: its top 32 bits scaled to [0, num_perm)."""
    return ((hashes >> np.uint64(32)) * np.uint64(num_perm) >> np.uint64(32)).astype(np.intp)


def probe_table(num_perm: int, seed: int) -> np.ndarray:
    """For each bin, the seeded sequence of bins an empty bin borrows from, in order."""
    generator = np.random.default_rng([seed, num_perm, 0x0D5E])
    return generator.integers(0, num_perm, size=(num_perm, _PROBES), dtype=np.intp)


class MinHasher:
    """Turns texts into `num_perm`-slot uint64 signatures (one row per text)."""

    def __init__(self, *, num_perm: int = 128, shingle_size: int = 5, seed: int = 1) -> None:
        if not 1 <= num_perm < 1 << 31:
            raise ValueError(f"num_perm must be between 1 and 2**31 - 1, got {num_perm}")
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        self.seed = seed
        self._shingler = Shingler(shingle_size=shingle_size, seed=seed)
        self._probes = probe_table(num_perm, seed)

    def signature(self, text: str) -> np.ndarray:
        return self.signatures([text])[0]

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """Signatures of `texts`; batching a few hundred at a time amortises numpy overhead."""
        batch = self._shingler.batch([normalise(text) for text in texts])
        slots = np.full(batch.documents * self.num_perm, EMPTY_SLOT, dtype=np.uint64)
        flat_bins = batch.doc_index * self.num_perm + bin_of(batch.hashes, self.num_perm)
        np.minimum.at(slots, flat_bins, batch.hashes)
        signatures = slots.reshape(batch.documents, self.num_perm)
        has_shingles = np.zeros(batch.documents, dtype=bool)
        has_shingles[batch.doc_index] = True
        self._densify(signatures, has_shingles)
        return signatures

    def _densify(self, signatures: np.ndarray, has_shingles: np.ndarray) -> None:
        filled = signatures != EMPTY_SLOT
        docs, bins = np.nonzero(~filled & has_shingles[:, None])
        if docs.size == 0:
            return
        source = np.full(docs.size, -1, dtype=np.intp)
        for probes in (slice(0, _QUICK_PROBES), slice(_QUICK_PROBES, _PROBES)):
            pending = np.flatnonzero(source < 0)
            if pending.size == 0:
                break
            candidates = self._probes[bins[pending], probes]
            hit = filled[docs[pending, None], candidates]
            found = hit.any(axis=1)
            first = hit.argmax(axis=1)
            source[pending[found]] = candidates[found, first[found]]
        for position in np.flatnonzero(source < 0).tolist():
            # Nearly empty text and every probe missed: the next filled bin, cyclically.
            row = filled[docs[position]]
            source[position] = np.roll(row, -int(bins[position]) - 1).argmax()
            source[position] = (source[position] + bins[position] + 1) % self.num_perm
        signatures[docs, bins] = signatures[docs, source]


def similarity(signature: np.ndarray, others: np.ndarray) -> np.ndarray | float:
    """Estimated Jaccard similarity: the fraction of slots that agree."""
    return (others == signature).mean(axis=-1)
