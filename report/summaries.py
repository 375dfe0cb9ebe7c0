"""Small numeric helpers shared by every statistic: summaries, histograms, top shares."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from storyloom.report.model import Histogram, Share, Summary


def _clean(value: float) -> float:
    """Round off float noise so JSON figures read as the numbers they are."""
    return round(float(value), 6) + 0.0  # + 0.0 turns -0.0 into 0.0


def summarize(values: Sequence[float]) -> Summary:
    if not values:
        return Summary(count=0)
    array = np.asarray(values, dtype=float)
    return Summary(
        count=int(array.size),
        total=_clean(array.sum()),
        mean=_clean(array.mean()),
        min=_clean(array.min()),
        median=_clean(np.percentile(array, 50)),
        p90=_clean(np.percentile(array, 90)),
        max=_clean(array.max()),
    )


def histogram(values: Sequence[float], edges: Sequence[float]) -> Histogram:
    counts, _ = np.histogram(np.asarray(values, dtype=float), bins=np.asarray(edges, dtype=float))
    return Histogram(edges=[_clean(edge) for edge in edges], counts=[int(c) for c in counts])


def linear_edges(low: float, high: float, bins: int) -> list[float]:
    if high <= low:
        high = low + 1.0
    return [_clean(edge) for edge in np.linspace(low, high, bins + 1)]


def nice_edges(top: float, max_bins: int = 24) -> list[float]:
    """Edges from 0 with a round bin width (25, 50, 100, 200, 250, 500, ...) covering `top`."""
    width = 1.0
    while True:
        for step in (1, 2, 2.5, 5):
            candidate = width * step
            if candidate * max_bins >= top:
                bins = max(1, math.ceil(top / candidate)) if top > 0 else 1
                return [_clean(candidate * i) for i in range(bins + 1)]
        width *= 10


def top_shares(counter: Counter[str], total: int, limit: int) -> list[Share]:
    """The `limit` most common values; ties broken alphabetically so output is stable."""
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [
        Share(value=value, count=count, share=ratio(count, total) or 0.0) for value, count in ranked
    ]


def ratio(part: float, whole: float) -> float | None:
    return _clean(part / whole) if whole else None


def sorted_counts(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))
