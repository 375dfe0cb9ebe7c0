"""The whole workflow on the real anthropic SDK against the loopback Messages API: the
usage ledger matches the server's bill to the token, cached prefix reads are booked, and
--max-cost stops a run cleanly that a re-run with a higher cap finishes."""

from __future__ import annotations

import asyncio
import json
import zlib
from pathlib import Path
from typing import Any

from langgraph.types import RetryPolicy
from messages_api_server import Fault, MessagesAPIServer, RecordedRequest
from story_samples import judgment, named_in_prompt, premise, story

from storyloom.backends.anthropic import AnthropicBackend
from storyloom.backends.base import TransientBackendError
from storyloom.graph.runner import RunOptions, RunReport, run_items

KEY = "sk-ant-test-budget-0000"
#: Enough attempts that a 20% fault rate cannot exhaust them in a test run.
PATIENT_RETRY = RetryPolicy(
    initial_interval=0.01, max_interval=0.05, max_attempts=10, retry_on=TransientBackendError
)


def responder(request: RecordedRequest) -> Any:
    """Distinct premises and stories (so nothing is a near-duplicate), passing critiques."""
    body = json.dumps(request.body["messages"])
    seed = zlib.crc32(body.encode())
    schema = request.schema or {}
    properties = schema.get("properties", {})
    if "logline" in properties:
        return premise(f"Premise {seed}", seed=seed)
    if "criteria" in properties:  # the judge: every criterion its prompt names, passing
        return judgment(named_in_prompt(request.body["messages"][-1]["content"]))
    return story(seed)


def run(
    make_run: Any,
    server: MessagesAPIServer,
    count: int,
    max_cost: float | None,
    concurrency: int = 1,
) -> tuple[Path, RunReport]:
    backend = AnthropicBackend(api_key=KEY, base_url=server.base_url)
    run_dir, context = make_run(backend, write_max_tokens=400)
    options = RunOptions(
        count=count, concurrency=concurrency, max_cost=max_cost, retry=PATIENT_RETRY
    )

    async def go() -> RunReport:
        try:
            return await run_items(run_dir, context, options)
        finally:
            await backend.aclose()

    return run_dir.path, asyncio.run(go())


def ledger(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "usage.jsonl").read_text().splitlines()]


def finished_ids(run_dir: Path) -> list[str]:
    ids: list[str] = []
    for name in ("corpus.jsonl", "rejected.jsonl"):
        path = run_dir / name
        if path.exists():
            ids += [json.loads(line)["id"] for line in path.read_text().splitlines()]
    return ids


def test_ledger_matches_the_servers_bill_to_the_token_under_faults(make_run) -> None:
    with MessagesAPIServer(responder=responder) as server:
        server.inject_rate(
            0.2, [Fault.rate_limit(0.01), Fault.overloaded(), Fault.server_error()], seed=3
        )
        run_dir, report = run(make_run, server, count=6, max_cost=None, concurrency=3)
        billed = server.billed

    assert report.emitted + report.rejected == 6 and report.interrupted == 0
    entries = ledger(run_dir)
    assert len(entries) == billed.calls
    assert sum(e["input_tokens"] for e in entries) == billed.input_tokens
    assert sum(e["output_tokens"] for e in entries) == billed.output_tokens
    assert sum(e["cache_write_tokens"] for e in entries) == billed.cache_write_tokens
    assert sum(e["cache_read_tokens"] for e in entries) == billed.cache_read_tokens
    assert billed.cache_read_tokens > 0  # the shared prefix is read from the cache
    assert all(e["usd"] > 0 for e in entries)


def test_max_cost_stops_cleanly_and_a_higher_cap_resumes(make_run) -> None:
    with MessagesAPIServer(responder=responder) as server:
        # Upfront estimate ~$0.08 a story (all revisions, full outputs); real ~$0.015.
        run_dir, first = run(make_run, server, count=12, max_cost=0.12)
        spent = sum(e["usd"] for e in ledger(run_dir))
        done_first = finished_ids(run_dir)

        assert first.stop_reason == "budget"
        assert 1 <= len(done_first) < 12
        assert first.not_started == 12 - len(done_first)
        assert spent <= 0.12

        _, second = run(make_run, server, count=12, max_cost=10.0)

    done = finished_ids(run_dir)
    assert second.stop_reason == "finished"
    assert sorted(done) == sorted(set(done)) and len(done) == 12
    assert second.already_done == len(done_first)


def test_budget_at_concurrency_uses_real_costs_and_stays_under_the_cap(make_run) -> None:
    """Stories refused on the upfront estimate wait for real costs instead of stopping the
    run at a fraction of the cap."""
    with MessagesAPIServer(responder=responder) as server:
        run_dir, report = run(make_run, server, count=40, max_cost=0.3, concurrency=8)
    spent = sum(e["usd"] for e in ledger(run_dir))
    done = finished_ids(run_dir)
    assert report.stop_reason == "budget"
    assert 0.5 * 0.3 <= spent <= 0.3
    assert report.not_started == 40 - len(done) > 0


def test_a_reply_served_again_is_booked_once_even_across_restarts(tmp_path: Path) -> None:
    """A node replayed after a kill can be handed a journaled batch result again: the
    provider billed that reply once, so the ledger books it once."""
    from storyloom.backends.base import Completion, Usage
    from storyloom.graph.ledger import UsageLedger

    reply = Completion(
        text="x", model="claude-sonnet-4-5", usage=Usage(1000, 200), response_id="msg_1"
    )
    ledger = UsageLedger(tmp_path / "usage.jsonl")
    first = ledger.record(item_id="r/0", node="write", completion=reply)
    assert first > 0
    assert ledger.record(item_id="r/0", node="write", completion=reply) == 0.0
    reopened = UsageLedger(tmp_path / "usage.jsonl")
    assert reopened.record(item_id="r/0", node="write", completion=reply) == 0.0
    other = Completion(text="x", model="claude-sonnet-4-5", usage=Usage(1000, 200))
    assert reopened.record(item_id="r/0", node="write", completion=other) == first
    assert len((tmp_path / "usage.jsonl").read_text().splitlines()) == 2
    assert reopened.total_usd == 2 * first
