"""LSH banding: which earlier signatures are worth comparing a new one against.

A signature is cut into `bands` bands of `rows` slots; two texts become candidates when any
band agrees completely, which for Jaccard similarity J happens with probability
1 - (1 - J**rows)**bands. Every candidate is verified afterwards (see `verify`), so a spurious
candidate costs one comparison while a missed one is a duplicate let through: the layout is
chosen to catch pairs at the threshold with high probability, and, among layouts that do,
to have the most rows (the fewest chance candidates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from storyloom.dedupe.hashing import mix64, odd_constants

DEFAULT_RECALL_AT_THRESHOLD = 0.9
BUCKET_BITS = 60  # bucket keys stay small Python ints; collisions only add candidates


def candidate_probability(similarity: float, *, bands: int, rows: int) -> float:
    """The chance that two texts with this Jaccard similarity share at least one band."""
    return 1.0 - (1.0 - similarity**rows) ** bands


@dataclass(frozen=True)
class BandLayout:
    bands: int
    rows: int

    def __post_init__(self) -> None:
        if self.bands < 1 or self.rows < 1:
            raise ValueError(f"bands and rows must be at least 1, got {self.bands}x{self.rows}")

    @classmethod
    def for_threshold(
        cls,
        threshold: float,
        num_perm: int,
        *,
        recall_at_threshold: float = DEFAULT_RECALL_AT_THRESHOLD,
    ) -> BandLayout:
        """The layout with the most rows whose candidate probability at `threshold` is still
        at least `recall_at_threshold` (pairs above the threshold do better still)."""
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if not 0.0 < recall_at_threshold < 1.0:
            raise ValueError(f"recall_at_threshold must be in (0, 1), got {recall_at_threshold}")
        best = cls(bands=num_perm, rows=1)
        for rows in range(2, num_perm + 1):
            layout = cls(bands=num_perm // rows, rows=rows)
            if layout.probability(threshold) >= recall_at_threshold:
                best = layout
        return best

    def probability(self, similarity: float) -> float:
        return candidate_probability(similarity, bands=self.bands, rows=self.rows)

    def fits(self, num_perm: int) -> None:
        if self.bands * self.rows > num_perm:
            raise ValueError(
                f"{self.bands} bands x {self.rows} rows need {self.bands * self.rows} slots, "
                f"but signatures have {num_perm}"
            )


class Banding:
    """Turns signatures into one bucket key per band (the band's index is mixed in, so the
    buckets of all bands can share one table)."""

    def __init__(self, layout: BandLayout, num_perm: int) -> None:
        layout.fits(num_perm)
        self.layout = layout
        self._row_multipliers = np.array(odd_constants(layout.rows, salt=0xBA4D), dtype=np.uint64)
        self._band_salts = np.array(odd_constants(layout.bands, salt=0x5A17), dtype=np.uint64)
        self._mask = np.uint64((1 << BUCKET_BITS) - 1)

    def bucket_keys(self, signatures: np.ndarray) -> np.ndarray:
        """(documents, bands) uint64 bucket keys for (documents, num_perm) signatures."""
        bands, rows = self.layout.bands, self.layout.rows
        cut = signatures[:, : bands * rows].reshape(signatures.shape[0], bands, rows)
        combined = (cut * self._row_multipliers).sum(axis=2, dtype=np.uint64)
        return mix64(combined + self._band_salts) & self._mask
