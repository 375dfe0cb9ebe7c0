"""Throughput of the Anthropic backend through the real SDK against a loopback Messages API.

The server runs in a child process with a fixed latency per call, so the CPU time this
process spends is the tool's own (SDK, HTTP client, backend, throttle, and the workflow
in `--level workflow`), not the fake server's.

    .venv/bin/python bench/anthropic_throughput.py                    # backend level
    .venv/bin/python bench/anthropic_throughput.py --level workflow   # the LangGraph runner
    .venv/bin/python bench/anthropic_throughput.py --fault-rate 0.2   # 429/529/500 mixed in
    .venv/bin/python bench/anthropic_throughput.py --http-client both # aiohttp beside httpx
    .venv/bin/python bench/anthropic_throughput.py --level workflow --shards 2  # 2 workers

`--level backend`: each story is `--calls` sequential calls (plan: structured, write:
text, judge: structured, revise: text) through AnthropicBackend + ThrottledBackend.
`--level workflow`: `storyloom.graph.runner.run_items` over a fresh run directory, the
server answering like the scripted demo backend (premises, stories that pass the gate,
passing critiques): seed, plan, write, gate, judge, dedupe, emit, i.e. 3 LLM calls.

Printed: stories/s, the ratio to the ideal C / (calls per story x latency), the
process CPU time per story, and the ceiling: the best ratio one event loop (a core) can
reach at that CPU per story, 1 / (ideal x CPU per story), N times that for `--shards N`.
At 32 in flight and 0.2 s per call the ideal is 53 stories/s, so a ratio of 0.9 needs
under 21 ms of CPU per story even with the loop never idle. `--level workflow` then runs
the bare LangGraph graph of the same shape (`bench/bare_graph.py`) in the same process
and prints it on the next line, with the workflow's CPU per story as a multiple of the
bare graph's: the floor, measured in the same window.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))

from backend_calls import as_usage
from demo_http import demo_over_http
from messages_api_server import Fault, MessagesAPIServer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bare_graph import bench_bare

from storyloom.backends.anthropic import AnthropicBackend, HttpClient
from storyloom.backends.base import (
    Completion,
    CompletionRequest,
    Message,
    TransientBackendError,
    Usage,
)
from storyloom.backends.throttle import ThrottledBackend
from storyloom.graph.shared import Shard
from storyloom.stories.story.models import Critique, Premise

KEY = "sk-ant-bench-not-a-real-key"
PREFIX = "## Constitution\nBe honest. Explain your reasons. Keep your equanimity.\n" * 60


# ----- the server, in its own process -----


def _serve(conn: Connection, latency: float, fault_rate: float, demo: bool) -> None:
    responder = demo_over_http if demo else None
    with MessagesAPIServer(latency=latency, api_key=KEY, responder=responder) as server:
        if fault_rate:
            server.inject_rate(
                fault_rate,
                (Fault.rate_limit(retry_after=0), Fault.overloaded(), Fault.server_error()),
                seed=7,
            )
        conn.send(server.base_url)
        conn.recv()  # wait for "stop"
        billed = server.billed
        conn.send((len(server.requests), billed.calls, as_usage(billed)))


@dataclass
class ServerProcess:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    base_url: str

    def stop(self) -> tuple[int, int, Usage]:
        """Requests received, calls billed, and the tokens billed."""
        self.conn.send("stop")
        counts: tuple[int, int, Usage] = self.conn.recv()
        self.process.join(timeout=10)
        return counts


def start_server(latency: float, fault_rate: float, demo: bool) -> ServerProcess:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(child, latency, fault_rate, demo), daemon=True)
    process.start()
    return ServerProcess(process, parent, parent.recv())


# ----- backend level -----


def _story_requests(index: int, calls: int) -> list[CompletionRequest]:
    user = (Message("user", f"Story {index}: plan, write, judge, revise."),)
    kinds: list[tuple[str, type[Premise] | type[Critique] | None, int]] = [
        ("plan", Premise, 700),
        ("write", None, 2600),
        ("judge", Critique, 900),
        ("revise", None, 2600),
    ]
    return [
        CompletionRequest(
            messages=user,
            max_tokens=max_tokens,
            shared_prefix=PREFIX,
            instructions=f"You are the {purpose} step.",
            output_schema=schema,
            purpose=purpose,
        )
        for purpose, schema, max_tokens in (kinds * calls)[:calls]
    ]


async def _call_with_retry(
    backend: ThrottledBackend | AnthropicBackend, req: CompletionRequest
) -> Completion:
    """What the node's RetryPolicy does, minus its sleeps (the throttle paces retries)."""
    for _ in range(20):
        try:
            return await backend.complete(req)
        except TransientBackendError:
            continue
    raise RuntimeError("gave up after 20 attempts")


