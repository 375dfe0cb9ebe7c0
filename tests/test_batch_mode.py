"""`generate --batch`: the real SDK against a loopback Message Batches API.

The kill test is the issue's proof: a run killed while `batches.create` has created the
batch but not yet answered (the window where a journal written after `create` orphans a
paid batch) is run again, and no request is ever in two batches or paid twice.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from messages_api_server import MessagesAPIServer, RecordedRequest
from story_samples import purpose_and_hints

from storyloom.backends.base import (
    CompletionRequest,
    Message,
    PermanentBackendError,
    TransientBackendError,
    Usage,
)
from storyloom.backends.batch import BatchBackend
from storyloom.backends.batch_journal import BatchJournal, request_key
from storyloom.backends.demo import demo_reply
from storyloom.backends.pricing import cost_usd, price_for
from storyloom.cli.main import cli

KEY = "sk-ant-test-batch"
MODEL = "claude-sonnet-5-5"
PREFIX = "## Constitution\nBe honest, be kind, explain your reasons. " * 20


def demo_over_http(record: RecordedRequest) -> Any:
    """The scripted demo's replies, chosen by what the request asks for."""
    last = record.body["messages"][-1]["content"]
    text = last if isinstance(last, str) else json.dumps(last)
    purpose, hints = purpose_and_hints(record.schema, record.system_text + "\n" + text)
    return demo_reply(
        CompletionRequest(
            messages=(Message("user", text),), max_tokens=64, purpose=purpose, metadata=hints
        )
    )


def env_for(server: MessagesAPIServer) -> dict[str, str]:
    return {
        **os.environ,
        "ANTHROPIC_API_KEY": KEY,
        "ANTHROPIC_BASE_URL": server.base_url,
        "STORYLOOM_BATCH_POLL": "0.05",
        "COLUMNS": "160",
    }


def generate_argv(run_dir: Path, count: int) -> list[str]:
    return [
        sys.executable, "-m", "storyloom.cli", "generate", "-n", str(count),
        "--backend", "anthropic", "--batch", "--run-dir", str(run_dir), "--concurrency", "8",
    ]  # fmt: skip


def jsonl_ids(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def synchronous_paid_keys(server: MessagesAPIServer) -> list[str]:
    """The content key of every synchronous call the server answered (the canaries)."""
    return [
        request_key(r.body) for r in server.requests if r.path == "/v1/messages" and r.status == 200
    ]


def batch_paid_keys(server: MessagesAPIServer) -> list[str]:
    """The content key of every batch row the server billed (errored/expired rows are not
    paid and left out)."""
    keys: list[str] = []
    for batch_id, batch in server.batches.items():
        results = {
            row["custom_id"]: row["result"]["type"] for row in server.batch_results[batch_id]
        }
        for request in batch["requests"]:
            if results[request["custom_id"]] == "succeeded" and not batch.get("canceled"):
                keys.append(request_key(request["params"]))
    return keys


@pytest.mark.parametrize("moment", ["inside_create", "while_polling"])
def test_killed_right_after_create_reruns_without_a_second_batch(
    tmp_path: Path, moment: str
) -> None:
    run_dir = tmp_path / "batchrun"
    inside = moment == "inside_create"
    with MessagesAPIServer(responder=demo_over_http) as server:
        server.batch_latency = 0.2 if inside else 2.0
        # inside_create: the batch exists, its id never reaches the client.
        server.create_delay = 30.0 if inside else 0.0
        process = subprocess.Popen(
            generate_argv(run_dir, 4),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env_for(server),
        )
        deadline = time.monotonic() + 120
        while not server.batches and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        assert server.batches, "the run never created a batch"
        if not inside:
            time.sleep(0.5)  # the batch id is journaled; the batch is still running
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        orphan = next(iter(server.batches))
        journal = BatchJournal(run_dir / "batches.sqlite")
        expected = "intent" if inside else "submitted"
        statuses = [s.status for s in journal.submissions()]
        # Several task shapes may each have a batch by then; every one was journaled first.
        assert expected in statuses and set(statuses) <= {"submitted", expected}, statuses
        journal.close()

        server.create_delay, server.batch_latency = 0.0, 0.2
        final = subprocess.run(
            generate_argv(run_dir, 4), capture_output=True, env=env_for(server), timeout=300
        )
        assert final.returncode == 0, final.stderr.decode(errors="replace")[-3000:]

        batched, synchronous = batch_paid_keys(server), synchronous_paid_keys(server)
        assert len(batched) == len(set(batched)), "a batch request was paid twice"
        assert not set(batched) & set(synchronous), "a request paid in a batch and again"
        # A synchronous canary cut by the kill mid-call is paid again, like any sync call
        # (the Messages API has no idempotency key): only that one may repeat.
        assert len(synchronous) - len(set(synchronous)) <= 1
        # A call cut by the kill was paid but never answered: only its retry can be booked.
        paid = batched + sorted(set(synchronous))
        journal = BatchJournal(run_dir / "batches.sqlite")
        assert journal.submissions()[0].batch_id == orphan, "the orphan was found by list()"
        journal.close()
    corpus, rejected = jsonl_ids(run_dir / "corpus.jsonl"), jsonl_ids(run_dir / "rejected.jsonl")
    assert sorted(corpus + rejected) == sorted(f"batchrun/{i}" for i in range(4))
    ledger = [json.loads(x) for x in (run_dir / "usage.jsonl").read_text().splitlines()]
    assert len(ledger) == len(paid), "every paid call booked once"
    assert any(e["service_tier"] == "batch" for e in ledger)


def req(text: str, purpose: str = "write") -> CompletionRequest:
    return CompletionRequest(
        messages=(Message("user", text),),
        max_tokens=100,
        shared_prefix=PREFIX,
        purpose=purpose,
    )


def backend(server: MessagesAPIServer, tmp_path: Path) -> BatchBackend:
    return BatchBackend(
        journal_path=tmp_path / "batches.sqlite",
        poll_interval=0.02,
        flush_idle=0.05,
        api_key=KEY,
        base_url=server.base_url,
        model=MODEL,
    )


async def many(llm: BatchBackend, texts: list[str]) -> list[Any]:
    try:
        return await asyncio.gather(*(llm.complete(req(t)) for t in texts), return_exceptions=True)
    finally:
        await llm.aclose()


def test_retryable_rows_are_resubmitted_alone_and_final_errors_reach_the_story(
    tmp_path: Path,
) -> None:
    with MessagesAPIServer() as server:
        first = backend(server, tmp_path)
        asyncio.run(many(first, ["canary"]))  # the synchronous canary of "write"
        server.inject_rows("rate_limit_error", "expired", "invalid_request_error")
        results = asyncio.run(many(backend(server, tmp_path), ["a", "b", "c", "d"]))

        sizes = [len(b["requests"]) for b in server.batches.values()]
    assert sizes == [4, 2], "only the rate-limited and expired rows went again"
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], PermanentBackendError)
    assert not errors[0].fatal and "invalid_request_error" in str(errors[0])
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 3


