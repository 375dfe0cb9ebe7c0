"""Lab scale: N items, all in flight at once, through `generate --batch` against the loopback
Messages + Message Batches API with a compressed batch turnaround.

    .venv/bin/python bench/lab_scale.py                     # 20,000 items
    .venv/bin/python bench/lab_scale.py --items 100000      # the 100,000 of the issue
    .venv/bin/python bench/lab_scale.py --items 2000 --turnaround 1
    .venv/bin/python bench/lab_scale.py --items 10000 --kill-at-round 4   # resume after SIGKILL

The server runs in a process of its own (answering like the scripted demo, billing prompt
caching by the API's cache-key rule), and `storyloom generate` in another, so the memory
and CPU printed are the tool's alone (the kernel's `wait4` figures for the child). A small
run first (`--baseline-items`, same settings) gives the memory of the process itself, so
the memory per item in flight is (peak - baseline peak) / items.

Printed: batch rounds (a round is the batches in flight together: a new one starts only
after every batch of the last has ended), the time to the first batch (start-up and the
first step of every item), wall time, peak RSS and RSS per item in flight,
CPU ms per item, the cache-read share of each task's calls after its first, USD per 1,000
items at batch and synchronous prices (the same tokens, the synchronous price; the
1-hour cache writes priced as 5-minute ones), and the projected wall time of 100,000
items at a 30-minute and a 2-hour turnaround: rounds x turnaround + the CPU of 100,000
items at the measured rate (one core; the work of a round runs while no batch waits).
With `--kill-at-round K` the run is SIGKILLed once its K-th round is submitted and started
again on the same run directory: printed first, the resume's time to its first batch, its
rounds, and whether every item finished exactly once; the figures after it cover both.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))

from storyloom.backends.base import Usage
from storyloom.backends.pricing import cost_usd

KEY = "sk-ant-lab-scale-not-a-real-key"


def _serve(conn: Connection, turnaround: float) -> None:
    from demo_http import demo_over_http
    from messages_api_server import MessagesAPIServer

    with MessagesAPIServer(responder=demo_over_http, api_key=KEY) as server:
        server.batch_latency = turnaround
        server.keep_batch_bodies = False  # gigabytes of prompts otherwise
        server.defer_batch_rows = True  # `create` answers at once, as the real API's does
        conn.send(server.base_url)
        while conn.recv() == "batches":
            spans = [(b["created"], b["ends_at"], b["count"]) for b in server.batches.values()]
            conn.send(spans)


@dataclass(frozen=True)
class Child:
    wall: float
    cpu: float
    peak_mib: float
    exit_code: int
    stderr: str


def run_generate(
    run_dir: Path,
    items: int,
    base_url: str,
    poll: float,
    kill_when: Callable[[], bool] | None = None,
) -> Child:
    """`storyloom generate --batch` with all `items` in flight; SIGKILLed as soon as
    `kill_when()` says so (asked every half second), if given."""
    argv = [
        sys.executable, "-m", "storyloom.cli", "generate", "-n", str(items),
        "--backend", "anthropic", "--batch", "--concurrency", str(items),
        "--run-dir", str(run_dir),
    ]  # fmt: skip
    env = {
        **os.environ,
        "ANTHROPIC_API_KEY": KEY,
        "ANTHROPIC_BASE_URL": base_url,
        "STORYLOOM_BATCH_POLL": str(poll),
        "COLUMNS": "120",
    }
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=env)
        pid, status, usage = os.wait4(child.pid, os.WNOHANG if kill_when else 0)
        while pid == 0:
            time.sleep(0.5)
            if kill_when is not None and kill_when():
                child.send_signal(signal.SIGKILL)
                kill_when = None
            pid, status, usage = os.wait4(child.pid, os.WNOHANG if kill_when else 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    return Child(
        wall=time.perf_counter() - started,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_mib=usage.ru_maxrss / 1024,
        exit_code=child.returncode,
        stderr=stderr,
    )


@dataclass
class Round:
    """Batches in flight together: the requests they hold and how long their uploads took
    (the first batch created to the last)."""

    requests: int
    first_created: float
    last_created: float


def rounds_of(spans: list[tuple[float, float, int]], after: float) -> list[Round]:
    """Batches in flight together are one round: a new one starts only when a batch is
    created after every batch of the last has ended."""
    rounds: list[Round] = []
    round_end = float("-inf")
    for created, ends_at, size in sorted(s for s in spans if s[0] >= after):
        if created >= round_end:
            rounds.append(Round(0, created, created))
        rounds[-1].requests += size
        rounds[-1].last_created = created
        round_end = max(round_end, ends_at)
    return rounds


def ledger_figures(run_dir: Path) -> tuple[dict[str, tuple[int, float]], float, float]:
    """Per task: calls and the cache-read share of its calls after its first; the run's
    USD as booked (batch) and at the synchronous price."""
    entries = [json.loads(line) for line in (run_dir / "usage.jsonl").read_text().splitlines()]
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in sorted(entries, key=lambda e: e["time"]):
        by_task[entry["node"]].append(entry)
    shares = {
        task: (len(calls), sum(c["cache_read_tokens"] > 0 for c in calls[1:]) / (len(calls) - 1))
        for task, calls in by_task.items()
        if len(calls) > 1
    }
    booked = sum(e["usd"] for e in entries)
    synchronous = sum(
        cost_usd(
            e["model"],
            Usage(
                e["input_tokens"],
                e["output_tokens"],
                e["cache_write_tokens"],
                e["cache_read_tokens"],
            ),
        )
        for e in entries
    )
    return shares, booked, synchronous


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument(
        "--turnaround",
        type=float,
        default=20.0,
        help="seconds a batch takes: a real one takes minutes to hours; the compressed one "
        "must still outlast the upload of a step's bodies (about 0.8 s per 32 MB body here, "
        "printed per run) or one step's bodies count as several rounds",
    )
    parser.add_argument("--poll", type=float, default=0.2, help="STORYLOOM_BATCH_POLL")
    parser.add_argument("--baseline-items", type=int, default=20)
    parser.add_argument(
        "--kill-at-round",
        type=int,
        default=0,
        metavar="K",
        help="SIGKILL the run once its K-th round is submitted, then start it again on the "
        "same run directory and time the resume",
    )
    args = parser.parse_args()

    ctx = multiprocessing.get_context("spawn")
    parent, child_end = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child_end, args.turnaround), daemon=True)
    server.start()
    base_url = parent.recv()

    def batch_spans() -> list[tuple[float, float, int]]:
        parent.send("batches")
        spans: list[tuple[float, float, int]] = parent.recv()
        return spans

    killed: Child | None = None
    relaunched = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        base = run_generate(Path(tmp) / "baseline", args.baseline_items, base_url, args.poll)
        started = time.time()
        run_dir = Path(tmp) / "lab"
        if args.kill_at_round:
            killed = run_generate(
                run_dir,
                args.items,
                base_url,
                args.poll,
                kill_when=lambda: len(rounds_of(batch_spans(), started)) >= args.kill_at_round,
            )
            relaunched = time.time()
        main_run = run_generate(run_dir, args.items, base_url, args.poll)
        spans = batch_spans()
        parent.send("stop")
        server.join(timeout=30)
        if main_run.exit_code != 0:
            sys.exit(f"generate exited {main_run.exit_code}: {main_run.stderr[-2000:]}")
        shares, booked, synchronous = ledger_figures(run_dir)
        ids = [
            json.loads(line)["id"]
            for name in ("corpus.jsonl", "rejected.jsonl")
            for line in (run_dir / name).read_text().splitlines()
        ]
        done = len(ids)

    if killed is not None:
        after = rounds_of(spans, relaunched)
        first = min((c for c, _, _ in spans if c >= relaunched), default=float("nan"))
        print(
            f"killed (SIGKILL) {killed.wall:.1f}s in, once round {args.kill_at_round} was "
            f"submitted; started again: first batch {first - relaunched:.1f}s after the "
            f"relaunch, {len(after)} rounds after it, {main_run.wall:.1f}s to the end; "
            f"each item finished once: {'yes' if len(set(ids)) == len(ids) else 'NO'}"
        )
        main_run = Child(
            wall=killed.wall + main_run.wall,
            cpu=killed.cpu + main_run.cpu,
            peak_mib=max(killed.peak_mib, main_run.peak_mib),
            exit_code=main_run.exit_code,
            stderr=main_run.stderr,
        )
    rounds = rounds_of(spans, started)
    per_item_kib = (main_run.peak_mib - base.peak_mib) * 1024 / args.items
    cpu_ms = main_run.cpu / args.items * 1000
    print(
        f"items {args.items} (all in flight), finished {done}; turnaround {args.turnaround:g}s, "
        f"poll {args.poll:g}s; cores {os.cpu_count()}"
    )
    print(
        f"rounds {len(rounds)} (requests per round: {', '.join(str(r.requests) for r in rounds)})"
    )
    upload = max((r.last_created - r.first_created for r in rounds), default=0.0)
    print(
        f"first batch {rounds[0].first_created - started:.1f}s after the start"
        if rounds
        else "no batch"
    )
    print(f"longest upload of a round's bodies {upload:.1f}s (turnaround {args.turnaround:g}s)")
    print(f"wall {main_run.wall:.1f}s  (baseline run of {args.baseline_items}: {base.wall:.1f}s)")
    print(
        f"peak RSS {main_run.peak_mib:.0f} MiB (baseline {base.peak_mib:.0f} MiB); "
        f"per item in flight {per_item_kib:.1f} KiB"
    )
    print(
        f"CPU {main_run.cpu:.1f}s = {cpu_ms:.1f} ms per item "
        f"(baseline {base.cpu / args.baseline_items * 1000:.1f} ms per item)"
    )
    for task, (calls, share) in sorted(shares.items()):
        print(f"cache-read share {task:8s} {share:.3f} of {calls - 1} calls after the first")
    print(
        f"USD per 1,000 items: batch {booked / args.items * 1000:.2f}, "
        f"synchronous {synchronous / args.items * 1000:.2f}"
    )
    for label, turnaround in (("30-min", 1800.0), ("2-hour", 7200.0)):
        hours = (len(rounds) * turnaround + cpu_ms / 1000 * 100_000) / 3600
        print(f"projected 100,000 items at {label} turnaround: {hours:.1f} h")


if __name__ == "__main__":
    main()
