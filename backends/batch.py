"""`generate --batch`: the Anthropic backend over the Message Batches API (half price).

Nodes call `complete()` as always. Each API call (`_create`, so structured output and
its repair turn work unchanged) becomes a queued request with a deterministic key; a
collector submits queued requests as one batch (at `max_batch` requests or after
`flush_idle` seconds without a new one); a poller `retrieve`s running batches every
`poll_interval` seconds and, when one ends, streams its `results()` into the journal
before it resolves the waiting calls. The journal (`batch_journal.py`) is what makes a
kill at any moment cost nothing twice.

Result types: `succeeded` answers; `errored` with `invalid_request_error` fails that
item (fatal when it says the credit is too low); authentication, permission, billing
and not-found errors stop the run; rate-limit, overloaded, api and timeout errors,
`expired` and `canceled` rows go into a later batch (only those rows).

Before the first batch of a request purpose (plan, write, judge, ...), one synchronous
call of that purpose is made (the canary): a request error shows now, not hours later.

At scale (100,000 items in flight, a batch body of hundreds of megabytes) the event loop
only routes: the journal is used from one worker thread of its own (one writer, and a
commit of 10,000 results never stalls the loop), batch bodies are encoded and results
downloaded and decoded by the synchronous SDK client in worker threads, each request is
sized from the one encoding that also keys it, and a request's params are dropped once
it is answered. A batch body is capped at 32 MB (the API takes 256): encoding one
briefly holds a few copies of it, so the cap, not the number of items in flight, sets
that peak; a round of 100,000 items is then some 80 batches running side by side.

Under the runner (`park_calls`), a call that must wait for a batch does not wait in the
node: it queues its request and raises `AwaitingBatch`, the runner lets the item's graph
run go (a paused LangGraph run is some 40 KiB; a parked item is its key and a future)
and runs the node again from its checkpoint when the answer is in, which the node's call
then takes from `_answers`. A queued request's params are dropped once submitted; a row
to be sent again wakes its item, whose node asks again. The runner also says how many
items are in flight, so a round is submitted when every one of them is parked: the whole
step goes as one round (in bodies side by side) however long the step's own work took.
`admit_batch` (set by the runner under `--max-cost`) is asked before
every new batch, so a spent budget stops new batches, not only new items.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import anthropic

from storyloom.backends.anthropic import _MISSING_KEY, AnthropicBackend
from storyloom.backends.base import (
    AwaitingBatch,
    BackendError,
    Completion,
    CompletionRequest,
    PermanentBackendError,
    TransientBackendError,
)
from storyloom.backends.batch_journal import BatchJournal, Submission, key_tag, keyed_size
from storyloom.backends.throttle import BATCH_MAX_CALLS
from storyloom.core.heap import keep_heap_steady
from storyloom.core.tasks import detached_task

log = logging.getLogger(__name__)

#: Seconds between `retrieve` polls of one batch (tests set it small).
POLL_ENV = "STORYLOOM_BATCH_POLL"

_RETRY_ERRORS = {"rate_limit_error", "overloaded_error", "api_error", "timeout_error"}
_FATAL_ERRORS = {
    "authentication_error",
    "permission_error",
    "billing_error",
    "not_found_error",
}
_purpose: contextvars.ContextVar[str] = contextvars.ContextVar("purpose", default="")
_T = TypeVar("_T")
#: What a parked call finds when its item runs again: its answer as (kind, JSON body),
#: or the error it is to raise.
Outcome = tuple[str, str] | BackendError

STOPPED_WAITING = "stopped while waiting for a batch; run again to resume"
#: What a call queued for a batch hears when the budget refuses that batch: transient,
#: so its node retries through the workflow's stop check and the item pauses.
BUDGET_SPENT = "the --max-cost budget would be passed by the next batch; it was not submitted"


class BatchBackend(AnthropicBackend):
    name: ClassVar[str] = "anthropic"
    #: Items in flight wait on batches, not on connections: any number is fine.
    max_parallel_calls: ClassVar[int] = BATCH_MAX_CALLS
    _cache_control: ClassVar[dict[str, str]] = {"type": "ephemeral", "ttl": "1h"}
    batch = True

    def __init__(
        self,
        *,
        journal_path: Path,
        poll_interval: float = 60.0,
        flush_idle: float = 2.0,
        max_batch: int = 10_000,
        max_batch_bytes: int = 32_000_000,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        keep_heap_steady()  # rounds of large blocks would otherwise grow the heap
        self.journal = BatchJournal(journal_path)
        #: The journal's one thread: one writer, and no commit ever runs on the loop.
        self._journal_thread = ThreadPoolExecutor(1, thread_name_prefix="batch-journal")
        #: Encodes batch bodies and decodes results in worker threads (the async client
        #: would do both on the event loop).
        self._sync = anthropic.Anthropic(
            api_key=self._secret,
            base_url=self._client.base_url,
            timeout=self._timeout,
            max_retries=self._client.max_retries,
        )
        self._batch_counts = _counts(self.journal.submissions())
        self._poll = poll_interval
        self._flush_idle = flush_idle
        self._max_batch = max_batch
        self._max_bytes = max_batch_bytes
        #: key -> (params, encoded size), in arrival order, until submitted.
        self._queue: dict[str, tuple[dict[str, Any], int]] = {}
        self._queued_bytes = 0
        self._last_enqueue = 0.0
        self._waiting: dict[str, asyncio.Future[Any]] = {}
        #: Parking (set by the runner): calls raise `AwaitingBatch` instead of waiting.
        self.park_calls = False
        #: Items parked on a request (the runner waits through `wait_for`).
        self._parked = 0
        #: Answers of parked calls, taken by the call when its node runs again.
        self._answers: dict[str, Outcome] = {}
        self._pending: set[str] = set()
        #: Params of the requests still waiting for an answer (a retried row is sent
        #: again from here); dropped as each is answered.
        self._params: dict[str, dict[str, Any]] = {}
        self._canaries: set[str] = set()
        #: `key_tag`s of the journal's answers: only a call whose tag is here looks there.
        self._answered: set[int] = set()
        self._canary_locks: dict[str, asyncio.Lock] = {}
        self._started: asyncio.Task[None] | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._fatal: BackendError | None = None
        #: Stop submitting (Ctrl-C, budget): what is queued stays queued; batches already
        #: running are picked up by the next start.
        self.submitting = True
        #: Asked with the number of requests before each new batch; False stops
        #: submitting (the runner sets it under --max-cost).
        self.admit_batch: Callable[[int], bool] | None = None
        #: Items in flight (set by the runner). With it, queued requests are submitted
        #: the moment every item in flight waits on a batch: a whole step goes as one
        #: round, however long the step's own work takes; `flush_idle` is then only
        #: the fallback for an item held up elsewhere (a retry's backoff).
        self.items_in_flight: Callable[[], int] | None = None
        self.stall_flush = max(flush_idle, 30.0)

    @classmethod
    def from_environment_batch(
        cls, *, journal_path: Path, model: str | None = None, timeout: float = 120.0
    ) -> BatchBackend:
        api_key = os.environ.get("ANTHROPIC_API_KEY", "")
        if not api_key:
            raise PermanentBackendError(_MISSING_KEY, fatal=True)
        options: dict[str, Any] = {"api_key": api_key, "timeout": timeout}
        if model:
            options["model"] = model
        poll = float(os.environ.get(POLL_ENV, "") or 60.0)
        return cls(
            journal_path=journal_path, poll_interval=poll, flush_idle=min(2.0, poll), **options
        )

    def stats(self) -> dict[str, int]:
        """Batches by state and requests waiting, for the progress display. Read from a
        snapshot the event loop keeps: the display renders from its own thread, and on
        its last refresh after the journal is closed (sqlite allows neither)."""
        return {**self._batch_counts, "waiting": len(self._waiting)}

    async def _in_journal(self, call: Callable[..., _T], *args: Any) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._journal_thread, functools.partial(call, *args))

    def stop_waiting(self, reason: str = STOPPED_WAITING) -> None:
        """Ctrl-C: submit nothing more and release every waiting call (as transient, so
        its node stops at its checkpoint). Batches already running stay journaled; the
        next start polls them and takes their results."""
        self.submitting = False
        self._queue.clear()
        self._queued_bytes = 0
        stopped = TransientBackendError(reason)
        for key in list(self._waiting):
            self._resolve(key, stopped)
        self._params.clear()

    async def aclose(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        await self._in_journal(self.journal.close)
        self._journal_thread.shutdown(wait=True)
        self._sync.close()
        await super().aclose()

    async def complete(self, request: CompletionRequest) -> Completion:
        token = _purpose.set(request.purpose or "call")
        try:
            return await super().complete(request)
        finally:
            _purpose.reset(token)

    # ----- one API call, through a batch -----
    async def _create(self, params: dict[str, Any]) -> anthropic.types.Message:
        await self._start()
        key, size = keyed_size(params)
        if (parked_answer := self._answers.pop(key, None)) is not None:
            return self._taken(parked_answer)
        replayed = key_tag(key) in self._answered  # a node run again after a kill
        if replayed and (done := await self._in_journal(self.journal.result, key)) is not None:
            return self._outcome(*done)
        purpose = _purpose.get()
        if purpose not in self._canaries:
            async with self._canary_locks.setdefault(purpose, asyncio.Lock()):
                if purpose not in self._canaries and key not in self._pending:
                    # Synchronous, full price; detached, or the HTTP client's timers would
                    # hold this item's graph run (through its context) after it parks.
                    message = await detached_task(super()._create(params))
                    answer = [(key, "succeeded", message.model_dump(mode="json"))]
                    await self._in_journal(self.journal.record_results, answer)
                    await self._in_journal(self.journal.record_canary, purpose)
                    self._canaries.add(purpose)
                    self._answered.add(key_tag(key))
                    return message
        if self._fatal is not None:
            raise self._fatal
        future = self._waiting.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._waiting[key] = future
            if not self.park_calls:
                self._params[key] = params
            if key not in self._pending:
                self._enqueue(key, params, size)
        if self.park_calls:
            raise AwaitingBatch(key, future)
        return self._taken(await asyncio.shield(future))

    async def wait_for(self, answered: asyncio.Future[Any]) -> None:
        """Wait, as a parked item, until its request is answered or must be asked again
        (`AwaitingBatch.answered`)."""
        self._parked += 1
        try:
            await asyncio.shield(answered)
        finally:
            self._parked -= 1

    def _waiting_items(self) -> int:
        return self._parked if self.park_calls else len(self._waiting)

    def _resolve(self, key: str, outcome: Outcome | None) -> None:
        """Hand a request's outcome to whoever waits on it: the call itself, or (parked)
        the item, whose call takes it when its node runs again. None: ask again."""
        future = self._waiting.pop(key, None)
        if self.park_calls:
            if outcome is not None:
                self._answers[key] = outcome
            if future is not None and not future.done():
                future.set_result(None)
        elif future is not None and not future.done():
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    def _taken(self, outcome: Outcome) -> anthropic.types.Message:
        if isinstance(outcome, BaseException):
            raise outcome
        return self._outcome(*outcome)

    def _enqueue(self, key: str, params: dict[str, Any], size: int) -> None:
        self._queue[key] = (params, size)
        self._queued_bytes += size
        self._last_enqueue = time.monotonic()

    def _outcome(self, kind: str, body: str) -> anthropic.types.Message:
        """The answer from its JSON text (kept as text while it waits: a third of the
        memory of the parsed dict, and pydantic parses it faster)."""
        if kind == "succeeded":
            return anthropic.types.Message.model_validate_json(body)
        error = json.loads(body).get("error", {})
        error_type, detail = error.get("type", ""), error.get("message", "")
        if error_type in _FATAL_ERRORS:
            raise self._scrubbed(
                PermanentBackendError(f"the batch API refused ({error_type}): {detail}", fatal=True)
            )
        low_credit = "credit balance" in detail.lower()
        raise self._scrubbed(
            PermanentBackendError(
                f"the batch API rejected the request ({error_type}): {detail}", fatal=low_credit
            )
        )

    # ----- start-up: reconcile the journal with the API -----
    async def _start(self) -> None:
        if self._started is None:
            self._started = detached_task(self._recover())
        await asyncio.shield(self._started)

    async def _recover(self) -> None:
        intents = await self._in_journal(self.journal.submissions, "intent")
        if intents:
            claimed = await self._in_journal(self.journal.claimed_batch_ids)
            listed = [b async for b in self._client.messages.batches.list(limit=100)]
            for sub in intents:
                match = next(
                    (
                        b
                        for b in sorted(listed, key=lambda b: b.created_at)
                        if b.id not in claimed
                        and b.created_at.timestamp() >= sub.created_at - 60
                        and _total(b) == sub.size
                    ),
                    None,
                )
                if match is None:
                    log.info("submission %s never reached the API; its requests are free", sub.id)
                    await self._in_journal(self.journal.set_status, sub.id, "abandoned")
                else:
                    log.info("submission %s was created as %s before a kill", sub.id, match.id)
                    await self._in_journal(self.journal.record_batch, sub.id, match.id)
                    claimed.add(match.id)
        self._pending = await self._in_journal(self.journal.pending_keys)
        self._canaries = await self._in_journal(self.journal.canaries)
        self._answered = await self._in_journal(self.journal.answered_tags)
        self._loop_task = detached_task(self._run())

    # ----- collector and poller -----
    async def _run(self) -> None:
        """The collector and poller; if it breaks (the journal's disk, a bug), every
        waiting call hears of it instead of waiting forever."""
        try:
            await self._collect_and_poll()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.debug("batch loop failed", exc_info=True)
            stop = PermanentBackendError(
                f"batch mode stopped: {type(error).__name__}: {error}", fatal=True
            )
            self._fail_all(list(self._waiting), stop)
            self._fatal = stop

    async def _collect_and_poll(self) -> None:
        next_poll: dict[str, float] = {}
        tick = min(0.05, self._poll)
        while True:
            now = time.monotonic()
            if self._queue and self.submitting and self._fatal is None and self._due(now):
                await self._submit()
            submissions = await self._in_journal(self.journal.submissions)
            self._batch_counts = _counts(submissions)
            for sub in submissions:
                if sub.status == "submitted" and now >= next_poll.get(sub.id, 0.0):
                    next_poll[sub.id] = now + self._poll
                    try:
                        await self._check(sub.id, sub.batch_id or "")
                    except (anthropic.AnthropicError, BackendError, ValueError) as error:
                        log.warning("polling batch %s failed: %s", sub.batch_id, error)
            await asyncio.sleep(tick)

    def _due(self, now: float) -> bool:
        """Submit now: every item in flight waits (the runner's step-synchronous rounds; a
        step too big for one body goes as several side by side), or without the runner a
        full batch or a quiet spell. A quiet spell of `stall_flush` is the fallback for
        an item held up elsewhere (a retry's backoff)."""
        idle = now - self._last_enqueue
        if self.items_in_flight is not None:
            return self._waiting_items() >= self.items_in_flight() or idle >= self.stall_flush
        full = len(self._queue) >= self._max_batch or self._queued_bytes >= self._max_bytes
        return full or idle >= self._flush_idle

    def _take_batch(self) -> dict[str, dict[str, Any]]:
        """The oldest queued requests up to `max_batch` of them and `max_batch_bytes`."""
        batch: dict[str, dict[str, Any]] = {}
        size = 0
        for key, (params, request_size) in self._queue.items():
            if batch and (len(batch) >= self._max_batch or size + request_size > self._max_bytes):
                break
            batch[key] = params
            size += request_size
        for key in batch:
            del self._queue[key]
        self._queued_bytes -= size
        return batch

    async def _submit(self) -> None:
        if self.admit_batch is not None and not self.admit_batch(
            min(len(self._queue), self._max_batch)
        ):
            log.info("the budget refuses a new batch; %d requests not submitted", len(self._queue))
            self.stop_waiting(BUDGET_SPENT)
            return
        batch = self._take_batch()
        keys = list(batch)
        submission, members = await self._in_journal(self.journal.write_intent, keys)
        requests = [{"custom_id": cid, "params": batch[key]} for cid, key in members.items()]
        del batch
        self._pending.update(keys)
        create = functools.partial(self._sync.messages.batches.create, requests=requests)
        try:
            created = await asyncio.to_thread(create)  # type: ignore[arg-type]
        except anthropic.APIStatusError as exc:
            error = self._status_error(exc)
            if isinstance(error, PermanentBackendError):
                await self._in_journal(self.journal.set_status, submission, "abandoned")
                self._fail_all(keys, error)
                return
            # Unknown whether it was created: the intent stays, the next start reconciles.
            log.warning("creating a batch failed (%s); will check on the next start", error)
            return
        except anthropic.APIError as exc:
            log.warning("creating a batch failed (%s); will check on the next start", exc)
            return
        finally:
            del requests, create
        await self._in_journal(self.journal.record_batch, submission, created.id)
        log.info("batch %s submitted with %d requests", created.id, len(keys))

    def _fail_all(self, keys: list[str], error: BackendError) -> None:
        if isinstance(error, PermanentBackendError) and error.fatal:
            self._fatal = error
        for key in keys:
            self._pending.discard(key)
            self._params.pop(key, None)
            self._resolve(key, error)

    async def _check(self, submission: str, batch_id: str) -> None:
        batch = await self._client.messages.batches.retrieve(batch_id)
        if batch.processing_status != "ended":
            return
        url = batch.results_url or f"/v1/messages/batches/{batch_id}/results"
        rows = await asyncio.to_thread(self._download_results, url)
        final, retry = await self._in_journal(self._settle, submission, rows)
        del rows
        for key, kind, body in final:
            self._answered.add(key_tag(key))
            self._pending.discard(key)
            self._params.pop(key, None)
            self._resolve(key, (kind, body))
        for key in retry:
            self._pending.discard(key)
            if self.park_calls:
                self._resolve(key, None)  # its node runs again and asks again
            elif key in self._waiting:
                params = self._params[key]
                self._enqueue(key, params, keyed_size(params)[1])
        if retry:
            log.info("batch %s: %d rows go into a later batch", batch_id, len(retry))

    def _download_results(self, url: str) -> list[dict[str, Any]]:
        """The result rows as plain JSON (a worker thread): the SDK would build a
        pydantic model of every row on the event loop only for it to be dumped again."""
        text = self._sync.get(
            url, cast_to=str, options={"headers": {"Accept": "application/binary"}}
        )
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def _settle(
        self, submission: str, rows: list[dict[str, Any]]
    ) -> tuple[list[tuple[str, str, str]], list[str]]:
        """Journal an ended batch's final results (durable before anyone is answered) and
        say which rows go into a later batch. Runs in the journal's thread."""
        members = self.journal.members(submission)
        final: list[tuple[str, str, dict[str, Any]]] = []
        retry: list[str] = []
        for row in rows:
            key = members.get(row.get("custom_id", ""))
            if key is None:
                continue  # not ours (a list match gone wrong): never take its answer
            result = row.get("result") or {}
            kind = result.get("type")
            if kind == "succeeded":
                final.append((key, "succeeded", result["message"]))
            elif kind == "errored" and _error_type(result) not in _RETRY_ERRORS:
                final.append((key, "errored", result.get("error") or {}))
            else:
                retry.append(key)
        self.journal.record_results(final)
        self.journal.set_status(submission, "ended")
        return [(key, kind, json.dumps(body)) for key, kind, body in final], retry


def _error_type(result: dict[str, Any]) -> str:
    return str(((result.get("error") or {}).get("error") or {}).get("type", ""))


def _counts(subs: list[Submission]) -> dict[str, int]:
    return {
        "submitted": sum(s.batch_id is not None for s in subs),
        "in_progress": sum(s.status in ("intent", "submitted") for s in subs),
        "ended": sum(s.status == "ended" for s in subs),
    }


def _total(batch: Any) -> int:
    counts = batch.request_counts
    return int(
        counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired
    )
