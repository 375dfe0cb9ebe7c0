"""Counts into rates with 95% Wilson score intervals (right at 0% and 100%, and with the
few dozen trials a family has, where the normal approximation is not)."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Rate:
    hits: int
    trials: int

    @property
    def share(self) -> float:
        return self.hits / self.trials if self.trials else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.hits, self.trials)

    def to_dict(self) -> dict[str, float | int]:
        low, high = self.interval
        return {
            "hits": self.hits,
            "trials": self.trials,
            "rate": round(self.share, 6),
            "low": round(low, 6),
            "high": round(high, 6),
        }

    def cell(self) -> str:
        """`k/n  r% [lo-hi]` for a table cell."""
        low, high = self.interval
        return f"{self.hits}/{self.trials} {self.share:.0%} [{low:.0%}-{high:.0%}]"


def wilson_interval(hits: int, trials: int, z: float = Z95) -> tuple[float, float]:
    if trials <= 0:
        return 0.0, 1.0
    if not 0 <= hits <= trials:
        raise ValueError(f"hits must be within 0..{trials}, got {hits}")
    share = hits / trials
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)