async def bench_backend(
    base_url: str,
    stories: int,
    concurrency: int,
    calls: int,
    throttle: bool,
    tuning: dict[str, float],
    http_client: HttpClient,
) -> tuple[Usage, int]:
    inner = AnthropicBackend(api_key=KEY, base_url=base_url, timeout=30, http_client=http_client)
    backend: ThrottledBackend | AnthropicBackend = (
        ThrottledBackend(inner, initial_limit=concurrency, max_limit=max(64, concurrency), **tuning)
        if throttle
        else inner
    )
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(stories):
        queue.put_nowait(index)
    total = Usage()
    parsed = 0

    async def worker() -> None:
        nonlocal total, parsed
        while not queue.empty():
            index = queue.get_nowait()
            for req in _story_requests(index, calls):
                done = await _call_with_retry(backend, req)
                total += done.usage
                parsed += done.parsed is not None

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await backend.aclose()
    return total, parsed


WARM_UP_USAGE = [Usage()]


async def warm_up(base_url: str, calls: int = 4) -> None:
    backend = AnthropicBackend(api_key=KEY, base_url=base_url, timeout=30)
    try:
        for req in _story_requests(-1, calls):
            WARM_UP_USAGE[0] += (await _call_with_retry(backend, req)).usage
    finally:
        await backend.aclose()


# ----- workflow level -----


async def bench_workflow(
    base_url: str,
    stories: int,
    concurrency: int,
    throttle: bool,
    http_client: HttpClient,
    shard: Shard | None = None,
    redis_url: str | None = None,
) -> tuple[str, Usage]:
    """The workflow over `stories` items (a shard's share of them, sharing dedupe and
    budget through `redis_url` as `generate --shard K/N --redis URL` does)."""
    from storyloom.backends.registry import backend_spec
    from storyloom.graph.rundir import RunConfig, RunDir
    from storyloom.graph.runner import RunOptions, make_context, run_items
    from storyloom.graph.settings import run_settings
    from storyloom.graph.shared import SharedRun
    from storyloom.stories.registry import get_kind

    inner = AnthropicBackend(api_key=KEY, base_url=base_url, timeout=30, http_client=http_client)
    backend = ThrottledBackend(inner, initial_limit=concurrency, max_limit=max(64, concurrency))
    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir(Path(tmp) / "bench")
        run.prepare()
        kind = get_kind("story")
        inputs = kind.load_inputs({})
        # Rewrite on failure only: the measure assumes plan, write and judge per story.
        settings = run_settings(kind, backend_spec("anthropic"), {"rewrite": "on-fail"})
        config = RunConfig.create(run.name, kind, backend.name, backend.model, settings, inputs)
        config, _ = run.freeze_config(config, allow_change=True)
        # The simulated model sees no length band (only the reply's schema), and writes
        # short placeholder stories: draw only the short band so they pass the gates.
        axes = inputs.value.axes
        story_inputs = replace(
            inputs.value, axes=replace(axes, values={**axes.values, "length": ("short",)})
        )
        shared = SharedRun.connect(redis_url, config) if redis_url else None
        context = make_context(
            run, config, kind, story_inputs, backend if throttle else inner, shared=shared
        )
        try:
            report = await run_items(
                run, context, RunOptions(count=stories, concurrency=concurrency, shard=shard)
            )
        finally:
            await backend.aclose()
        summary = (
            f"emitted {report.emitted}, rejected {report.rejected} "
            f"{dict(report.reasons)}, interrupted {report.interrupted}"
        )
        return summary, context.ledger.totals().usage


def _shard_worker(conn: Connection, base_url: str, args: Any, shard: Shard, redis_url: str) -> None:
    """One shard in its own process: ready once imported, then the run on "go"; sends
    (wall, cpu, summary, usage)."""
    conn.send("ready")
    conn.recv()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    summary, usage = asyncio.run(
        bench_workflow(
            base_url,
            args.stories,
            args.concurrency // shard.count,
            not args.no_throttle,
            "aiohttp" if args.http_client != "httpx" else "httpx",
            shard,
            redis_url,
        )
    )
    conn.send((time.perf_counter() - wall0, time.process_time() - cpu0, summary, usage))


