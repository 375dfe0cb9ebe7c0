"""Prompt caching engages on every call: after the first call of each task, the shared
prefix (tools, output format and the system blocks up to the cache breakpoint, as the
loopback server keys its cache, like the API) is read from cache, so anything per item
sits after the breakpoint. Read from the usage ledger, as `stats` reads it."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

from click.testing import CliRunner
from demo_http import demo_over_http
from messages_api_server import MessagesAPIServer

from storyloom.cli.main import cli

KEY = "sk-ant-test-cache-share"


def cache_read_shares(usage_path: Path) -> dict[str, tuple[int, float]]:
    """Per task: its calls after the first, and the share of them that read the cache."""
    by_task: dict[str, list[dict[str, int]]] = defaultdict(list)
    for line in usage_path.read_text().splitlines():
        entry = json.loads(line)
        by_task[entry["node"]].append(entry)
    return {
        task: (
            len(calls) - 1,
            sum(c["cache_read_tokens"] > 0 for c in calls[1:]) / (len(calls) - 1),
        )
        for task, calls in by_task.items()
        if len(calls) > 1
    }


def test_every_call_of_a_task_after_its_first_reads_the_shared_prefix(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with MessagesAPIServer(responder=demo_over_http, api_key=KEY) as server:
        env = {**os.environ, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": server.base_url}
        result = CliRunner().invoke(
            cli,
            ["generate", "-n", "6", "--backend", "anthropic",
             "--concurrency", "1", "--rewrite", "always", "--run-dir", str(run_dir)],
            env=env,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        billed = server.billed
    shares = cache_read_shares(run_dir / "usage.jsonl")
    assert set(shares) == {"plan", "write", "judge", "review", "revise"}, shares
    for task, (calls, share) in shares.items():
        assert calls >= 5 and share >= 0.9, f"{task}: {share:.2f} of {calls} calls read the cache"
    assert billed.cache_read_tokens > 0
