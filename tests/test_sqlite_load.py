"""SQLite under load: 64 stories in flight and an outside reader, no `database is locked`.

Why it holds (graph/checkpointer.py): every checkpoint write of the process goes through
one aiosqlite connection, so SQLite only ever sees a single writer; WAL lets readers
(such as `storyloom stats` on a live run) read beside that writer without blocking it or
being blocked; busy_timeout covers the brief WAL checkpoint moments.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from typing import Any

from fast_retry import FAST_RETRY

from storyloom.backends.base import Completion, CompletionRequest
from storyloom.backends.demo import demo_reply
from storyloom.backends.scripted import ScriptedBackend
from storyloom.graph.runner import RunOptions, run_items

STORIES = 160
CONCURRENCY = 64


class CountingBackend(ScriptedBackend):
    """The demo responder, slowed a little, counting how many calls overlap."""

    def __init__(self) -> None:
        super().__init__(responder=demo_reply, model="scripted-demo", delay=0.1)
        self.in_flight = 0
        self.most_in_flight = 0

    async def complete(self, request: CompletionRequest) -> Completion:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await super().complete(request)
        finally:
            self.in_flight -= 1


def test_concurrency_64_with_an_outside_reader_never_locks(make_run: Any) -> None:
    backend = CountingBackend()
    run_dir, context = make_run(backend)
    reader_errors: list[str] = []
    reads = 0
    done = threading.Event()

    def read_while_running() -> None:
        nonlocal reads
        while not done.is_set():
            try:
                with sqlite3.connect(run_dir.checkpoints_path, timeout=10) as conn:
                    conn.execute("SELECT count(DISTINCT thread_id) FROM checkpoints").fetchone()
                reads += 1
            except sqlite3.OperationalError as error:
                if "no such table" not in str(error):  # before the saver's setup
                    reader_errors.append(str(error))
            done.wait(0.01)

    reader = threading.Thread(target=read_while_running)
    reader.start()
    try:
        options = RunOptions(count=STORIES, concurrency=CONCURRENCY, retry=FAST_RETRY)
        report = asyncio.run(run_items(run_dir, context, options))
    finally:
        done.set()
        reader.join()

    assert report.errors == [] and report.interrupted == 0
    assert report.emitted + report.rejected == STORIES
    assert backend.most_in_flight >= CONCURRENCY // 2, "the load really was concurrent"
    assert reads > 0 and reader_errors == []
    lines = run_dir.corpus_path.read_text().splitlines()
    if run_dir.rejected_path.exists():
        lines += run_dir.rejected_path.read_text().splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == sorted(
        f"run/{i}" for i in range(STORIES)
    )
    with sqlite3.connect(run_dir.checkpoints_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        threads = conn.execute("SELECT count(DISTINCT thread_id) FROM checkpoints").fetchone()[0]
    assert threads == STORIES
