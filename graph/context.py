"""The runtime context handed to every node: dependencies, never checkpointed.

Backends, open files and indexes cannot (and must not) be serialised into a checkpoint,
and the API key must never reach one; LangGraph passes this object beside the state.

Every LLM call goes through `complete`, which is also where a run is made safe to stop and
safe from hangs: once a graceful stop is requested no new call starts (the node raises
`StopRequested`, so the thread stays at its last checkpoint and resumes from there), and a
call that outlives `call_timeout` becomes a `TransientBackendError` the node's retry
policy handles like any other lost call.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from storyloom.backends.base import (
    Backend,
    BackendError,
    Completion,
    CompletionRequest,
    PermanentBackendError,
    TransientBackendError,
    Usage,
    unsupported,
)
from storyloom.graph.budget import Reservations, call_projection
from storyloom.graph.indexes import RunIndexes
from storyloom.graph.ledger import UsageLedger
from storyloom.graph.settings import GenerationSettings
from storyloom.graph.sinks import RunSinks
from storyloom.graph.texts import TextStore
from storyloom.stories.kind import CorpusKind


class StopRequested(Exception):
    """A graceful stop was asked for before this node's call: resume the thread later."""


class BudgetSpent(StopRequested):
    """This call could pass `--max-cost`: the item pauses here, to resume with a higher
    cap."""


@dataclass(frozen=True)
class SpendCap:
    """`--max-cost` and where the reservations against it are held."""

    reservations: Reservations
    max_cost: float


@dataclass
class RunContext:
    kind: CorpusKind
    #: The kind's loaded inputs (`LoadedInputs.value`).
    inputs: Any
    settings: GenerationSettings
    backend: Backend
    sinks: RunSinks
    indexes: RunIndexes
    ledger: UsageLedger
    #: The kind's options, validated by its `options_model`.
    options: Any = None
    #: Set by the runner once the checkpoint database is open.
    texts: TextStore | None = None
    #: Seconds one backend call may take before it counts as lost (None: no limit).
    call_timeout: float | None = None
    #: Set by the runner on Ctrl-C / SIGTERM: calls not yet started are not made.
    stop: asyncio.Event | None = None
    #: Set by the runner under `--max-cost`: each call reserves its upper cost first.
    spend_cap: SpendCap | None = None
    #: Calls queue here, not inside the backend, so a stop also reaches queued calls (a
    #: local model runs one call at a time; the rest would otherwise run after Ctrl-C).
    _call_slots: asyncio.Semaphore | None = field(default=None, init=False, repr=False)
    #: Calls of this process holding a reservation against `--max-cost`, and their end.
    _calls_reserved: int = field(default=0, init=False, repr=False)
    _calls_settled: asyncio.Condition = field(
        default_factory=asyncio.Condition, init=False, repr=False
    )
    #: Corpus records built by `dedupe`, by item id, for `emit` to write (see
    #: `nodes.corpus_record`): (what it was built from, the record).
    corpus_records: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = field(
        default_factory=dict, init=False, repr=False
    )

    #: Kept records at most (items stopped between dedupe and emit leave theirs).
    KEPT_RECORDS = 4096

    def __post_init__(self) -> None:
        if self.call_timeout is not None and self.call_timeout <= 0:
            raise ValueError(f"call_timeout must be > 0 seconds, got {self.call_timeout}")

    @cached_property
    def shared_prefix(self) -> str:
        """The kind's system-prompt prefix, the same for every call of the run."""
        return self.kind.shared_prefix(self.inputs, self.settings)

    def keep_record(self, item_id: str, key: tuple[Any, ...], record: dict[str, Any]) -> None:
        if len(self.corpus_records) >= self.KEPT_RECORDS:
            del self.corpus_records[next(iter(self.corpus_records))]
        self.corpus_records[item_id] = (key, record)

    @property
    def text_store(self) -> TextStore:
        assert self.texts is not None, "the runner opens the text store before any node runs"
        return self.texts

    def _check_stop(self, item_id: str, request: CompletionRequest) -> None:
        if self.stop is not None and self.stop.is_set():
            raise StopRequested(f"{item_id}: stopped before {request.purpose or 'a call'}")

    async def complete(self, item_id: str, request: CompletionRequest) -> Completion:
        """Call the backend and book the usage against the item and node. A parameter
        the backend cannot honour is refused here, before anything is sent or paid."""
        if problem := unsupported(self.backend, request):
            raise PermanentBackendError(problem, fatal=True)
        self._check_stop(item_id, request)
        if self._call_slots is None:
            self._call_slots = asyncio.Semaphore(self.backend.max_parallel_calls)
        async with self._call_slots:
            self._check_stop(item_id, request)
            reserved = await self._reserve(item_id, request)
            try:
                return await self._call(item_id, request)
            finally:  # after the real cost is booked: the total is never undercounted
                if reserved:
                    await self._release(reserved)

    async def _reserve(self, item_id: str, request: CompletionRequest) -> float:
        """Reserve the call's upper cost against `--max-cost` across workers: a call
        starts only while the booked spend and the calls in flight leave some of the
        cap, so the cap holds within one call's cost. Otherwise wait for this process's
        calls in flight (their real costs replace their upper ones); with none left,
        pause the item (BudgetSpent)."""
        cap = self.spend_cap
        if cap is None:
            return 0.0
        batch = bool(getattr(self.backend, "batch", False))
        upper = call_projection(request.model or self.backend.model, request, batch=batch)
        async with self._calls_settled:
            while not cap.reservations.try_reserve("calls", upper, cap.max_cost, must_fit=False):
                if self._calls_reserved == 0:
                    raise BudgetSpent(
                        f"{item_id}: paused before {request.purpose or 'a call'}: the spend "
                        f"and the calls in flight reach --max-cost ${cap.max_cost:.2f}"
                    )
                await self._calls_settled.wait()
                self._check_stop(item_id, request)
            self._calls_reserved += 1
        return upper

    async def _release(self, reserved: float) -> None:
        assert self.spend_cap is not None
        async with self._calls_settled:
            self._calls_reserved -= 1
            self.spend_cap.reservations.release("calls", reserved)
            self._calls_settled.notify_all()

    async def _call(self, item_id: str, request: CompletionRequest) -> Completion:
        what = request.purpose or "call"
        deadline = asyncio.timeout(self.call_timeout)
        try:
            async with deadline:
                completion = await self.backend.complete(request)
        except BackendError as error:
            self._record_billed_failure(item_id, request, error)
            raise
        except TimeoutError as error:
            if deadline.expired():
                message = f"{what}: the backend did not answer within {self.call_timeout:g}s"
            else:  # the backend's own timeout, not mapped to a backend error
                message = f"{what}: the backend timed out ({error or 'no detail'})"
            raise TransientBackendError(message) from None
        # Durable before the node goes on; fsynced off the loop, one write per group.
        await self.ledger.record_async(item_id=item_id, node=request.purpose, completion=completion)
        return completion

    def _record_billed_failure(
        self, item_id: str, request: CompletionRequest, error: BackendError
    ) -> None:
        """Calls billed before an error (e.g. a reply that failed validation twice) are
        still spend: book them, or the ledger falls short of the provider's bill."""
        if error.usage is not None and error.usage != Usage():
            failed = Completion(
                text="", model=self.backend.model, usage=error.usage, requests=error.requests
            )
            self.ledger.record(item_id=item_id, node=request.purpose, completion=failed)
