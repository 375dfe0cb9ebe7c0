"""Compression ratio (Shaib et al. 2024, "Standardizing the measurement of text
diversity"): the sample's documents together, in bytes, over their gzip size. Repetition
across documents compresses away, so a higher ratio means a less diverse corpus; it
needs no reference model and is cheap on any corpus."""

from __future__ import annotations

import gzip
from collections.abc import Sequence


def compression_ratio(texts: Sequence[str]) -> float | None:
    data = "\n".join(texts).encode("utf-8")
    if not data:
        return None
    return round(len(data) / len(gzip.compress(data, compresslevel=9, mtime=0)), 6)
