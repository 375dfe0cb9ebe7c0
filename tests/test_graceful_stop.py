"""Ctrl-C / SIGTERM: no new items or calls, calls in flight finish and checkpoint, the
summary says how to resume, exit 130 / 143, and resuming finishes the run exactly once."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from cli_process import generate_argv, run_to_end, scripted_env, start_logged, wait_for_header
from fast_retry import FAST_RETRY

from storyloom.backends.base import Backend, Completion, CompletionRequest
from storyloom.backends.demo import demo_reply
from storyloom.backends.scripted import ScriptedBackend
from storyloom.graph.builder import build_graph
from storyloom.graph.checkpointer import open_checkpointer
from storyloom.graph.runner import RunOptions, run_items
from storyloom.stories.registry import get_kind

STORIES = 40


def ids(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def start_and_wait_for_work(run_dir: Path, stderr_path: Path) -> subprocess.Popen[bytes]:
    """Start a slow run and return once stories are in flight (the first one finished)."""
    process = start_logged(generate_argv(run_dir, STORIES), stderr_path, scripted_env(0.2))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if ids(run_dir / "corpus.jsonl") or ids(run_dir / "rejected.jsonl"):
            return process
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"no story finished in time:\n{stderr_path.read_text()}")


@pytest.mark.parametrize(
    ("signal_number", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
)
def test_signal_stops_cleanly_and_the_run_resumes(
    tmp_path: Path, signal_number: int, exit_code: int
) -> None:
    run_dir = tmp_path / "stopped"
    log = tmp_path / "stderr.txt"
    process = start_and_wait_for_work(run_dir, log)
    process.send_signal(signal_number)
    assert process.wait(timeout=60) == exit_code
    output = log.read_text()
    assert "Stopping: no new items or calls start" in output
    assert "not started" in output
    assert "Run the same command again to resume" in output
    assert "Traceback" not in output
    done = ids(run_dir / "corpus.jsonl") + ids(run_dir / "rejected.jsonl")
    assert 0 < len(done) < STORIES
    assert (run_dir / "run.lock").read_text() == "", "a clean stop leaves no owner note"

    resumed = run_to_end(generate_argv(run_dir, STORIES))
    output = resumed.stderr
    assert resumed.returncode == 0, output
    assert "did not exit cleanly" not in output
    assert "resumed from a checkpoint" in output
    final = ids(run_dir / "corpus.jsonl") + ids(run_dir / "rejected.jsonl")
    assert sorted(final) == sorted(f"stopped/{i}" for i in range(STORIES))
    assert final[: len(done)] == done, "what was written before the stop is untouched"


def test_second_signal_exits_at_once_and_the_run_still_resumes(tmp_path: Path) -> None:
    run_dir = tmp_path / "twice"
    log = tmp_path / "stderr.txt"
    # Calls of 3 s: the first signal alone would wait them out.
    process = start_logged(generate_argv(run_dir, STORIES), log, scripted_env(3.0))
    wait_for_header(log, process)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 130
    output = log.read_text()
    assert "Stopped at once" in output and "Traceback" not in output
    assert ids(run_dir / "corpus.jsonl") == [], "it did not wait for the calls in flight"

    resumed = run_to_end(generate_argv(run_dir, STORIES))
    assert resumed.returncode == 0, resumed.stderr
    final = ids(run_dir / "corpus.jsonl") + ids(run_dir / "rejected.jsonl")
    assert sorted(final) == sorted(f"twice/{i}" for i in range(STORIES))


class HeldWrite(Backend):
    """The demo responder, except that the write call waits until the test releases it."""

    name = "held"
    supports_structured_output = True

    def __init__(self) -> None:
        self.purposes: list[str] = []
        self.write_started = asyncio.Event()
        self.release = asyncio.Event()

    @property
    def model(self) -> str:
        return "held-1"

    async def complete(self, request: CompletionRequest) -> Completion:
        self.purposes.append(request.purpose)
        if request.purpose == "write":
            self.write_started.set()
            await self.release.wait()
        return await ScriptedBackend(responder=demo_reply).complete(request)


def test_call_in_flight_finishes_and_is_checkpointed_but_no_new_call_starts(
    make_run: Any,
) -> None:
    backend = HeldWrite()
    run_dir, context = make_run(backend)

    async def stop_during_write() -> Any:
        stop = asyncio.Event()
        options = RunOptions(count=3, concurrency=1, retry=FAST_RETRY)
        task = asyncio.create_task(run_items(run_dir, context, options, stop=stop))
        await asyncio.wait_for(backend.write_started.wait(), 30)
        stop.set()
        backend.release.set()
        return await task

    report = asyncio.run(stop_during_write())
    assert backend.purposes == ["plan", "write"], "the judge call must not start"
    assert (report.paused, report.not_started, report.stop_reason) == (1, 2, "stopped")

    async def state() -> Any:
        async with open_checkpointer(run_dir.checkpoints_path) as saver:
            graph = build_graph(get_kind("story"), saver)
            return await graph.aget_state({"configurable": {"thread_id": "run/0"}})

    snapshot = asyncio.run(state())
    assert snapshot.values["pending"]["text"], "the finished write call was checkpointed"
    assert snapshot.next == ("judge",)

    resumed = ScriptedBackend(responder=demo_reply)
    run_dir, context = make_run(resumed)
    report = asyncio.run(
        run_items(run_dir, context, RunOptions(count=3, concurrency=1, retry=FAST_RETRY))
    )
    assert resumed.requests[0].purpose == "judge", "resumed where it stopped, no call repeated"
    assert report.resumed == 1 and report.emitted + report.rejected == 3
