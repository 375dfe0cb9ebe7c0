"""Shard run directories for the merge, export and inspect tests.

In-process and fast: a whole run with the same seed and settings (the scripted backend is
deterministic per item), then cut to the items with `index % N == K` in every output
(corpus, rejected, the usage ledger, a kind's own files), which is what `generate --shard
K/N` leaves (tests/test_scale_processes.py runs the real thing). Threads of other shards'
items stay in its checkpoint database, as unfinished threads would; merge copies only the
threads of the items a shard finished. Shards here are named apart (`w0/0`, `w1/1`), as
workers started without `--run-name` are.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fast_retry import FAST_RETRY

from storyloom.backends.base import CompletionRequest
from storyloom.backends.demo import demo_reply
from storyloom.backends.scripted import Reply, ScriptedBackend
from storyloom.graph.rundir import RunDir
from storyloom.graph.runner import RunOptions, run_items


def odd_items_fail_the_judge() -> Callable[[CompletionRequest], Reply]:
    """The demo replies, except that the judge fails every second item (items run one at
    a time with one judge call each, so the k-th judge call is item k)."""
    judged = itertools.count()

    def respond(request: CompletionRequest) -> Reply:
        reply = demo_reply(request)
        if request.purpose == "judge" and next(judged) % 2 == 1:
            assert isinstance(reply, dict)
            failed = [{**entry, "score": 2} for entry in reply["criteria"]]
            return {**reply, "criteria": failed}
        return reply

    return respond


def make_run_dir(make_run: Any, name: str, count: int, **settings: Any) -> RunDir:
    backend = ScriptedBackend(responder=odd_items_fail_the_judge())
    run_dir, context = make_run(backend, name=name, max_revisions=0, **settings)
    options = RunOptions(count=count, concurrency=1, retry=FAST_RETRY)
    asyncio.run(run_items(run_dir, context, options))
    return run_dir


def item_index(record: dict[str, Any]) -> int:
    item_id = record.get("id") or record.get("story_id")
    return int(str(item_id).rpartition("/")[2])


def keep_shard(path: Path, shard: int, shards: int) -> None:
    """Cut every JSONL output of the run in `path` to the items of shard `shard`."""
    for output in path.glob("*.jsonl"):
        if output.name.startswith("dedupe-"):
            continue
        lines = output.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if item_index(json.loads(line)) % shards == shard]
        output.write_text("".join(kept), encoding="utf-8")


def make_shards(make_run: Any, shards: int, count: int, **settings: Any) -> list[RunDir]:
    """`shards` shard directories `w0`, `w1`, … of one run of `count` items."""
    made = []
    for shard in range(shards):
        run_dir = make_run_dir(make_run, f"w{shard}", count, **settings)
        keep_shard(run_dir.path, shard, shards)
        made.append(run_dir)
    return made


def lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