@pytest.mark.parametrize("kind", ["authentication_error", "billing_error", "not_found_error"])
def test_account_errors_in_a_batch_stop_the_run(tmp_path: Path, kind: str) -> None:
    with MessagesAPIServer() as server:
        asyncio.run(many(backend(server, tmp_path), ["canary"]))
        server.inject_rows(kind)
        (result,) = asyncio.run(many(backend(server, tmp_path), ["a"]))
    assert isinstance(result, PermanentBackendError) and result.fatal


def test_batch_calls_are_booked_at_half_price_with_the_one_hour_cache_write(
    tmp_path: Path,
) -> None:
    with MessagesAPIServer() as server:
        results = asyncio.run(many(backend(server, tmp_path), ["canary", "a"]))
        batch_body = next(iter(server.batches.values()))["requests"][0]["params"]
    assert batch_body["system"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    canary, batched = sorted(results, key=lambda c: c.usage.batch)
    assert not canary.usage.batch and batched.usage.batch
    usage = batched.usage
    price = price_for(MODEL)
    assert price is not None
    full = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_write_1h_tokens * 2 * price.input
        + (usage.cache_write_tokens - usage.cache_write_1h_tokens) * price.cache_write
        + usage.cache_read_tokens * price.cache_read
    ) / 1e6
    assert cost_usd(MODEL, usage) == pytest.approx(full / 2)
    sync_same = Usage(1000, 100, 500, 0)
    assert cost_usd(MODEL, Usage(1000, 100, 500, 0, batch=True)) == pytest.approx(
        cost_usd(MODEL, sync_same) / 2
    )
    assert cost_usd(MODEL, Usage(0, 0, 1000, 0, 1000)) == pytest.approx(2 * price.input / 1000)


def test_batches_command_lists_and_cancels_and_canceled_rows_go_again(tmp_path: Path) -> None:
    with MessagesAPIServer() as server:
        asyncio.run(many(backend(server, tmp_path), ["canary"]))
        server.batch_latency = 3600.0

        async def submit_then_stop() -> None:
            llm = backend(server, tmp_path)
            task = asyncio.ensure_future(llm.complete(req("a")))
            while not server.batches:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)  # the batch id is journaled
            task.cancel()
            await llm.aclose()

        asyncio.run(submit_then_stop())
        env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": server.base_url}
        listed = CliRunner().invoke(cli, ["batches", str(tmp_path)], env=env)
        assert listed.exit_code == 0, listed.output
        assert "msgbatch_000001  in_progress  1 requests: 1 processing" in listed.output
        canceled = CliRunner().invoke(cli, ["batches", str(tmp_path), "--cancel"], env=env)
        assert canceled.exit_code == 0, canceled.output
        assert "ended" in canceled.output and "1 canceled" in canceled.output

        server.batch_latency = 0.0
        (again,) = asyncio.run(many(backend(server, tmp_path), ["a"]))
        assert not isinstance(again, BaseException)
        assert len(server.batches) == 2, "the canceled row was submitted again"


