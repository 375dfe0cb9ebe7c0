"""The run's usage ledger: one JSON line per LLM call, so spend can be audited per node,
story and accepted document, and a resumed run knows what was already paid for."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from storyloom.backends.base import Completion, Usage
from storyloom.backends.pricing import cost_usd
from storyloom.dedupe.appendlog import append_whole


@dataclass(frozen=True)
class LedgerTotals:
    calls: int
    usage: Usage
    usd: float


class UsageLedger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._usd = 0.0
        self._calls = 0
        self._usage = Usage()
        self._per_story_usd: dict[str, float] = defaultdict(float)
        if path.exists():
            self._load()

    def _load(self) -> None:
        for raw in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(raw)
            except json.JSONDecodeError:
                continue  # torn last line from a crash
            self._count(entry["story_id"], _usage_of(entry), float(entry.get("usd", 0.0)))

    def _count(self, story_id: str, usage: Usage, usd: float) -> None:
        self._calls += 1
        self._usage = self._usage + usage
        self._usd += usd
        self._per_story_usd[story_id] += usd

    def record(self, *, story_id: str, node: str, completion: Completion) -> float:
        usd = cost_usd(completion.model, completion.usage)
        entry = {
            "time": round(time.time(), 3),
            "story_id": story_id,
            "node": node,
            "model": completion.model,
            "input_tokens": completion.usage.input_tokens,
            "output_tokens": completion.usage.output_tokens,
            "cache_write_tokens": completion.usage.cache_write_tokens,
            "cache_read_tokens": completion.usage.cache_read_tokens,
            "cache_write_1h_tokens": completion.usage.cache_write_1h_tokens,
            "service_tier": "batch" if completion.usage.batch else "standard",
            "usd": usd,
        }
        with self._lock:
            # Whole line or nothing: a fragment left by a full disk would glue onto the
            # next entry and lose both.
            append_whole(self.path, (json.dumps(entry) + "\n").encode())
            self._count(story_id, completion.usage, usd)
        return usd

    @property
    def total_usd(self) -> float:
        return self._usd

    def totals(self) -> LedgerTotals:
        return LedgerTotals(self._calls, self._usage, self._usd)

    def mean_story_usd(self, finished: Collection[str]) -> tuple[float, int]:
        """Average spend of the `finished` stories that spent anything, and how many there
        were. Stories still running are left out: they have paid only part of their way."""
        spent = [self._per_story_usd[i] for i in finished if i in self._per_story_usd]
        return (sum(spent) / len(spent) if spent else 0.0), len(spent)


def _usage_of(entry: dict[str, object]) -> Usage:
    return Usage(
        input_tokens=int(entry.get("input_tokens", 0)),  # type: ignore[arg-type]
        output_tokens=int(entry.get("output_tokens", 0)),  # type: ignore[arg-type]
        cache_write_tokens=int(entry.get("cache_write_tokens", 0)),  # type: ignore[arg-type]
        cache_read_tokens=int(entry.get("cache_read_tokens", 0)),  # type: ignore[arg-type]
        cache_write_1h_tokens=int(entry.get("cache_write_1h_tokens", 0)),  # type: ignore[arg-type]
        batch=entry.get("service_tier") == "batch",
    )
