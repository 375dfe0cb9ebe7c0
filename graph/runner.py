"""Runs many item threads at once over one run directory, and resumes them.

An item is a LangGraph thread with id `"<run>/<index>"`. On every start each index is
classified: already in corpus/rejected (skipped), checkpointed mid-way (resumed at its
last checkpoint), finished but its output line lost to a crash (written again from the
checkpoint), or new. Checkpoints are written before each next step (`durability="sync"`),
so a kill loses at most the node that was running.

How each failure ends (the run itself never crashes on one):

- an item-level problem the workflow can judge (invalid output, a refused prompt, empty
  or absurd text) is *rejected* with its reason by the nodes;
- a transient backend error still failing after the retry policy, or an unexpected bug,
  leaves the item *interrupted* at its last checkpoint: a backend outage says nothing
  about the item, so it is not rejected (that would be final); the next start resumes
  it;
- a graceful stop (`stop` set) lets calls in flight finish and checkpoint, and *pauses*
  items before their next call;
- what no item can get past (a fatal backend error such as a bad key, an output or
  checkpoint write failing, e.g. disk full) stops the run: nothing new starts, items
  in flight pause, and `fatal_error` says what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from langgraph.types import RetryPolicy

from storyloom.backends.base import AwaitingBatch, Backend
from storyloom.backends.pricing import (
    estimate_tokens,
    prefix_below_cache_minimum,
    project_item_cost,
)
from storyloom.core import layout
from storyloom.graph import nodes
from storyloom.graph.budget import LocalReservations, Reservations
from storyloom.graph.builder import DEFAULT_RETRY, build_graph
from storyloom.graph.checkpointer import checkpointed_threads, open_checkpointer
from storyloom.graph.classify import classify
from storyloom.graph.context import BudgetSpent, RunContext, SpendCap, StopRequested
from storyloom.graph.indexes import RunIndexes
from storyloom.graph.ledger import SpendCounter, UsageLedger
from storyloom.graph.rundir import RunConfig, RunDir
from storyloom.graph.shared import ALIVE_SECONDS, Shard, SharedRun
from storyloom.graph.sinks import RunSinks
from storyloom.graph.state import ItemInput
from storyloom.graph.texts import TextStore
from storyloom.stories.kind import CorpusKind

#: Under --batch, item graph runs going at once. A graph run, from an item's start or a
#: batch's answer to its next call, holds its step's working memory (some 40 KiB of
#: LangGraph state, its gates' parse, a checkpoint on its way to disk): 100,000 items set
#: going together by one round would hold it all at once. The work is CPU on one core, so
#: more runs at once would be no faster; parked items hold no graph run at all.
BATCH_GRAPH_RUNS = 256

log = logging.getLogger(__name__)

Event = Literal["skipped", "emitted", "rejected", "interrupted", "paused"]
ProgressCallback = Callable[[Event, str], None]

StopReason = Literal["finished", "stopped", "budget", "fatal"]


@dataclass
class RunReport:
    planned: int
    already_done: int = 0
    emitted: int = 0
    rejected: int = 0
    interrupted: int = 0
    paused: int = 0
    resumed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    #: Why items were interrupted: "transient" (retries exhausted), "fatal", "error".
    interruptions: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    stop_reason: StopReason = "finished"
    fatal_error: str | None = None
    not_started: int = 0
    #: Items whose output line was cut as torn on opening, and how each was made whole.
    set_aside: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.stop_reason == "finished" and self.interrupted == 0


@dataclass
class RunOptions:
    count: int
    concurrency: int = 4
    max_cost: float | None = None
    retry: RetryPolicy = DEFAULT_RETRY
    #: Only the items of this shard (`--shard K/N`).
    shard: Shard | None = None

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"count must be at least 1, got {self.count}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {self.concurrency}")
        if self.max_cost is not None and self.max_cost < 0:
            raise ValueError(f"max cost must be >= 0, got {self.max_cost}")


def make_context(
    run: RunDir,
    config: RunConfig,
    kind: CorpusKind,
    inputs: Any,
    backend: Backend,
    *,
    call_timeout: float | None = None,
    shared: SharedRun | None = None,
) -> RunContext:
    """The context for one process working on `run`.

    The outputs and the usage ledger cut a line torn by a crash when opened (keeping its
    bytes in `<file>.torn`), and the dedupe journals theirs.
    """
    settings = config.settings
    sinks = RunSinks(run.corpus_path, run.rejected_path)
    sinks.open_sides(p.name for p in run.path.glob("*.jsonl") if layout.is_side_output(p.name))
    return RunContext(
        kind=kind,
        inputs=inputs,
        settings=settings,
        options=kind.options_model.model_validate(settings.kind_options),
        backend=backend,
        sinks=sinks,
        indexes=RunIndexes(run, settings, kind, shared),
        ledger=UsageLedger(run.usage_path, shared),
        call_timeout=call_timeout,
    )


def upfront_item_cost(context: RunContext) -> float:
    """An upper estimate of one item's cost, used until real items have been paid for:
    every call at its full output allowance, an item at its full number of revisions."""
    settings = context.settings
    tasks = context.kind.tasks
    per_round = sum(name in tasks for name in ("review", "revise")) + (
        settings.judge_samples if "judge" in tasks else 0
    )
    calls = (settings.max_plan_attempts if "plan" in tasks else 0) + 1
    calls += (
        settings.judge_samples if "judge" in tasks else 0
    ) + per_round * settings.max_revisions
    return project_item_cost(
        context.backend.model,
        calls=calls,
        prompt_tokens_per_call=settings.write_max_tokens + 500,
        max_output_tokens_per_call=settings.write_max_tokens,
        # A prefix under the model's cache minimum is never cached: project no hits.
        cached_prefix_tokens=0
        if prefix_below_cache_minimum(context.backend.model, context.shared_prefix)
        else estimate_tokens(context.shared_prefix),
        batch=bool(getattr(context.backend, "batch", False)),  # --batch: half price
    )


class _Budget:
    """No new item starts once spend plus the projections reserved for the items in
    flight (every worker's, when workers share Redis) would pass the cap with its own.
    An item refused while this worker has others in flight waits for one of them to
    finish (real costs then replace the estimate); the worker stops when nothing of its
    own is in flight and the cap still refuses. The projection is the upfront estimate
    until a few items have finished, then their mean real cost, kept as a running sum so
    admitting an item takes constant time however many have finished."""

    #: Finished items whose mean cost is trusted over the upfront estimate.
    TRUSTED_SAMPLE = 3

    def __init__(
        self,
        ledger: UsageLedger,
        sinks: RunSinks,
        max_cost: float | None,
        upfront: float,
        reservations: Reservations,
    ) -> None:
        self.ledger = ledger
        self.sinks = sinks
        self.max_cost = max_cost
        self.upfront = upfront
        self.reservations = reservations
        self.in_flight = 0
        self.changed = asyncio.Condition()
        self._finished_usd = 0.0
        self._finished_spending = 0
        if max_cost is not None:
            for item_id in sinks.corpus.ids | sinks.rejected.ids:
                self._count_finished(item_id)

    def _count_finished(self, item_id: str) -> None:
        """Add a finished item to the mean (items that made no call are left out)."""
        usd = self.ledger.item_usd(item_id)
        if usd is not None:
            self._finished_usd += usd
            self._finished_spending += 1

    def _per_item(self) -> float:
        sample = self._finished_spending
        mean = self._finished_usd / sample if sample else 0.0
        return mean if sample >= self.TRUSTED_SAMPLE else max(mean, self.upfront)

    #: Seconds between looks at the other workers' reservations, when only theirs are in
    #: the way (they release them as their items end).
    POLL_SECONDS = 0.2

    async def admit(self, stop: asyncio.Event) -> float | None:
        """Take a place for one more item, waiting for items in flight (this worker's,
        or another live worker's) when the cap needs their real costs; the USD reserved
        for it, or None when the budget is spent or a stop was asked for."""
        if self.max_cost is None:
            self.in_flight += 1
            return 0.0
        async with self.changed:
            while True:
                projected = self._per_item()
                if self.reservations.try_reserve("items", projected, self.max_cost):
                    break
                if self.in_flight > 0:
                    await self.changed.wait()
                elif self.reservations.others_hold("items") and not stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.changed.wait(), self.POLL_SECONDS)
                else:
                    return None
            self.in_flight += 1
            return projected

    async def release(self, item_id: str, reserved: float) -> None:
        async with self.changed:
            self.in_flight -= 1
            self.reservations.release("items", reserved)
            if self.max_cost is not None and self.sinks.finished(item_id):
                self._count_finished(item_id)
            self.changed.notify_all()


class _Indexes:
    """The item indexes still to take (a shard's: every `step`-th from `start`), handed
    out one at a time: memory stays flat in `-n` (a billion is a counter, not a list). An
    index put back (budget) comes first."""

    def __init__(self, count: int, shard: Shard | None = None) -> None:
        self.count = count
        self.step = shard.count if shard else 1
        self.next = shard.number if shard else 0
        self._returned: list[int] = []

    def take(self) -> int | None:
        if self._returned:
            return self._returned.pop()
        if self.next >= self.count:
            return None
        self.next += self.step
        return self.next - self.step

    def put_back(self, index: int) -> None:
        self._returned.append(index)

    def untaken(self) -> tuple[list[int], range]:
        return list(self._returned), range(self.next, self.count, self.step)


async def run_items(
    run: RunDir,
    context: RunContext,
    options: RunOptions,
    *,
    on_progress: ProgressCallback | None = None,
    stop: asyncio.Event | None = None,
) -> RunReport:
    shard = options.shard
    report = RunReport(
        planned=len(range(shard.number, options.count, shard.count)) if shard else options.count
    )
    stop = stop or asyncio.Event()
    notify = on_progress or (lambda event, item_id: None)
    upfront = upfront_item_cost(context) if options.max_cost is not None else 0.0
    shared = context.ledger.shared
    if shared is not None:
        shared.clear_reservations()
    reservations = shared or LocalReservations(context.ledger)
    budget = _Budget(context.ledger, context.sinks, options.max_cost, upfront, reservations)
    if options.max_cost is not None:
        context.spend_cap = SpendCap(reservations, options.max_cost)
    indexes = _Indexes(options.count, options.shard)
    item_id = run.item_ids()
    set_aside = context.sinks.set_aside_items()

    context.stop = stop
    async with open_checkpointer(run.checkpoints_path) as saver:
        context.texts = await TextStore.open(saver)
        graph = build_graph(context.kind, saver, retry=options.retry)
        count_recorded = False
        checkpointed = await checkpointed_threads(saver, run.checkpoints_path)

        async def run_one(index: int) -> None:
            this_id = item_id(index)
            try:
                final = await advance(index, this_id)
            except StopRequested as stopped:
                report.paused += 1
                if isinstance(stopped, BudgetSpent) and report.stop_reason == "finished":
                    report.stop_reason = "budget"
                notify("paused", this_id)
                return
            except Exception as error:
                outcome = classify(error, run.checkpoints_path)
                if outcome.action == "error":
                    log.debug("item %s failed", this_id, exc_info=True)
                report.interrupted += 1
                report.interruptions[outcome.action] += 1
                report.errors.append(f"{this_id}: {outcome.message}")
                if outcome.action == "fatal":
                    if report.stop_reason != "fatal":
                        report.stop_reason, report.fatal_error = "fatal", outcome.message
                    stop.set()
                notify("interrupted", this_id)
                return
            if final is None:
                return
            _count(report, final, notify)
            nonlocal count_recorded
            if not count_recorded:  # once an item got through: a failed start leaves run.json
                run.record_count(options.count)
                count_recorded = True

        async def advance(index: int, this_id: str) -> dict[str, Any] | None:
            """Take one item as far as it goes; None when it was already finished."""
            if context.sinks.finished(this_id):
                report.already_done += 1
                notify("skipped", this_id)
                return None
            config: Any = {"configurable": {"thread_id": this_id}}
            if this_id not in checkpointed:
                if this_id in set_aside:
                    report.set_aside[this_id] = _made_whole({}, ())
                saver.fresh.add(this_id)  # LangGraph's read of its checkpoint is skipped
                return await invoke(ItemInput(item_id=this_id, index=index), config)
            snapshot = await graph.aget_state(config)
            if this_id in set_aside:
                report.set_aside[this_id] = _made_whole(snapshot.values, snapshot.next)
            if snapshot.values.get("outcome") and not snapshot.next:
                await _rewrite_lost_output(snapshot.values, context)
                return snapshot.values
            payload = None if snapshot.next else ItemInput(item_id=this_id, index=index)
            if snapshot.next:
                report.resumed += 1
            return await invoke(payload, config)

        async def invoke(payload: ItemInput | None, config: Any) -> dict[str, Any]:
            """Run the item's graph; a call parked on a batch (`AwaitingBatch`) ends the
            graph run at its checkpoint, and the item goes on from there once answered."""
            while True:
                try:
                    async with graph_runs:
                        result: dict[str, Any] = await graph.ainvoke(
                            payload, config, context=context, durability="sync"
                        )
                    return result
                except AwaitingBatch as parked:
                    # Only the future: the exception's traceback holds the whole graph run.
                    answered = parked.answered
                await batches.wait_for(answered)
                payload = None

        async def worker() -> None:
            # The budget only stops new items; items in flight were already counted in
            # its projection, so they finish (unlike a stop, which pauses them).
            while not stop.is_set() and report.stop_reason != "budget":
                index = indexes.take()
                if index is None:
                    return
                if context.sinks.finished(item_id(index)):
                    await run_one(index)  # skipped: costs nothing, needs no budget
                    continue
                reserved = await budget.admit(stop)
                if reserved is None:
                    if not stop.is_set():
                        report.stop_reason = "budget"
                    indexes.put_back(index)
                    return
                in_flight[0] += 1
                try:
                    await run_one(index)
                finally:
                    in_flight[0] -= 1
                    await budget.release(item_id(index), reserved)

        in_flight = [0]
        graph_runs: contextlib.AbstractAsyncContextManager[Any] = contextlib.nullcontext()
        if (batches := _batch_backend(context.backend)) is not None:
            batches.items_in_flight = lambda: in_flight[0]
            batches.park_calls = True
            graph_runs = asyncio.Semaphore(BATCH_GRAPH_RUNS)
            if options.max_cost is not None:
                _stop_batches_past(batches, context.ledger, options.max_cost, report, stop)
        # No more workers than items: --batch allows a million in flight for a run of ten.
        workers = [
            asyncio.create_task(worker()) for _ in range(min(options.concurrency, report.planned))
        ]
        alive = asyncio.create_task(_keep_alive(shared)) if shared is not None else None
        try:
            await asyncio.gather(*workers)
        finally:
            if alive is not None:
                alive.cancel()
                shared.clear_reservations()  # the other workers need not wait on this one

    report.not_started = _not_started(indexes, context, item_id)
    if stop.is_set() and report.stop_reason == "finished":
        report.stop_reason = "stopped"
    return report


async def _keep_alive(shared: SpendCounter) -> None:
    """Sign of life for the other workers, so this worker's reservations keep counting
    through calls that take long (a batch round)."""
    while True:
        await asyncio.to_thread(shared.heartbeat)
        await asyncio.sleep(ALIVE_SECONDS / 3)


def _batch_backend(backend: Any) -> Any:
    """The Message Batches backend under any wrappers (fault injection), or None."""
    while not hasattr(backend, "items_in_flight") and hasattr(backend, "inner"):
        backend = backend.inner
    return backend if hasattr(backend, "items_in_flight") else None


def _stop_batches_past(
    backend: Any, ledger: UsageLedger, max_cost: float, report: RunReport, stop: asyncio.Event
) -> None:
    """Under --batch, a batch is submitted only while the spend so far plus that batch at
    the mean cost of a call stays within `max_cost`; a refused batch stops the run as the
    budget does (its calls pause, to resume with a larger cap). Constant time per batch."""

    def admit(requests: int) -> bool:
        totals = ledger.totals()
        per_call = totals.usd / totals.calls if totals.calls else 0.0
        if ledger.run_total_usd() + requests * per_call <= max_cost:
            return True
        report.stop_reason = "budget"
        stop.set()
        return False

    backend.admit_batch = admit


def _not_started(indexes: _Indexes, context: RunContext, item_id: Any) -> int:
    """Items never taken up that are not finished either (counted without walking a range
    of a billion: the finished ones are looked up among the few the outputs hold)."""
    returned, rest = indexes.untaken()
    finished_later = 0
    for finished_id in context.sinks.corpus.ids | context.sinks.rejected.ids:
        index = item_id.index_of(finished_id)
        if index is not None and index in rest:
            finished_later += 1
    pending_returned = sum(not context.sinks.finished(item_id(i)) for i in returned)
    return pending_returned + len(rest) - finished_later


def _made_whole(values: dict[str, Any], pending: tuple[str, ...]) -> str:
    """How an item whose output line was set aside as torn is made again."""
    if values.get("outcome") and not pending:
        return "its line was written again from its checkpoint (the same text, no new call)"
    if pending:
        return "it was resumed from its last checkpoint"
    return "no checkpoint held it, so it was generated again (new calls, a new text)"


async def _rewrite_lost_output(values: dict[str, Any], context: RunContext) -> None:
    """A finished thread whose output line was cut as torn: write it again."""
    state: Any = values
    await nodes.write_outputs(context, state, values["outcome"])


def _count(report: RunReport, final: dict[str, Any], notify: ProgressCallback) -> None:
    item_id = final["item_id"]
    if final.get("outcome") == "emitted":
        report.emitted += 1
        notify("emitted", item_id)
    else:
        report.rejected += 1
        report.reasons[final.get("reject_reason") or "unknown"] += 1
        notify("rejected", item_id)