def run_shards(base_url: str, args: Any) -> tuple[float, float, str, Usage]:
    """`args.shards` worker processes of one run, `args.concurrency` in flight between
    them, sharing a throwaway redis-server: (wall, CPU of all of them, outcome, usage)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 10
        ping = ["redis-cli", "-p", str(port), "ping"]
        while subprocess.run(ping, capture_output=True).stdout.strip() != b"PONG":
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.1)
        ctx = multiprocessing.get_context("spawn")
        workers = []
        for number in range(args.shards):
            parent, child = ctx.Pipe()
            shard = Shard(number, args.shards)
            process = ctx.Process(target=_shard_worker, args=(child, base_url, args, shard, url))
            process.start()
            workers.append((process, parent))
        for _, parent in workers:
            parent.recv()  # imported and ready
        wall0 = time.perf_counter()
        for _, parent in workers:
            parent.send("go")
        results = [parent.recv() for _, parent in workers]
        wall = time.perf_counter() - wall0
        for process, _ in workers:
            process.join()
    finally:
        redis.terminate()
        redis.wait()
    usage = Usage()
    for result in results:
        usage += result[3]
    outcome = "; ".join(f"shard {i}/{args.shards}: {r[2]}" for i, r in enumerate(results))
    return wall, sum(r[1] for r in results), outcome, usage


async def run_bare(
    base_url: str, stories: int, concurrency: int, throttle: bool, http_client: HttpClient
) -> Usage:
    inner = AnthropicBackend(api_key=KEY, base_url=base_url, timeout=30, http_client=http_client)
    backend = ThrottledBackend(inner, initial_limit=concurrency, max_limit=max(64, concurrency))
    try:
        return await bench_bare(backend if throttle else inner, PREFIX, stories, concurrency)
    finally:
        await backend.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", choices=["backend", "workflow"], default="backend")
    parser.add_argument("--stories", type=int, default=320)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--calls", type=int, default=4, help="calls per story (backend level)")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per call")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--no-throttle", action="store_true")
    parser.add_argument("--decrease-factor", type=float, default=0.5)
    parser.add_argument("--additive-increase", type=float, default=2.0)
    parser.add_argument(
        "--http-client",
        choices=["aiohttp", "httpx", "both"],
        default="aiohttp",
        help="the SDK's HTTP stack; both (backend level): httpx first, then aiohttp",
    )
    parser.add_argument(
        "--profile", type=Path, default=None, help="write a cProfile of the tool's side here"
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=1,
        help="workflow level: the run as this many worker processes (generate --shard K/N "
        "--redis URL, a throwaway redis-server), --concurrency in flight between them; "
        "the CPU printed is theirs together",
    )
    args = parser.parse_args()
    if args.http_client == "both" and args.level != "backend":
        parser.error("--http-client both is for --level backend")
    if args.shards < 1:
        parser.error("--shards must be at least 1")
    if args.shards != 1 and (args.level != "workflow" or args.profile):
        parser.error("--shards is for --level workflow, without --profile")

    server = start_server(args.latency, args.fault_rate, demo=args.level == "workflow")
    # Lazy imports in the SDK, the first connection. The workflow level's server plays the
    # story kind, whose judge schema is per item: warm up on plan and write only.
    asyncio.run(warm_up(server.base_url, 4 if args.level == "backend" else 2))
    tuning = {"decrease_factor": args.decrease_factor, "additive_increase": args.additive_increase}
    httpx_side: tuple[float, float] | None = None

    def run_backend(client: HttpClient) -> Coroutine[Any, Any, tuple[Usage, int]]:
        return bench_backend(
            server.base_url,
            args.stories,
            args.concurrency,
            args.calls,
            not args.no_throttle,
            tuning,
            client,
        )

    if args.level == "backend" and args.http_client == "both":
        # The SDK's default stack first, in the same window: (wall, cpu).
        cpu1, wall1 = time.process_time(), time.perf_counter()
        side_usage, _ = asyncio.run(run_backend("httpx"))
        WARM_UP_USAGE[0] += side_usage
        httpx_side = (time.perf_counter() - wall1, time.process_time() - cpu1)
    http_client: HttpClient = "httpx" if args.http_client == "httpx" else "aiohttp"
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if args.level == "backend":
        usage, parsed = asyncio.run(run_backend(http_client))
        outcome = f"{parsed} structured replies parsed"
        calls_per_story = args.calls
    else:
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        if args.shards > 1:
            shards_wall, shards_cpu, outcome, usage = run_shards(server.base_url, args)
        else:
            outcome, usage = asyncio.run(
                bench_workflow(
                    server.base_url,
                    args.stories,
                    args.concurrency,
                    not args.no_throttle,
                    http_client,
                )
            )
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        calls_per_story = 3  # plan, write, judge when the judge passes (on-fail rewrite)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    if args.shards > 1:  # the workers' own figures, their start-up left out
        wall, cpu = shards_wall, shards_cpu
    bare: tuple[float, float] | None = None
    if args.level == "workflow":
        cpu1, wall1 = time.process_time(), time.perf_counter()
        WARM_UP_USAGE[0] += asyncio.run(
            run_bare(
                server.base_url, args.stories, args.concurrency, not args.no_throttle, http_client
            )
        )
        bare = (time.perf_counter() - wall1, time.process_time() - cpu1)
    requests, billed_calls, billed = server.stop()
    warm_up_usage = WARM_UP_USAGE[0]
    matches = usage + warm_up_usage == billed

    rate = args.stories / wall
    calls = args.stories * calls_per_story  # this run's answered calls, retries aside
    ideal = args.concurrency / (calls_per_story * args.latency) if args.latency else float("inf")
    print(
        f"level={args.level} stories={args.stories} concurrency={args.concurrency} "
        f"latency={args.latency * 1000:.0f}ms calls/story={calls_per_story} "
        f"fault_rate={args.fault_rate} throttle={not args.no_throttle} cores={os.cpu_count()} "
        f"http={http_client} shards={args.shards}"
    )
    # Every run of this process (warm-up, any side-by-side run) hit the same server.
    print(f"requests sent {requests} (all runs), billed {billed_calls}; {outcome}")
    print(
        f"tokens the tool counted {'==' if matches else '!='} tokens the server billed: "
        f"{usage + warm_up_usage}" + ("" if matches else f" vs {billed}")
    )
    print(
        f"wall {wall:.2f}s  stories/s {rate:.2f}  ideal {ideal:.2f}  ratio {rate / ideal:.3f}  "
        f"calls/s {calls / wall:.0f}"
    )
    ceiling = loop_ceiling(ideal, cpu / args.stories, args.shards)
    print(
        f"cpu {cpu:.2f}s  cpu/story {cpu / args.stories * 1000:.1f}ms  "
        f"cpu/call {cpu / calls * 1000:.2f}ms  ceiling on {args.shards} core(s) {ceiling:.3f}"
    )
    if httpx_side is not None:
        side_wall, side_cpu = httpx_side
        print(
            f"httpx (the SDK's default), same run: wall {side_wall:.2f}s  ratio "
            f"{args.stories / side_wall / ideal:.3f}  cpu/story "
            f"{side_cpu / args.stories * 1000:.1f}ms  cpu/call "
            f"{side_cpu / calls * 1000:.2f}ms;  aiohttp/httpx cpu "
            f"{cpu / side_cpu:.2f}x"
        )
    if bare is not None:
        bare_wall, bare_cpu = bare
        bare_rate = args.stories / bare_wall
        print(
            f"bare LangGraph graph, same shape and calls: wall {bare_wall:.2f}s  "
            f"stories/s {bare_rate:.2f}  ratio {bare_rate / ideal:.3f}  cpu/story "
            f"{bare_cpu / args.stories * 1000:.1f}ms;  workflow/bare cpu {cpu / bare_cpu:.2f}x  "
            f"ceiling on one core {loop_ceiling(ideal, bare_cpu / args.stories, 1):.3f}"
        )


def loop_ceiling(ideal_rate: float, cpu_per_story: float, loops: int) -> float:
    """The best ratio to ideal `loops` event loops (one a core) can reach at this CPU per
    story: each loop spends `cpu_per_story` on each of its stories, so together they
    complete at most loops / cpu_per_story stories a second, however many calls are in
    flight. (An upper bound: a loop is never busy and idle at just the right moments, so
    queueing keeps it lower still.)"""
    return min(1.0, loops / (ideal_rate * cpu_per_story)) if cpu_per_story > 0 else 1.0


if __name__ == "__main__":
    main()
