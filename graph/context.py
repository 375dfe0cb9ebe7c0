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
from storyloom.graph.indexes import RunIndexes
from storyloom.graph.ledger import UsageLedger
from storyloom.graph.settings import GenerationSettings
from storyloom.graph.sinks import RunSinks
from storyloom.graph.texts import TextStore
from storyloom.stories.kind import CorpusKind


class StopRequested(Exception):
    """A graceful stop was asked for before this node's call: resume the thread later."""


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
    #: Calls queue here, not inside the backend, so a stop also reaches queued calls (a
    #: local model runs one call at a time; the rest would otherwise run after Ctrl-C).
    _call_slots: asyncio.Semaphore | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.call_timeout is not None and self.call_timeout <= 0:
            raise ValueError(f"call_timeout must be > 0 seconds, got {self.call_timeout}")

    @cached_property
    def shared_prefix(self) -> str:
        """The kind's system-prompt prefix, the same for every call of the run."""
        return self.kind.shared_prefix(self.inputs, self.settings)

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
            return await self._call(item_id, request)

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
            failed = Completion(text="", model=self.backend.model, usage=error.usage)
            self.ledger.record(item_id=item_id, node=request.purpose, completion=failed)
