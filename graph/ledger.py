"""The run's usage ledger: one JSON line per LLM call, so spend can be audited per node,
item and accepted document, and a resumed run knows what was already paid for."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from storyloom.backends.base import Completion, Usage
from storyloom.backends.pricing import cost_usd
from storyloom.core.files import append_whole
from storyloom.core.group_commit import GroupCommit
from storyloom.core.jsonl import JsonlError, JsonlReader, TornTail, set_aside_torn_tail
from storyloom.core.records import UsageEntry, parse_record
from storyloom.graph.budget import Reservations
from storyloom.graph.sinks import SinkError


class LedgerError(SinkError):
    """The usage ledger cannot be read; the message names the file and the line."""


@dataclass(frozen=True)
class LedgerTotals:
    calls: int
    usage: Usage
    usd: float


@dataclass(frozen=True)
class _Queued:
    """One line waiting for the next group write."""

    line: bytes
    item_id: str
    usage: Usage
    usd: float
    response_id: str | None


class SpendCounter(Reservations, Protocol):
    """Spend shared by the workers of one run, and their `--max-cost` reservations
    (`graph.shared.SharedRun`)."""

    def add_spend(self, usd: float) -> None: ...

    def spend(self) -> float: ...

    def clear_reservations(self) -> None: ...

    def heartbeat(self) -> None: ...


class UsageLedger:
    def __init__(self, path: Path, shared: SpendCounter | None = None) -> None:
        self.path = path
        self.shared = shared
        self._lock = threading.Lock()
        self._usd = 0.0
        self._calls = 0
        self._usage = Usage()
        self._per_item_usd: dict[str, float] = defaultdict(float)
        #: Replies already booked: a node replayed after a kill may be handed the same
        #: reply again (a batch result from the journal), which was paid once.
        self._booked: set[str] = set()
        self._group_commit: GroupCommit[_Queued, None] = GroupCommit(self._write_group)
        #: A torn last line (a crash mid-append) cut on opening, kept in .torn: the next
        #: append would otherwise glue onto it and be lost as well.
        self.torn: TornTail | None = set_aside_torn_tail(path)
        if path.exists():
            self._load()

    def _load(self) -> None:
        """Count what earlier starts spent. A damaged line stops the run: it is what
        `--max-cost` is measured against, so a guess could overspend."""
        try:
            for number, value in JsonlReader(self.path).numbered():
                entry = parse_record(UsageEntry, value, self.path, number)
                if entry.response_id is not None:
                    self._booked.add(entry.response_id)
                self._count(entry.story_id, _usage_of(entry), entry.usd)
        except JsonlError as error:
            raise LedgerError(
                f"{error}; the ledger is what --max-cost counts against, so fix or remove "
                "that line, then run again"
            ) from None

    def _count(self, item_id: str, usage: Usage, usd: float) -> None:
        self._calls += 1
        self._usage = self._usage + usage
        self._usd += usd
        self._per_item_usd[item_id] += usd

    def record(self, *, item_id: str, node: str, completion: Completion) -> float:
        """Book one call and return its cost; a reply already booked costs nothing."""
        if completion.response_id is not None and completion.response_id in self._booked:
            return 0.0
        usd, line = self._line(item_id, node, completion)
        with self._lock:
            # Whole line or nothing: a fragment left by a full disk would glue onto the
            # next entry and lose both.
            append_whole(self.path, line)
            if completion.response_id is not None:
                self._booked.add(completion.response_id)
            self._count(item_id, completion.usage, usd)
        if self.shared is not None:
            self.shared.add_spend(usd)
        return usd

    async def record_async(self, *, item_id: str, node: str, completion: Completion) -> float:
        """`record` for the event loop: the lines of calls answered together (a batch's
        results) are appended and fsynced as one write in a worker thread, one thread hop
        and one fsync per group instead of per call. Returns once its line is durable."""
        response_id = completion.response_id
        if response_id is not None and response_id in self._booked:
            return 0.0
        if response_id is not None:
            self._booked.add(response_id)  # a replay arriving meanwhile books nothing
        usd, line = self._line(item_id, node, completion)
        try:
            await self._group_commit(_Queued(line, item_id, completion.usage, usd, response_id))
        except Exception:  # not written (a caller cancelled meanwhile may still be)
            if response_id is not None:
                self._booked.discard(response_id)  # so a retry books it
            raise
        return usd

    def _write_group(self, group: list[_Queued]) -> list[None]:
        with self._lock:
            append_whole(self.path, b"".join(q.line for q in group))  # all lines or none
            for q in group:
                self._count(q.item_id, q.usage, q.usd)
        if self.shared is not None:
            self.shared.add_spend(sum(q.usd for q in group))
        return [None] * len(group)

    def _line(self, item_id: str, node: str, completion: Completion) -> tuple[float, bytes]:
        usd = cost_usd(completion.model, completion.usage)
        entry = UsageEntry(
            time=round(time.time(), 3),
            story_id=item_id,
            node=node,
            model=completion.model,
            input_tokens=completion.usage.input_tokens,
            output_tokens=completion.usage.output_tokens,
            cache_write_tokens=completion.usage.cache_write_tokens,
            cache_read_tokens=completion.usage.cache_read_tokens,
            cache_write_1h_tokens=completion.usage.cache_write_1h_tokens,
            service_tier="batch" if completion.usage.batch else "standard",
            usd=usd,
            response_id=completion.response_id,
            requests=completion.requests,
        )
        return usd, entry.to_line()

    @property
    def torn_bytes(self) -> int:
        return self.torn.size if self.torn else 0

    @property
    def total_usd(self) -> float:
        return self._usd

    def run_total_usd(self) -> float:
        """What the whole run spent: every worker's, when workers share a budget."""
        return self.shared.spend() if self.shared is not None else self._usd

    def totals(self) -> LedgerTotals:
        return LedgerTotals(self._calls, self._usage, self._usd)

    def item_usd(self, item_id: str) -> float | None:
        """What `item_id` spent (over every start), None when it made no call."""
        return self._per_item_usd.get(item_id)


def _usage_of(entry: UsageEntry) -> Usage:
    return Usage(
        input_tokens=entry.input_tokens,
        output_tokens=entry.output_tokens,
        cache_write_tokens=entry.cache_write_tokens,
        cache_read_tokens=entry.cache_read_tokens,
        cache_write_1h_tokens=entry.cache_write_1h_tokens,
        batch=entry.service_tier == "batch",
    )
