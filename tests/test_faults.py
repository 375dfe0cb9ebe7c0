"""Backend faults: every story ends emitted or rejected with its reason, the run never
crashes, and the summary counts each kind. Faults come from the seeded FaultyBackend."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from langgraph.types import RetryPolicy

from storyloom.backends.base import (
    Completion,
    CompletionRequest,
    InvalidOutputError,
    Message,
    PermanentBackendError,
    TransientBackendError,
)
from storyloom.backends.demo import demo_reply
from storyloom.backends.faults import FAULT_KINDS, FaultPlan, FaultyBackend
from storyloom.backends.scripted import ScriptedBackend
from storyloom.cli.main import cli
from storyloom.graph.runner import RunOptions, RunReport, run_items
from storyloom.stories.story.models import Premise

#: Enough attempts that a 15% transient rate practically never exhausts them.
PATIENT_RETRY = RetryPolicy(
    initial_interval=0.001,
    max_interval=0.01,
    max_attempts=8,
    jitter=False,
    retry_on=TransientBackendError,
)


def faulty(plan: FaultPlan) -> FaultyBackend:
    return FaultyBackend(ScriptedBackend(responder=demo_reply, model="scripted-demo"), plan)


def records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def run(
    make_run: Any, backend: Any, count: int, *, call_timeout: float | None = None, **settings: Any
) -> tuple[Any, RunReport]:
    run_dir, context = make_run(backend, **settings)
    context.call_timeout = call_timeout
    options = RunOptions(count=count, concurrency=8, retry=PATIENT_RETRY)
    return run_dir, asyncio.run(run_items(run_dir, context, options))


def test_every_kind_of_fault_ends_each_story_emitted_or_rejected_with_a_reason(
    make_run: Any,
) -> None:
    plan = FaultPlan(
        transient=0.12,
        permanent=0.04,
        invalid_output=0.08,
        empty_text=0.08,
        long_text=0.03,
        hang=0.03,
        seed=11,
        long_text_chars=60_000,
    )
    backend = faulty(plan)
    run_dir, report = run(make_run, backend, 40, call_timeout=0.2)

    assert set(backend.injected) == set(FAULT_KINDS)
    emitted = [r["id"] for r in records(run_dir.corpus_path)]
    rejected = records(run_dir.rejected_path)
    assert sorted(emitted + [r["id"] for r in rejected]) == sorted(f"run/{i}" for i in range(40))
    assert len(set(emitted)) == len(emitted)
    assert (report.interrupted, report.stop_reason) == (0, "finished")
    assert all(r["reason"] and r["detail"] for r in rejected)
    assert sum(report.reasons.values()) == report.rejected == len(rejected)
    assert {"invalid_premise", "invalid_critique"} <= set(report.reasons)


def test_empty_text_is_judged_by_the_gates_not_a_crash(make_run: Any) -> None:
    run_dir, report = run(make_run, faulty(FaultPlan(empty_text=1.0)), 2, max_revisions=1)
    assert report.rejected == 2 and report.interrupted == 0
    for record in records(run_dir.rejected_path):
        assert record["reason"] == "max_revisions"
        assert "empty" in record["detail"]


def test_absurdly_long_text_is_judged_by_the_gates_not_a_crash(make_run: Any) -> None:
    plan = FaultPlan(long_text=1.0, long_text_chars=150_000)
    run_dir, report = run(make_run, faulty(plan), 2, max_revisions=0)
    assert report.rejected == 2 and report.interrupted == 0
    for record in records(run_dir.rejected_path):
        assert "length" in [finding["kind"] for finding in record["findings"]]


def test_hang_past_the_call_timeout_is_retried_as_a_lost_call(make_run: Any) -> None:
    backend = faulty(FaultPlan(hang=0.3, seed=2))
    _, report = run(make_run, backend, 6, call_timeout=0.1)
    assert backend.injected["hang"] > 0
    assert report.emitted == 6 and report.interrupted == 0


def test_transient_errors_outlasting_the_retries_leave_the_story_resumable(
    make_run: Any,
) -> None:
    """A backend outage says nothing about a story, so it is not rejected (final); it is
    interrupted at its checkpoint and the next start finishes it."""
    _, report = run(make_run, faulty(FaultPlan(transient=1.0)), 3)
    assert (report.interrupted, report.emitted, report.rejected) == (3, 0, 0)
    assert report.interruptions == {"transient": 3}
    assert report.stop_reason == "finished", "the run itself did not crash"

    run_dir, report = run(make_run, faulty(FaultPlan()), 3)
    assert report.resumed == 3 and report.emitted == 3
    assert len(records(run_dir.corpus_path)) == 3


def test_fatal_error_stops_the_run_without_rejecting_any_story(make_run: Any) -> None:
    backend = ScriptedBackend(
        responder=lambda request: PermanentBackendError("bad key", fatal=True)
    )
    _, report = run(make_run, backend, 5)
    assert report.stop_reason == "fatal" and report.fatal_error == "bad key"
    assert report.emitted == report.rejected == 0


def test_the_same_plan_injects_the_same_faults_whatever_the_call_order() -> None:
    requests = [
        CompletionRequest(messages=(Message("user", f"story {i}"),), max_tokens=64, purpose="write")
        for i in range(200)
    ]

    async def outcomes(order: list[CompletionRequest]) -> dict[str, str]:
        backend = faulty(FaultPlan(transient=0.2, permanent=0.1, empty_text=0.1, seed=5))
        seen: dict[str, str] = {}
        for request in order:
            try:
                completion: Completion = await backend.complete(request)
                seen[request.messages[0].content] = "empty" if not completion.text else "ok"
            except (TransientBackendError, PermanentBackendError) as error:
                seen[request.messages[0].content] = type(error).__name__
        return seen

    forward = asyncio.run(outcomes(requests))
    backward = asyncio.run(outcomes(requests[::-1]))
    assert forward == backward
    assert set(forward.values()) == {
        "ok",
        "empty",
        "TransientBackendError",
        "PermanentBackendError",
    }


def test_a_retried_call_draws_afresh() -> None:
    backend = faulty(FaultPlan(transient=0.5, seed=1))
    request = CompletionRequest(messages=(Message("user", "x"),), max_tokens=64, purpose="write")

    async def until_success() -> int:
        for attempt in range(1, 50):
            try:
                await backend.complete(request)
                return attempt
            except TransientBackendError:
                continue
        return 0

    assert asyncio.run(until_success()) > 0


def test_invalid_output_hits_only_structured_calls() -> None:
    backend = faulty(FaultPlan(invalid_output=1.0))
    structured = CompletionRequest(
        messages=(Message("user", "x"),), max_tokens=64, purpose="plan", output_schema=Premise
    )
    text = CompletionRequest(messages=(Message("user", "x"),), max_tokens=64, purpose="write")
    with pytest.raises(InvalidOutputError, match="did not fit Premise"):
        asyncio.run(backend.complete(structured))
    assert asyncio.run(backend.complete(text)).text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"transient": 1.5}, "within 0..1"),
        ({"permanent": -0.1}, "within 0..1"),
        ({"transient": 0.6, "hang": 0.6}, "more than 1"),
        ({"long_text_chars": 0}, "long_text_chars"),
        ({"hang_seconds": 0}, "hang_seconds"),
    ],
)
def test_fault_plan_rejects_nonsense(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultPlan(**kwargs)


def test_fault_plan_parses_the_environment_spelling() -> None:
    plan = FaultPlan.parse("transient=0.1, hang=0.02,seed=7")
    assert (plan.transient, plan.hang, plan.seed) == (0.1, 0.02, 7)
    with pytest.raises(ValueError, match="bad fault setting 'nope=1'"):
        FaultPlan.parse("nope=1")
    with pytest.raises(ValueError, match="is not a number"):
        FaultPlan.parse("transient=lots")


def test_cli_summary_counts_each_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "STORYLOOM_FAULTS",
        # 30 items: every kind is drawn for seeds 0-7 (checked), so a change in how many
        # calls an item makes does not silently leave a kind out of the summary.
        "permanent=0.1,invalid_output=0.15,empty_text=0.1,long_text=0.1,hang=0.05,seed=3,"
        "long_text_chars=20000",
    )
    result = CliRunner().invoke(
        cli,
        [
            *("generate", "-n", "30", "--backend", "scripted", "--run-dir", str(tmp_path / "r")),
            *("--concurrency", "6", "--call-timeout", "0.2"),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "rejected: invalid_premise" in result.output
    assert "injected faults (STORYLOOM_FAULTS): " in result.output
    for kind in ("empty_text", "hang", "invalid_output", "long_text", "permanent"):
        assert f"{kind} " in result.output.split("injected faults")[1]
    assert "Traceback" not in result.output