def test_batches_command_on_a_run_without_a_journal_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["batches", str(tmp_path)])
    assert result.exit_code != 0 and "no batch journal" in result.output


def test_more_items_in_flight_than_512_killed_mid_round_finish_once_and_pay_once(
    tmp_path: Path,
) -> None:
    """600 items in flight (past the synchronous bound, which --batch lifts): a SIGKILL
    while a round's batch is running, then the same command: every item lands once, no
    batch request is paid twice, and each step of the items went as one round."""
    run_dir = tmp_path / "batchrun"
    count = 600
    argv = generate_argv(run_dir, count)
    argv[argv.index("--concurrency") + 1] = str(count)
    argv += ["--max-revisions", "0"]  # plan, write, judge: the run stays quick
    with MessagesAPIServer(responder=demo_over_http) as server:
        server.batch_latency = 1.0
        process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env_for(server)
        )
        deadline = time.monotonic() + 240
        while len(server.batches) < 2 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        assert len(server.batches) >= 2, "the run never reached its second round"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        first_run = len(server.batches)
        sizes = [len(b["requests"]) for b in server.batches.values()]
        # One item makes each task's synchronous canary; the other items' plans are one batch.
        assert sizes[:2] == [count - 1, count - 1], f"a step went in pieces: {sizes}"

        final = subprocess.run(argv, capture_output=True, env=env_for(server), timeout=600)
        assert final.returncode == 0, final.stderr.decode(errors="replace")[-3000:]
        batched, synchronous = batch_paid_keys(server), synchronous_paid_keys(server)
        rounds = len(server.batches) - first_run
    assert len(batched) == len(set(batched)), "a batch request was paid twice"
    assert not set(batched) & set(synchronous), "a request paid in a batch and again"
    corpus, rejected = jsonl_ids(run_dir / "corpus.jsonl"), jsonl_ids(run_dir / "rejected.jsonl")
    assert sorted(corpus + rejected) == sorted(f"batchrun/{i}" for i in range(count))
    # The longest chain is plan, write, judge: at most those rounds, and one after a kill.
    assert rounds <= 3 + 1, f"{rounds} rounds after the restart"


def test_a_batch_the_budget_refuses_is_never_submitted_and_its_calls_pause(
    tmp_path: Path,
) -> None:
    with MessagesAPIServer() as server:
        asyncio.run(many(backend(server, tmp_path), ["canary"]))
        asked: list[int] = []

        def refuse(requests: int) -> bool:
            asked.append(requests)
            return False

        llm = backend(server, tmp_path)
        llm.admit_batch = refuse
        results = asyncio.run(many(llm, ["a", "b", "c"]))
        assert not server.batches, "a refused batch was submitted"
    assert asked == [3]
    assert all(isinstance(r, TransientBackendError) and "--max-cost" in str(r) for r in results)


def test_items_waiting_on_a_batch_hold_no_graph_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch round is submitted only when every item in flight waits on it, and a
    waiting item is parked (a key and a future), not a paused LangGraph run of some 40 KiB:
    at each submit no run of the graph is alive, with 300 items in flight. (Tasks and timers
    made inside a node copy its context, which reaches the run: the batch collector and
    the first call of each task are started without it.)"""
    from langgraph.pregel._loop import AsyncPregelLoop

    live_runs: list[int] = []
    submit = BatchBackend._submit

    async def counting_submit(self: BatchBackend) -> None:
        gc.collect()
        live_runs.append(sum(isinstance(o, AsyncPregelLoop) for o in gc.get_objects()))
        await submit(self)

    monkeypatch.setattr(BatchBackend, "_submit", counting_submit)
    with MessagesAPIServer(responder=demo_over_http, api_key=KEY) as server:
        server.batch_latency = 0.2
        server.defer_batch_rows = True  # as bench/lab_scale.py runs it
        for name, value in env_for(server).items():
            monkeypatch.setenv(name, value)
        argv = generate_argv(tmp_path / "run", 300)[3:]
        argv[argv.index("--concurrency") + 1] = "300"
        result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (
        len(jsonl_ids(tmp_path / "run" / "corpus.jsonl"))
        + len(jsonl_ids(tmp_path / "run" / "rejected.jsonl"))
        == 300
    )
    assert len(live_runs) >= 4  # a round per step of the chain
    assert live_runs == [0] * len(live_runs)
