"""Running suites against models: every (model, trial) once, resumable, within a budget.

Trials are interleaved across models (each trial of a template for every model before the
next), so a run stopped by its budget compares the models on the same trials. A
transient error still failing after the retries leaves its trial out of the journal (the
next start runs it); a permanent one is recorded as the trial's error, counted apart from
the rates; a fatal one (bad key, unknown model) stops the run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storyloom.backends.base import (
    Backend,
    BackendError,
    Completion,
    CompletionRequest,
    PermanentBackendError,
    TransientBackendError,
    unsupported,
)
from storyloom.evals.journal import USAGE, ResultsJournal, check_suites, result_id
from storyloom.evals.scenario import TrialTemplate
from storyloom.evals.suite import Suite
from storyloom.evals.trial import run_trial
from storyloom.graph.budget import LocalReservations, call_projection
from storyloom.graph.ledger import UsageLedger
from storyloom.graph.runlock import RunLock

RETRIES = 4


@dataclass(frozen=True)
class Target:
    """A model under test: the name results carry, and the backend that serves it."""

    model: str
    backend: Backend


@dataclass(frozen=True)
class EvalOptions:
    trials: int = 1
    concurrency: int = 8
    max_cost: float | None = None
    persona_name: str | None = None
    max_tokens: int = 1024
    judge_model: str | None = None


@dataclass
class EvalReport:
    done_before: int = 0
    finished: int = 0
    errors: int = 0
    unfinished: int = 0
    budget_reached: bool = False
    usd: float = 0.0
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Work:
    target: Target
    suite: Suite
    template: TrialTemplate
    trial: str

    @property
    def id(self) -> str:
        return result_id(self.target.model, self.suite.name, self.trial)


def pending(
    suites: list[Suite], targets: list[Target], options: EvalOptions, done: set[str]
) -> Iterator[_Work]:
    for suite in suites:
        for template in suite.templates(options.persona_name):
            for number in range(1, options.trials + 1):
                for target in targets:
                    work = _Work(target, suite, template, f"{template.id}#{number}")
                    if work.id not in done:
                        yield work


async def run_eval(
    run_dir: Path,
    suites: list[Suite],
    targets: list[Target],
    judge: Backend,
    options: EvalOptions,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> EvalReport:
    run_dir.mkdir(parents=True, exist_ok=True)
    with RunLock(run_dir):  # one writer: two evals appending to one journal would repeat trials
        return await _run_locked(run_dir, suites, targets, judge, options, progress)


async def _run_locked(
    run_dir: Path,
    suites: list[Suite],
    targets: list[Target],
    judge: Backend,
    options: EvalOptions,
    progress: Callable[[int, int], None],
) -> EvalReport:
    check_suites(run_dir, suites)
    journal = ResultsJournal(run_dir)
    ledger = UsageLedger(run_dir / USAGE)
    report = EvalReport(done_before=len(journal.done))
    work = list(pending(suites, targets, options, journal.done))
    slots = asyncio.Semaphore(options.concurrency)
    backend_slots = {
        id(backend): asyncio.Semaphore(backend.max_parallel_calls)
        for backend in [judge, *(target.backend for target in targets)]
    }
    in_flight = 0
    #: The finished trials' spend as a running sum: admitting one takes constant time.
    finished_usd, finished_spending = 0.0, 0
    calls = LocalReservations(ledger)
    fatal: list[BaseException] = []

    def affordable() -> bool:
        if options.max_cost is None:
            return True
        mean = finished_usd / finished_spending if finished_spending else 0.0
        return ledger.total_usd + mean * (in_flight + 1) <= options.max_cost

    def caller(backend: Backend, item_id: str) -> Callable[[CompletionRequest], Any]:
        async def call(request: CompletionRequest) -> Completion:
            if problem := unsupported(backend, request):
                raise PermanentBackendError(problem, fatal=True)
            # Each call first reserves its upper cost, so the cap holds within one call's
            # cost however many trials are in flight (`graph.budget`).
            upper = call_projection(request.model or backend.model, request, batch=False)
            if options.max_cost is not None and not calls.try_reserve(
                "calls", upper, options.max_cost, must_fit=False
            ):
                raise _BudgetReached
            try:
                async with backend_slots[id(backend)]:
                    return await _with_retries(backend, ledger, item_id, request)
            finally:
                calls.release("calls", upper)

        return call

    async def one(item: _Work) -> None:
        nonlocal in_flight, finished_usd, finished_spending
        try:
            outcome = await run_trial(
                item.template,
                item.trial,
                model=item.target.model,
                target=caller(item.target.backend, item.id),
                judge=caller(judge, item.id),
                judge_model=options.judge_model,
                max_tokens=options.max_tokens,
            )
        except _BudgetReached:
            report.unfinished += 1
            report.budget_reached = True
            return
        except TransientBackendError as error:
            report.unfinished += 1
            report.messages.append(f"{item.id}: {error}")
            return
        except PermanentBackendError as error:
            if error.fatal:
                fatal.append(error)
                return
            outcome = {"metric": None, "value": None, "error": str(error)}
            report.errors += 1
        finally:
            in_flight -= 1
            slots.release()
        record = {
            "id": item.id,
            "model": item.target.model,
            "suite": item.suite.name,
            "suite_fingerprint": item.suite.fingerprint,
            "scenario": item.template.scenario.id,
            "family": item.template.scenario.family,
            "type": item.template.scenario.type,
            "template": item.template.id,
            "trial": item.trial,
            "variation": dict(item.template.variation),
            "time": round(time.time(), 3),
            **outcome,
        }
        await asyncio.to_thread(journal.append, record)
        if (usd := ledger.item_usd(item.id)) is not None:
            finished_usd += usd
            finished_spending += 1
        report.finished += 1
        progress(report.done_before + report.finished, report.done_before + len(work))

    tasks: list[asyncio.Task[None]] = []
    for item in work:
        await slots.acquire()
        if fatal:
            slots.release()
            break
        if report.budget_reached or not affordable():
            slots.release()
            report.budget_reached = True
            break
        in_flight += 1
        tasks.append(asyncio.create_task(one(item)))
    await asyncio.gather(*tasks)
    report.usd = ledger.total_usd
    if fatal:
        raise fatal[0]
    if report.budget_reached:
        report.unfinished += len(work) - len(tasks)
    return report


class _BudgetReached(Exception):
    """A call that `--max-cost` no longer leaves room for: the trial is not run."""


async def _with_retries(
    backend: Backend, ledger: UsageLedger, item_id: str, request: CompletionRequest
) -> Completion:
    for attempt in range(RETRIES):
        try:
            completion = await backend.complete(request)
        except TransientBackendError as error:
            if attempt == RETRIES - 1:
                raise
            await asyncio.sleep(min(error.retry_after or 2.0**attempt, 60.0))
            continue
        except BackendError as error:
            if error.usage is not None:
                failed = Completion(text="", model=backend.model, usage=error.usage)
                await asyncio.to_thread(
                    ledger.record, item_id=item_id, node=request.purpose, completion=failed
                )
            raise
        await asyncio.to_thread(
            ledger.record, item_id=item_id, node=request.purpose, completion=completion
        )
        return completion
    raise AssertionError("unreachable")
