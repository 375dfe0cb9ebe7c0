"""The same run synchronous and with `--batch`, on the loopback API: cost and memory.

    .venv/bin/python bench/batch_cost.py [STORIES] [WAITING]

Prints the ledger's USD for both runs (same stories, same replies, same token counts,
priced from the ledger), then the memory per story waiting on a batch: the process RSS
with WAITING stories parked on an unfinished batch, against 10 parked, per story.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [
    str(Path(__file__).parent.parent / "tests"),
    str(Path(__file__).parent.parent / "tests/support"),
]
from messages_api_server import MessagesAPIServer  # noqa: E402
from test_batch_mode import demo_over_http  # noqa: E402


def argv(run_dir: Path, count: int, batch: bool, concurrency: int) -> list[str]:
    return [
        sys.executable, "-m", "storyloom.cli", "generate", "-n", str(count),
        "--backend", "anthropic", "--run-dir", str(run_dir),
        "--concurrency", str(concurrency), *(["--batch"] if batch else []),
    ]  # fmt: skip


def env(server: MessagesAPIServer) -> dict[str, str]:
    return {
        **os.environ,
        "ANTHROPIC_API_KEY": "sk-ant-bench",
        "ANTHROPIC_BASE_URL": server.base_url,
        "STORYLOOM_BATCH_POLL": "0.05",
    }


def ledger(run_dir: Path) -> tuple[int, float]:
    rows = [json.loads(x) for x in (run_dir / "usage.jsonl").read_text().splitlines()]
    return len(rows), sum(r["usd"] for r in rows)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def parked_rss(root: Path, waiting: int) -> int:
    """RSS once `waiting` stories sit on one unfinished batch."""
    with MessagesAPIServer(responder=demo_over_http) as server:
        server.batch_latency = 3600.0
        process = subprocess.Popen(
            argv(root / f"park{waiting}", waiting, True, waiting),
            env=env(server), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            while not server.batches:
                time.sleep(0.1)
            time.sleep(2.0)
            return rss_kib(process.pid)
        finally:
            process.kill()
            process.wait()


def main() -> None:
    stories = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    waiting = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        results = {}
        for batch in (False, True):
            with MessagesAPIServer(responder=demo_over_http) as server:
                run_dir = root / ("batch" if batch else "sync")
                subprocess.run(
                    argv(run_dir, stories, batch, 16), env=env(server), check=True,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                results[batch] = ledger(run_dir)
        (sync_calls, sync_usd), (batch_calls, batch_usd) = results[False], results[True]
        print(f"{stories} stories, claude-sonnet-5-5 prices, loopback API")
        print(f"synchronous: {sync_calls} calls  ${sync_usd:.4f}")
        print(f"--batch:     {batch_calls} calls  ${batch_usd:.4f}  ({batch_usd / sync_usd:.0%})")
        small, large = parked_rss(root, 10), parked_rss(root, waiting)
        per_story = (large - small) / (waiting - 10)
        print(
            f"memory: {small / 1024:.0f} MiB with 10 stories waiting on a batch, "
            f"{large / 1024:.0f} MiB with {waiting}: {per_story:.0f} KiB per waiting story"
        )


if __name__ == "__main__":
    main()
